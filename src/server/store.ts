// The service's index: the collection folder `polymodal index` writes (src/app/collection.ts), searched in place
// and written through POST /v1/index.  Writes are serialised and each is saved (atomically, as the CLI saves)
// before it is acknowledged; the first write takes the folder's writer lock and holds it until the service stops,
// so a concurrent `polymodal index` run cannot interleave with it.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Collection } from "../app/collection.js";
import { lockIndex } from "../app/lock.js";
import { HttpError } from "./errors.js";
import type { Modality } from "../app/media.js";
import type { RetrievalResult } from "../retrieval/multimodal-index.js";

export interface StoreItem {
  id: string;
  modality: Modality;
  embedding: Float32Array;
  metadata: Record<string, unknown>;
}

/** `dir` itself when it holds a collection, else its .polymodal (the folder `polymodal index <dir>` wrote), else a new one at dir. */
export function resolveIndexDir(dir: string): string {
  const d = resolve(dir);
  if (!existsSync(join(d, "manifest.json")) && existsSync(join(d, ".polymodal", "manifest.json"))) return join(d, ".polymodal");
  return d;
}

export class ServiceStore {
  private writes: Promise<unknown> = Promise.resolve();
  private release: (() => void) | null = null;
  private constructor(readonly dir: string, readonly collection: Collection) {}

  static async open(dir: string): Promise<ServiceStore> {
    const d = resolveIndexDir(dir);
    const exists = existsSync(join(d, "manifest.json"));
    const coll = await Collection.open(d, exists ? null : { root: d, kind: "flat" });
    return new ServiceStore(d, coll);
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.collection.indexes].map(([m, ix]) => [m, ix.size]));
  }

  /** Refuses (VersionMismatchError) a space whose stored embeddings another model version made. */
  checkVersion(space: Modality, version: string): void {
    this.collection.checkVersion(space, version);
  }

  /** The k best items of one space for a query vector, optionally only those whose metadata has every filter value. */
  search(space: Modality, query: Float32Array, k: number, filter?: Record<string, unknown>): RetrievalResult[] {
    const ix = this.collection.indexes.get(space);
    if (!ix || ix.size === 0) return [];
    const pairs = filter ? Object.entries(filter) : [];
    const options = pairs.length ? { filter: (m: Record<string, unknown>) => pairs.every(([f, v]) => m[f] === v) } : {};
    return ix.search(query, Math.min(k, ix.size), space, options);
  }

  /**
   * Adds or replaces items and saves; resolves once the save is on disk.  Writes run one at a time in arrival order.
   * Every space written must hold embeddings of `versions[space]` (a new space takes it).
   */
  upsert(items: StoreItem[], versions: Record<Modality, string>): Promise<void> {
    const run = async (): Promise<void> => {
      for (const m of new Set(items.map((i) => i.modality))) this.collection.checkVersion(m, versions[m], true);
      if (!this.release) {
        try {
          this.release = lockIndex(this.dir);
        } catch (e) {
          throw new HttpError(409, `cannot write the index: ${(e as Error).message}`);
        }
      }
      for (const it of items) {
        for (const other of this.collection.indexes.values()) other.remove(it.id); // an id lives in one space
        const ix = this.collection.index(it.modality, it.embedding.length);
        ix.add(it.id, it.embedding, it.modality, it.metadata);
      }
      await this.collection.save();
    };
    const p = this.writes.then(run);
    this.writes = p.catch(() => {});
    return p;
  }

  /** Waits for pending writes and releases the writer lock. */
  async close(): Promise<void> {
    await this.writes;
    this.release?.();
    this.release = null;
  }
}
