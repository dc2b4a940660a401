// The embedding store interface: one embedding space (one model version) of items — id, modality, vector,
// metadata — that can be upserted, removed, searched in batches with modality and metadata filters, listed and
// counted.  Every backend answers the same calls with the same results where both search exactly:
//   MemoryStore   a MultimodalIndex in this process (flat / int8 / HNSW), Node and browsers (this file)
//   FileStore     MemoryStore persisted as a snapshot + append log in a folder (Node: src/app/file-store.ts)
//   LanceStore    a LanceDB table on disk or object storage (Node: src/app/lance-store.ts)
// Filters are data ({ field: value }, equality), not functions, so a database backend can push them down.
import { MultimodalIndex, type IndexOptions } from "./multimodal-index.js";

export type FilterValue = string | number | boolean | null;

export interface StoredItem {
  id: string;
  modality: string;
  embedding: Float32Array;
  metadata: Record<string, unknown>;
}

export interface StoreHit {
  id: string;
  /** cosine similarity (stores keep unit vectors) */
  score: number;
  modality: string;
  metadata: Record<string, unknown>;
}

export interface StoreSearchOptions {
  /** only items of this modality */
  modality?: string | null;
  /** only items whose metadata has every one of these values */
  filter?: Record<string, FilterValue>;
}

export interface EntryOptions {
  /** read the vectors (default true); false lists ids, modality and metadata only, each embedding empty */
  vectors?: boolean;
}

