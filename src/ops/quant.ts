// int8 GEMM and quantisation: symmetric per-row int8 (scale = max|row| / 127), exact i32 accumulation.
import { heap as getHeap, quantizeRows, int8Products, linearInt8Rows } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { f32, fail, putFinite } from "./check.js";

/** Rows of int8 values with one float scale per row: value ~= data[r, i] * scales[r]. */
export interface QuantizedRows {
  data: Int8Array;
  scales: Float32Array;
  shape: [number, number];
}

/**
 * Symmetric per-row int8 quantisation of a 2-D float tensor (rows, n).
 * @example
 * const q = F.quantizePerRow(Tensor.from(new Float32Array([0.5, -1, 0.25, 0]), [2, 2]));
 */
export function quantizePerRow(x: Tensor): QuantizedRows {
  const op = "F.quantizePerRow";
  f32(op, "input", x);
  if (x.ndim !== 2) fail(op, `input must be 2-D (rows, n), got shape ${fmtShape(x.shape)}`);
  const [rows, n] = x.shape;
  const heap = getHeap();
  return heap.scope(() => {
    const p = putFinite(op, "input", x);
    const q = heap.alloc(rows * n),
      s = heap.alloc(rows * 4);
    quantizeRows(p, rows, n, q, s);
    return { data: heap.i8(q, rows * n).slice(), scales: heap.f32(s, rows).slice(), shape: [rows, n] };
  });
}

function checkQ(op: string, name: string, q: QuantizedRows): void {
  if (!q || !(q.data instanceof Int8Array) || !(q.scales instanceof Float32Array) || !Array.isArray(q.shape)) {
    fail(op, `${name} must be a QuantizedRows { data: Int8Array, scales: Float32Array, shape }`);
  }
  const [r, n] = q.shape;
  if (q.data.length !== r * n || q.scales.length !== r) {
    fail(
      op,
      `${name} is inconsistent: shape ${fmtShape(q.shape)} needs ${r * n} values and ${r} scales, ` +
        `got ${q.data.length} and ${q.scales.length}`,
    );
  }
}

/**
 * y (M, N) = dequant(x) dequant(w)^T + bias, with x (M, K) and w (N, K) per-row quantised:
 * y[m, n] = (sum_k xq[m,k] wq[n,k]) * xs[m] * ws[n] + b[n].
 */
export function linearInt8(x: QuantizedRows, w: QuantizedRows, bias?: Tensor | null): Tensor {
  const op = "F.linearInt8";
  checkQ(op, "input", x);
  checkQ(op, "weight", w);
  const [M, K] = x.shape,
    [N, K2] = w.shape;
  if (K !== K2) fail(op, `input has ${K} features but weight ${fmtShape(w.shape)} expects ${K2}`);
  if (K > 133000) fail(op, `K = ${K} exceeds the i32-exact bound of 133000 for int8 products`);
  if (bias) {
    f32(op, "bias", bias);
    if (bias.ndim !== 1 || bias.size !== N) fail(op, `bias must have shape [${N}], got ${fmtShape(bias.shape)}`);
  }
  const heap = getHeap();
  return heap.scope(() => {
    const pa = heap.put(x.data),
      pw = heap.put(w.data);
    const sa = heap.put(x.scales),
      sw = heap.put(w.scales);
    const pb = bias ? putFinite(op, "bias", bias) : 0;
    const c = heap.alloc(M * N * 4);
    linearInt8Rows(pa, sa, M, K, pw, sw, N, pb, c);
    return new Tensor(heap.takeF32(c, M * N), [M, N]);
  });
}

/** Exact int32 products acc (M, N) = a (M, K) x b (N, K)^T of raw int8 matrices. */
export function matmulInt8(a: Int8Array, b: Int8Array, M: number, N: number, K: number): Int32Array {
  const op = "matmulInt8";
  if (a.length !== M * K || b.length !== N * K)
    fail(op, `expected ${M * K} and ${N * K} values, got ${a.length} and ${b.length}`);
  if (K > 131072) fail(op, `K = ${K} exceeds the i32-exact bound of 131072 for int8 products`);
  const heap = getHeap();
  return heap.scope(() => {
    const pa = heap.put(a),
      pb = heap.put(b),
      acc = heap.alloc(M * N * 4);
    int8Products(pa, M, K, pb, N, acc);
    return heap.takeI32(acc, M * N);
  });
}
