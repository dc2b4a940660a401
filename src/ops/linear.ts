import { heap as getHeap, gemmNT, matmulBatch } from "../core/index.js";
import { Tensor, fmtShape, numel } from "../tensor.js";
import { f32, fail, putFinite } from "./check.js";

/**
 * y = x W^T + b, as torch.nn.functional.linear.  input (..., in), weight (out, in), bias (out).
 * @example
 * const y = F.linear(Tensor.from(new Float32Array(6), [2, 3]), Tensor.zeros([4, 3]));  // shape [2, 4]
 */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const op = "F.linear";
  f32(op, "input", input);
  f32(op, "weight", weight);
  if (weight.ndim !== 2)
    fail(op, `weight must be 2-D (out_features, in_features), got shape ${fmtShape(weight.shape)}`);
  const [N, K] = weight.shape;
  if (input.ndim < 1 || input.shape[input.ndim - 1] !== K) {
    fail(
      op,
      `input must have last dimension ${K} (weight is ${fmtShape(weight.shape)}), got shape ${fmtShape(input.shape)}`,
    );
  }
  if (bias) {
    f32(op, "bias", bias);
    if (bias.ndim !== 1 || bias.shape[0] !== N) fail(op, `bias must have shape [${N}], got ${fmtShape(bias.shape)}`);
  }
  const M = input.size / K;
  const outShape = [...input.shape.slice(0, -1), N];
  const heap = getHeap();
  return heap.scope(() => {
    const a = putFinite(op, "input", input);
    const w = putFinite(op, "weight", weight);
    const b = bias ? putFinite(op, "bias", bias) : 0;
    const c = heap.alloc(M * N * 4);
    if (M > 0 && N > 0) gemmNT(M, N, K, a, K, w, K, c, N, b);
    return new Tensor(heap.takeF32(c, M * N), outShape);
  });
}

/**
 * Matrix product as torch.matmul for 1-D/2-D operands and batched (..., M, K) x (..., K, N) with
 * broadcasting of the batch dimensions.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const op = "matmul";
  f32(op, "a", a);
  f32(op, "b", b);
  if (a.ndim === 0 || b.ndim === 0)
    fail(op, `both operands must be at least 1-D, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const aS = a.ndim === 1 ? [1, a.shape[0]] : [...a.shape];
  const bS = b.ndim === 1 ? [b.shape[0], 1] : [...b.shape];
  const M = aS[aS.length - 2],
    K = aS[aS.length - 1];
  const K2 = bS[bS.length - 2],
    N = bS[bS.length - 1];
  if (K !== K2)
    fail(op, `inner dimensions differ: a is ${fmtShape(a.shape)}, b is ${fmtShape(b.shape)} (${K} vs ${K2})`);
  const aB = aS.slice(0, -2),
    bB = bS.slice(0, -2);
  const nb = Math.max(aB.length, bB.length);
  const batch: number[] = [];
  for (let i = 0; i < nb; i++) {
    const da = aB[aB.length - nb + i] ?? 1,
      db = bB[bB.length - nb + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      fail(op, `batch dimensions do not broadcast: ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
    batch.push(Math.max(da, db));
  }
  const nBatch = numel(batch);
  const index = (shape: number[], flat: number): number => {
    // flat index over `batch` -> flat index over `shape` (right-aligned, size-1 dims broadcast)
    let idx = 0,
      stride = 1,
      rem = flat;
    const strides: number[] = [];
    for (let i = batch.length - 1; i >= 0; i--) {
      strides.unshift(rem % batch[i]);
      rem = Math.floor(rem / batch[i]);
    }
    for (let i = shape.length - 1, j = batch.length - 1; i >= 0; i--, j--) {
      const pos = shape[i] === 1 ? 0 : strides[j];
      idx += pos * stride;
      stride *= shape[i];
    }
    return idx;
  };
  const heap = getHeap();
  const out = heap.scope(() => {
    const pa = putFinite(op, "a", a),
      pb = putFinite(op, "b", b);
    const pc = heap.alloc(nBatch * M * N * 4);
    const ia = Array.from({ length: nBatch }, (_, i) => index(aB, i)),
      ib = Array.from({ length: nBatch }, (_, i) => index(bB, i));
    matmulBatch(M, N, K, pa, ia, pb, ib, pc);
    return heap.takeF32(pc, nBatch * M * N);
  });
  const shape = [...batch, ...(a.ndim === 1 ? [] : [M]), ...(b.ndim === 1 ? [] : [N])];
  return new Tensor(out, shape);
}
