// int8 arithmetic: symmetric per-row quantisation (scale = max|row| / 127), exact int32 products (int8 widened to
// int16 once, then the 4x2-tiled qgemm, split into whole column tiles over the threads), the dequantising
// epilogues, and torch's dynamic quantisation (activation qparams per call, weight codes per tensor).
import { splitRows } from "../bindings/threads.js";
import { kernels, heap, pool as getPool, simdBuild } from "./runtime.js";
import { qgemmTileCols } from "./geometry.js";

/** q (rows, n) int8 codes and scale (rows) floats of x (rows, n). */
export const quantizeRows = (x: number, rows: number, n: number, q: number, scale: number): void =>
  kernels().quantize_rows_i8(x, rows, n, q, scale);

/** dst (n) int16 = src (n) int8, sign-extended. */
export const widenI8 = (src: number, n: number, dst: number): void => kernels().widen_i8_i16(src, n, dst);

/**
 * acc (M, N) = A (M, K) int16 x W (N, K) int8 ^T, exact int32 (qgemm_nt_i32; or A as uint8 codes in 0..127,
 * qgemm_nt_u7_i32); with worker threads a large product gives each thread whole column tiles, so every sum is the
 * same integer.
 */
export function qgemm(
  M: number,
  N: number,
  K: number,
  A: number,
  W: number,
  acc: number,
  kernel: "qgemm_nt_i32" | "qgemm_nt_u7_i32" = "qgemm_nt_i32",
): void {
  const pool = getPool();
  if (pool && M * N * K >= 1 << 20 && N >= 8) {
    pool.run(
      kernel,
      splitRows(N, pool.size, qgemmTileCols()).map(([n0, n]) => [M, n, K, A, W + n0 * K, acc + n0 * 4, N]),
    );
  } else kernels()[kernel](M, N, K, A, W, acc, N);
}

/** acc (M, N) = a (M, K) x w (N, K)^T, int8 in, exact int32 out: a is widened to int16 once, then qgemm. */
export function int8Products(pa: number, M: number, K: number, pw: number, N: number, acc: number): void {
  const h = heap();
  h.scope(() => {
    const a16 = h.alloc(M * K * 2);
    widenI8(pa, M * K, a16);
    qgemm(M, N, K, a16, pw, acc);
  });
}

/** C (M, N) = acc * sa[m] * sw[n] + bias[n] (bias 0: none); strides 0 repeat one scale. */
export const dequantRows = (
  M: number,
  N: number,
  acc: number,
  sa: number,
  saStride: number,
  sw: number,
  swStride: number,
  bias: number,
  C: number,
): void => kernels().i8_dequant_f32(M, N, acc, sa, saStride, sw, swStride, bias, C);

/**
 * C (M, N) = (a (M, K) int8 x w (N, K) int8 ^T, exact) * sa[m] * sw[n] + bias[n] (bias 0: none): per-row quantised
 * operands, as F.linearInt8.
 */
export function linearInt8Rows(
  pa: number,
  sa: number,
  M: number,
  K: number,
  pw: number,
  sw: number,
  N: number,
  bias: number,
  C: number,
): void {
  const h = heap();
  h.scope(() => {
    const acc = h.alloc(M * N * 4);
    int8Products(pa, M, K, pw, N, acc);
    dequantRows(M, N, acc, sa, 1, sw, 1, bias, C);
  });
}

/** torch's per-tensor symmetric qint8 codes of w (n floats) into q; returns the scale. */
export function quantizeWeight(w: Float32Array, q: number): number {
  const h = heap();
  return h.scope(() => {
    const s = h.alloc(4);
    kernels().quantize_weight_i8(h.put(w), w.length, q, s);
    return h.f32(s, 1)[0];
  });
}

/**
 * y (M, N) = dynamic-quantised x (M, K) times w^T + bias, written to out, with torch 1.13's numerics: one
 * activation scale and zero point for all M rows (reduceRange: 7-bit, as torch's x86 engines), int8 weight codes
 * at wCodes with per-output code sums colSum and scale wScale.
 */
export function dynamicLinear(
  x: number,
  M: number,
  K: number,
  N: number,
  wCodes: number,
  colSum: number,
  wScale: number,
  bias: number,
  reduceRange: boolean,
  relu: boolean,
  out: number,
): void {
  if (M === 0) return;
  const k = kernels(),
    h = heap();
  h.scope(() => {
    // The relaxed build takes reduce_range codes (0..127) as bytes into its 7-bit int8 dot product: 0.82-0.93x the
    // int16 path's time at 8-197 rows on Node 22 / 24, but 1.09-1.12x on Node 20's flagged V8 and in the exact
    // build (widening per use), so only there, and not below one 4-row tile (the int16 path's row kernel shares
    // each activation load across four weight rows).  The integers are the same either way.
    const u7 = reduceRange && M >= 4 && simdBuild() === "relaxed";
    const width = u7 ? 1 : 2;
    const q = h.alloc(M * K * width),
      params = h.alloc(8),
      acc = h.alloc(M * N * 4);
    k.quantize_dynamic_u8(x, M * K, reduceRange ? 1 : 0, q, params, width);
    const sa = h.f32(params, 1)[0],
      zp = h.i32(params + 4, 1)[0];
    qgemm(M, N, K, q, wCodes, acc, u7 ? "qgemm_nt_u7_i32" : "qgemm_nt_i32");
    // torch multiplies by the product of the two scales, rounded to float32 once
    k.dq_linear_epilogue(acc, M, N, zp, colSum, Math.fround(sa * wScale), bias, relu ? 1 : 0, out);
  });
}
