import {
  heap as getHeap,
  unary as unaryKernel,
  binary as binaryKernel,
  silu as siluCore,
  type Unary,
  type Binary,
} from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { f32, fail, putFinite } from "./check.js";

function unary(op: string, code: Unary, x: Tensor): Tensor {
  f32(op, "input", x);
  const heap = getHeap();
  return heap.scope(() => {
    const p = putFinite(op, "input", x);
    unaryKernel(code, p, p, x.size);
    return new Tensor(heap.takeF32(p, x.size), x.shape);
  });
}

/** max(x, 0) elementwise. */
export const relu = (x: Tensor): Tensor => unary("F.relu", "relu", x);
/** Exact-erf GELU, torch's default (approximate="none"). */
export const gelu = (x: Tensor): Tensor => unary("F.gelu", "gelu", x);
/** 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor): Tensor => unary("F.sigmoid", "sigmoid", x);
export const tanh = (x: Tensor): Tensor => unary("F.tanh", "tanh", x);
/** e^x with the package's own exp (same bits on every engine). */
export const exp = (x: Tensor): Tensor => unary("exp", "exp", x);
/**
 * x * sigmoid(x), computed as torch does: x / (1 + exp(-x)).
 * @example
 * F.silu(Tensor.from([-1, 0, 2])).toArray(); // [-0.2689, 0, 1.7616]
 */
export function silu(x: Tensor): Tensor {
  const op = "F.silu";
  f32(op, "input", x);
  const heap = getHeap();
  return heap.scope(() => {
    const p = putFinite(op, "input", x);
    if (x.size > 0) siluCore(p, p, x.size);
    return new Tensor(heap.takeF32(p, x.size), x.shape);
  });
}
/** Natural log (log 0 = -inf, negative -> NaN, as torch). */
export const log = (x: Tensor): Tensor => unary("log", "log", x);

/** Broadcast rule supported by the kernel: same shape, or b matching a trailing block of a's shape. */
function binary(op: string, code: Binary, a: Tensor, b: Tensor): Tensor {
  f32(op, "a", a);
  f32(op, "b", b);
  let big = a,
    small = b,
    swapped = false;
  if (b.size > a.size) {
    big = b;
    small = a;
    swapped = true;
  }
  const tail = big.shape.slice(big.ndim - small.ndim);
  const sm = small.shape.slice();
  while (sm.length > 0 && sm[0] === 1 && sm.length > tail.length) sm.shift();
  const ok = small.ndim <= big.ndim && small.shape.every((d, i) => d === big.shape[big.ndim - small.ndim + i]);
  if (!ok)
    fail(
      op,
      `shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} must be equal or the second must match the trailing ` +
        `dimensions of the first`,
    );
  if (swapped && (code === "sub" || code === "div")) {
    fail(
      op,
      `the larger operand must come first for sub/div broadcasting, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  const heap = getHeap();
  return heap.scope(() => {
    const pa = putFinite(op, "a", big),
      pb = putFinite(op, "b", small);
    const cols = Math.max(1, small.size),
      rows = big.size / cols;
    if (big.size > 0) binaryKernel(code, pa, pb, pa, rows, cols, 1);
    return new Tensor(heap.takeF32(pa, big.size), big.shape);
  });
}

export const add = (a: Tensor, b: Tensor): Tensor => binary("add", "add", a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary("sub", "sub", a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary("mul", "mul", a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary("div", "div", a, b);
