// Scaled dot-product attention composed from the GEMM and softmax kernels, with torch 1.13's arithmetic:
// q / sqrt(E), then q k^T + mask, softmax over keys, then x v.
import { heap as getHeap, attentionContiguous } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { f32, fail, putFinite, isTensor } from "./check.js";

export interface AttentionOptions {
  /** Additive float mask (L, S) or (B, L, S), or a boolean-like int32 mask where nonzero = not allowed. */
  attnMask?: Tensor | null;
  /** (B, S): nonzero marks a padded key to ignore, as torch's key_padding_mask = True. */
  keyPaddingMask?: Tensor | null;
  /** Mask out keys after each query (upper triangle). */
  isCausal?: boolean;
}

/**
 * Attention over q (B, [H,] L, E), k (B, [H,] S, E), v (B, [H,] S, Ev) -> (B, [H,] L, Ev).
 * A query whose keys are all masked gives NaN, as torch 1.13 does.
 * @example
 * const q = Tensor.zeros([2, 8, 10, 64]);
 * const y = F.scaledDotProductAttention(q, q, q);  // [2, 8, 10, 64]
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const op = "F.scaledDotProductAttention";
  f32(op, "query", q);
  f32(op, "key", k);
  f32(op, "value", v);
  if (q.ndim !== 3 && q.ndim !== 4)
    fail(op, `query must be 3-D (B, L, E) or 4-D (B, H, L, E), got shape ${fmtShape(q.shape)}`);
  if (k.ndim !== q.ndim || v.ndim !== q.ndim)
    fail(
      op,
      `query, key and value must have the same rank, ` +
        `got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`,
    );
  const nd = q.ndim;
  const L = q.shape[nd - 2],
    E = q.shape[nd - 1];
  const S = k.shape[nd - 2],
    Ev = v.shape[nd - 1];
  const lead = q.shape.slice(0, -2);
  if (k.shape[nd - 1] !== E || k.shape.slice(0, -2).some((d, i) => d !== lead[i]))
    fail(op, `key must have shape ${fmtShape([...lead, S, E])}, got ${fmtShape(k.shape)}`);
  if (v.shape[nd - 2] !== S || v.shape.slice(0, -2).some((d, i) => d !== lead[i]))
    fail(op, `value must have shape ${fmtShape([...lead, S, Ev])}, got ${fmtShape(v.shape)}`);
  if (E < 1 || S < 1) fail(op, `embedding size and key count must be >= 1, got E=${E}, S=${S}`);
  const B = q.shape[0];
  const H = nd === 4 ? q.shape[1] : 1;

  // One additive mask per batch item: (B, L, S) floats of 0 / -inf (or the user's additive values).
  let mask: Float32Array | null = null;
  const ensureMask = (): Float32Array => (mask ??= new Float32Array(B * L * S));
  const { attnMask, keyPaddingMask, isCausal } = options;
  if (attnMask) {
    if (!isTensor(attnMask)) fail(op, "attnMask must be a Tensor");
    const ok2 = attnMask.ndim === 2 && attnMask.shape[0] === L && attnMask.shape[1] === S;
    const ok3 = attnMask.ndim === 3 && attnMask.shape[0] === B && attnMask.shape[1] === L && attnMask.shape[2] === S;
    if (!ok2 && !ok3)
      fail(op, `attnMask must have shape [${L}, ${S}] or [${B}, ${L}, ${S}], got ${fmtShape(attnMask.shape)}`);
    const m = ensureMask();
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < L * S; i++) {
        const src = attnMask.data[(ok3 ? b * L * S : 0) + i];
        if (attnMask.dtype === "int32") {
          if (src !== 0) m[b * L * S + i] = -Infinity;
        } else {
          if (Number.isNaN(src) || src === Infinity)
            fail(op, "attnMask holds NaN or +inf; use -inf for masked positions");
          m[b * L * S + i] += src;
        }
      }
    }
  }
  if (keyPaddingMask) {
    if (!isTensor(keyPaddingMask)) fail(op, "keyPaddingMask must be a Tensor");
    if (keyPaddingMask.ndim !== 2 || keyPaddingMask.shape[0] !== B || keyPaddingMask.shape[1] !== S) {
      fail(op, `keyPaddingMask must have shape [${B}, ${S}] (batch, keys), got ${fmtShape(keyPaddingMask.shape)}`);
    }
    const m = ensureMask();
    for (let b = 0; b < B; b++)
      for (let j = 0; j < S; j++)
        if (keyPaddingMask.data[b * S + j] !== 0) for (let i = 0; i < L; i++) m[(b * L + i) * S + j] = -Infinity;
  }
  if (isCausal) {
    const m = ensureMask();
    for (let b = 0; b < B; b++)
      for (let i = 0; i < L; i++) for (let j = i + 1; j < S; j++) m[(b * L + i) * S + j] = -Infinity;
  }

  const heap = getHeap();
  const out = heap.scope(() => {
    const pq = putFinite(op, "query", q),
      pk = putFinite(op, "key", k),
      pv = putFinite(op, "value", v);
    const pm = mask ? heap.put(mask) : 0;
    const po = heap.alloc(B * H * L * Ev * 4);
    attentionContiguous(B, H, L, S, E, Ev, pq, pk, pv, pm, po);
    return heap.takeF32(po, B * H * L * Ev);
  });
  return new Tensor(out, [...lead, L, Ev]);
}
