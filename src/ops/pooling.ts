import { heap as getHeap, adaptiveAvgPool, meanMid } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { f32, fail, putFinite, dimIndex } from "./check.js";

function outSize(op: string, v: number | [number, number], i: number): number {
  const s = typeof v === "number" ? v : v[i];
  if (!Number.isInteger(s) || s < 1) fail(op, `output_size must be a positive integer, got ${JSON.stringify(v)}`);
  return s;
}

/** Adaptive average pooling over the last two axes, torch's bin edges.  input (B, C, H, W) or (C, H, W). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number, number]): Tensor {
  const op = "F.adaptiveAvgPool2d";
  f32(op, "input", x);
  if (x.ndim !== 3 && x.ndim !== 4)
    fail(op, `input must be 3-D (C, H, W) or 4-D (B, C, H, W), got shape ${fmtShape(x.shape)}`);
  const H = x.shape[x.ndim - 2],
    W = x.shape[x.ndim - 1];
  if (H < 1 || W < 1) fail(op, `input spatial size must be non-empty, got shape ${fmtShape(x.shape)}`);
  const OH = outSize(op, outputSize, 0),
    OW = outSize(op, outputSize, 1);
  const P = x.size / (H * W);
  const heap = getHeap();
  return heap.scope(() => {
    const p = putFinite(op, "input", x);
    const o = heap.alloc(P * OH * OW * 4);
    adaptiveAvgPool(p, o, P, H, W, OH, OW);
    return new Tensor(heap.takeF32(o, P * OH * OW), [...x.shape.slice(0, -2), OH, OW]);
  });
}

/** Adaptive average pooling over the last axis.  input (B, C, L) or (C, L). */
export function adaptiveAvgPool1d(x: Tensor, outputSize: number): Tensor {
  const op = "F.adaptiveAvgPool1d";
  f32(op, "input", x);
  if (x.ndim !== 2 && x.ndim !== 3)
    fail(op, `input must be 2-D (C, L) or 3-D (B, C, L), got shape ${fmtShape(x.shape)}`);
  const L = x.shape[x.ndim - 1];
  if (L < 1) fail(op, `input length must be non-empty, got shape ${fmtShape(x.shape)}`);
  const O = outSize(op, outputSize, 0);
  const P = x.size / L;
  const heap = getHeap();
  return heap.scope(() => {
    const p = putFinite(op, "input", x);
    const o = heap.alloc(P * O * 4);
    adaptiveAvgPool(p, o, P, 1, L, 1, O);
    return new Tensor(heap.takeF32(o, P * O), [...x.shape.slice(0, -1), O]);
  });
}

/** Mean over one axis (torch.mean(x, dim)); keepdim false. */
export function mean(x: Tensor, dim: number): Tensor {
  const op = "mean";
  f32(op, "input", x);
  const d = dimIndex(op, dim, x.ndim);
  const T = x.shape[d];
  if (T < 1) fail(op, `cannot average over an empty dimension (shape ${fmtShape(x.shape)}, dim ${dim})`);
  let B = 1,
    C = 1;
  for (let i = 0; i < d; i++) B *= x.shape[i];
  for (let i = d + 1; i < x.ndim; i++) C *= x.shape[i];
  const heap = getHeap();
  return heap.scope(() => {
    const p = putFinite(op, "input", x);
    const o = heap.alloc(B * C * 4);
    meanMid(p, o, B, T, C);
    return new Tensor(
      heap.takeF32(o, B * C),
      x.shape.filter((_, i) => i !== d),
    );
  });
}
