// Node-only file helpers, loaded on demand so the library itself imports no Node built-in.

/** fs helpers: atomic write (temporary file, fsync, rename) and read; `unavailable` is the Error outside Node. */
export async function nodeFs(unavailable: string): Promise<{ saveBytesAtomic(p: string, b: Uint8Array): Promise<void>; readBytes(p: string): Promise<Uint8Array> }> {
  const spec = ["node", "fs/promises"].join(":");
  let fs: any;
  try {
    fs = await import(/* @vite-ignore */ spec);
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
        await fs.rm(tmp, { force: true }).catch(() => undefined); // disk full, permission: no temporary file left behind
        throw e;
      }
    },
    async readBytes(path: string): Promise<Uint8Array> {
      return new Uint8Array(await fs.readFile(path));
    },
  };
}

