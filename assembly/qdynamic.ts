// torch.quantization.quantize_dynamic's numerics (torch 1.13, default_dynamic_qconfig):
//   weights: per-tensor symmetric qint8, scale = max(|min|, |max|) / 127.5 (at least float32 eps), zero point 0;
//   activations: per-tensor affine quint8 chosen from the tensor's own min/max by ChooseQuantizationParams
//   (reduce_range halves the range to [0, 127], as torch's x86 engines fbgemm/onednn do; qnnpack uses [0, 255]);
//   y = float(acc - zp * sum_k wq) * (sa * sw) + bias, acc the exact int32 sum of quint8 x qint8 products.
// Activation codes are written as int16, widened once, because every one of them meets N weights in the GEMM; codes in
// [0, 127] (reduce_range, torch's x86 default) are written as bytes instead, for qgemm_nt_u7_i32.

const SMALL_SCALE: f32 = 6.1e-5; // torch's SMALL_SCALE_THRESHOLD
const F32_EPS: f32 = 1.1920928955078125e-7;

/**
 * x (n) f32 -> q (n) quint8 codes, as int16 (width 2: qgemm_nt_i32's operand) or uint8 (width 1: qgemm_nt_u7_i32's);
 * params: [scale f32, zero point i32 (0..255)].  reduceRange != 0 limits codes to [0, 127].
 */
export function quantize_dynamic_u8(x: usize, n: i32, reduceRange: i32, q: usize, params: usize, width: i32): void {
  let lo: f32 = 0, hi: f32 = 0; // the range always includes 0, as torch extends it
  for (let i = 0; i < n; i++) { const v = load<f32>(x + (<usize>i << 2)); lo = min(lo, v); hi = max(hi, v); }
  const qmin = 0, qmax = reduceRange ? 127 : 255;
  let scale: f64 = (<f64>hi - <f64>lo) / <f64>(qmax - qmin);
  if (<f32>scale == 0 || !isFinite(<f32>1 / <f32>scale)) scale = 0.1;
  if (scale < <f64>SMALL_SCALE) {
    const org = <f32>scale;
    scale = <f64>SMALL_SCALE;
    if (lo == 0) hi = SMALL_SCALE * <f32>(qmax - qmin);
    else if (hi == 0) lo = -SMALL_SCALE * <f32>(qmax - qmin);
    else { const amp: f32 = SMALL_SCALE / org; lo *= amp; hi *= amp; }
  }
  // torch picks the zero point from whichever end adds the smaller terms, then rounds it into [qmin, qmax]
  const zFromMin: f64 = <f64>qmin - <f64>lo / scale, zFromMax: f64 = <f64>qmax - <f64>hi / scale;
  const eMin: f64 = Math.abs(<f64>qmin) - Math.abs(<f64>lo / scale);
  const eMax: f64 = Math.abs(<f64>qmax) - Math.abs(<f64>hi / scale);
  const z0 = eMin < eMax ? zFromMin : zFromMax;
  const zp: i32 = z0 < qmin ? qmin : z0 > qmax ? qmax : <i32>nearest<f64>(z0);
  const s = <f32>scale, inv: f32 = <f32>1 / s;
  for (let i = 0; i < n; i++) {
    const v = <i32>nearest<f32>(load<f32>(x + (<usize>i << 2)) * inv) + zp;
    const c = min(255, max(0, v));
    if (width == 1) store<u8>(q + i, <u8>c);
    else store<i16>(q + (<usize>i << 1), <i16>c);
  }
  store<f32>(params, s);
  store<i32>(params, zp, 4);
}

/** w (n) f32 -> q (n) qint8, per-tensor symmetric; writes the scale to scale[0]. */
export function quantize_weight_i8(w: usize, n: i32, q: usize, scale: usize): void {
  let lo: f32 = 0, hi: f32 = 0;
  for (let i = 0; i < n; i++) { const v = load<f32>(w + (<usize>i << 2)); lo = min(lo, v); hi = max(hi, v); }
  const s = max(max(-lo, hi) / <f32>127.5, F32_EPS), inv: f32 = <f32>1 / s;
  for (let i = 0; i < n; i++) store<i8>(q + i, <i8>min(127, max(-128, <i32>nearest<f32>(load<f32>(w +
      (<usize>i << 2)) * inv))));
  store<f32>(scale, s);
}

/**
 * y (M, N) = float(acc - zp * colSum[n]) * scale + bias[n] (bias 0 = none), then ReLU when relu != 0.
 * acc (M, N) int32 from qgemm_nt_i32; zp the activations' zero point.
 */
export function dq_linear_epilogue(
  acc: usize, M: i32, N: i32, zp: i32, colSum: usize, scale: f32, bias: usize, relu: i32, y: usize
): void {
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const o = (<usize>m * N + n) << 2;
      let v = <f32>(load<i32>(acc + o) - zp * load<i32>(colSum + (<usize>n << 2))) * scale;
      if (bias != 0) v += load<f32>(bias + (<usize>n << 2));
      if (relu && v < 0) v = 0;
      store<f32>(y + o, v);
    }
  }
}

