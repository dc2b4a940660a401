// int8 products are computed by qgemm_nt_i32 (qdynamic.ts) over A widened once to int16; this file keeps the
// dequantising epilogue and the per-row quantiser.  Being integer, the products have no order to fix; the f32
// epilogue has one fixed order.

/**
 * Dequantised int8 GEMM epilogue: C (M, N) = (acc * sa[m*saStride]) * sw[n*swStride] + bias[n] (bias 0 = none).
 * acc (M, N): the exact int32 products.  saStride / swStride 0 = per-tensor scale, 1 = per-row.
 */
export function i8_dequant_f32(
  M: i32, N: i32, acc: usize, sa: usize, saStride: i32, sw: usize, swStride: i32, bias: usize, C: usize
): void {
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
