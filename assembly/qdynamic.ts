// torch.quantization.quantize_dynamic's numerics (torch 1.13, default_dynamic_qconfig):
//   weights: per-tensor symmetric qint8, scale = max(|min|, |max|) / 127.5 (at least float32 eps), zero point 0;
//   activations: per-tensor affine quint8 chosen from the tensor's own min/max by ChooseQuantizationParams
//   (reduce_range halves the range to [0, 127], as torch's x86 engines fbgemm/onednn do; qnnpack uses [0, 255]);
//   y = float(acc - zp * sum_k wq) * (sa * sw) + bias, acc the exact int32 sum of quint8 x qint8 products.
// Activations are stored as int8 (q - 128) so the signed int8 GEMM serves; the zero point moves by 128 with them.

const SMALL_SCALE: f32 = 6.1e-5; // torch's SMALL_SCALE_THRESHOLD
const F32_EPS: f32 = 1.1920928955078125e-7;

/**
 * x (n) f32 -> q (n) int8 holding quint8 - 128; params: [scale f32, zero point i32 (quint8, 0..255)].
 * reduceRange != 0 limits codes to [0, 127].
 */
export function quantize_dynamic_u8(x: usize, n: i32, reduceRange: i32, q: usize, params: usize): void {
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
  const eMin: f64 = Math.abs(<f64>qmin) - Math.abs(<f64>lo / scale), eMax: f64 = Math.abs(<f64>qmax) - Math.abs(<f64>hi / scale);
  const z0 = eMin < eMax ? zFromMin : zFromMax;
  const zp: i32 = z0 < qmin ? qmin : z0 > qmax ? qmax : <i32>nearest<f64>(z0);
  const s = <f32>scale, inv: f32 = <f32>1 / s;
  for (let i = 0; i < n; i++) {
    const v = <i32>nearest<f32>(load<f32>(x + (<usize>i << 2)) * inv) + zp;
    store<i8>(q + i, <i8>(min(255, max(0, v)) - 128));
  }
  store<f32>(params, s);
  store<i32>(params, zp, 4);
}

/** w (n) f32 -> q (n) qint8, per-tensor symmetric; writes the scale to scale[0]. */
export function quantize_weight_i8(w: usize, n: i32, q: usize, scale: usize): void {
  let lo: f32 = 0, hi: f32 = 0;
  for (let i = 0; i < n; i++) { const v = load<f32>(w + (<usize>i << 2)); lo = min(lo, v); hi = max(hi, v); }
  const s = max(max(-lo, hi) / <f32>127.5, F32_EPS), inv: f32 = <f32>1 / s;
  for (let i = 0; i < n; i++) store<i8>(q + i, <i8>min(127, max(-128, <i32>nearest<f32>(load<f32>(w + (<usize>i << 2)) * inv))));
  store<f32>(scale, s);
}

/**
 * y (M, N) = float(acc - zp * colSum[n]) * scale + bias[n] (bias 0 = none), then ReLU when relu != 0.
 * acc (M, N) int32 from the int8 GEMM over (q - 128) codes; zp the quint8 zero point minus 128.
 */
export function dq_linear_epilogue(acc: usize, M: i32, N: i32, zp: i32, colSum: usize, scale: f32, bias: usize, relu: i32, y: usize): void {
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
