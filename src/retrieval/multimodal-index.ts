// MultimodalIndex: the reference design's in-memory index made a production one.  Embeddings are normalised once, at
// insert, as the reference design does before scoring (x / (||x|| + 1e-8)); scores are cosine similarities.  Kinds:
//   flat  - exact float32 scan (SIMD) + top-k heap, no sort
//   int8  - exact scan over int8 rows (4x less memory); optionally re-ranks the best `rerank` in float32
//   hnsw  - HNSW graph (m, efConstruction, efSearch); filters applied during the graph search
import * as core from "../core/index.js";
import { nodeFs } from "../io/node-fs.js";
import { Tensor, fmtShape } from "../tensor.js";
import type { VectorStore } from "./store.js";
import { encodeIndex, decodeIndex } from "./format.js";
import { type IndexKind, type IndexOptions, type IndexState, indexOptions, emptyState, growMeta } from "./state.js";
import { BACKENDS, type IndexBackend } from "./backends.js";

/** the embedding of an entry listed without vectors */
const NO_VECTOR = new Float32Array(0);

export type { IndexKind, IndexOptions };

export interface RetrievalResult {
  itemId: string;
  score: number;
  modality: string;
  metadata: Record<string, unknown>;
}

export type MetadataFilter = (metadata: Record<string, unknown>, itemId: string, modality: string) => boolean;

export interface SearchOptions {
  /** keep only items whose metadata passes (applied inside the search, so topK results still come back) */
  filter?: MetadataFilter;
  /** HNSW: beam width for this search */
  efSearch?: number;
}

type Vec = Float32Array | number[] | Tensor;

const registry = new FinalizationRegistry<VectorStore>((s) => {
  try {
    s.free();
  } catch {
    /* runtime gone */
  }
});

/**
 * @example
 * const index = new MultimodalIndex(512, { kind: "hnsw" });
 * index.addBatch(ids, embeddings, "image", metadata);
 * const hits = index.search(queryEmbedding, 10, "image"); // [{ itemId, score, modality, metadata }]
 */
export class MultimodalIndex {
  readonly embeddingDim: number;
  readonly kind: IndexKind;
  readonly options: Required<IndexOptions>;
  /** @internal the index's state (state.ts), shared with its backend and the file format */
  s: IndexState;
  private readonly backend: IndexBackend;

  /** @param state internal: a state decoded from a file (MultimodalIndex.load); omit it. */
  constructor(embeddingDim: number, options: IndexOptions = {}, state?: IndexState) {
    if (!Number.isInteger(embeddingDim) || embeddingDim < 1)
      throw new Error(`MultimodalIndex: embeddingDim must be a positive integer, got ${embeddingDim}`);
    this.s = state ?? emptyState(embeddingDim, indexOptions(options, "MultimodalIndex"));
    this.embeddingDim = embeddingDim;
    this.options = this.s.options;
    this.kind = this.options.kind;
    this.backend = BACKENDS[this.kind];
    registry.register(this, this.s.store, this);
  }

  /** Number of items. */
  get size(): number {
    return this.s.slotOf.size;
  }

  private vectors(who: string, embeddings: Vec | Vec[], n: number): Float32Array {
    const D = this.embeddingDim;
    const out = new Float32Array(n * D);
    if (embeddings instanceof Tensor) {
      if (
        embeddings.dtype !== "float32" ||
        embeddings.size !== n * D ||
        (n > 1 && (embeddings.ndim !== 2 || embeddings.shape[0] !== n))
      ) {
        throw new Error(
          `${who}: embeddings must be a float32 Tensor of shape [${n}, ${D}], ` +
            `got ${embeddings.dtype} ${fmtShape(embeddings.shape)}`,
        );
      }
      out.set(embeddings.data as Float32Array);
    } else if (embeddings instanceof Float32Array && n > 1) {
      // a flat (n, D) row-major buffer, as encoders and files hand them out
      if (embeddings.length !== n * D)
        throw new Error(
          `${who}: a flat Float32Array must hold ${n} x ${D} = ${n * D} values, got ${embeddings.length}`,
        );
      out.set(embeddings);
    } else if (
      n === 1 &&
      !Array.isArray((embeddings as unknown[])[0]) &&
      !((embeddings as unknown[])[0] instanceof Float32Array) &&
      !((embeddings as unknown[])[0] instanceof Tensor)
    ) {
      const v = embeddings as Float32Array | number[];
      if (v.length !== D) throw new Error(`${who}: embedding must have ${D} values, got ${v.length}`);
      out.set(v);
    } else {
      const list = embeddings as Vec[];
      if (!Array.isArray(list) || list.length !== n)
        throw new Error(`${who}: expected ${n} embeddings, got ${Array.isArray(list) ? list.length : typeof list}`);
      list.forEach((v, i) => {
        const a = v instanceof Tensor ? (v.data as Float32Array) : v;
        if (!a || a.length !== D)
          throw new Error(`${who}: embedding ${i} must have ${D} values, got ${a ? a.length : typeof a}`);
        out.set(a, i * D);
      });
    }
    for (let i = 0; i < n; i++) {
      let z = true;
      for (let d = 0; d < D; d++) {
        const x = out[i * D + d];
        if (!Number.isFinite(x))
          throw new Error(
            `${who}: embedding ${n > 1 ? `${i} ` : ""}holds ${x} at dimension ${d}; expected finite numbers`,
          );
        if (x !== 0) z = false;
      }
      if (z)
        throw new Error(
          `${who}: embedding ${n > 1 ? `${i} ` : ""}is all zeros; a zero vector has no direction to compare`,
        );
    }
    return normalizeRows(out, n, D);
  }

