// Retrieval scans: dot products of a query with stored rows (float32, int8 row-major, int8 in the scan's tiles,
// or a list of row ids), large scans split into row ranges over the threads (each row's score is the same on any
// thread), the tile packing, the reference design's row normalisation, and the top-k heap (no full sort).
import { splitRows } from "../bindings/threads.js";
import { kernels, heap, pool as getPool } from "./runtime.js";
import { i8TileRows, i8TileBytes } from "./geometry.js";
import { quantizeRows, widenI8 } from "./quant.js";

/** Below this many rows a scan stays on one thread. */
const PARALLEL_MIN_ROWS = 4096;

const poolFor = (N: number) => (N >= PARALLEL_MIN_ROWS ? getPool() : null);

/** Row length of a tiled int8 store for vectors of dim floats (zero tail). */
export const i8RowBytes = (dim: number): number => Math.ceil(dim / i8TileBytes()) * i8TileBytes();

/** Rows a tiled int8 store is allocated in (whole tiles). */
export const i8TileRowCount = (): number => i8TileRows();

/** scores (N) = X (N, D; row stride ld floats) . q (D); threads split the rows of a large scan. */
export function scanF32(q: number, X: number, N: number, D: number, ld: number, scores: number, threaded = true): void {
  const pool = threaded ? poolFor(N) : null;
  if (pool)
    pool.run(
      "scan_f32",
      splitRows(N, pool.size).map(([r0, n]) => [q, X + r0 * ld * 4, n, D, ld, scores + r0 * 4]),
    );
  else kernels().scan_f32(q, X, N, D, ld, scores);
}

/** Exact int32 scores (N) = X (N, D; row stride ld bytes) int8 . q (D) int8. */
export const scanI8 = (q: number, X: number, N: number, D: number, ld: number, scores: number): void =>
  kernels().scan_i8(q, X, N, D, ld, scores);

/**
 * scores (N) = (tiled int8 rows . q's int8 codes) * row scales, q a float query (D) quantised per row first and
 * widened once (reused against every row).  Returns the query's own scale (multiply to get dot products).
 */
export function scanI8Tiled(q: number, D: number, tiles: number, N: number, scales: number, scores: number): number {
  const h = heap();
  const d8 = i8RowBytes(D);
  return h.scope(() => {
    const q8 = h.alloc(d8),
      sq = h.alloc(4);
    h.u8(q8, d8).fill(0);
    quantizeRows(q, 1, D, q8, sq);
    const q16 = h.alloc(d8 * 2);
    widenI8(q8, d8, q16);
    const pool = poolFor(N);
    if (pool)
      pool.run(
        "scan_i8t_scaled",
        splitRows(N, pool.size, i8TileRows()).map(([r0, n]) => [
          q16,
          tiles + r0 * d8,
          n,
          d8,
          scales + r0 * 4,
          scores + r0 * 4,
        ]),
      );
    else kernels().scan_i8t_scaled(q16, tiles, N, d8, scales, scores);
    return h.f32(sq, 1)[0];
  });
}

/** Writes `rows` row-major int8 rows of n values (src) into slots slot.. of a tiled store (row length D). */
export const packI8Tiles = (src: number, rows: number, n: number, D: number, dst: number, slot: number): void =>
  kernels().pack_i8_tiles(src, rows, n, D, dst, slot);

/** Reads rows slot..slot+rows-1 of a tiled store (row length D) as row-major (rows, n) bytes into dst. */
export const unpackI8Tiles = (src: number, slot: number, rows: number, D: number, n: number, dst: number): void =>
  kernels().unpack_i8_tiles(src, slot, rows, D, n, dst);

/** scores (n) = X[ids[j]] . q for a list of n row ids (f32 X, row stride ld floats). */
export const scanF32Ids = (q: number, X: number, D: number, ld: number, ids: number, n: number, scores: number): void =>
  kernels().scan_f32_ids(q, X, D, ld, ids, n, scores);

/** The reference design's cosine normalisation x / (||x|| + 1e-8) of each of `rows` rows of n. */
export const normalizeSeedRows = (x: number, out: number, rows: number, n: number): void =>
  kernels().normalize_seed_f32(x, out, rows, n);

/**
 * The k best of N scores (score descending, lower index first on ties; NaN never returned), keeping only
 * entries whose mask byte is nonzero when mask != 0.  Returns [score, index] pairs, best first.
 */
export function topkPairs(scores: number, N: number, k: number, mask = 0): Array<[number, number]> {
  const h = heap();
  return h.scope(() => {
    const kk = Math.min(k, N);
    if (kk <= 0) return [];
    const ov = h.alloc(kk * 4),
      oi = h.alloc(kk * 4);
    const n = kernels().topk_f32(scores, N, kk, mask, ov, oi);
    const v = h.f32(ov, n),
      id = h.i32(oi, n);
    return Array.from({ length: n }, (_, i) => [v[i], id[i]] as [number, number]);
  });
}
