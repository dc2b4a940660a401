// LanceStore: an EmbeddingStore in a LanceDB table (@lancedb/lancedb: embedded, no server; tables on local disk or
// object storage).  One table per space:
//   id (utf8, the key) | modality (utf8) | vector (fixed-size list of float32, unit length) | metadata (utf8 JSON)
//   | filter_kv (list of utf8: one exact token per scalar metadata value, for pushed-down filters)
// plus a `polymodal_meta` table holding each space's version stamp.  Upserts are merge-inserts on id; searches are
// dot-product (cosine on unit vectors) with modality and metadata filters pushed down as SQL `where` clauses; past
// `annThreshold` rows an IVF-PQ index is built and searched with refinement, below it the
// search is exact (brute force), and exact searches give the same top-k as the in-process flat index.
// Connections read with readConsistencyInterval 0, so a write by another process (a serve replica, a worker) is
// visible to the next search.
import { Serial } from "../util/serial.js";
import { normalizeRows } from "../retrieval/multimodal-index.js";
import type { Connection, Table } from "@lancedb/lancedb";
import {
  validateItems,
  type EmbeddingStore,
  type EntryOptions,
  type StoredItem,
  type StoreHit,
  type StoreSearchOptions,
} from "../retrieval/embedding-store.js";

const META = "polymodal_meta";
/** LanceDB's error for a table whose folder exists without a first version: being created by another process */
const NOT_YET = /was not found|_versions/;
/** LanceDB's errors for a commit that lost to a concurrent one and could not be rebased */
const CONFLICT = /Incompatible transaction|Commit conflict|Retryable commit conflict/i;

export interface LanceStoreOptions {
  /** build an ANN index (IVF-PQ) once the table holds this many rows (default 100,000) */
  annThreshold?: number;
  /**
   * ANN search: partitions probed (default 100) and refine factor (default 100: 100 x k candidates re-ranked
   * exactly; recall@10 1.00 on 1 M x 512 in npm run bench -- scale, 0.92 at 50 / 50)
   */
  nprobes?: number;
  refineFactor?: number;
}

/** A SQL string literal. */
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * The filter tokens of an item: JSON.stringify([field, value]) for each top-level scalar metadata value, plus "{}"
 * so the list is never empty.  Equal JS scalars give equal tokens (JSON.stringify is exact for doubles), so
 * `array_has_all(filter_kv, [tokens])` pushes a { field: value } filter down exactly.
 */
function filterTokens(metadata: Record<string, unknown>): string[] {
  const out = ["{}"];
  for (const [k, v] of Object.entries(metadata)) {
    if (v === null || typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)))
      out.push(JSON.stringify([k, v]));
  }
  return out;
}

/** A search's modality and metadata filter as a `where` clause. */
function whereOf(options: StoreSearchOptions): string | null {
  const parts: string[] = [];
  if (options.modality) parts.push(`modality = ${lit(options.modality)}`);
  const tokens = Object.entries(options.filter ?? {}).map(([k, v]) => lit(JSON.stringify([k, v])));
  if (tokens.length) parts.push(`array_has_all(filter_kv, [${tokens.join(", ")}])`);
  return parts.length ? parts.join(" AND ") : null;
}

/**
 * @example
 * const store = await LanceStore.open("/data/polymodal-lance", "image", 512);
 * await store.upsert(items);
 * const [hits] = await store.search([query], 10, { filter: { user: "ana" } });
 */
export class LanceStore implements EmbeddingStore {
  readonly backend = "lancedb";
  private stamp: string | null = null;
  private readonly writes = new Serial();
  private indexed = false;

  private constructor(
    readonly uri: string,
    readonly space: string,
    public dim: number,
    private db: Connection,
    private table: Table | null,
    private readonly opts: Required<LanceStoreOptions>,
  ) {}

