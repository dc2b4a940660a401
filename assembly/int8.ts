// int8 GEMM: C(m, n) = sa[m] * sw[n] * sum_k A(m, k) W(n, k) [+ bias[n]], exact i32 accumulation through
// i16x8 dot products.  Being integer, the sum has no order to fix; the f32 epilogue has one fixed order.
// |A|,|W| <= 127 keeps K up to 133,000 clear of i32 overflow.

@inline function dot16(a: v128, b: v128): v128 {
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), i16x8.extend_low_i8x16_s(b));
  const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), i16x8.extend_high_i8x16_s(b));
  return i32x4.add(lo, hi);
}

@inline function hsumi(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** Exact int8 dot product of length K. */
@inline function dotI8(a: usize, b: usize, K: i32): i32 {
  let acc = i32x4.splat(0);
  let k = 0;
  for (; k + 16 <= K; k += 16) acc = i32x4.add(acc, dot16(v128.load(a + k), v128.load(b + k)));
  let s = hsumi(acc);
  for (; k < K; k++) s += <i32>load<i8>(a + k) * <i32>load<i8>(b + k);
  return s;
}

/** Raw i32 products: acc (M, N) = A (M, K, row stride lda) x W (N, K, row stride ldw)^T. */
export function i8gemm_nt_i32(M: i32, N: i32, K: i32, A: usize, lda: i32, W: usize, ldw: i32, acc: usize): void {
  // Blocks of NB weight rows stay cached while every pair of A rows passes over them.
  const NB = 256;
  const N4 = N & ~3;
  for (let n0 = 0; n0 < N4; n0 += NB) {
    const n1 = min(n0 + NB, N4);
    for (let m = 0; m + 2 <= M; m += 2) {
      const pa = A + <usize>m * lda;
      for (let n = n0; n < n1; n += 4) tile2x4(pa, lda, W + <usize>n * ldw, ldw, K, acc + ((<usize>m * N + n) << 2), N);
    }
  }
  for (let m = 0; m + 2 <= M; m += 2) {
    const pa = A + <usize>m * lda;
    for (let n = N4; n < N; n++) {
      const pw = W + <usize>n * ldw;
      store<i32>(acc + ((<usize>m * N + n) << 2), dotI8(pa, pw, K));
      store<i32>(acc + ((<usize>(m + 1) * N + n) << 2), dotI8(pa + lda, pw, K));
    }
  }
  if (M & 1) row1(A + <usize>(M - 1) * lda, W, ldw, N, K, acc + ((<usize>(M - 1) * N) << 2));
}

// A 2 x 4 block of outputs: each 8-byte step sign-extends two A and four W pieces as it loads them (load8x8_s)
// and does eight i16 dot products into eight accumulators (2 x 4 reuses every load, eleven registers, no spills).
@inline function tile2x4(pa: usize, lda: i32, pw: usize, ldw: i32, K: i32, out: usize, ldo: i32): void {
  const a1 = pa + lda, w1 = pw + ldw, w2 = w1 + ldw, w3 = w2 + ldw;
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c02 = i32x4.splat(0), c03 = i32x4.splat(0);
  let c10 = i32x4.splat(0), c11 = i32x4.splat(0), c12 = i32x4.splat(0), c13 = i32x4.splat(0);
  let k = 0;
  for (; k + 8 <= K; k += 8) {
    const x0 = v128.load8x8_s(pa + k), x1 = v128.load8x8_s(a1 + k);
    let w = v128.load8x8_s(pw + k);
    c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, w)); c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, w));
    w = v128.load8x8_s(w1 + k);
    c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, w)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, w));
    w = v128.load8x8_s(w2 + k);
    c02 = i32x4.add(c02, i32x4.dot_i16x8_s(x0, w)); c12 = i32x4.add(c12, i32x4.dot_i16x8_s(x1, w));
    w = v128.load8x8_s(w3 + k);
    c03 = i32x4.add(c03, i32x4.dot_i16x8_s(x0, w)); c13 = i32x4.add(c13, i32x4.dot_i16x8_s(x1, w));
  }
  let s00 = hsumi(c00), s01 = hsumi(c01), s02 = hsumi(c02), s03 = hsumi(c03);
  let s10 = hsumi(c10), s11 = hsumi(c11), s12 = hsumi(c12), s13 = hsumi(c13);
  for (; k < K; k++) {
    const x0 = <i32>load<i8>(pa + k), x1 = <i32>load<i8>(a1 + k);
    const v0 = <i32>load<i8>(pw + k), v1 = <i32>load<i8>(w1 + k), v2 = <i32>load<i8>(w2 + k), v3 = <i32>load<i8>(w3 + k);
    s00 += x0 * v0; s01 += x0 * v1; s02 += x0 * v2; s03 += x0 * v3;
    s10 += x1 * v0; s11 += x1 * v1; s12 += x1 * v2; s13 += x1 * v3;
  }
  store<i32>(out, s00); store<i32>(out, s01, 4); store<i32>(out, s02, 8); store<i32>(out, s03, 12);
  const o1 = out + (<usize>ldo << 2);
  store<i32>(o1, s10); store<i32>(o1, s11, 4); store<i32>(o1, s12, 8); store<i32>(o1, s13, 12);
}

