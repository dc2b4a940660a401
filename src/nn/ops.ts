// Buf-level ops for layers: kernels over scratch activations, no copies in or out.  Shapes are checked by the
// layers that call them.
import { rt } from "../bindings/module.js";
import { UnaryOp, BinaryOp } from "../bindings/exports.js";
import { numel } from "../tensor.js";
import { Buf, empty, size, copy } from "./buf.js";
export { copy };
import { Parameter } from "./parameter.js";
import { gemmPacked, gemmNT, gemmNN, Bias } from "../ops/gemm.js";

/** y (..., N) = x (..., K) W^T + b with W a packed "linear" parameter (N, K).  act: 0 none, 1 relu. */
export function linear(x: Buf, w: Parameter, b: Parameter | null, act = 0, out?: Buf): Buf {
  const [N, K] = w.shape;
  const M = size(x) / K;
  const y = out ?? empty([...x.shape.slice(0, -1), N]);
  if (M > 0) gemmPacked(M, N, K, x.ptr, K, w.ptr, y.ptr, N, b ? b.ptr : 0, b ? Bias.perColumn : Bias.none, act);
  return y;
}

export function unaryInPlace(op: keyof typeof UnaryOp, x: Buf): Buf {
  rt().k.unary_f32(UnaryOp[op], x.ptr, x.ptr, size(x));
  return x;
}

/** a += b elementwise (same size), or a (rows, n) += b (n) when b has n elements. */
export function addInPlace(a: Buf, b: Buf | number, n = 0): Buf {
  const { k } = rt();
  const bp = typeof b === "number" ? b : b.ptr;
  const cols = n || size(a);
  k.binary_f32(BinaryOp.add, a.ptr, bp, a.ptr, size(a) / cols, cols, 1);
  return a;
}

export function layerNorm(x: Buf, w: Parameter | null, b: Parameter | null, eps: number, out?: Buf): Buf {
  const n = x.shape[x.shape.length - 1];
  const y = out ?? empty(x.shape);
  rt().k.layernorm_f32(x.ptr, y.ptr, size(x) / n, n, w ? w.ptr : 0, b ? b.ptr : 0, Math.fround(eps));
  return y;
}

/** Convolution over x (B, C, H, W) with a raw weight (Cout, C/groups, KH, KW).  Conv1d passes H = KH = 1. */
export function conv(
  x: Buf, w: Parameter, b: Parameter | null, s: [number, number], p: [number, number], d: [number, number], groups: number,
  act = 0,
): Buf {
  const { k, heap } = rt();
  const [B, C, H, W] = x.shape;
  const [Cout, Cg, KH, KW] = w.shape.length === 4 ? w.shape : [w.shape[0], w.shape[1], 1, w.shape[2]];
  const OH = Math.floor((H + 2 * p[0] - d[0] * (KH - 1) - 1) / s[0]) + 1;
  const OW = Math.floor((W + 2 * p[1] - d[1] * (KW - 1) - 1) / s[1]) + 1;
  const Og = Cout / groups, N = OH * OW, K = Cg * KH * KW;
  const y = empty([B, Cout, OH, OW]);
  heap.scope(() => {
    const cols = heap.alloc(k.sgemm_packed_size(K, N) * 4);
    for (let bi = 0; bi < B; bi++) {
      for (let g = 0; g < groups; g++) {
        k.im2col_pack(x.ptr + ((bi * C + g * Cg) * H * W) * 4, Cg, H, W, KH, KW, s[0], s[1], p[0], p[1], d[0], d[1], OH, OW, cols);
        gemmPacked(Og, N, K, w.ptr + g * Og * K * 4, K, cols, y.ptr + (bi * Cout + g * Og) * N * 4, N,
          b ? b.ptr + g * Og * 4 : 0, b ? Bias.perRow : Bias.none, act);
      }
    }
  });
  return y;
}

/**
 * Multi-head attention core over packed projections: q rows at qp (row stride ldq), k at kp (ldk), v at vp
 * (ldv), all (B, L|S, E) batch-first, E = H * D.  Writes (B, L, E) merged heads into out.  mask: per batch an
 * additive (S) row of 0 / -inf, or 0 for none.  q is divided by sqrt(D) in place first (torch 1.13).
 */
export function attentionCore(
  B: number, L: number, S: number, H: number, D: number,
  qp: number, ldq: number, kp: number, ldk: number, vp: number, ldv: number, out: number, mask: number,
): void {
  const { k, heap } = rt();
  const E = H * D;
  heap.scope(() => {
    const sq = heap.alloc(E * 4);
    heap.f32(sq, E).fill(Math.fround(Math.sqrt(D)));
    for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) {
      const row = qp + (b * L + i) * ldq * 4;
      k.binary_f32(BinaryOp.div, row, sq, row, 1, E, 1);
    }
    const scores = heap.alloc(L * S * 4);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        gemmNT(L, S, D, qp + (b * L * ldq + h * D) * 4, ldq, kp + (b * S * ldk + h * D) * 4, ldk, scores, S);
        k.softmax_f32(scores, scores, L, S, mask ? mask + b * S * 4 : 0, 1, 0);
        gemmNN(L, D, S, scores, S, vp + (b * S * ldv + h * D) * 4, ldv, out + (b * L * E + h * D) * 4, E);
      }
    }
  });
}

/** Additive key masks (B, S) of 0 / -inf in scratch from a boolean-like int mask (nonzero = padded). */
export function paddingMaskBuf(mask: ArrayLike<number>, B: number, S: number): number {
  const { heap } = rt();
  const p = heap.alloc(B * S * 4);
  const m = heap.f32(p, B * S);
  for (let i = 0; i < B * S; i++) m[i] = mask[i] !== 0 ? -Infinity : 0;
  return p;
}

/** Mean over axis 1 of (B, T, C). */
export function meanMid(x: Buf): Buf {
  const [B, T] = x.shape;
  const C = numel(x.shape.slice(2));
  const y = empty([B, ...x.shape.slice(2)]);
  rt().k.mean_mid_f32(x.ptr, y.ptr, B, T, C);
  return y;
}

/** Swap axes 1 and 2 of (B, X, Y, ...rest=1): (B, C, T) <-> (B, T, C). */
export function transpose12(x: Buf): Buf {
  const { heap } = rt();
  const [B, X, Y] = x.shape;
  const y = empty([B, Y, X]);
  const src = heap.f32(x.ptr, B * X * Y), dst = heap.f32(y.ptr, B * X * Y);
  for (let b = 0; b < B; b++) {
    const o = b * X * Y;
    for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) dst[o + j * X + i] = src[o + i * Y + j];
  }
  return y;
}

/** F.normalize(x, dim=-1) rows. */
export function l2normalize(x: Buf, eps = 1e-12): Buf {
  const n = x.shape[x.shape.length - 1];
  const y = empty(x.shape);
  rt().k.l2_normalize_f32(x.ptr, y.ptr, size(x) / n, n, Math.fround(eps));
  return y;
}

/** y (M, N) = a (M, K) b (N, K)^T for two scratch activations (packs b on the fly). */
export function linearRaw(a: Buf, b: Buf): Buf {
  const K = a.shape[a.shape.length - 1];
  const M = size(a) / K, N = size(b) / K;
  const y = empty([M, N]);
  if (M > 0 && N > 0) gemmNT(M, N, K, a.ptr, K, b.ptr, K, y.ptr, N);
  return y;
}