  private code(modality: string): number {
    let c = this.s.modalities.indexOf(modality);
    if (c < 0) {
      c = this.s.modalities.length;
      this.s.modalities.push(modality);
    }
    return c;
  }

  /** Adds or replaces (same id) one item. */
  add(itemId: string, embedding: Vec, modality: string, metadata?: Record<string, unknown> | null): void {
    this.addBatch(
      [itemId],
      embedding instanceof Tensor ? embedding.reshape([1, this.embeddingDim]) : [embedding],
      modality,
      metadata ? [metadata] : undefined,
    );
  }

  /** Adds or replaces (same ids) items: embeddings (N, D) as a Tensor or an array of vectors. */
  addBatch(
    itemIds: string[],
    embeddings: Vec | Vec[],
    modality: string,
    metadataList?: Array<Record<string, unknown> | null | undefined> | null,
  ): void {
    const who = "MultimodalIndex.addBatch";
    if (!Array.isArray(itemIds)) throw new Error(`${who}: itemIds must be an array of strings`);
    const n = itemIds.length;
    itemIds.forEach((id, i) => {
      if (typeof id !== "string" || id === "")
        throw new Error(`${who}: itemIds[${i}] must be a non-empty string, got ${JSON.stringify(id)}`);
    });
    if (new Set(itemIds).size !== n) throw new Error(`${who}: itemIds holds duplicates`);
    if (typeof modality !== "string" || modality === "")
      throw new Error(`${who}: modality must be a non-empty string, got ${JSON.stringify(modality)}`);
    if (metadataList && metadataList.length !== n)
      throw new Error(`${who}: metadataList must hold ${n} entries, got ${metadataList.length}`);
    if (n === 0) return;
    const rows = this.vectors(who, embeddings, n);
    const code = this.code(modality);
    const D = this.embeddingDim;
    for (let i = 0; i < n; i++) {
      const id = itemIds[i];
      const meta = metadataList?.[i] ?? {};
      let slot = this.s.slotOf.get(id);
      if (slot !== undefined && !this.backend.dense) {
        this.tombstone(slot);
        slot = undefined;
      }
      if (slot === undefined) {
        slot = this.s.used++;
        this.s.store.ensure(this.s.used);
        growMeta(this.s, this.s.used);
      }
      this.s.store.write(slot, rows.subarray(i * D, (i + 1) * D), 1);
      this.s.ids[slot] = id;
      this.s.modalityCode[slot] = code;
      this.s.metadata[slot] = meta;
      this.s.slotOf.set(id, slot);
      this.backend.inserted(this.s, slot);
    }
  }

  /** Rebuilds the state over the live items, in slot order, from their stored (already normalised) rows. */
  private compact(): void {
    const old = this.s,
      D = this.embeddingDim;
    const live: number[] = [];
    for (let slot = 0; slot < old.used; slot++) if (old.ids[slot] !== null) live.push(slot);
    const st = emptyState(D, old.options);
    st.store.ensure(live.length);
    growMeta(st, live.length);
    st.modalities = old.modalities.slice();
    live.forEach((slot, i) => {
      st.store.write(i, old.store.rowF32(slot), 1);
      st.ids[i] = old.ids[slot];
      st.modalityCode[i] = old.modalityCode[slot];
      st.metadata[i] = old.metadata[slot];
      st.slotOf.set(old.ids[slot]!, i);
      st.used = i + 1;
      this.backend.inserted(st, i);
    });
    registry.unregister(this);
    old.store.free();
    this.s = st;
    registry.register(this, st.store, this);
  }

