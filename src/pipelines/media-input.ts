// One input path for every entry point: a media file (its path, or its bytes from a request, stdin or a worker
// message) becomes the input a pipeline takes, the same way for the CLI, the service, the worker host and the
// library.  Formats the pipelines decode themselves (PNG, JPEG, WAV, Y4M) stay bytes, so a large JPEG is decoded at
// reduced scale where the processor allows it and the same bytes give the same bits everywhere; every other format
// (WebP, BMP, TIFF, GIF; MP3, FLAC, Ogg, Opus, M4A; MP4, MKV, WebM, ...) is decoded through ffmpeg in Node, by the
// same readers the CLI uses on files (bytes go through a private temporary file, so the decode is the file's).
import { readAudioFile } from "../audio/file.js";
import { readVideoFile } from "../video/file.js";
import { readImageInput } from "../vision/file.js";
import { isJpegBytes } from "../vision/image.js";
import { isPng } from "../vision/png.js";
import { PolymodalError, errorCode } from "../util/errors.js";
import { isNode, nodeImport } from "../util/runtime.js";
import type { Inputs, InputKind } from "./pipeline.js";

export type MediaKind = Exclude<InputKind, "text">;

export interface MediaInputOptions {
  /** ffmpeg executable (default "ffmpeg" on PATH) */
  ffmpegPath?: string;
  /** video: the frames the pipeline samples (its tasks.embed.frames), so only those are decoded */
  numFrames?: number;
}

const ascii = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));

/** What a file's bytes are, by their signature: a format name, and the extension ffmpeg's readers go by. */
export function sniffMedia(b: Uint8Array): { format: string; ext: string } | null {
  if (isPng(b)) return { format: "PNG", ext: ".png" };
  if (isJpegBytes(b)) return { format: "JPEG", ext: ".jpg" };
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WAVE") return { format: "WAV", ext: ".wav" };
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") return { format: "WebP", ext: ".webp" };
  if (ascii(b, 0, 10) === "YUV4MPEG2 ") return { format: "Y4M", ext: ".y4m" };
  if (ascii(b, 0, 4) === "GIF8") return { format: "GIF", ext: ".gif" };
  if (ascii(b, 0, 2) === "BM") return { format: "BMP", ext: ".bmp" };
  if (ascii(b, 0, 4) === "II*\u0000" || ascii(b, 0, 4) === "MM\u0000*") return { format: "TIFF", ext: ".tiff" };
  if (ascii(b, 0, 4) === "fLaC") return { format: "FLAC", ext: ".flac" };
  if (ascii(b, 0, 4) === "OggS") return { format: ascii(b, 28, 8) === "OpusHead" ? "Opus" : "Ogg", ext: ".ogg" };
  if (ascii(b, 0, 3) === "ID3" || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0)) return { format: "MP3", ext: ".mp3" };
  if (ascii(b, 4, 4) === "ftyp") {
    const brand = ascii(b, 8, 4);
    if (/^hei|^mif1|^msf1|^avif/.test(brand)) return { format: brand === "avif" ? "AVIF" : "HEIC", ext: ".heic" };
    return /^M4A|^M4B/.test(brand) ? { format: "M4A", ext: ".m4a" } : { format: "MP4", ext: ".mp4" };
  }
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { format: "Matroska/WebM", ext: ".mkv" };
  return null;
}

/** Formats a pipeline decodes from bytes itself, per kind. */
const NATIVE: Record<MediaKind, string[]> = { image: ["PNG", "JPEG"], audio: ["WAV"], video: ["Y4M"] };
/** Formats of each kind read through ffmpeg (HEIC/AVIF: refused by name by the image reader). */
const VIA_FFMPEG: Record<MediaKind, string[]> = {
  image: ["WebP", "GIF", "BMP", "TIFF", "HEIC", "AVIF"],
  audio: ["MP3", "FLAC", "Ogg", "Opus", "M4A", "MP4"],
  video: ["MP4", "Matroska/WebM", "GIF"],
};

/**
 * The bytes themselves when the pipeline takes them as they are (a format it decodes, or bytes that are not a
 * format of this kind: its decoder then names what they are); null when they need ffmpeg.  Synchronous, so a
 * caller holding a batch of PNGs pays no promise per input.
 */
export function directInput<K extends MediaKind>(kind: K, b: Uint8Array): Inputs[K] | null {
  return viaFfmpeg(kind, sniffMedia(b)) ? null : (b as Inputs[K]);
}

const viaFfmpeg = (kind: MediaKind, s: ReturnType<typeof sniffMedia>): s is { format: string; ext: string } =>
  s !== null && VIA_FFMPEG[kind].includes(s.format);

/**
 * A media file as a pipeline's input of `kind`: PNG/JPEG/WAV/Y4M as their bytes, any other format decoded through
 * ffmpeg (Node).  `source` is a path or the file's bytes; the same file gives the same input either way.
 * @example
 * const input = await mediaInput("image", webpBytes);   // Node, with ffmpeg installed
 * const [e] = allValues(clip.embedBatch("image", [input]));
 */
export async function mediaInput<K extends MediaKind>(
  kind: K,
  source: string | Uint8Array,
  options: MediaInputOptions = {},
): Promise<Inputs[K]> {
  if (typeof source === "string") return (await fromFile(kind, source, options)) as Inputs[K];
  const b = source;
  if (b.length === 0) throw new PolymodalError("bad_input", `mediaInput: the ${kind} is empty (0 bytes)`);
  const sniffed = sniffMedia(b);
  if (!viaFfmpeg(kind, sniffed)) return b as Inputs[K];
  if (!isNode) {
    throw new PolymodalError(
      "unsupported_input",
      `mediaInput: ${sniffed.format} ${kind} needs ffmpeg (Node); in a browser pass ${NATIVE[kind].join(" or ")} ` +
        "bytes, or decoded pixels / samples",
    );
  }
  // the library builds without Node's types: the three calls used, as they are
  const { mkdtemp, writeFile, rm } = (await nodeImport("fs/promises")) as {
    mkdtemp(prefix: string): Promise<string>;
    writeFile(file: string, data: Uint8Array, options: { mode: number }): Promise<void>;
    rm(path: string, options: { recursive: boolean; force: boolean }): Promise<void>;
  };
  const { tmpdir } = (await nodeImport("os")) as { tmpdir(): string };
  const { join } = (await nodeImport("path")) as { join(...parts: string[]): string };
  const dir = await mkdtemp(join(tmpdir(), "polymodal-media-"));
  try {
    const file = join(dir, `input${sniffed.ext}`);
    await writeFile(file, b, { mode: 0o600 });
    try {
      return (await fromFile(kind, file, options)) as Inputs[K];
    } catch (e) {
      // the readers name the file they read; that file is ours (a temporary copy), so say what it holds instead
      const err = e as Error;
      const message = err.message.split(file).join(`the ${sniffed.format} ${kind}`);
      const code = errorCode(err);
      throw new PolymodalError(code === "internal" ? "bad_input" : code, message);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fromFile(kind: MediaKind, file: string, o: MediaInputOptions): Promise<Inputs[MediaKind]> {
  if (kind === "image") return readImageInput(file, { ffmpegPath: o.ffmpegPath });
  // an audio file comes decoded, its channels at its own rate (a WAV by decodeWav, others by ffmpeg); the
  // pipeline downmixes them as it does a WAV's bytes, so a path and its bytes give the same bits
  if (kind === "audio") return readAudioFile(file, { ffmpegPath: o.ffmpegPath });
  const v = await readVideoFile(file, { numFrames: o.numFrames, ffmpegPath: o.ffmpegPath });
  return v.frames;
}
