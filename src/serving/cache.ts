// The one cache interface of both serving paths: the library's MultimodalServingPipeline keeps results in it, the
// service its embeddings (in process, and in Redis: server/cache.ts).  `get` and `set` may be async; a cache that
// fails counts as a miss, never as a failed request.

export interface Cache<V> {
  get(key: string): V | null | undefined | Promise<V | null | undefined>;
  set(key: string, value: V): void | Promise<void>;
  /** many keys in one round trip (a network cache); without it, get() per key */
  getMany?(keys: string[]): Promise<Array<V | null>>;
  /** many entries in one round trip; without it, set() per entry */
  setMany?(entries: Array<[string, V]>): Promise<void>;
  close?(): Promise<void>;
}

/** The last `maxEntries` distinct entries, least recently used out first; values copied in and out by `copy`. */
export class LruCache<V> implements Cache<V> {
  private readonly map = new Map<string, V>(); // insertion order = recency
  constructor(
    readonly maxEntries: number,
    private readonly copy: (v: V) => V = (v) => v,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0)
      throw new Error(`LruCache: maxEntries must be a non-negative integer, got ${maxEntries}`);
  }
  get(key: string): V | null {
    const v = this.map.get(key);
    if (v === undefined) return null;
    this.map.delete(key);
    this.map.set(key, v);
    return this.copy(v);
  }
  set(key: string, value: V): void {
    if (this.maxEntries === 0) return;
    this.map.delete(key);
    this.map.set(key, this.copy(value));
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
  }
  get size(): number {
    return this.map.size;
  }
  async close(): Promise<void> {
    this.map.clear();
  }
}

/** Every key's value (null on a miss or when the cache failed). */
export async function getAll<V>(cache: Cache<V>, keys: string[]): Promise<Array<V | null>> {
  if (keys.length === 0) return [];
  try {
    if (cache.getMany) return await cache.getMany(keys);
    return await Promise.all(keys.map(async (k) => (await cache.get(k)) ?? null));
  } catch {
    return keys.map(() => null);
  }
}

/** Stores every entry; a cache that fails to store costs a recomputation later, never a request. */
export async function setAll<V>(cache: Cache<V>, entries: Array<[string, V]>): Promise<void> {
  if (entries.length === 0) return;
  try {
    if (cache.setMany) await cache.setMany(entries);
    else await Promise.all(entries.map(([k, v]) => cache.set(k, v)));
  } catch {
    /* see above */
  }
}
