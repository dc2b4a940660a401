// MultimodalIndex: the seed's in-memory index made a production one.  Embeddings are normalised once, at
// insert, as the seed does before scoring (x / (||x|| + 1e-8)); scores are cosine similarities.  Kinds:
//   flat  - exact float32 scan (SIMD) + top-k heap, no sort
//   int8  - exact scan over int8 rows (4x less memory); optionally re-ranks the best `rerank` in float32
//   hnsw  - HNSW graph (m, efConstruction, efSearch); filters applied during the graph search
import { rt } from "../bindings/module.js";
import { splitRows } from "../bindings/threads.js";
import { nodeFs } from "../io/node-fs.js";
import { Tensor, fmtShape } from "../tensor.js";
import { VectorStore } from "./store.js";
import { HNSW } from "./hnsw.js";
import { encodeIndex, decodeIndex } from "./format.js";

/** Below this many rows a scan stays on one thread. */
const PARALLEL_MIN_ROWS = 4096;

export type IndexKind = "flat" | "int8" | "hnsw";

export interface IndexOptions {
  kind?: IndexKind;
  /** HNSW: neighbours per node (default 16) */
  m?: number;
  /** HNSW: beam width while building (default 200) */
  efConstruction?: number;
  /** HNSW: beam width while searching (default 64) */
  efSearch?: number;
  /** int8: re-rank this many best int8 candidates with float32 vectors (kept only when > 0; default 0) */
  rerank?: number;
}

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

