// Elementwise and row kernels: activations, broadcast arithmetic, softmax, layer norm, L2 normalisation, means and
// adaptive pooling.  Pointer-level functions (used by F, which checks shapes first) and the Buf forms layers use.
import { UnaryOp, BinaryOp } from "../bindings/exports.js";
import { numel } from "../tensor.js";
import { kernels, heap } from "./runtime.js";
import { type Buf, type WeightRef, empty, size } from "./buf.js";

export type Unary = keyof typeof UnaryOp;
export type Binary = keyof typeof BinaryOp;

/** out[i] = op(x[i]) for n floats (out may be x). */
export const unary = (op: Unary, x: number, out: number, n: number): void =>
  kernels().unary_f32(UnaryOp[op], x, out, n);

/**
 * out (rows, cols) = a (rows, cols) op b, where b is (bRows, cols) and row r uses b's row r % bRows (bRows 1:
 * one row broadcast).  out may be a.
 */
export const binary = (op: Binary, a: number, b: number, out: number, rows: number, cols: number, bRows = 1): void =>
  kernels().binary_f32(BinaryOp[op], a, b, out, rows, cols, bRows);

/** out = x * s + t for n floats (s and t rounded to float32 by the caller). */
export const affine = (x: number, out: number, n: number, s: number, t: number): void =>
  kernels().affine_f32(x, out, n, s, t);

/** out = log(x + eps) for n floats (the reference design's log-mel step). */
export const logEps = (x: number, out: number, n: number, eps: number): void =>
  kernels().log_eps_f32(x, out, n, Math.fround(eps));

/** Softmax (log = false) or log-softmax of each of `rows` rows of n; mask: additive (maskRows, n) rows or 0. */
export const softmaxRows = (
  x: number,
  out: number,
  rows: number,
  n: number,
  mask = 0,
  maskRows = 1,
  log = false,
): void => kernels().softmax_f32(x, out, rows, n, mask, maskRows, log ? 1 : 0);

/** Layer norm of `rows` rows of n with optional affine w, b (each n floats, or 0). */
export const layerNormRows = (
  x: number,
  out: number,
  rows: number,
  n: number,
  w: number,
  b: number,
  eps: number,
): void => kernels().layernorm_f32(x, out, rows, n, w, b, Math.fround(eps));

/** x / max(||x||, eps) for each of `rows` rows of n. */
export const l2NormalizeRows = (x: number, out: number, rows: number, n: number, eps: number): void =>
  kernels().l2_normalize_f32(x, out, rows, n, Math.fround(eps));

/** out (B, C) = mean over T of x (B, T, C). */
export const meanMid = (x: number, out: number, B: number, T: number, C: number): void =>
  kernels().mean_mid_f32(x, out, B, T, C);

/** Adaptive average pooling of P planes (H, W) -> (OH, OW), torch's bin edges. */
export const adaptiveAvgPool = (
  x: number,
  out: number,
  P: number,
  H: number,
  W: number,
  OH: number,
  OW: number,
): void => kernels().adaptive_avg_pool2d_f32(x, out, P, H, W, OH, OW);

/**
 * out = x / (1 + exp(-x)) for n floats (torch's silu, in its order of operations), composed from the affine, exp and
 * divide kernels: no kernel of its own.  out may be x.
 */
export function silu(x: number, out: number, n: number): void {
  const h = heap();
  h.scope(() => {
    const d = h.alloc(n * 4);
    affine(x, d, n, -1, 0); // -x (exact)
    unary("exp", d, d, n); // exp(-x)
    affine(d, d, n, 1, 1); // exp(-x) + 1 (exact times 1, then one rounding, as torch's 1 + exp(-x))
    binary("div", x, d, out, 1, n, 1);
  });
}

// ---- Buf forms for layers ----

export function unaryInPlace(op: Unary, x: Buf): Buf {
  unary(op, x.ptr, x.ptr, size(x));
  return x;
}

/** a += b elementwise (same size), or a (rows, n) += b (n) when n is given; b may be a raw pointer. */
export function addInPlace(a: Buf, b: Buf | number, n = 0): Buf {
  const bp = typeof b === "number" ? b : b.ptr;
  const cols = n || size(a);
  binary("add", a.ptr, bp, a.ptr, size(a) / cols, cols, 1);
  return a;
}

export function layerNorm(x: Buf, w: WeightRef | null, b: WeightRef | null, eps: number, out?: Buf): Buf {
  const n = x.shape[x.shape.length - 1];
  const y = out ?? empty(x.shape);
  layerNormRows(x.ptr, y.ptr, size(x) / n, n, w ? w.ptr : 0, b ? b.ptr : 0, eps);
  return y;
}

/** Mean over axis 1 of (B, T, ...rest). */
export function meanAxis1(x: Buf): Buf {
  const [B, T] = x.shape;
  const C = numel(x.shape.slice(2));
  const y = empty([B, ...x.shape.slice(2)]);
  meanMid(x.ptr, y.ptr, B, T, C);
  return y;
}

/** F.normalize(x, dim=-1) rows. */
export function l2normalize(x: Buf, eps = 1e-12): Buf {
  const n = x.shape[x.shape.length - 1];
  const y = empty(x.shape);
  l2NormalizeRows(x.ptr, y.ptr, size(x) / n, n, eps);
  return y;
}

/** Swap axes 1 and 2 of (B, X, Y): (B, C, T) <-> (B, T, C).  Pure data movement. */
export function transpose12(x: Buf): Buf {
  const h = heap();
  const [B, X, Y] = x.shape;
  const y = empty([B, Y, X]);
  const src = h.f32(x.ptr, B * X * Y),
    dst = h.f32(y.ptr, B * X * Y);
  for (let b = 0; b < B; b++) {
    const o = b * X * Y;
    for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) dst[o + j * X + i] = src[o + i * Y + j];
  }
  return y;
}
