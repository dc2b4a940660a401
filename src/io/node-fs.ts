// Node-only file helpers, loaded on demand so the library itself imports no Node built-in.
import { nodeImport } from "../util/runtime.js";

/** fs helpers: atomic write (temporary file, fsync, rename) and read; `unavailable` is the Error outside Node. */
export async function nodeFs(
  unavailable: string,
): Promise<{ saveBytesAtomic(p: string, b: Uint8Array): Promise<void>; readBytes(p: string): Promise<Uint8Array> }> {
  let fs: any;
  try {
    fs = await nodeImport("fs/promises");
  } catch {
    throw new Error(unavailable);
  }
  return {
    async saveBytesAtomic(path: string, bytes: Uint8Array): Promise<void> {
      const tmp = `${path}.${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}.tmp`;
      try {
        const fh = await fs.open(tmp, "w");
        try {
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fs.rename(tmp, path);
      } catch (e) {
        // disk full, permission: no temporary file left behind
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw e;
      }
    },
    async readBytes(path: string): Promise<Uint8Array> {
      return new Uint8Array(await fs.readFile(path));
    },
  };
}

/** A file that is not read: not a regular file, or (with `size` and `max`) larger than its budget. */
export class FileRefusedError extends Error {
  constructor(
    message: string,
    readonly size?: number,
    readonly max?: number,
  ) {
    super(message);
  }
}

/**
 * A regular file's bytes (Node), read once into one buffer.  It is opened non-blocking (a FIFO never waits for a
 * writer) and checked by fstat before a byte of its body is read: anything but a regular file (a FIFO, a device such
 * as /dev/zero, a folder; a symlink is followed) is refused, and so is a size over `maxBytes`, which may look at the
 * file's first 64 KiB (a WAV's header says how many bytes its audio can need).  `headOnly` n: just the first n bytes.
 * A failure to open is the fs error itself (ENOENT keeps its code).
 */
export async function readRegularFile(
  path: string,
  o: { maxBytes?: number | ((head: Uint8Array) => number); headOnly?: number } = {},
): Promise<Uint8Array> {
  const [fs, { constants }] = await Promise.all([nodeImport("fs/promises"), nodeImport("fs")]);
  const fh = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new FileRefusedError(`${path} is not a regular file`);
    const read = async (into: Uint8Array): Promise<Uint8Array> => {
      let got = 0;
      while (got < into.length) {
        const { bytesRead } = await fh.read(into, got, into.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === into.length ? into : into.subarray(0, got);
    };
    if (o.headOnly) return await read(new Uint8Array(Math.min(st.size, o.headOnly)));
    const max =
      typeof o.maxBytes === "function" ? o.maxBytes(await read(new Uint8Array(Math.min(st.size, 65536)))) : o.maxBytes;
    if (max !== undefined && st.size > max)
      throw new FileRefusedError(`${path} is ${st.size} bytes, more than ${max}`, st.size, max);
    return await read(new Uint8Array(st.size));
  } finally {
    await fh.close();
  }
}
