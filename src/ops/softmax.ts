import { heap as getHeap, softmaxRows } from "../core/index.js";
import { Tensor } from "../tensor.js";
import { f32, putFinite, dimIndex } from "./check.js";
import { around, toLast, fromLast } from "./layout.js";

function softmaxImpl(op: string, x: Tensor, dim: number, log: number): Tensor {
  f32(op, "input", x);
  if (x.ndim === 0) return new Tensor(new Float32Array([log ? 0 : 1]), []);
  const d = dimIndex(op, dim, x.ndim);
  const [pre, n, post] = around(x.shape, d);
  const heap = getHeap();
  const src = new Tensor(toLast(x.data as Float32Array, pre, n, post), [x.size]);
  const out = heap.scope(() => {
    const p = putFinite(op, "input", src);
    if (n > 0) softmaxRows(p, p, pre * post, n, 0, 1, log === 1);
    return heap.takeF32(p, x.size);
  });
  return new Tensor(fromLast(out, pre, n, post), x.shape);
}

/** Softmax along dim (default last), max-subtracted, as torch.softmax. */
export const softmax = (x: Tensor, dim = -1): Tensor => softmaxImpl("F.softmax", x, dim, 0);
/** log(softmax(x)) computed as x - max - log(sum(exp(x - max))), as torch.log_softmax. */
export const logSoftmax = (x: Tensor, dim = -1): Tensor => softmaxImpl("F.logSoftmax", x, dim, 1);