// One A row against every W row, four W rows per pass (the last odd row of A, and every one-row product).
function row1(pa: usize, W: usize, ldw: i32, N: i32, K: i32, out: usize): void {
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    const w0 = W + <usize>n * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw;
    let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
    let k = 0;
    for (; k + 8 <= K; k += 8) {
      const x = v128.load8x8_s(pa + k);
      c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, v128.load8x8_s(w0 + k)));
      c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, v128.load8x8_s(w1 + k)));
      c2 = i32x4.add(c2, i32x4.dot_i16x8_s(x, v128.load8x8_s(w2 + k)));
      c3 = i32x4.add(c3, i32x4.dot_i16x8_s(x, v128.load8x8_s(w3 + k)));
    }
    let s0 = hsumi(c0), s1 = hsumi(c1), s2 = hsumi(c2), s3 = hsumi(c3);
    for (; k < K; k++) {
      const x = <i32>load<i8>(pa + k);
      s0 += x * <i32>load<i8>(w0 + k); s1 += x * <i32>load<i8>(w1 + k);
      s2 += x * <i32>load<i8>(w2 + k); s3 += x * <i32>load<i8>(w3 + k);
    }
    store<i32>(out + (<usize>n << 2), s0); store<i32>(out + (<usize>n << 2), s1, 4);
    store<i32>(out + (<usize>n << 2), s2, 8); store<i32>(out + (<usize>n << 2), s3, 12);
  }
  for (; n < N; n++) store<i32>(out + (<usize>n << 2), dotI8(pa, W + <usize>n * ldw, K));
}

/**
 * Dequantised int8 GEMM: C (M, N) = (acc * sa[m*saStride]) * sw[n*swStride] + bias[n] (bias 0 = none).
 * saStride / swStride 0 = per-tensor scale, 1 = per-row.  acc: M*N i32 of scratch.
 */
export function i8gemm_nt_f32(
  M: i32, N: i32, K: i32, A: usize, lda: i32, W: usize, ldw: i32,
  sa: usize, saStride: i32, sw: usize, swStride: i32, bias: usize, acc: usize, C: usize
): void {
  i8gemm_nt_i32(M, N, K, A, lda, W, ldw, acc);
  for (let m = 0; m < M; m++) {
    const a = load<f32>(sa + (<usize>(m * saStride) << 2));
    for (let n = 0; n < N; n++) {
      let v = (<f32>load<i32>(acc + ((<usize>m * N + n) << 2)) * a) * load<f32>(sw + (<usize>(n * swStride) << 2));
      if (bias != 0) v += load<f32>(bias + (<usize>n << 2));
      store<f32>(C + ((<usize>m * N + n) << 2), v);
    }
  }
}

/**
 * Symmetric per-row quantisation: for each row of x (rows, n), scale = max|x| / 127 (1 if the row is 0),
 * q = round-half-even(x / scale) clamped to [-127, 127].  Writes q (rows, n) int8 and scale (rows).
 */
export function quantize_rows_i8(x: usize, rows: i32, n: i32, q: usize, scale: usize): void {
  for (let r = 0; r < rows; r++) {
    const px = x + (<usize>r * n << 2);
    let m: f32 = 0;
    for (let i = 0; i < n; i++) m = max(m, Mathf.abs(load<f32>(px + (<usize>i << 2))));
    const s: f32 = m > 0 ? m / 127 : 1;
    store<f32>(scale + (<usize>r << 2), s);
    const pq = q + <usize>r * n;
    for (let i = 0; i < n; i++) {
      let v: f32 = nearest<f32>(load<f32>(px + (<usize>i << 2)) / s);
      v = min(<f32>127, max(<f32>-127, v));
      store<i8>(pq + i, <i8><i32>v);
    }
  }
}
