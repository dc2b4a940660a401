// Pure data movement (no arithmetic, so no numeric drift): moving an axis to the end and back, so row
// kernels can serve any `dim`.
import { Tensor } from "../tensor.js";

/** (pre, n, post) view of a shape around `dim`. */
export function around(shape: readonly number[], dim: number): [number, number, number] {
  let pre = 1,
    post = 1;
  for (let i = 0; i < dim; i++) pre *= shape[i];
  for (let i = dim + 1; i < shape.length; i++) post *= shape[i];
  return [pre, shape[dim], post];
}

/** (pre, n, post) -> (pre, post, n) */
export function toLast(data: Float32Array, pre: number, n: number, post: number): Float32Array {
  if (post === 1) return data;
  const out = new Float32Array(data.length);
  for (let a = 0; a < pre; a++)
    for (let i = 0; i < n; i++)
      for (let b = 0; b < post; b++) out[(a * post + b) * n + i] = data[(a * n + i) * post + b];
  return out;
}

/** (pre, post, n) -> (pre, n, post) */
export function fromLast(data: Float32Array, pre: number, n: number, post: number): Float32Array {
  if (post === 1) return data;
  const out = new Float32Array(data.length);
  for (let a = 0; a < pre; a++)
    for (let i = 0; i < n; i++)
      for (let b = 0; b < post; b++) out[(a * n + i) * post + b] = data[(a * post + b) * n + i];
  return out;
}

/** Swap the last two axes: (..., R, C) -> (..., C, R). */
export function transposeLast2(x: Tensor): Tensor {
  const nd = x.ndim;
  const R = x.shape[nd - 2],
    C = x.shape[nd - 1];
  const batch = x.size / (R * C);
  const src = x.data as Float32Array;
  const out = new Float32Array(x.size);
  for (let b = 0; b < batch; b++) {
    const o = b * R * C;
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[o + c * R + r] = src[o + r * C + c];
  }
  return new Tensor(out, [...x.shape.slice(0, -2), C, R]);
}

/** (A, B, C) -> (B, A, C): batch-first <-> sequence-first for the torch layers' batch_first option. */
export function swap01(t: Tensor): Tensor {
  const [A, B, C] = t.shape;
  const out = new Float32Array(t.size);
  const src = t.data as Float32Array;
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++) out.set(src.subarray((a * B + b) * C, (a * B + b + 1) * C), (b * A + a) * C);
  return new Tensor(out, [B, A, C]);
}