  private tombstone(slot: number): void {
    const id = this.s.ids[slot];
    if (id !== null) this.s.slotOf.delete(id);
    this.s.ids[slot] = null;
    this.s.metadata[slot] = null;
  }

  /** Removes an item; returns whether it was there. */
  remove(itemId: string): boolean {
    const slot = this.s.slotOf.get(itemId);
    if (slot === undefined) return false;
    if (!this.backend.dense) {
      this.tombstone(slot);
      // a graph keeps removed nodes for navigation; once they outnumber the live ones, rebuild over the live items
      // so churn at a constant size keeps memory and file size constant
      if (this.s.used - this.s.slotOf.size > Math.max(64, this.s.slotOf.size)) this.compact();
      return true;
    }
    // flat kinds stay dense: the last row moves into the hole
    const last = this.s.used - 1;
    this.s.slotOf.delete(itemId);
    if (slot !== last) {
      this.s.store.move(last, slot);
      this.s.ids[slot] = this.s.ids[last];
      this.s.modalityCode[slot] = this.s.modalityCode[last];
      this.s.metadata[slot] = this.s.metadata[last];
      this.s.slotOf.set(this.s.ids[slot]!, slot);
    }
    this.s.ids.length = last;
    this.s.metadata.length = last;
    this.s.used = last;
    return true;
  }

  /** The stored item (its embedding is the normalised one). */
  get(
    itemId: string,
  ): { itemId: string; embedding: Float32Array; modality: string; metadata: Record<string, unknown> } | null {
    const slot = this.s.slotOf.get(itemId);
    if (slot === undefined) return null;
    let embedding: Float32Array;
    if (this.s.store.hasFloat) embedding = this.s.store.rowF32(slot);
    else {
      const heap = core.heap();
      const q = this.s.store.rowsI8(slot, 1).subarray(0, this.embeddingDim);
      const s = heap.f32(this.s.store.scales + slot * 4, 1)[0];
      embedding = Float32Array.from(q, (v) => v * s);
    }
    return {
      itemId,
      embedding,
      modality: this.s.modalities[this.s.modalityCode[slot]],
      metadata: this.s.metadata[slot]!,
    };
  }

