// Index kinds as backends behind one interface: how a kind removes items and searches its vectors.  MultimodalIndex
// holds the API and the checks; it asks its backend instead of switching on the kind.
import * as core from "../core/index.js";
import type { IndexKind, IndexState } from "./state.js";

/** Which slots may be returned (null: every live slot). */
export type Accept = ((slot: number) => boolean) | null;

export interface IndexBackend {
  /**
   * true: removing an item moves the last row into its slot, so slots stay dense; false: the slot stays as a
   * tombstone (a graph keeps it for navigation).
   */
  readonly dense: boolean;
  /** After the row at slot was written. */
  inserted(s: IndexState, slot: number): void;
  /** The best topK [score, slot] pairs for a normalised query at pointer pq (score descending, ties: lower slot). */
  search(s: IndexState, pq: number, topK: number, accept: Accept, efSearch: number): Array<[number, number]>;
}

/** Exact float32 scores over a list of slots, best topK (ties: lower slot). */
export function exactOver(s: IndexState, pq: number, slots: number[], topK: number): Array<[number, number]> {
  if (slots.length === 0) return [];
  const heap = core.heap();
  return heap.scope(() => {
    const ids = heap.put(Int32Array.from(slots));
    const sc = heap.alloc(slots.length * 4);
    core.scanF32Ids(pq, s.store.f32, s.dim, s.dim, ids, slots.length, sc);
    const sv = heap.f32(sc, slots.length);
    const order = slots.map((slot, i) => [sv[i], slot] as [number, number]);
    order.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    return order.slice(0, topK);
  });
}

/**
 * The accept mask as bytes in scratch (built on the JS side first: a user filter may itself run ops that grow WASM
 * memory).
 */
function maskOf(N: number, accept: Accept): number {
  if (!accept) return 0;
  const mv = new Uint8Array(N);
  for (let slot = 0; slot < N; slot++) mv[slot] = accept(slot) ? 1 : 0;
  return core.heap().put(mv);
}

const flat: IndexBackend = {
  dense: true,
  inserted() {
    /* nothing beyond the row */
  },
  search(s, pq, topK, accept) {
    const heap = core.heap(),
      N = s.used;
    return heap.scope(() => {
      const mask = maskOf(N, accept);
      const scores = heap.alloc(N * 4);
      // large scans split their rows over the threads (init({ threads })); each row's score is the same
      core.scanF32(pq, s.store.f32, N, s.dim, s.dim, scores);
      return core.topkPairs(scores, N, topK, mask);
    });
  },
};

const int8: IndexBackend = {
  dense: true,
  inserted() {
    /* nothing beyond the row */
  },
  search(s, pq, topK, accept) {
    const heap = core.heap(),
      N = s.used;
    return heap.scope((): Array<[number, number]> => {
      const mask = maskOf(N, accept);
      const scores = heap.alloc(N * 4);
      const qs = core.scanI8Tiled(pq, s.dim, s.store.i8, N, s.store.scales, scores);
      if (s.options.rerank > 0) {
        const cand = core.topkPairs(scores, N, Math.max(s.options.rerank, topK), mask);
        return exactOver(
          s,
          pq,
          cand.map(([, slot]) => slot),
          topK,
        );
      }
      return core.topkPairs(scores, N, topK, mask).map(([v, slot]) => [Math.fround(v * qs), slot]);
    });
  },
};

const hnsw: IndexBackend = {
  dense: false,
  inserted(s, slot) {
    s.graph!.insert(slot);
  },
  search(s, pq, topK, accept, efSearch) {
    const N = s.used,
      ef = Math.max(efSearch, topK);
    // A selective filter would leave the graph walk with few acceptable nodes: scan those exactly instead.
    if (accept) {
      const pass: number[] = [];
      for (let slot = 0; slot < N; slot++) if (accept(slot)) pass.push(slot);
      if (pass.length <= Math.max(4 * ef, N / 32)) return exactOver(s, pq, pass, topK);
    }
    return s.graph!.search(pq, topK, ef, accept).map(([d, slot]) => [-d, slot]);
  },
};

export const BACKENDS: Readonly<Record<IndexKind, IndexBackend>> = { flat, int8, hnsw };
