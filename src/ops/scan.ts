// Similarity scans and top-k for retrieval: dot products of one query with every stored row, then the k
// best (score descending, lower index first on ties) through a heap in WASM, with no full sort.
import { heap as getHeap, scanF32, scanI8, topkPairs } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { f32, fail, putFinite, posInt } from "./check.js";

/** scores (N) = matrix (N, D) . query (D). */
export function similarityScan(query: Tensor, matrix: Tensor): Tensor {
  const op = "F.similarityScan";
  f32(op, "query", query);
  f32(op, "matrix", matrix);
  if (matrix.ndim !== 2) fail(op, `matrix must be 2-D (rows, dim), got shape ${fmtShape(matrix.shape)}`);
  const [N, D] = matrix.shape;
  if (query.size !== D || query.ndim !== 1) fail(op, `query must have shape [${D}], got ${fmtShape(query.shape)}`);
  const heap = getHeap();
  return heap.scope(() => {
    const pq = putFinite(op, "query", query),
      px = putFinite(op, "matrix", matrix);
    const s = heap.alloc(N * 4);
    scanF32(pq, px, N, D, D, s, false);
    return new Tensor(heap.takeF32(s, N), [N]);
  });
}

/** Exact int32 scores (N) = matrix (N, D) int8 . query (D) int8. */
export function similarityScanInt8(query: Int8Array, matrix: Int8Array, D: number): Int32Array {
  const op = "F.similarityScanInt8";
  posInt(op, "dim", D);
  if (query.length !== D || matrix.length % D !== 0)
    fail(op, `query must hold ${D} values and matrix a multiple of ${D}, got ${query.length} and ${matrix.length}`);
  const N = matrix.length / D;
  const heap = getHeap();
  return heap.scope(() => {
    const pq = heap.put(query),
      px = heap.put(matrix),
      s = heap.alloc(N * 4);
    scanI8(pq, px, N, D, D, s);
    return heap.takeI32(s, N);
  });
}

/**
 * The k largest scores, best first; ties keep the lower index.  mask (N), when given, keeps only
 * entries whose mask byte is nonzero.  NaN scores are never returned.
 */
export function topk(
  scores: Tensor,
  k: number,
  mask?: Uint8Array | null,
): { values: Float32Array; indices: Int32Array } {
  const op = "F.topk";
  f32(op, "scores", scores);
  if (scores.ndim !== 1) fail(op, `scores must be 1-D, got shape ${fmtShape(scores.shape)}`);
  posInt(op, "k", k);
  const N = scores.size;
  if (mask && mask.length !== N) fail(op, `mask must hold ${N} bytes, got ${mask.length}`);
  const heap = getHeap();
  const best = heap.scope(() => topkPairs(heap.put(scores.data), N, k, mask ? heap.put(mask) : 0));
  return { values: Float32Array.from(best, ([v]) => v), indices: Int32Array.from(best, ([, i]) => i) };
}