const registry = new FinalizationRegistry<VectorStore>((s) => { try { s.free(); } catch { /* runtime gone */ } });

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
  /** @internal */ store: VectorStore;
  /** @internal */ graph: HNSW | null;
  /** @internal */ ids: Array<string | null> = []; // per slot; null = removed (hnsw tombstone)
  /** @internal */ modalityCode = new Uint16Array(0);
  /** @internal */ modalities: string[] = [];
  /** @internal */ metadata: Array<Record<string, unknown> | null> = [];
  /** @internal */ slotOf = new Map<string, number>();
  /** @internal */ used = 0; // slots in use (flat/int8: dense; hnsw: including tombstones)

  constructor(embeddingDim: number, options: IndexOptions = {}) {
    if (!Number.isInteger(embeddingDim) || embeddingDim < 1) throw new Error(`MultimodalIndex: embeddingDim must be a positive integer, got ${embeddingDim}`);
    const kind = options.kind ?? "flat";
    if (!["flat", "int8", "hnsw"].includes(kind)) throw new Error(`MultimodalIndex: kind must be "flat", "int8" or "hnsw", got ${JSON.stringify(kind)}`);
    const o = { kind, m: options.m ?? 16, efConstruction: options.efConstruction ?? 200, efSearch: options.efSearch ?? 64, rerank: options.rerank ?? 0 };
    for (const [n, v, min] of [["m", o.m, 2], ["efConstruction", o.efConstruction, 1], ["efSearch", o.efSearch, 1], ["rerank", o.rerank, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new Error(`MultimodalIndex: ${n} must be an integer >= ${min}, got ${v}`);
    }
    this.embeddingDim = embeddingDim;
    this.kind = kind;
    this.options = o;
    this.store = new VectorStore(embeddingDim, kind !== "int8" || o.rerank > 0, kind === "int8");
    this.graph = kind === "hnsw" ? new HNSW(this.store, { m: o.m, efConstruction: o.efConstruction, efSearch: o.efSearch }) : null;
    registry.register(this, this.store, this);
  }

  /** Number of items. */
  get size(): number { return this.slotOf.size; }

  private vectors(who: string, embeddings: Vec | Vec[], n: number): Float32Array {
    const D = this.embeddingDim;
    const out = new Float32Array(n * D);
    if (embeddings instanceof Tensor) {
      if (embeddings.dtype !== "float32" || embeddings.size !== n * D || (n > 1 && (embeddings.ndim !== 2 || embeddings.shape[0] !== n))) {
        throw new Error(`${who}: embeddings must be a float32 Tensor of shape [${n}, ${D}], got ${embeddings.dtype} ${fmtShape(embeddings.shape)}`);
      }
      out.set(embeddings.data as Float32Array);
    } else if (embeddings instanceof Float32Array && n > 1) {
      // a flat (n, D) row-major buffer, as encoders and files hand them out
      if (embeddings.length !== n * D) throw new Error(`${who}: a flat Float32Array must hold ${n} x ${D} = ${n * D} values, got ${embeddings.length}`);
      out.set(embeddings);
    } else if (n === 1 && !Array.isArray((embeddings as unknown[])[0]) && !((embeddings as unknown[])[0] instanceof Float32Array) && !((embeddings as unknown[])[0] instanceof Tensor)) {
      const v = embeddings as Float32Array | number[];
      if (v.length !== D) throw new Error(`${who}: embedding must have ${D} values, got ${v.length}`);
      out.set(v);
    } else {
      const list = embeddings as Vec[];
      if (!Array.isArray(list) || list.length !== n) throw new Error(`${who}: expected ${n} embeddings, got ${Array.isArray(list) ? list.length : typeof list}`);
      list.forEach((v, i) => {
        const a = v instanceof Tensor ? (v.data as Float32Array) : v;
        if (!a || a.length !== D) throw new Error(`${who}: embedding ${i} must have ${D} values, got ${a ? a.length : typeof a}`);
        out.set(a, i * D);
      });
    }
    for (let i = 0; i < n; i++) {
      let z = true;
      for (let d = 0; d < D; d++) {
        const x = out[i * D + d];
        if (!Number.isFinite(x)) throw new Error(`${who}: embedding ${n > 1 ? `${i} ` : ""}holds ${x} at dimension ${d}; expected finite numbers`);
        if (x !== 0) z = false;
      }
      if (z) throw new Error(`${who}: embedding ${n > 1 ? `${i} ` : ""}is all zeros; a zero vector has no direction to compare`);
    }
    return normalizeRows(out, n, D);
  }

  private code(modality: string): number {
    let c = this.modalities.indexOf(modality);
    if (c < 0) { c = this.modalities.length; this.modalities.push(modality); }
    return c;
  }

  /** Adds or replaces (same id) one item. */
  add(itemId: string, embedding: Vec, modality: string, metadata?: Record<string, unknown> | null): void {
    this.addBatch([itemId], embedding instanceof Tensor ? embedding.reshape([1, this.embeddingDim]) : [embedding], modality, metadata ? [metadata] : undefined);
  }

  /** Adds or replaces (same ids) items: embeddings (N, D) as a Tensor or an array of vectors. */
  addBatch(itemIds: string[], embeddings: Vec | Vec[], modality: string, metadataList?: Array<Record<string, unknown> | null | undefined> | null): void {
    const who = "MultimodalIndex.addBatch";
    if (!Array.isArray(itemIds)) throw new Error(`${who}: itemIds must be an array of strings`);
    const n = itemIds.length;
    itemIds.forEach((id, i) => { if (typeof id !== "string" || id === "") throw new Error(`${who}: itemIds[${i}] must be a non-empty string, got ${JSON.stringify(id)}`); });
    if (new Set(itemIds).size !== n) throw new Error(`${who}: itemIds holds duplicates`);
    if (typeof modality !== "string" || modality === "") throw new Error(`${who}: modality must be a non-empty string, got ${JSON.stringify(modality)}`);
    if (metadataList && metadataList.length !== n) throw new Error(`${who}: metadataList must hold ${n} entries, got ${metadataList.length}`);
    if (n === 0) return;
    const rows = this.vectors(who, embeddings, n);
    const code = this.code(modality);
    const D = this.embeddingDim;
    for (let i = 0; i < n; i++) {
      const id = itemIds[i];
      const meta = metadataList?.[i] ?? {};
      let slot = this.slotOf.get(id);
      if (slot !== undefined && this.kind === "hnsw") { this.tombstone(slot); slot = undefined; }
      if (slot === undefined) {
        slot = this.used++;
        this.store.ensure(this.used);
        this.growMeta(this.used);
      }
      this.store.write(slot, rows.subarray(i * D, (i + 1) * D), 1);
      this.ids[slot] = id;
      this.modalityCode[slot] = code;
      this.metadata[slot] = meta;
      this.slotOf.set(id, slot);
      if (this.graph) this.graph.insert(slot);
    }
  }

  /** @internal */ growMeta(n: number): void {
    if (this.modalityCode.length >= n) return;
    const c = new Uint16Array(Math.max(n, this.modalityCode.length * 2, 64));
    c.set(this.modalityCode);
    this.modalityCode = c;
  }

  private tombstone(slot: number): void {
    const id = this.ids[slot];
    if (id !== null) this.slotOf.delete(id);
    this.ids[slot] = null;
    this.metadata[slot] = null;
  }

  /** Removes an item; returns whether it was there. */
  remove(itemId: string): boolean {
    const slot = this.slotOf.get(itemId);
    if (slot === undefined) return false;
    if (this.kind === "hnsw") { this.tombstone(slot); return true; }
    // flat kinds stay dense: the last row moves into the hole
    const last = this.used - 1;
    this.slotOf.delete(itemId);
    if (slot !== last) {
      this.store.move(last, slot);
      this.ids[slot] = this.ids[last];
      this.modalityCode[slot] = this.modalityCode[last];
      this.metadata[slot] = this.metadata[last];
      this.slotOf.set(this.ids[slot]!, slot);
    }
    this.ids.length = last;
    this.metadata.length = last;
    this.used = last;
    return true;
  }

  /** The stored item (its embedding is the normalised one). */
  get(itemId: string): { itemId: string; embedding: Float32Array; modality: string; metadata: Record<string, unknown> } | null {
    const slot = this.slotOf.get(itemId);
    if (slot === undefined) return null;
    let embedding: Float32Array;
    if (this.store.hasFloat) embedding = this.store.rowF32(slot);
    else {
      const { heap } = rt();
      const q = this.store.rowsI8(slot, 1).subarray(0, this.embeddingDim);
      const s = heap.f32(this.store.scales + slot * 4, 1)[0];
      embedding = Float32Array.from(q, (v) => v * s);
    }
    return { itemId, embedding, modality: this.modalities[this.modalityCode[slot]], metadata: this.metadata[slot]! };
  }

  private checkSearch(who: string, topK: number, modalityFilter: string | null | undefined): number {
    if (!Number.isInteger(topK) || topK < 1) throw new Error(`${who}: topK must be a positive integer, got ${topK}`);
    if (modalityFilter !== undefined && modalityFilter !== null) {
      if (typeof modalityFilter !== "string") throw new Error(`${who}: modalityFilter must be a string, got ${typeof modalityFilter}`);
      const c = this.modalities.indexOf(modalityFilter);
      if (c < 0) throw new Error(`${who}: unknown modality ${JSON.stringify(modalityFilter)} (the index holds ${this.modalities.map((m) => JSON.stringify(m)).join(", ") || "none"})`);
      return c;
    }
    return -1;
  }

  /** Which slots may be returned: live, of the modality, passing the filter. null = all live slots of a dense index. */
  private acceptor(code: number, filter: MetadataFilter | undefined): ((slot: number) => boolean) | null {
    const dense = this.kind !== "hnsw" || this.slotOf.size === this.used;
    if (code < 0 && !filter && dense) return null;
    return (slot) => {
      const id = this.ids[slot];
      if (id === null || id === undefined) return false;
      if (code >= 0 && this.modalityCode[slot] !== code) return false;
      return !filter || filter(this.metadata[slot]!, id, this.modalities[this.modalityCode[slot]]);
    };
  }

  /**
   * The topK most similar items (cosine), best first; ties go to the earlier-stored item.
   * modalityFilter keeps one modality (it must be one the index holds); options.filter tests metadata.
   */
  search(query: Vec, topK = 10, modalityFilter?: string | null, options: SearchOptions = {}): RetrievalResult[] {
    const who = "MultimodalIndex.search";
    if (this.size === 0) { this.checkTopK(who, topK); return []; }
    const code = this.checkSearch(who, topK, modalityFilter);
    const q = this.vectors(who, query instanceof Tensor ? query.reshape([1, this.embeddingDim]) : [query as Float32Array], 1);
    return this.searchNormalized(q, topK, code, options);
  }

  private checkTopK(who: string, topK: number): void {
    if (!Number.isInteger(topK) || topK < 1) throw new Error(`${who}: topK must be a positive integer, got ${topK}`);
  }

  /** Many queries (Q, D) at once. */
  searchBatch(queries: Vec | Vec[], topK = 10, modalityFilter?: string | null, options: SearchOptions = {}): RetrievalResult[][] {
    const who = "MultimodalIndex.searchBatch";
    const n = queries instanceof Tensor ? (queries.ndim === 2 ? queries.shape[0] : 1) : (queries as Vec[]).length;
    if (this.size === 0) { this.checkTopK(who, topK); return Array.from({ length: n }, () => []); }
    const code = this.checkSearch(who, topK, modalityFilter);
    const q = this.vectors(who, queries, n);
    const D = this.embeddingDim;
    return Array.from({ length: n }, (_, i) => this.searchNormalized(q.subarray(i * D, (i + 1) * D), topK, code, options));
  }

  private searchNormalized(q: Float32Array, topK: number, code: number, options: SearchOptions): RetrievalResult[] {
    const accept = this.acceptor(code, options.filter);
    const { k, heap } = rt();
    const D = this.embeddingDim, N = this.used;
    const hits = heap.scope((): Array<[number, number]> => {
      const pq = heap.put(q);
      if (this.graph) {
        // A selective filter would leave the graph walk with few acceptable nodes: scan those exactly instead.
        if (accept) {
          const pass: number[] = [];
          for (let s = 0; s < N; s++) if (accept(s)) pass.push(s);
          const ef = Math.max(options.efSearch ?? this.options.efSearch, topK);
          if (pass.length <= Math.max(4 * ef, N / 32)) return this.exactOver(pq, pass, topK);
        }
        return this.graph.search(pq, topK, Math.max(options.efSearch ?? this.options.efSearch, topK), accept).map(([d, id]) => [-d, id]);
      }
      let mask = 0;
      if (accept) {
        // built on the JS side first: a user filter may itself run ops that grow WASM memory
        const mv = new Uint8Array(N);
        for (let s = 0; s < N; s++) mv[s] = accept(s) ? 1 : 0;
        mask = heap.put(mv);
      }
      const scores = heap.alloc(N * 4);
      // Large scans split their rows over the threads (init({ threads })); each row's score is the same.
      const pool = N >= PARALLEL_MIN_ROWS ? rt().pool : null;
      if (this.kind === "flat") {
        if (pool) pool.run("scan_f32", splitRows(N, pool.size).map(([r0, n]) => [pq, this.store.f32 + r0 * D * 4, n, D, D, scores + r0 * 4]));
        else k.scan_f32(pq, this.store.f32, N, D, D, scores);
      } else {
        const q8 = heap.alloc(this.store.dim8), sq = heap.alloc(4);
        heap.u8(q8, this.store.dim8).fill(0);
        k.quantize_rows_i8(pq, 1, D, q8, sq);
        const q16 = heap.alloc(this.store.dim8 * 2);
        k.widen_i8_i16(q8, this.store.dim8, q16); // widened once, reused against every row
        const d8 = this.store.dim8;
        if (pool) pool.run("scan_i8t_scaled", splitRows(N, pool.size, 4).map(([r0, n]) => [q16, this.store.i8 + r0 * d8, n, d8, this.store.scales + r0 * 4, scores + r0 * 4]));
        else k.scan_i8t_scaled(q16, this.store.i8, N, d8, this.store.scales, scores);
        const qs = heap.f32(sq, 1)[0];
        if (this.options.rerank > 0) {
          const R = Math.max(this.options.rerank, topK);
          const cand = topkPtr(scores, N, R, mask);
          return this.exactOver(pq, cand.map(([, s]) => s), topK);
        }
        const out = topkPtr(scores, N, topK, mask);
        return out.map(([s, slot]) => [Math.fround(s * qs), slot]);
      }
      return topkPtr(scores, N, topK, mask);
    });
    return hits.map(([score, slot]) => ({
      itemId: this.ids[slot]!, score, modality: this.modalities[this.modalityCode[slot]], metadata: this.metadata[slot]!,
    }));
  }

  /** Exact float32 scores over a list of slots, best topK (ties: lower slot). */
  private exactOver(pq: number, slots: number[], topK: number): Array<[number, number]> {
    if (slots.length === 0) return [];
    const { k, heap } = rt();
    return heap.scope(() => {
      const ids = heap.put(Int32Array.from(slots));
      const sc = heap.alloc(slots.length * 4);
      k.scan_f32_ids(pq, this.store.f32, this.embeddingDim, this.embeddingDim, ids, slots.length, sc);
      const sv = heap.f32(sc, slots.length);
      const order = slots.map((s, i) => [sv[i], s] as [number, number]);
      order.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      return order.slice(0, topK);
    });
  }

  /** A versioned, checksummed snapshot, identical in Node and browsers. */
  save(): Uint8Array { return encodeIndex(this); }

  /** Restores save()'s bytes; corrupt or truncated input gives a clear Error. */
  static load(bytes: Uint8Array): MultimodalIndex { return decodeIndex(bytes, (dim, o) => new MultimodalIndex(dim, o)); }

  /** Node: writes save()'s bytes atomically (temporary file, fsync, rename), so a crash keeps the old file. */
  async saveToFile(path: string): Promise<void> {
    const { saveBytesAtomic } = await nodeFs("MultimodalIndex.saveToFile/loadFromFile need Node's fs; in a browser use save() / MultimodalIndex.load(bytes)");
    await saveBytesAtomic(path, this.save());
  }

  /** Node: MultimodalIndex.load of a file's bytes. */
  static async loadFromFile(path: string): Promise<MultimodalIndex> {
    const { readBytes } = await nodeFs("MultimodalIndex.saveToFile/loadFromFile need Node's fs; in a browser use save() / MultimodalIndex.load(bytes)");
    return MultimodalIndex.load(await readBytes(path));
  }

  /** Frees the index's WASM memory now (otherwise at garbage collection). */
  dispose(): void {
    registry.unregister(this);
    this.store.free();
  }
}

function normalizeRows(x: Float32Array, n: number, D: number): Float32Array {
  const { k, heap } = rt();
  return heap.scope(() => {
    const p = heap.put(x);
    k.normalize_seed_f32(p, p, n, D);
    return heap.takeF32(p, n * D);
  });
}

/** top-k of scores in scratch via the WASM heap: [score, slot] best first. */
function topkPtr(scores: number, N: number, k: number, mask: number): Array<[number, number]> {
  const { k: kr, heap } = rt();
  return heap.scope(() => {
    const kk = Math.min(k, N);
    const ov = heap.alloc(kk * 4), oi = heap.alloc(kk * 4);
    const n = kr.topk_f32(scores, N, kk, mask, ov, oi);
    const v = heap.f32(ov, n), id = heap.i32(oi, n);
    return Array.from({ length: n }, (_, i) => [v[i], id[i]] as [number, number]);
  });
}
