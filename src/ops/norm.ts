import { heap as getHeap, layerNormRows, l2NormalizeRows } from "../core/index.js";
import { Tensor, fmtShape, numel } from "../tensor.js";
import { f32, fail, putFinite, dimIndex } from "./check.js";
import { around, toLast, fromLast } from "./layout.js";

/**
 * Layer normalisation over the trailing normalizedShape, as torch.nn.functional.layer_norm
 * (biased variance, eps inside the square root).
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const op = "F.layerNorm";
  f32(op, "input", x);
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const tail = x.shape.slice(x.ndim - ns.length);
  if (ns.length > x.ndim || tail.some((d, i) => d !== ns[i])) {
    fail(op, `input's trailing dimensions must be ${fmtShape(ns)}, got shape ${fmtShape(x.shape)}`);
  }
  const n = numel(ns);
  for (const [name, t] of [
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (t) {
      f32(op, name, t);
      if (t.size !== n || t.shape.some((d, i) => d !== ns[i]) || t.ndim !== ns.length)
        fail(op, `${name} must have shape ${fmtShape(ns)}, got ${fmtShape(t.shape)}`);
    }
  }
  if (!(eps >= 0)) fail(op, `eps must be >= 0, got ${eps}`);
  const rows = n === 0 ? 0 : x.size / n;
  const heap = getHeap();
  return heap.scope(() => {
    const p = putFinite(op, "input", x);
    let pw = weight ? putFinite(op, "weight", weight) : 0;
    let pb = bias ? putFinite(op, "bias", bias) : 0;
    if (pw && !pb) {
      pb = heap.alloc(n * 4);
      heap.f32(pb, n).fill(0);
    }
    if (pb && !pw) {
      pw = heap.alloc(n * 4);
      heap.f32(pw, n).fill(1);
    }
    if (rows > 0) layerNormRows(p, p, rows, n, pw, pb, eps);
    return new Tensor(heap.takeF32(p, x.size), x.shape);
  });
}

/** x / max(||x||_2, eps) along dim, as torch.nn.functional.normalize with p = 2. */
export function normalize(x: Tensor, dim = -1, eps = 1e-12): Tensor {
  const op = "F.normalize";
  f32(op, "input", x);
  const d = dimIndex(op, dim, Math.max(1, x.ndim));
  const [pre, n, post] = around(x.shape, d);
  const heap = getHeap();
  const src = new Tensor(toLast(x.data as Float32Array, pre, n, post), [x.size]);
  const out = heap.scope(() => {
    const p = putFinite(op, "input", src);
    if (n > 0) l2NormalizeRows(p, p, pre * post, n, eps);
    return heap.takeF32(p, x.size);
  });
  return new Tensor(fromLast(out, pre, n, post), x.shape);
}
