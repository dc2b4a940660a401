// The service's index: a collection (src/app/collection.ts) — the folder `polymodal index` writes (`--index DIR`,
// its vectors in file stores or in LanceDB), or a shared LanceDB alone (`--store lancedb:URI`, for replicas).
// Writes are serialised and each is durable before it is acknowledged.  A file-backed index has one writer: the
// first write takes the folder's writer lock and holds it until the service stops, so a concurrent
// `polymodal index` run cannot interleave with it.  LanceDB takes writes from every replica at once.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Collection } from "../app/collection.js";
import { lockIndex } from "../app/lock.js";
import type { Modality } from "../app/media.js";
import type { FilterValue, StoreHit } from "../retrieval/embedding-store.js";
import { HttpError } from "./errors.js";

export interface ServiceItem {
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
  private constructor(readonly where: string, readonly collection: Collection) {}

  /** `--index DIR` (with `store` for a new one), or `--store lancedb:URI` alone. */
  static async open(o: { indexDir?: string; store?: string }): Promise<ServiceStore> {
    if (o.indexDir === undefined) return new ServiceStore(o.store!, await Collection.openStore(o.store!));
    const d = resolveIndexDir(o.indexDir);
    const exists = existsSync(join(d, "manifest.json"));
    const coll = await Collection.open(d, exists ? (o.store ? { root: d, kind: "flat", store: o.store } : null) : { root: d, kind: "flat", store: o.store });
    return new ServiceStore(d, coll);
  }

  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const space of ["image", "audio", "video"] as Modality[]) {
      const st = await this.collection.existing(space);
      if (st) out[space] = await st.count();
    }
    return out;
  }

  /** Whether a space holds anything (it may have been created by another process since this one opened). */
  async has(space: Modality): Promise<boolean> {
    const st = await this.collection.existing(space);
    return !!st && (await st.count()) > 0;
  }

  /** Refuses (VersionMismatchError) a space whose stored embeddings another model version made. */
  checkVersion(space: Modality, version: string): Promise<void> {
    return this.collection.checkVersion(space, version);
  }

  /** The k best items of one space for a query vector, optionally only those whose metadata has every filter value. */
  async search(space: Modality, query: Float32Array, k: number, filter?: Record<string, FilterValue>): Promise<StoreHit[]> {
    const st = await this.collection.existing(space);
    if (!st) return [];
    return (await st.search([query], k, { filter }))[0];
  }

  /**
   * Adds or replaces items; resolves once they are durable.  Writes run one at a time in arrival order.  Every
   * space written must hold embeddings of `versions[space]` (a new space takes it).
   */
  upsert(items: ServiceItem[], versions: Record<Modality, string>): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.collection.singleWriter && !this.release) {
        try {
          this.release = lockIndex(this.where);
        } catch (e) {
          throw new HttpError(409, `cannot write the index: ${(e as Error).message}`);
        }
      }
      const spaces = new Set(items.map((i) => i.modality));
      for (const m of spaces) await this.collection.checkVersion(m, versions[m], true);
      // an id lives in one space: drop it from the others first
      for (const [space, st] of this.collection.stores) {
        const ids = items.filter((i) => i.modality !== space).map((i) => i.id);
        if (ids.length) await st.remove(ids);
      }
      for (const m of spaces) {
        const group = items.filter((i) => i.modality === m);
        const st = await this.collection.store(m, group[0].embedding.length);
        await this.collection.checkVersion(m, versions[m], true);
        await st.upsert(group.map((i) => ({ id: i.id, modality: i.modality, embedding: i.embedding, metadata: i.metadata })));
      }
      await this.collection.save();
    };
    const p = this.writes.then(run);
    this.writes = p.catch(() => {});
    return p;
  }

  /** Waits for pending writes, closes the stores and releases the writer lock. */
  async close(): Promise<void> {
    await this.writes;
    await this.collection.close();
    this.release?.();
    this.release = null;
  }
}
