// The one state type of an index, shared by MultimodalIndex (its API), the backends (how each kind stores and
// searches) and the file format (format.ts), so none of them imports another's class.
import { VectorStore } from "./store.js";
import { HNSW } from "./hnsw.js";

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

export interface IndexState {
  readonly dim: number;
  readonly options: Required<IndexOptions>;
  /** the vectors, in persistent WASM memory */
  readonly store: VectorStore;
  /** the HNSW graph over the float rows (kind "hnsw"), else null */
  readonly graph: HNSW | null;
  /** per slot; null = removed (a tombstone, for kinds that keep slots) */
  ids: Array<string | null>;
  modalityCode: Uint16Array;
  modalities: string[];
  metadata: Array<Record<string, unknown> | null>;
  slotOf: Map<string, number>;
  /** slots in use (dense kinds: the item count; hnsw: including tombstones) */
  used: number;
}

const KINDS: readonly IndexKind[] = ["flat", "int8", "hnsw"];

/** Checked options with their defaults. */
export function indexOptions(options: IndexOptions, who: string): Required<IndexOptions> {
  const kind = options.kind ?? "flat";
  if (!KINDS.includes(kind))
    throw new Error(`${who}: kind must be "flat", "int8" or "hnsw", got ${JSON.stringify(kind)}`);
  const o = {
    kind,
    m: options.m ?? 16,
    efConstruction: options.efConstruction ?? 200,
    efSearch: options.efSearch ?? 64,
    rerank: options.rerank ?? 0,
  };
  for (const [n, v, min] of [
    ["m", o.m, 2],
    ["efConstruction", o.efConstruction, 1],
    ["efSearch", o.efSearch, 1],
    ["rerank", o.rerank, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${who}: ${n} must be an integer >= ${min}, got ${v}`);
  }
  return o;
}

/** An empty state: the vector forms the kind needs (float rows unless int8 without re-rank; int8 rows for int8). */
export function emptyState(dim: number, o: Required<IndexOptions>): IndexState {
  const store = new VectorStore(dim, o.kind !== "int8" || o.rerank > 0, o.kind === "int8");
  const graph =
    o.kind === "hnsw" ? new HNSW(store, { m: o.m, efConstruction: o.efConstruction, efSearch: o.efSearch }) : null;
  return {
    dim,
    options: o,
    store,
    graph,
    ids: [],
    modalityCode: new Uint16Array(0),
    modalities: [],
    metadata: [],
    slotOf: new Map(),
    used: 0,
  };
}

/** Room for n slots in the per-slot modality codes. */
export function growMeta(s: IndexState, n: number): void {
  if (s.modalityCode.length >= n) return;
  const c = new Uint16Array(Math.max(n, s.modalityCode.length * 2, 64));
  c.set(s.modalityCode);
  s.modalityCode = c;
}
