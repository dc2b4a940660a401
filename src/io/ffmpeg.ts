// Running the system's ffmpeg / ffprobe (Node only; Debian: apt-get install ffmpeg) for the media formats polymodal
// does not decode itself: bounded in time and output bytes, and a missing executable named with its fix.  Node
// built-ins load on demand, so the library itself imports none.

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
  const im = (m: string): Promise<any> => import(/* @vite-ignore */ ["node", m].join(":"));
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
 * A media file's bytes, read once (no copy).  Only a regular file is read (a FIFO or a device is refused without
 * waiting on it), and its size is checked before a byte of the body is read: against `maxBytes`, which may look at
 * the file's first 64 KiB (a WAV's header says how many bytes its audio can need).  Unreadable, empty or over the
 * budget is an Error naming it (exit code 3 in the CLI).  `headOnly` n: just the first n bytes (to sniff a format).
 */
export async function readMediaFile(who: string, file: string, fs: any, maxBytes?: (head: Uint8Array) => number, headOnly = 0): Promise<Uint8Array> {
  const fail = (why: string, exitCode = 3): never => { throw Object.assign(new Error(`${who}: ${why}`), { exitCode }); };
  let fh: any;
  try {
    const { constants } = await import(/* @vite-ignore */ ["node", "fs"].join(":"));
    fh = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    fail(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) fail(`${file} is not a regular file`);
    if (st.size === 0) fail(`${file} is empty (0 bytes)`);
    const read = async (into: Uint8Array, at: number): Promise<number> => {
      let got = 0;
      while (got < into.length) {
        const { bytesRead } = await fh.read(into, got, into.length - got, at + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got;
    };
    if (headOnly) {
      const head = new Uint8Array(Math.min(st.size, headOnly));
      return head.subarray(0, await read(head, 0));
    }
    if (maxBytes) {
      const head = new Uint8Array(Math.min(st.size, 65536));
      await read(head, 0);
      const max = maxBytes(head);
      if (st.size > max) fail(`${file} is ${st.size} bytes, more than its limits allow (${max} bytes; see limits)`, 1);
    }
    const bytes = new Uint8Array(st.size);
    const got = await read(bytes, 0);
    return got === bytes.length ? bytes : bytes.subarray(0, got);
  } finally {
    await fh.close();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** ffprobe beside a given ffmpeg (or on PATH). */
export function ffprobeFor(ffmpeg: string, path: { join(...p: string[]): string; dirname(p: string): string; basename(p: string): string }): string {
  return ffmpeg.includes("/") ? path.join(path.dirname(ffmpeg), path.basename(ffmpeg).replace("ffmpeg", "ffprobe")) : "ffprobe";
}

/** Runs it; resolves with stdout, rejects naming the limit, the missing executable or ffmpeg's last lines. */
export async function runFfmpeg(o: FfmpegRun): Promise<Uint8Array> {
  const { cp } = await nodeModules(o.who, "decode the file yourself");
  const maxBytes = o.maxBytes ?? Infinity;
  return new Promise((resolve, reject) => {
    const p = cp.spawn(o.exe, o.args, { stdio: ["ignore", "pipe", "pipe"] });
    let got = 0, done = false;
    const fail = (e: Error): void => { if (!done) { done = true; reject(e); } };
    const timer = setTimeout(() => { p.kill("SIGKILL"); fail(new Error(`${o.who}: ${o.what} took longer than ${o.timeoutMs} ms (limits.videoTimeoutMs, or the timeoutMs option)`)); }, o.timeoutMs);
    p.on("close", () => clearTimeout(timer));
    const out: Uint8Array[] = [], err: Uint8Array[] = [];
    p.stdout.on("data", (d: Uint8Array) => {
      got += d.length;
      if (got > maxBytes) { p.kill("SIGKILL"); fail(new Error(`${o.who}: ${o.what} produced more than ${maxBytes} bytes (its output budget, set by the limits on what it decodes)`)); return; }
      out.push(d);
    });
    p.stderr.on("data", (d: Uint8Array) => err.push(d));
    p.on("error", (e: { code?: string; message: string }) => fail(e.code === "ENOENT"
      ? Object.assign(new Error(`${o.who}: ${o.what} needs ${o.exe}, which was not found; install ffmpeg (Debian: apt-get install ffmpeg) or pass { ffmpegPath }${o.fix ? `, ${o.fix}` : ""}`), { exitCode: 3 })
      : new Error(`${o.who}: could not run ${o.exe}: ${e.message}`)));
    p.on("close", (code: number) => {
      if (code === 0) { if (!done) { done = true; resolve(concat(out)); } return; }
      fail(new Error(`${o.who}: ${o.what}: ${o.exe} exited with code ${code}: ${new TextDecoder().decode(concat(err)).trim().split("\n").slice(-3).join(" | ") || "no message"}`));
    });
  });
}