export interface EmbeddingStore {
  /** "memory", "file" or "lancedb" */
  readonly backend: string;
  readonly dim: number;
  /** the embedding version stamp the store's vectors carry (null while empty and unstamped) */
  version(): string | null;
  /** adds or replaces items by id; resolves once they are durable (for persistent backends) */
  upsert(items: StoredItem[]): Promise<void>;
  /** removes items by id; resolves with how many existed */
  remove(ids: string[]): Promise<number>;
  /** the k best items per query, best first (ties: earlier-stored first where the backend keeps an order) */
  search(queries: Float32Array[], k: number, options?: StoreSearchOptions): Promise<StoreHit[][]>;
  /** every item (vectors as stored: unit length; `vectors: false`: empty, for listings that need ids and metadata) */
  entries(options?: EntryOptions): AsyncIterable<StoredItem>;
  count(): Promise<number>;
  /** records the version stamp (a store holds one version; see checkVersion) */
  setVersion(version: string): Promise<void>;
  /**
   * Makes the store's persistent structure exist now, empty (a shared backend creates its table), so that writers
   * that start together never race to create it.  Backends without one leave it out.
   */
  prepare?(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown when items of another embedding version would be mixed into a store, or a query compared with them. */
export class StoreVersionError extends Error {}

/**
 * Refuses `version` for a store stamped with another one; stamps an unstamped store.  Call before upsert/search
 * with vectors from a model: vectors of two versions are not comparable.
 */
export async function checkVersion(
  store: EmbeddingStore,
  version: string,
  adopt: boolean,
  where = "the store",
): Promise<void> {
  const have = store.version();
  if (have === null) {
    if (adopt) await store.setVersion(version);
    return;
  }
  if (have !== version) {
    throw new StoreVersionError(
      `${where} holds embeddings of ${have}, and these are ${version}: embeddings of different versions are not ` +
        `comparable; re-index into a new store with these models`,
    );
  }
}

/** Metadata equality as MultimodalIndex's functional filter. */
export function filterFunction(
  filter: Record<string, FilterValue> | undefined,
): ((m: Record<string, unknown>) => boolean) | undefined {
  const pairs = filter ? Object.entries(filter) : [];
  return pairs.length ? (m) => pairs.every(([f, v]) => m[f] === v) : undefined;
}

/** One line of a JSONL export: {"id","modality","metadata","embedding":[...]} (float32 values, exact). */
export function jsonlLine(item: StoredItem): string {
  return JSON.stringify({
    id: item.id,
    modality: item.modality,
    metadata: item.metadata,
    embedding: Array.from(item.embedding),
  });
}

/**
 * A MultimodalIndex as an EmbeddingStore: in this process, nothing persisted (FileStore persists it).
 * @example
 * const store = new MemoryStore(64, { kind: "hnsw" });
 * await store.upsert([{ id: "a", modality: "image", embedding, metadata: { user: "ana" } }]);
 * const [hits] = await store.search([query], 5, { modality: "image", filter: { user: "ana" } });
 */
export class MemoryStore implements EmbeddingStore {
  readonly backend: string = "memory";
  /** the index (FileStore replaces it when a writer it follows compacts) */
  protected held: MultimodalIndex;
  protected stamp: string | null = null;
  /** whether close() frees the index's memory (an index passed in stays the caller's) */
  protected ownsIndex: boolean;

  constructor(dim: number, options: IndexOptions = {}, index?: MultimodalIndex) {
    this.held = index ?? new MultimodalIndex(dim, options);
    this.ownsIndex = !index;
  }
  get index(): MultimodalIndex {
    return this.held;
  }
  get dim(): number {
    return this.index.embeddingDim;
  }
  version(): string | null {
    return this.stamp;
  }
  async setVersion(version: string): Promise<void> {
    this.stamp = version;
  }

  /** Applies items in memory (FileStore logs them first). */
  protected apply(items: StoredItem[]): void {
    upsertInto(this.index, items);
  }
  protected applyRemove(ids: string[]): number {
    let n = 0;
    for (const id of ids) if (this.index.remove(id)) n++;
    return n;
  }

  async upsert(items: StoredItem[]): Promise<void> {
    validateItems(items, this.dim);
    this.apply(items);
  }
  async remove(ids: string[]): Promise<number> {
    return this.applyRemove(ids);
  }

  async search(queries: Float32Array[], k: number, options: StoreSearchOptions = {}): Promise<StoreHit[][]> {
    if (this.index.size === 0) return queries.map(() => []);
    const modality = options.modality ?? null;
    // none of that kind
    if (modality !== null && !this.index.s.modalities.includes(modality)) return queries.map(() => []);
    const rs = this.index.searchBatch(queries, k, modality, { filter: filterFunction(options.filter) });
    return rs.map((r) => r.map((h) => ({ id: h.itemId, score: h.score, modality: h.modality, metadata: h.metadata })));
  }

  async *entries(options: EntryOptions = {}): AsyncIterable<StoredItem> {
    for (const e of this.index.entries(options))
      yield { id: e.itemId, modality: e.modality, embedding: e.embedding, metadata: e.metadata };
  }
  async count(): Promise<number> {
    return this.index.size;
  }
  /** Frees the index's WASM memory now when the store made it (a 1 M x 512 index holds 2 GiB of wasm32's 4). */
  async close(): Promise<void> {
    if (this.ownsIndex) this.index.dispose();
    this.ownsIndex = false; // once
  }
}

/**
 * Items into an index, in order: a known id is replaced where it is (its modality and metadata too), so one write
 * path serves upserts and a FileStore's log replay.
 */
export function upsertInto(
  index: MultimodalIndex,
  items: Array<Pick<StoredItem, "id" | "modality" | "embedding" | "metadata">>,
): void {
  for (const it of items) index.add(it.id, it.embedding, it.modality, it.metadata);
}

/** Checks items before any is applied, so a bad one rejects the whole call and changes nothing. */
export function validateItems(items: StoredItem[], dim: number): void {
  if (!Array.isArray(items)) throw new Error("EmbeddingStore.upsert: items must be an array");
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (!it || typeof it.id !== "string" || it.id === "")
      throw new Error(`EmbeddingStore.upsert: items[${i}].id must be a non-empty string`);
    if (seen.has(it.id))
      throw new Error(`EmbeddingStore.upsert: items[${i}].id ${JSON.stringify(it.id)} appears twice`);
    seen.add(it.id);
    if (typeof it.modality !== "string" || it.modality === "")
      throw new Error(`EmbeddingStore.upsert: items[${i}].modality must be a non-empty string`);
    if (!(it.embedding instanceof Float32Array) || it.embedding.length !== dim)
      throw new Error(
        `EmbeddingStore.upsert: items[${i}].embedding must be a Float32Array of ${dim}, ` +
          `got ${it.embedding instanceof Float32Array ? it.embedding.length : typeof it.embedding}`,
      );
    for (let j = 0; j < dim; j++)
      if (!Number.isFinite(it.embedding[j]))
        throw new Error(`EmbeddingStore.upsert: items[${i}].embedding[${j}] is ${it.embedding[j]}`);
    if (it.metadata === null || typeof it.metadata !== "object" || Array.isArray(it.metadata))
      throw new Error(`EmbeddingStore.upsert: items[${i}].metadata must be an object`);
  });
}
