// Where the CLI's inputs come from: a file argument, or `-` for standard input (materialised once into a temp
// file named by what its bytes are, so every later step — ffmpeg included — reads a normal file); and which saved
// index a search means.
import { PolymodalError } from "../util/errors.js";
import { sniffMedia, type MediaKind } from "../pipelines/media-input.js";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { UsageError } from "./args.js";

/** A file argument that is not there or not a file this command reads. */
export class InputError extends PolymodalError {
  constructor(message: string, code: "not_found" | "unsupported_input" | "bad_input" = "not_found") {
    super(code, message);
  }
}

const tempDirs: string[] = [];
process.once("exit", () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

const DEFAULT_EXT: Record<MediaKind, string> = { image: ".png", audio: ".wav", video: ".mp4" };

/**
 * A readable file for `arg`: the path itself (checked), or for `-` standard input copied to a temp file whose
 * extension comes from its content (else from the modality the command expects).
 */
export function inputFile(arg: string | undefined, what: string, expect?: MediaKind): string {
  if (!arg) throw new UsageError(`${what}: missing file argument`);
  if (arg === "-") {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(0);
    } catch (e) {
      throw new InputError(`${what}: could not read standard input (${(e as Error).message})`);
    }
    if (bytes.length === 0)
      throw new InputError(`${what}: standard input is empty; expected the bytes of a file`, "bad_input");
    // the extension its bytes say (the one sniffer: pipelines/media-input.ts), else the command's kind's
    const ext = sniffMedia(bytes)?.ext ?? (expect ? DEFAULT_EXT[expect] : null);
    if (!ext)
      throw new InputError(
        `${what}: standard input is not an image, audio or video file this reads (PNG, JPEG, WebP, BMP, TIFF, GIF; ` +
          "WAV, MP3, FLAC, Ogg, Opus, M4A; Y4M, MP4, MKV/WebM)",
        "unsupported_input",
      );
    const dir = mkdtempSync(join(tmpdir(), "polymodal-stdin-"));
    tempDirs.push(dir);
    const f = join(dir, `stdin${ext}`);
    writeFileSync(f, bytes);
    return f;
  }
  const st = statSync(arg, { throwIfNoEntry: false });
  if (!st) throw new InputError(`${arg}: no such file`);
  if (!st.isFile()) throw new InputError(`${arg}: not a file`);
  return arg;
}

const INDEX_DIR = ".polymodal";

const isIndex = (d: string): boolean => existsSync(join(d, "manifest.json"));

/**
 * The index a search uses.  `--index` may name the index folder itself or the collection folder that holds it
 * (what `polymodal index <folder>` was given).  Without it: the nearest `.polymodal` in the current folder or a
 * parent, else the only one in a direct subfolder (`polymodal index photos/` then `polymodal search ...`).
 */
export function locateIndex(flag: string | undefined, cwd = process.cwd()): string {
  if (flag !== undefined) {
    const d = resolve(cwd, flag);
    return !isIndex(d) && isIndex(join(d, INDEX_DIR)) ? join(d, INDEX_DIR) : d;
  }
  for (let d = resolve(cwd); ; d = dirname(d)) {
    if (isIndex(join(d, INDEX_DIR))) return join(d, INDEX_DIR);
    if (dirname(d) === d) break;
  }
  let children: string[] = [];
  try {
    children = readdirSync(cwd, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => join(cwd, e.name, INDEX_DIR))
      .filter(isIndex);
  } catch {
    /* unreadable folder: nothing found */
  }
  if (children.length === 1) return children[0];
  if (children.length > 1) {
    throw new UsageError(
      `several indexes here (${children.map((c) => relative(cwd, dirname(c))).join(", ")}); choose one with ` +
        `--index <folder>`,
    );
  }
  throw new Error(
    `no index in ${join(resolve(cwd), INDEX_DIR)}, its parents or its subfolders (run \`polymodal index ` +
      `<folder>\` first, or pass --index <folder>)`,
  );
}