/**
 * acc (M, N) = A (M, K) int16 codes x W (N, K) int8 codes ^T, exact int32; acc's rows are ldc int32 apart (a
 * thread computing a block of columns passes the full row stride).  Tiles of 4 A rows x 2 W rows: each 8-value
 * step loads four A pieces as they are and sign-extends two W pieces as it loads them (load8x8_s), then eight
 * i16 dot products (4 x 2 measured faster than 2 x 4 over int8 A, and than 4 x 3, which spills).
 */
export function qgemm_nt_i32(M: i32, N: i32, K: i32, A: usize, W: usize, acc: usize, ldc: i32): void {
  const lda = <usize>K << 1, ldo = <usize>ldc << 2;
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const pa = A + <usize>m * lda, po = acc + <usize>m * ldo;
    let n = 0;
    for (; n + 2 <= N; n += 2) tile4x2(pa, lda, W + <usize>n * K, K, po + (<usize>n << 2), ldo);
    if (n < N) for (let r = 0; r < 4; r++) store<i32>(po + <usize>r * ldo + (<usize>n << 2), dotQ(pa + <usize>r * lda,
        W + <usize>n * K, K));
  }
  for (; m < M; m++) {
    // the leftover rows (every row of an LSTM step at batch 1-3): four W rows per pass share each A load
    const pa = A + <usize>m * lda, po = acc + <usize>m * ldo;
    let n = 0;
    for (; n + 4 <= N; n += 4) row1x4(pa, W + <usize>n * K, K, po + (<usize>n << 2));
    for (; n < N; n++) store<i32>(po + (<usize>n << 2), dotQ(pa, W + <usize>n * K, K));
  }
}

@inline function row1x4(a: usize, w0: usize, K: i32, out: usize): void {
  const w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
  let k = 0;
  for (; k + 8 <= K; k += 8) {
    const x = v128.load(a + (<usize>k << 1));
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, v128.load8x8_s(w0 + k)));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, v128.load8x8_s(w1 + k)));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(x, v128.load8x8_s(w2 + k)));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(x, v128.load8x8_s(w3 + k)));
  }
  let s0 = hsum4(c0), s1 = hsum4(c1), s2 = hsum4(c2), s3 = hsum4(c3);
  for (; k < K; k++) {
    const x = <i32>load<i16>(a + (<usize>k << 1));
    s0 += x * <i32>load<i8>(w0 + k);
    s1 += x * <i32>load<i8>(w1 + k);
    s2 += x * <i32>load<i8>(w2 + k);
    s3 += x * <i32>load<i8>(w3 + k);
  }
  store<i32>(out, s0); store<i32>(out, s1, 4); store<i32>(out, s2, 8); store<i32>(out, s3, 12);
}

@inline function tile4x2(a0: usize, lda: usize, w0: usize, K: i32, out: usize, ldo: usize): void {
  const a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, w1 = w0 + K;
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  let k = 0;
  for (; k + 8 <= K; k += 8) {
    const u = v128.load8x8_s(w0 + k), v = v128.load8x8_s(w1 + k);
    const ko = <usize>k << 1;
    let x = v128.load(a0 + ko);
    c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x, u)); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x, v));
    x = v128.load(a1 + ko);
    c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x, u)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x, v));
    x = v128.load(a2 + ko);
    c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x, u)); c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x, v));
    x = v128.load(a3 + ko);
    c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x, u)); c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x, v));
  }
  let s00 = hsum4(c00), s01 = hsum4(c01), s10 = hsum4(c10), s11 = hsum4(c11);
  let s20 = hsum4(c20), s21 = hsum4(c21), s30 = hsum4(c30), s31 = hsum4(c31);
  for (; k < K; k++) {
    const u = <i32>load<i8>(w0 + k), v = <i32>load<i8>(w1 + k), ko = <usize>k << 1;
    const x0 = <i32>load<i16>(a0 + ko);
    const x1 = <i32>load<i16>(a1 + ko);
    const x2 = <i32>load<i16>(a2 + ko);
    const x3 = <i32>load<i16>(a3 + ko);
    s00 += x0 * u; s01 += x0 * v; s10 += x1 * u; s11 += x1 * v;
    s20 += x2 * u; s21 += x2 * v; s30 += x3 * u; s31 += x3 * v;
  }
  store<i32>(out, s00); store<i32>(out, s01, 4);
  store<i32>(out + ldo, s10); store<i32>(out + ldo, s11, 4);
  store<i32>(out + 2 * ldo, s20); store<i32>(out + 2 * ldo, s21, 4);
  store<i32>(out + 3 * ldo, s30); store<i32>(out + 3 * ldo, s31, 4);
}