  /**
   * Makes room for `n` items in all (live plus those about to be added) in one step, so a known bulk load (a log
   * replayed, a batch of a million) grows memory once instead of by repeated reallocation.
   */
  reserve(n: number): void {
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`MultimodalIndex.reserve: n must be a non-negative integer, got ${n}`);
    this.s.store.ensure(n, true);
    growMeta(this.s, n);
  }

  /**
   * Every live item, in storage order (embeddings as stored: normalised).  `vectors: false` leaves each embedding
   * empty: a listing of ids and metadata that copies no vector out of the index.
   */
  *entries(
    options: { vectors?: boolean } = {},
  ): Generator<{ itemId: string; embedding: Float32Array; modality: string; metadata: Record<string, unknown> }> {
    const vectors = options.vectors ?? true;
    for (let slot = 0; slot < this.s.used; slot++) {
      const id = this.s.ids[slot];
      if (id === null || id === undefined) continue;
      yield vectors
        ? this.get(id)!
        : {
            itemId: id,
            embedding: NO_VECTOR,
            modality: this.s.modalities[this.s.modalityCode[slot]],
            metadata: this.s.metadata[slot]!,
          };
    }
  }

  private checkSearch(who: string, topK: number, modalityFilter: string | null | undefined): number {
    if (!Number.isInteger(topK) || topK < 1) throw new Error(`${who}: topK must be a positive integer, got ${topK}`);
    if (modalityFilter !== undefined && modalityFilter !== null) {
      if (typeof modalityFilter !== "string")
        throw new Error(`${who}: modalityFilter must be a string, got ${typeof modalityFilter}`);
      const c = this.s.modalities.indexOf(modalityFilter);
      if (c < 0)
        throw new Error(
          `${who}: unknown modality ${JSON.stringify(modalityFilter)} (the index ` +
            `holds ${this.s.modalities.map((m) => JSON.stringify(m)).join(", ") || "none"})`,
        );
      return c;
    }
    return -1;
  }

  /** Which slots may be returned: live, of the modality, passing the filter. null = all live slots of a dense index. */
  private acceptor(code: number, filter: MetadataFilter | undefined): ((slot: number) => boolean) | null {
    const dense = this.backend.dense || this.s.slotOf.size === this.s.used;
    if (code < 0 && !filter && dense) return null;
    return (slot) => {
      const id = this.s.ids[slot];
      if (id === null || id === undefined) return false;
      if (code >= 0 && this.s.modalityCode[slot] !== code) return false;
      return !filter || filter(this.s.metadata[slot]!, id, this.s.modalities[this.s.modalityCode[slot]]);
    };
  }

  /**
   * The topK most similar items (cosine), best first; ties go to the earlier-stored item.
   * modalityFilter keeps one modality (it must be one the index holds); options.filter tests metadata.
   */
  search(query: Vec, topK = 10, modalityFilter?: string | null, options: SearchOptions = {}): RetrievalResult[] {
    const who = "MultimodalIndex.search";
    if (this.size === 0) {
      this.checkTopK(who, topK);
      return [];
    }
    const code = this.checkSearch(who, topK, modalityFilter);
    const q = this.vectors(
      who,
      query instanceof Tensor ? query.reshape([1, this.embeddingDim]) : [query as Float32Array],
      1,
    );
    return this.searchNormalized(q, topK, code, options);
  }

  private checkTopK(who: string, topK: number): void {
    if (!Number.isInteger(topK) || topK < 1) throw new Error(`${who}: topK must be a positive integer, got ${topK}`);
  }

  /** Many queries (Q, D) at once. */
  searchBatch(
    queries: Vec | Vec[],
    topK = 10,
    modalityFilter?: string | null,
    options: SearchOptions = {},
  ): RetrievalResult[][] {
    const who = "MultimodalIndex.searchBatch";
    const n = queries instanceof Tensor ? (queries.ndim === 2 ? queries.shape[0] : 1) : (queries as Vec[]).length;
    if (this.size === 0) {
      this.checkTopK(who, topK);
      return Array.from({ length: n }, () => []);
    }
    const code = this.checkSearch(who, topK, modalityFilter);
    const q = this.vectors(who, queries, n);
    const D = this.embeddingDim;
    return Array.from({ length: n }, (_, i) =>
      this.searchNormalized(q.subarray(i * D, (i + 1) * D), topK, code, options),
    );
  }

  private searchNormalized(
    q: Float32Array,
    topKAsked: number,
    code: number,
    options: SearchOptions,
  ): RetrievalResult[] {
    // never more results than items: a huge topK must not size scratch buffers or graph beams (k = 1e8 used to grow
    // WASM memory to ~4 GB for good)
    const topK = Math.min(topKAsked, this.s.slotOf.size);
    const accept = this.acceptor(code, options.filter);
    const heap = core.heap();
    const hits = heap.scope(() =>
      this.backend.search(this.s, heap.put(q), topK, accept, options.efSearch ?? this.options.efSearch),
    );
    return hits.map(([score, slot]) => ({
      itemId: this.s.ids[slot]!,
      score,
      modality: this.s.modalities[this.s.modalityCode[slot]],
      metadata: this.s.metadata[slot]!,
    }));
  }

  /** A versioned, checksummed snapshot, identical in Node and browsers. */
  save(): Uint8Array {
    return encodeIndex(this.s);
  }

  /** Restores save()'s bytes; corrupt or truncated input gives a clear Error. */
  static load(bytes: Uint8Array): MultimodalIndex {
    const state = decodeIndex(bytes);
    return new MultimodalIndex(state.dim, state.options, state);
  }

  /** Node: writes save()'s bytes atomically (temporary file, fsync, rename), so a crash keeps the old file. */
  async saveToFile(path: string): Promise<void> {
    const { saveBytesAtomic } = await nodeFs(
      "MultimodalIndex.saveToFile/loadFromFile need Node's fs; in a browser use save() / MultimodalIndex.load(bytes)",
    );
    await saveBytesAtomic(path, this.save());
  }

  /** Node: MultimodalIndex.load of a file's bytes. */
  static async loadFromFile(path: string): Promise<MultimodalIndex> {
    const { readBytes } = await nodeFs(
      "MultimodalIndex.saveToFile/loadFromFile need Node's fs; in a browser use save() / MultimodalIndex.load(bytes)",
    );
    return MultimodalIndex.load(await readBytes(path));
  }

  /** Frees the index's WASM memory now (otherwise at garbage collection). */
  dispose(): void {
    registry.unregister(this);
    this.s.store.free();
  }
}

/**
 * n rows of D values -> each x / (||x|| + 1e-8) by the index kernel: the one normalisation every store uses, so the
 * vectors a store keeps are the same bits whichever store keeps them.
 */
export function normalizeRows(x: Float32Array, n: number, D: number): Float32Array {
  const heap = core.heap();
  return heap.scope(() => {
    const p = heap.put(x);
    core.normalizeSeedRows(p, p, n, D);
    return heap.takeF32(p, n * D);
  });
}