  /**
   * Opens (or creates on first write) the table `space` in the LanceDB database at `uri` (a folder, s3://..., ...);
   * dim 0 takes an existing table's.
   */
  static async open(uri: string, space: string, dim: number, options: LanceStoreOptions = {}): Promise<LanceStore> {
    let lancedb: typeof import("@lancedb/lancedb");
    try {
      lancedb = await import("@lancedb/lancedb");
    } catch (e) {
      throw new Error(
        `LanceStore: @lancedb/lancedb is not installed (${(e as Error).message.split("\n")[0]}); it is an ` +
          `optional peer of polymodal: npm install -E @lancedb/lancedb@0.31.0`,
      );
    }
    const db = await lancedb.connect(uri, { readConsistencyInterval: 0 });
    const s = new LanceStore(uri, space, dim, db, null, {
      annThreshold: options.annThreshold ?? 100_000,
      nprobes: options.nprobes ?? 100,
      refineFactor: options.refineFactor ?? 100,
    });
    await s.tbl();
    await s.readVersion();
    return s;
  }

  /** The table, opened on first need when another process created it after this store opened. */
  private async tbl(): Promise<Table | null> {
    if (!this.table) {
      const t = await this.openReady(this.space);
      if (t) await this.adopt(t);
    }
    return this.table;
  }

  /**
   * The table `name`, or null while it does not exist.  A table another process is creating is listed (its folder
   * exists) before its first version is written; until then it is not there yet.
   */
  private async openReady(name: string): Promise<Table | null> {
    if (!(await this.db.tableNames()).includes(name)) return null;
    try {
      return await this.db.openTable(name);
    } catch (e) {
      if (NOT_YET.test((e as Error).message)) return null;
      throw e;
    }
  }

  /** Takes `t` as this store's table: its vector width becomes the store's dim when that was not known (0). */
  private async adopt(t: Table): Promise<void> {
    const field = (await t.schema()).fields.find((f) => f.name === "vector");
    const have = (field?.type as { listSize?: number } | undefined)?.listSize ?? 0;
    if (this.dim === 0) this.dim = have;
    if (have !== this.dim) {
      t.close();
      throw new Error(`LanceStore: table ${this.space} in ${this.uri} holds ${have}-d vectors, expected ${this.dim}`);
    }
    this.table = t;
    this.indexed = (await t.listIndices()).some((i) => i.columns.includes("vector"));
  }

  private meta(): Promise<Table | null> {
    return this.openReady(META);
  }

  private async readVersion(): Promise<void> {
    const m = await this.meta();
    if (!m) return;
    const rows = await m
      .query()
      .where(`space = ${lit(this.space)}`)
      .toArray();
    this.stamp = rows.length ? String(rows[0].version) : null;
  }

  version(): string | null {
    return this.stamp;
  }

  async setVersion(version: string): Promise<void> {
    const row = [{ space: this.space, version }];
    const m = (await this.meta()) ?? (await this.createEmpty(META, row));
    await this.merge(m, "space", row);
    this.stamp = version;
  }

  private rows(items: StoredItem[]): Array<Record<string, unknown>> {
    return items.map((it) => {
      // unit vectors by the index kernel's normalisation (the bits every store keeps), so scores are cosines
      const unit = normalizeRows(it.embedding, 1, it.embedding.length);
      return {
        id: it.id,
        modality: it.modality,
        vector: Array.from(unit),
        metadata: JSON.stringify(it.metadata),
        filter_kv: filterTokens(it.metadata),
      };
    });
  }

