// The service's index: a collection (src/app/collection.ts) — the folder `polymodal index` writes (`--index DIR`,
// its vectors in file stores or in LanceDB), or a shared LanceDB alone (`--store lancedb:URI`, for replicas).
// Writes are serialised and each is durable before it is acknowledged.
//
// A folder has one writer for its whole life.  The service opens `--index DIR` as its writer at start, taking the
// folder's lock and holding it until it stops, so a `polymodal index` run on the same folder is refused while it
// serves.  If another process holds the lock (an index run in progress), or the folder cannot be written (a
// read-only mount), or the service was started with `--read-only`, it opens the folder read-only instead: it
// writes nothing, its searches follow the writer's log, and POST /v1/index answers 409 naming why — until the lock
// is free, when the next write takes it and the service becomes the writer.  LanceDB takes writes from every replica.
import { Serial } from "../util/serial.js";
import { SPACES, type Space } from "../pipelines/pipeline.js";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Collection } from "../app/collection.js";
import { IndexLockedError } from "../app/lock.js";

import type { FilterValue, StoreHit } from "../retrieval/embedding-store.js";
import { HttpError } from "./errors.js";

export interface ServiceItem {
  id: string;
  modality: Space;
  embedding: Float32Array;
  metadata: Record<string, unknown>;
}

/**
 * `dir` itself when it holds a collection, else its .polymodal (the folder `polymodal index <dir>` wrote), else a
 * new one at dir.
 */
export function resolveIndexDir(dir: string): string {
  const d = resolve(dir);
  if (!existsSync(join(d, "manifest.json")) && existsSync(join(d, ".polymodal", "manifest.json")))
    return join(d, ".polymodal");
  return d;
}

/** Errors that mean "this folder cannot be written here" (rather than "something is wrong"). */
const READ_ONLY_CODES = new Set(["EACCES", "EROFS", "EPERM"]);

export class ServiceStore {
  private readonly writes = new Serial();
  /**
   * @param readOnlyWhy null for a writer; else why this service only reads (its 409's message)
   * @param pinned `--read-only`: never becomes the writer
   */
  private constructor(
    readonly where: string,
    private coll: Collection,
    private readOnlyWhy: string | null,
    private readonly pinned = false,
  ) {}

  get collection(): Collection {
    return this.coll;
  }
  /** "writer" or "reader" (a reader follows another process's writes) */
  get mode(): "writer" | "reader" {
    return this.readOnlyWhy === null ? "writer" : "reader";
  }

  /** `--index DIR` (with `store` for a new one), or `--store lancedb:URI` alone; `readOnly`: never write. */
  static async open(o: { indexDir?: string; store?: string; readOnly?: boolean }): Promise<ServiceStore> {
    if (o.indexDir === undefined) {
      if (o.readOnly)
        throw new Error("--read-only needs --index DIR (a shared LanceDB takes writes from every replica)");
      return new ServiceStore(o.store!, await Collection.openStore(o.store!), null);
    }
    const d = resolveIndexDir(o.indexDir);
    const exists = existsSync(join(d, "manifest.json"));
    if (o.readOnly)
      return new ServiceStore(
        d,
        await Collection.open(d, null, { readOnly: true }),
        "the service was started with --read-only",
        true,
      );
    try {
      const coll = await Collection.open(
        d,
        exists
          ? o.store
            ? { root: d, kind: "flat", store: o.store }
            : null
          : { root: d, kind: "flat", store: o.store },
      );
      return new ServiceStore(d, coll, null);
    } catch (e) {
      const why = ServiceStore.readOnlyReason(e);
      if (!why || !exists) throw e;
      return new ServiceStore(d, await Collection.open(d, null, { readOnly: true }), why);
    }
  }

  private static readOnlyReason(e: unknown): string | null {
    if (e instanceof IndexLockedError) return e.message;
    const code = (e as NodeJS.ErrnoException).code;
    return code && READ_ONLY_CODES.has(code) ? `the index folder cannot be written (${(e as Error).message})` : null;
  }

  /** A reader becomes the writer when the folder's lock is free (the index run it waited for finished). */
  private async tryToWrite(): Promise<void> {
    if (this.readOnlyWhy === null || this.pinned) return;
    let coll: Collection;
    try {
      coll = await Collection.open(this.where, null);
    } catch (e) {
      const why = ServiceStore.readOnlyReason(e);
      if (!why) throw e;
      this.readOnlyWhy = why;
      return;
    }
    const old = this.coll;
    this.coll = coll;
    this.readOnlyWhy = null;
    await old.close();
  }

  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const space of SPACES) {
      const st = await this.collection.existing(space);
      if (st) out[space] = await st.count();
    }
    return out;
  }

  /** Whether a space holds anything (it may have been created by another process since this one opened). */
  async has(space: Space): Promise<boolean> {
    const st = await this.collection.existing(space);
    return !!st && (await st.count()) > 0;
  }

  /** Refuses (VersionMismatchError) a space whose stored embeddings another model version made. */
  checkVersion(space: Space, version: string): Promise<void> {
    return this.collection.checkVersion(space, version);
  }

  /** The k best items of one space for a query vector, optionally only those whose metadata has every filter value. */
  async search(
    space: Space,
    query: Float32Array,
    k: number,
    filter?: Record<string, FilterValue>,
  ): Promise<StoreHit[]> {
    const st = await this.collection.existing(space);
    if (!st) return [];
    return (await st.search([query], k, { filter }))[0];
  }

  /**
   * Adds or replaces items; resolves once they are durable.  Writes run one at a time in arrival order.  Every
   * space written must hold embeddings of `versions[space]` (a new space takes it).
   */
  upsert(items: ServiceItem[], versions: Partial<Record<Space, string>>): Promise<void> {
    const run = async (): Promise<void> => {
      await this.tryToWrite();
      if (this.readOnlyWhy !== null)
        throw new HttpError(409, `this service cannot write its index: ${this.readOnlyWhy}`);
      const spaces = new Set(items.map((i) => i.modality));
      for (const m of spaces) await this.collection.checkVersion(m, versions[m]!, true);
      // an id lives in one space: drop it from the others first
      for (const [space, st] of this.collection.stores) {
        const ids = items.filter((i) => i.modality !== space).map((i) => i.id);
        if (ids.length) await st.remove(ids);
      }
      for (const m of spaces) {
        const group = items.filter((i) => i.modality === m);
        const st = await this.collection.store(m, group[0].embedding.length);
        await this.collection.checkVersion(m, versions[m]!, true);
        await st.upsert(
          group.map((i) => ({ id: i.id, modality: i.modality, embedding: i.embedding, metadata: i.metadata })),
        );
      }
      await this.collection.save();
    };
    return this.writes.run(run);
  }

  /** Waits for pending writes, closes the stores and releases the writer lock. */
  async close(): Promise<void> {
    await this.writes.idle();
    await this.coll.close();
  }
}
