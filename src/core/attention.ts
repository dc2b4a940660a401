// Scaled dot-product attention composed from the GEMM and softmax kernels, with torch 1.13's arithmetic:
// q / sqrt(head dim) (rounded to float32), then q k^T + mask, softmax over keys, then x v.  One implementation
// for F.scaledDotProductAttention ((B, H, L, D) tensors) and nn.MultiheadAttention (heads interleaved in rows).
import { heap } from "./runtime.js";
import { binary, softmaxRows } from "./elementwise.js";
import { gemmNT, gemmNN } from "./gemm.js";

/** Where one operand's rows live: element (b, h, i, :) starts at ptr + (b*batch + h*head + i*ld) floats. */
export interface HeadLayout {
  ptr: number;
  ld: number;
  batch: number;
  head: number;
}

/** Divides `rows` rows of n floats (row stride ld) by value, in place. */
export function divideRows(ptr: number, rows: number, ld: number, n: number, value: number): void {
  const h = heap();
  h.scope(() => {
    const v = h.alloc(n * 4);
    h.f32(v, n).fill(Math.fround(value));
    if (ld === n) binary("div", ptr, v, ptr, rows, n, 1);
    else for (let r = 0; r < rows; r++) binary("div", ptr + r * ld * 4, v, ptr + r * ld * 4, 1, n, 1);
  });
}

/**
 * out = softmax(q k^T + mask) v for every batch item b < B and head h < H: q (L, D), k (S, D), v (S, Dv), out
 * (L, Dv) per (b, h).  q must already be scaled (divideRows).  mask: additive rows of S floats (0 / -inf), item b's
 * at mask + b * maskBatch floats, maskRows of them (1: one row for every query), or 0 for none.
 */
export function attention(
  B: number,
  H: number,
  L: number,
  S: number,
  D: number,
  Dv: number,
  q: HeadLayout,
  k: HeadLayout,
  v: HeadLayout,
  out: HeadLayout,
  mask = 0,
  maskBatch = 0,
  maskRows = 1,
): void {
  const h = heap();
  // Long sequences go a block of query rows at a time, so a block's scores (about 1 MiB) stay in cache between
  // the GEMM, the softmax and the second GEMM instead of streaming a whole L x S matrix through memory three times
  // (Whisper's 1,500 frames: 38 ms less a layer).  Each row's arithmetic is the same either way: the same bits.
  const perRow = maskRows === L && L > 1;
  const block = mask && maskRows !== 1 && !perRow ? L : Math.min(L, Math.max(32, Math.floor(262144 / S)));
  h.scope(() => {
    const scores = h.alloc(block * S * 4);
    const at = (o: HeadLayout, b: number, hd: number, row: number): number =>
      o.ptr + (b * o.batch + hd * o.head + row * o.ld) * 4;
    for (let b = 0; b < B; b++) {
      for (let hd = 0; hd < H; hd++) {
        for (let r0 = 0; r0 < L; r0 += block) {
          const n = Math.min(block, L - r0);
          const m = mask ? mask + (b * maskBatch + (perRow ? r0 * S : 0)) * 4 : 0;
          gemmNT(n, S, D, at(q, b, hd, r0), q.ld, at(k, b, hd, 0), k.ld, scores, S);
          softmaxRows(scores, scores, n, S, m, perRow ? n : maskRows);
          gemmNN(n, Dv, S, scores, S, at(v, b, hd, 0), v.ld, at(out, b, hd, r0), out.ld);
        }
      }
    }
  });
}

/**
 * torch's scaled_dot_product_attention over contiguous (B, H, L|S, E|Ev) operands: q scaled by 1/sqrt(E) in place,
 * then attention; mask: additive (B, L, S) floats or 0.  Writes (B, H, L, Ev) to out.
 */
export function attentionContiguous(
  B: number,
  H: number,
  L: number,
  S: number,
  E: number,
  Ev: number,
  q: number,
  k: number,
  v: number,
  mask: number,
  out: number,
): void {
  divideRows(q, B * H * L, E, E, Math.sqrt(E));
  // item b's head h starts at (b * H + h) * rows * cols
  const at = (ptr: number, rows: number, cols: number): HeadLayout => ({
    ptr,
    ld: cols,
    batch: H * rows * cols,
    head: rows * cols,
  });
  attention(B, H, L, S, E, Ev, at(q, L, E), at(k, S, E), at(v, S, Ev), at(out, L, Ev), mask, L * S, L);
}

/**
 * Multi-head attention over packed projections (nn.MultiheadAttention): q rows at qp (row stride ldq), k at kp
 * (ldk), v at vp (ldv), all (B, L|S, E) batch-first, E = H * D.  Writes (B, L, E) merged heads into out.  mask:
 * per batch item an additive (S) row of 0 / -inf, or 0 for none.  q is divided by sqrt(D) in place first.
 */
export function attentionCore(
  B: number,
  L: number,
  S: number,
  H: number,
  D: number,
  qp: number,
  ldq: number,
  kp: number,
  ldk: number,
  vp: number,
  ldv: number,
  out: number,
  mask: number,
): void {
  const E = H * D;
  divideRows(qp, B * L, ldq, E, Math.sqrt(D));
  attention(
    B,
    H,
    L,
    S,
    D,
    D,
    { ptr: qp, ld: ldq, batch: L * ldq, head: D },
    { ptr: kp, ld: ldk, batch: S * ldk, head: D },
    { ptr: vp, ld: ldv, batch: S * ldv, head: D },
    { ptr: out, ld: E, batch: L * E, head: D },
    mask,
    S,
    1,
  );
}

/** Additive key masks (B, S) of 0 / -inf in scratch from a boolean-like int mask (nonzero = padded). */
export function paddingMaskBuf(mask: ArrayLike<number>, B: number, S: number): number {
  const h = heap();
  const p = h.alloc(B * S * 4);
  const m = h.f32(p, B * S);
  for (let i = 0; i < B * S; i++) m[i] = mask[i] !== 0 ? -Infinity : 0;
  return p;
}
