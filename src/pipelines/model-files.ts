// Model files fetched over HTTP: byte progress, cancellation, a cache (the Cache API in browsers, a folder in
// Node) so a second load makes no request, and the SHA-256 a model card records for each weights file, checked
// before the bytes are used.  One cache interface, one implementation per platform, chosen by what the platform
// has (no instanceof ladders).
import { env } from "./env.js";
import { isNode, nodeImport } from "../util/runtime.js";

/** One progress report of a file being loaded. */
export interface LoadProgress {
  /** the file's name (`clip-scenes.safetensors`) */
  file: string;
  /** bytes read so far, and in all (total 0 when neither the server nor the card says) */
  loaded: number;
  total: number;
  /** "progress" while bytes arrive; "done" once the file is complete (and checked) */
  status: "progress" | "done";
  /** the bytes came from the cache (no request was made) */
  fromCache: boolean;
}

export interface FetchOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** use the cache (default env.useCache) */
  cache?: boolean;
}

/** A place fetched model files are kept, keyed by URL. */
export interface ModelCache {
  get(url: string): Promise<Uint8Array | null>;
  put(url: string, bytes: Uint8Array): Promise<void>;
  delete(url: string): Promise<void>;
}

/** The Cache API (browsers, workers). */
function apiCache(): ModelCache {
  const open = (): Promise<Cache> => caches.open(env.cacheName);
  return {
    async get(url) {
      const r = await (await open()).match(url);
      return r ? new Uint8Array(await r.arrayBuffer()) : null;
    },
    async put(url, bytes) {
      await (await open()).put(
        url,
        new Response(bytes as BlobPart, { headers: { "content-length": String(bytes.length) } }),
      );
    },
    async delete(url) {
      await (await open()).delete(url);
    },
  };
}

const node = nodeImport;

/** A folder (Node): one file per URL, named by its SHA-256, written whole or not at all (temp file + rename). */
function folderCache(): ModelCache {
  const file = async (url: string): Promise<string> => {
    const [path, os, crypto] = await Promise.all([node("path"), node("os"), node("crypto")]);
    const g = (globalThis as any).process.env;
    const dir = env.cacheDir ?? path.join(g.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "polymodal");
    return path.join(dir, crypto.createHash("sha256").update(url).digest("hex"));
  };
  return {
    async get(url) {
      const fs = await node("fs/promises");
      try {
        return new Uint8Array(await fs.readFile(await file(url)));
      } catch {
        return null;
      }
    },
    async put(url, bytes) {
      const [fs, path] = await Promise.all([node("fs/promises"), node("path")]);
      const f = await file(url),
        tmp = `${f}.${(globalThis as any).process.pid}.tmp`;
      await fs.mkdir(path.dirname(f), { recursive: true });
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, f);
    },
    async delete(url) {
      const fs = await node("fs/promises");
      await fs.rm(await file(url), { force: true });
    },
  };
}

/** The platform's cache: the Cache API where there is one, else a folder in Node, else none. */
export function modelCache(): ModelCache | null {
  if (typeof (globalThis as any).caches?.open === "function") return apiCache();
  if (isNode) return folderCache();
  return null;
}

/** Lower-case hex SHA-256 (WebCrypto: browsers in a secure context, Node >= 19). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as any).crypto?.subtle;
  if (!subtle)
    throw new Error(
      "cannot check a model file's SHA-256: crypto.subtle is not available (a page must be served from https:// " +
        "or localhost)",
    );
  const d = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The bytes at `url`, from the cache when it holds them, with progress and cancellation; `expected` checks them. */
export async function fetchModelFile(
  url: string,
  file: string,
  o: FetchOptions & { expected?: { bytes?: number; sha256?: string } } = {},
): Promise<Uint8Array> {
  o.signal?.throwIfAborted();
  const cache = (o.cache ?? env.useCache) ? modelCache() : null;
  const cached = cache ? await cache.get(url) : null;
  if (cached) {
    if (await matches(cached, o.expected)) {
      o.onProgress?.({ file, loaded: cached.length, total: cached.length, status: "done", fromCache: true });
      return cached;
    }
    await cache!.delete(url); // a stale or damaged copy: fetch it again
  }
  const r = await fetch(url, { signal: o.signal });
  if (!r.ok) throw new Error(`loadPretrained: fetching ${url} gave HTTP ${r.status}`);
  const total = Number(r.headers.get("content-length")) || o.expected?.bytes || 0;
  const parts: Uint8Array[] = [];
  let loaded = 0;
  if (r.body) {
    const reader = r.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.length;
      o.onProgress?.({ file, loaded, total, status: "progress", fromCache: false });
    }
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  await checkModelFile(bytes, o.expected, url);
  if (cache) await cache.put(url, bytes);
  o.onProgress?.({ file, loaded, total: loaded, status: "done", fromCache: false });
  return bytes;
}

/** Whether bytes have the size and SHA-256 expected (each when given). */
export async function matches(
  bytes: Uint8Array,
  expected: { bytes?: number; sha256?: string } | undefined,
): Promise<boolean> {
  if (!expected) return true;
  if (expected.bytes !== undefined && bytes.length !== expected.bytes) return false;
  return expected.sha256 === undefined || (await sha256Hex(bytes)) === expected.sha256.toLowerCase();
}

/** Throws, naming both, when bytes are not the file a model card records (`where`: its URL or path). */
export async function checkModelFile(
  bytes: Uint8Array,
  expected: { bytes?: number; sha256?: string } | undefined,
  where: string,
): Promise<void> {
  if (await matches(bytes, expected)) return;
  throw new Error(
    `loadPretrained: ${where} is not the file its model card names: expected ${expected!.bytes ?? "?"} bytes with ` +
      `SHA-256 ${expected!.sha256 ?? "?"}, got ${bytes.length} bytes with SHA-256 ${await sha256Hex(bytes)}`,
  );
}
