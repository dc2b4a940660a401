// Running the system's ffmpeg / ffprobe (Node only; Debian: apt-get install ffmpeg) for the media formats polymodal
// does not decode itself: bounded in time and output bytes, and a missing executable named with its fix.  Node
// built-ins load on demand, so the library itself imports none.
import { PolymodalError } from "../util/errors.js";
import { FileRefusedError, readRegularFile } from "./node-fs.js";
import { nodeImport } from "../util/runtime.js";

export interface FfmpegRun {
  /** executable (default "ffmpeg" on PATH) */
  exe: string;
  args: string[];
  /** what the run is for, for errors ("decoding clip.mp4") */
  what: string;
  /** the caller's name, prefixed to errors ("readVideoFile") */
  who: string;
  timeoutMs: number;
  maxBytes?: number;
  /** how to get on without ffmpeg, for the not-found error */
  fix?: string;
}

export async function nodeModules(who: string, hint: string): Promise<{ fs: any; cp: any; path: any }> {
  const im = nodeImport;
  try {
    return { fs: await im("fs/promises"), cp: await im("child_process"), path: await im("path") };
  } catch {
    throw new Error(`${who} needs Node; ${hint}`);
  }
}

/** A media file's lower-case extension with its dot (".mp3"), or "" for none. */
export function extensionOf(file: string): string {
  const d = file.lastIndexOf(".");
  return d < 0 ? "" : file.slice(d).toLowerCase();
}

/**
 * A media file's bytes (readRegularFile: a regular file only, sized before its body is read, against `maxBytes`
 * which may look at the file's start).  Unreadable, empty or not a regular file is a "bad_input" error naming it;
 * over the budget, "too_large".  `headOnly` n: just the first n bytes (to sniff a format).
 */
export async function readMediaFile(
  who: string,
  file: string,
  maxBytes?: (head: Uint8Array) => number,
  headOnly = 0,
): Promise<Uint8Array> {
  const fail = (why: string, code: "bad_input" | "too_large" = "bad_input"): never => {
    throw new PolymodalError(code, `${who}: ${why}`);
  };
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(file, { maxBytes, headOnly });
  } catch (e) {
    if (e instanceof FileRefusedError && e.max !== undefined)
      fail(`${file} is ${e.size} bytes, more than its limits allow (${e.max} bytes; see limits)`, "too_large");
    if (e instanceof FileRefusedError) fail(e.message);
    fail(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (bytes!.length === 0) fail(`${file} is empty (0 bytes)`);
  return bytes!;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** ffprobe beside a given ffmpeg (or on PATH). */
export function ffprobeFor(
  ffmpeg: string,
  path: { join(...p: string[]): string; dirname(p: string): string; basename(p: string): string },
): string {
  return ffmpeg.includes("/")
    ? path.join(path.dirname(ffmpeg), path.basename(ffmpeg).replace("ffmpeg", "ffprobe"))
    : "ffprobe";
}

/** Runs it; resolves with stdout, rejects naming the limit, the missing executable or ffmpeg's last lines. */
export async function runFfmpeg(o: FfmpegRun): Promise<Uint8Array> {
  const { cp } = await nodeModules(o.who, "decode the file yourself");
  const maxBytes = o.maxBytes ?? Infinity;
  return new Promise((resolve, reject) => {
    const p = cp.spawn(o.exe, o.args, { stdio: ["ignore", "pipe", "pipe"] });
    let got = 0,
      done = false;
    const fail = (e: Error): void => {
      if (!done) {
        done = true;
        reject(e);
      }
    };
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      fail(
        new Error(
          `${o.who}: ${o.what} took longer than ${o.timeoutMs} ms (limits.videoTimeoutMs, or the timeoutMs option)`,
        ),
      );
    }, o.timeoutMs);
    p.on("close", () => clearTimeout(timer));
    const out: Uint8Array[] = [],
      err: Uint8Array[] = [];
    p.stdout.on("data", (d: Uint8Array) => {
      got += d.length;
      if (got > maxBytes) {
        p.kill("SIGKILL");
        fail(
          new Error(
            `${o.who}: ${o.what} produced more than ${maxBytes} bytes (its output budget, set by the limits on ` +
              `what it decodes)`,
          ),
        );
        return;
      }
      out.push(d);
    });
    p.stderr.on("data", (d: Uint8Array) => err.push(d));
    p.on("error", (e: { code?: string; message: string }) =>
      fail(
        e.code === "ENOENT"
          ? new PolymodalError(
              "unsupported_input",
              `${o.who}: ${o.what} needs ${o.exe}, which was not found; install ffmpeg (Debian: apt-get install ` +
                `ffmpeg) or pass { ffmpegPath }${o.fix ? `, ${o.fix}` : ""}`,
            )
          : new Error(`${o.who}: could not run ${o.exe}: ${e.message}`),
      ),
    );
    p.on("close", (code: number) => {
      if (code === 0) {
        if (!done) {
          done = true;
          resolve(concat(out));
        }
        return;
      }
      fail(
        new Error(
          `${o.who}: ${o.what}: ${o.exe} exited with ` +
            `code ${code}: ` +
            `${new TextDecoder().decode(concat(err)).trim().split("\n").slice(-3).join(" | ") || "no message"}`,
        ),
      );
    });
  });
}
