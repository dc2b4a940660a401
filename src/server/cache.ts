// Embedding caches for the service: an in-process LRU and a shared Redis backend, behind the library's one cache
// interface (serving/cache.ts).  Keys are
// SHA-256 digests of (version stamp, input kind, input bytes), so a cached vector is only ever returned for the same
// model weights, preprocessing, kernel build and input (src/app/version.ts).  A cache never fails a request: a
// Redis that is down or slow counts as misses (and an error metric), and the request runs the model.
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { LruCache, type Cache } from "../serving/cache.js";

/** The service's embedding caches: the serving cache interface (serving/cache.ts) over vectors. */
export type EmbeddingCache = Cache<Float32Array>;

/** The cache key of one input. */
export function cacheKey(version: string, kind: string, input: string | Uint8Array | readonly number[]): string {
  const h = createHash("sha256");
  // token ids are keyed apart from any text: the byte after the kind tells them apart
  if (typeof input === "string" || input instanceof Uint8Array) h.update(`${version}\u0000${kind}\u0000`).update(input);
  else h.update(`${version}\u0000${kind}\u0001ids\u0000${input.join(",")}`);
  return h.digest("hex");
}

/** The in-process layer: least recently used entries go first; vectors copied in and out. */
export const lruEmbeddingCache = (maxEntries: number): LruCache<Float32Array> =>
  new LruCache(maxEntries, (v) => v.slice());

export interface RedisCacheOptions {
  /** key prefix (default "polymodal:emb:") */
  prefix?: string;
  /** seconds an entry lives (default 7 days; 0: no expiry) */
  ttlSeconds?: number;
  /** ms before a command counts as failed (default 250) */
  commandTimeoutMs?: number;
  onError?: (e: Error) => void;
}

/**
 * Vectors as raw little-endian float32 bytes under `prefix + key`, shared by every service process that points at
 * the same Redis.  Commands fail fast instead of queueing while Redis is unreachable (enableOfflineQueue off).
 */
export class RedisEmbeddingCache implements EmbeddingCache {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly onError: (e: Error) => void;

  constructor(url: string, options: RedisCacheOptions = {}) {
    this.prefix = options.prefix ?? "polymodal:emb:";
    this.ttl = options.ttlSeconds ?? 7 * 24 * 3600;
    this.onError = options.onError ?? (() => {});
    this.redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 250,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.redis.on("error", (e: Error) => this.onError(e));
  }

  /** Connects (the service checks Redis answers before it says it is ready). */
  async connect(): Promise<void> {
    await this.redis.connect();
    await this.redis.ping();
  }

  get ready(): boolean {
    return this.redis.status === "ready";
  }

  async get(key: string): Promise<Float32Array | null> {
    return (await this.getMany([key]))[0];
  }

  async set(key: string, value: Float32Array): Promise<void> {
    await this.setMany([[key, value]]);
  }

  async getMany(keys: string[]): Promise<Array<Float32Array | null>> {
    if (keys.length === 0) return [];
    try {
      const values = await this.redis.mgetBuffer(...keys.map((k) => this.prefix + k));
      return values.map((b) => (b && b.length % 4 === 0 ? new Float32Array(new Uint8Array(b).buffer) : null));
    } catch (e) {
      this.onError(e as Error);
      return keys.map(() => null);
    }
  }

  async setMany(entries: Array<[string, Float32Array]>): Promise<void> {
    if (entries.length === 0) return;
    try {
      const p = this.redis.pipeline();
      for (const [k, v] of entries) {
        const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        if (this.ttl > 0) p.set(this.prefix + k, b, "EX", this.ttl);
        else p.set(this.prefix + k, b);
      }
      await p.exec();
    } catch (e) {
      this.onError(e as Error);
    }
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