  /** Writes run one at a time per store; LanceDB resolves concurrent writers across processes itself. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    return this.writes.run(f);
  }

  /**
   * A table created empty (or opened, when another process created it first), so that rows are only ever written
   * by merge-inserts.  Creating a table *with* rows is not safe with several writers: two processes creating the
   * same table at once can both succeed on local disk, the second replacing the first one's rows (seen: 1 in 20
   * tries); an empty table replaced by another empty one loses nothing.
   */
  private async createEmpty(name: string, rows: Array<Record<string, unknown>>): Promise<Table> {
    const { makeArrowTable } = await import("@lancedb/lancedb");
    const schema = makeArrowTable(rows).schema;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.createEmptyTable(name, schema, { existOk: true });
      } catch (e) {
        // another process is creating it and has not written its first version yet (seen with two workers), or
        // created it in the same instant (an Overwrite commit conflict; seen once in a CI run): the next try opens it
        if (!(NOT_YET.test((e as Error).message) || CONFLICT.test((e as Error).message)) || attempt === 100) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** The table, created empty if no process has created it yet (its schema from an all-zero row of this width). */
  async prepare(): Promise<void> {
    if (this.dim === 0)
      throw new Error(
        `LanceStore: ${this.space} in ${this.uri} has no rows yet; open it with the embedding width to prepare it`,
      );
    await this.serial(async () => {
      if (!(await this.tbl()))
        await this.adopt(
          await this.createEmpty(
            this.space,
            this.rows([{ id: "", modality: "", embedding: new Float32Array(this.dim), metadata: {} }]),
          ),
        );
    });
  }

  /**
   * A merge-insert, retried when a concurrent transaction made it incompatible (another process creating the
   * table at the same moment): a merge that failed committed nothing, and upserts are idempotent.
   */
  private async merge(t: Table, key: string, rows: Array<Record<string, unknown>>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await t.mergeInsert(key).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows);
        return;
      } catch (e) {
        if (!CONFLICT.test((e as Error).message) || attempt === 10) throw e;
        await new Promise((r) => setTimeout(r, 10 * attempt));
      }
    }
  }

  async upsert(items: StoredItem[]): Promise<void> {
    // a space no process has written yet takes the width of its first items
    if (this.dim === 0 && items.length) {
      await this.tbl();
      if (this.dim === 0) this.dim = items[0].embedding.length;
    }
    validateItems(items, this.dim);
    if (items.length === 0) return;
    await this.serial(async () => {
      const rows = this.rows(items);
      if (!(await this.tbl())) await this.adopt(await this.createEmpty(this.space, rows));
      await this.merge(this.table!, "id", rows);
      await this.maybeIndex();
    });
  }

  /** Past the threshold, an IVF-PQ index over the vectors (dot product); rebuilt by optimize() as data grows. */
  private async maybeIndex(): Promise<void> {
    if (this.indexed || !this.table) return;
    const n = await this.table.countRows();
    if (n < this.opts.annThreshold) return;
    const { Index } = await import("@lancedb/lancedb");
    await this.table.createIndex("vector", {
      config: Index.ivfPq({
        distanceType: "dot",
        numPartitions: Math.max(1, Math.round(Math.sqrt(n))),
        numSubVectors: Math.max(1, Math.floor(this.dim / 8)),
      }),
    });
    this.indexed = true;
  }

  async remove(ids: string[]): Promise<number> {
    if (!(await this.tbl()) || ids.length === 0) return 0;
    return this.serial(async () => {
      const where = `id IN (${ids.map(lit).join(", ")})`;
      const before = await this.table!.countRows(where);
      if (before) await this.table!.delete(where);
      return before;
    });
  }

  async search(queries: Float32Array[], k: number, options: StoreSearchOptions = {}): Promise<StoreHit[][]> {
    if (!(await this.tbl())) return queries.map(() => []);
    const where = whereOf(options);
    return Promise.all(
      queries.map(async (q) => {
        let norm = 0;
        for (let i = 0; i < q.length; i++) norm += q[i] * q[i];
        const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
        let s = this.table!.vectorSearch(Float32Array.from(q, (v) => v * inv))
          .distanceType("dot")
          .limit(k);
        if (where) s = s.where(where);
        if (this.indexed) s = s.nprobes(this.opts.nprobes).refineFactor(this.opts.refineFactor);
        const rows = await s.toArray();
        // LanceDB's dot distance is 1 - dot
        return rows.map(
          (r: Record<string, unknown>): StoreHit => ({
            id: String(r.id),
            score: 1 - Number(r._distance),
            modality: String(r.modality),
            metadata: JSON.parse(String(r.metadata)),
          }),
        );
      }),
    );
  }

  async *entries(options: EntryOptions = {}): AsyncIterable<StoredItem> {
    const t = await this.tbl();
    if (!t) return;
    const vectors = options.vectors ?? true;
    // without vectors the scan reads the small columns only (1 M x 512 floats are 2 GB)
    for await (const batch of t
      .query()
      .select(vectors ? ["id", "modality", "vector", "metadata"] : ["id", "modality", "metadata"])) {
      for (const r of batch.toArray()) {
        const embedding = vectors
          ? Float32Array.from(r.vector.toArray ? r.vector.toArray() : r.vector)
          : new Float32Array(0);
        yield { id: String(r.id), modality: String(r.modality), embedding, metadata: JSON.parse(String(r.metadata)) };
      }
    }
  }

  async count(): Promise<number> {
    const t = await this.tbl();
    return t ? t.countRows() : 0;
  }

  async close(): Promise<void> {
    await this.writes.idle();
    this.table?.close();
    this.db.close();
  }
}