/** One int16 A row against one int8 W row. */
@inline function dotQ(a: usize, w: usize, K: i32): i32 {
  let c = i32x4.splat(0);
  let k = 0;
  for (; k + 8 <= K; k += 8) c = i32x4.add(c, i32x4.dot_i16x8_s(v128.load(a + (<usize>k << 1)), v128.load8x8_s(w + k)));
  let s = hsum4(c);
  for (; k < K; k++) s += <i32>load<i16>(a + (<usize>k << 1)) * <i32>load<i8>(w + k);
  return s;
}

@inline function hsum4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/**
 * acc (M, N) = A (M, K) uint8 codes in 0..127 x W (N, K) int8 codes ^T, exact int32; rows of A are K bytes apart, of
 * acc ldc int32.  These are torch's x86 dynamic-quantisation codes (reduce_range keeps activations in [0, 127]), so
 * 16 of them at a time meet W in dot7: relaxed_dot_i8x16_i7x16 (pairs into int16, which a pair of products cannot
 * overflow) in the relaxed build, exact because its second operand fits in 7 bits; widening dot products in the exact
 * build.  The same integers either way.
 */
export function qgemm_nt_u7_i32(M: i32, N: i32, K: i32, A: usize, W: usize, acc: usize, ldc: i32): void {
  const lda = <usize>K, ldo = <usize>ldc << 2;
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const pa = A + <usize>m * lda, po = acc + <usize>m * ldo;
    let n = 0;
    for (; n + 2 <= N; n += 2) tile7(pa, lda, W + <usize>n * K, K, po + (<usize>n << 2), ldo);
    if (n < N) for (let r = 0; r < 4; r++) store<i32>(po + <usize>r * ldo + (<usize>n << 2), row7(pa + <usize>r * lda,
        W + <usize>n * K, K));
  }
  for (; m < M; m++) {
    const pa = A + <usize>m * lda, po = acc + <usize>m * ldo;
    for (let n = 0; n < N; n++) store<i32>(po + (<usize>n << 2), row7(pa, W + <usize>n * K, K));
  }
}

/** c + the 16 products w[i] * a[i] (w int8, a in 0..127), summed into four int32 lanes. */
@inline function dot7(w: v128, a: v128, c: v128): v128 {
  // (not relaxed_dot_i8x16_i7x16_add: Node 20's flagged V8 11.3 returns twice the sum from it)
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.add(c, i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(w, a)));
  }
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), i16x8.extend_low_i8x16_u(a));
  const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), i16x8.extend_high_i8x16_u(a));
  return i32x4.add(c, i32x4.add(lo, hi));
}

@inline function tile7(a0: usize, lda: usize, w0: usize, K: i32, out: usize, ldo: usize): void {
  const a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, w1 = w0 + K;
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    const u = v128.load(w0 + k), v = v128.load(w1 + k);
    let x = v128.load(a0 + k);
    c00 = dot7(u, x, c00); c01 = dot7(v, x, c01);
    x = v128.load(a1 + k);
    c10 = dot7(u, x, c10); c11 = dot7(v, x, c11);
    x = v128.load(a2 + k);
    c20 = dot7(u, x, c20); c21 = dot7(v, x, c21);
    x = v128.load(a3 + k);
    c30 = dot7(u, x, c30); c31 = dot7(v, x, c31);
  }
  let s00 = hsum4(c00), s01 = hsum4(c01), s10 = hsum4(c10), s11 = hsum4(c11);
  let s20 = hsum4(c20), s21 = hsum4(c21), s30 = hsum4(c30), s31 = hsum4(c31);
  for (; k < K; k++) {
    const u = <i32>load<i8>(w0 + k), v = <i32>load<i8>(w1 + k);
    const x0 = <i32>load<u8>(a0 + k), x1 = <i32>load<u8>(a1 + k);
    const x2 = <i32>load<u8>(a2 + k), x3 = <i32>load<u8>(a3 + k);
    s00 += x0 * u; s01 += x0 * v; s10 += x1 * u; s11 += x1 * v;
    s20 += x2 * u; s21 += x2 * v; s30 += x3 * u; s31 += x3 * v;
  }
  store<i32>(out, s00); store<i32>(out, s01, 4);
  store<i32>(out + ldo, s10); store<i32>(out + ldo, s11, 4);
  store<i32>(out + 2 * ldo, s20); store<i32>(out + 2 * ldo, s21, 4);
  store<i32>(out + 3 * ldo, s30); store<i32>(out + 3 * ldo, s31, 4);
}

/** One uint8 A row against one int8 W row. */
@inline function row7(a: usize, w: usize, K: i32): i32 {
  let c = i32x4.splat(0);
  let k = 0;
  for (; k + 16 <= K; k += 16) c = dot7(v128.load(w + k), v128.load(a + k), c);
  let s = hsum4(c);
  for (; k < K; k++) s += <i32>load<u8>(a + k) * <i32>load<i8>(w + k);
  return s;
}
