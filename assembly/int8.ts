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
  for (let m = 0; m < M; m++) {
    const pa = A + <usize>m * lda;
    let n = 0;
    // Four weight rows per pass reuse each 16-byte load of A four times.
    for (; n + 4 <= N; n += 4) {
      const w0 = W + <usize>n * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw;
      let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
      let k = 0;
      for (; k + 16 <= K; k += 16) {
        const a = v128.load(pa + k);
        const alo = i16x8.extend_low_i8x16_s(a), ahi = i16x8.extend_high_i8x16_s(a);
        let b = v128.load(w0 + k);
        c0 = i32x4.add(c0, i32x4.add(i32x4.dot_i16x8_s(alo, i16x8.extend_low_i8x16_s(b)), i32x4.dot_i16x8_s(ahi, i16x8.extend_high_i8x16_s(b))));
        b = v128.load(w1 + k);
        c1 = i32x4.add(c1, i32x4.add(i32x4.dot_i16x8_s(alo, i16x8.extend_low_i8x16_s(b)), i32x4.dot_i16x8_s(ahi, i16x8.extend_high_i8x16_s(b))));
        b = v128.load(w2 + k);
        c2 = i32x4.add(c2, i32x4.add(i32x4.dot_i16x8_s(alo, i16x8.extend_low_i8x16_s(b)), i32x4.dot_i16x8_s(ahi, i16x8.extend_high_i8x16_s(b))));
        b = v128.load(w3 + k);
        c3 = i32x4.add(c3, i32x4.add(i32x4.dot_i16x8_s(alo, i16x8.extend_low_i8x16_s(b)), i32x4.dot_i16x8_s(ahi, i16x8.extend_high_i8x16_s(b))));
      }
      let s0 = hsumi(c0), s1 = hsumi(c1), s2 = hsumi(c2), s3 = hsumi(c3);
      for (; k < K; k++) {
        const a = <i32>load<i8>(pa + k);
        s0 += a * <i32>load<i8>(w0 + k); s1 += a * <i32>load<i8>(w1 + k);
        s2 += a * <i32>load<i8>(w2 + k); s3 += a * <i32>load<i8>(w3 + k);
      }
      const o = acc + ((<usize>m * N + n) << 2);
      store<i32>(o, s0); store<i32>(o, s1, 4); store<i32>(o, s2, 8); store<i32>(o, s3, 12);
    }
    for (; n < N; n++) store<i32>(acc + ((<usize>m * N + n) << 2), dotI8(pa, W + <usize>n * ldw, K));
  }
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
