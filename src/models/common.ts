// Helpers shared by the model classes: input checks that name the model, and small scratch operations.
import * as core from "../core/index.js";
import { type Buf, empty, fromTensor } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import type { Parameter } from "../nn/parameter.js";

export function tensorArg(
  who: string,
  name: string,
  t: unknown,
  ndim: number,
  layout: string,
  dtype?: "float32" | "int32",
): Tensor {
  if (!(t instanceof Tensor))
    throw new Error(`${who}: ${name} must be a Tensor ${layout}, got ${t === null ? "null" : typeof t}`);
  if (t.ndim !== ndim) throw new Error(`${who}: ${name} must be ${ndim}-D ${layout}, got shape ${fmtShape(t.shape)}`);
  if (dtype && t.dtype !== dtype) throw new Error(`${who}: ${name} must be ${dtype}, got ${t.dtype}`);
  return t;
}

/** int32 ids in scratch; the Embedding checks the vocabulary range. */
export function idsArg(who: string, t: unknown): Tensor {
  return tensorArg(who, "inputIds", t, 2, "(batch, seq) of token ids", "int32");
}

/** x (rows, E) += p (pRows, E) broadcast: row r gets p[r % pRows]. */
export function addRows(x: Buf, p: Parameter | Buf, pRows: number): void {
  const E = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((a, b) => a * b, 1) / E;
  core.binary("add", x.ptr, p.ptr, x.ptr, rows, E, pRows);
}

/** Rows idx[b] of each batch item of x (B, T, E) -> (B, E). */
export function gatherTokens(x: Buf, idx: number[]): Buf {
  const heap = core.heap();
  const [B, T, E] = x.shape;
  const y = empty([B, E]);
  for (let b = 0; b < B; b++) heap.f32(y.ptr + b * E * 4, E).set(heap.f32(x.ptr + (b * T + idx[b]) * E * 4, E));
  return y;
}

/** [cls; rows] per batch item: x (B, N, E) -> (B, N + 1, E) with row 0 = cls (E). */
export function prependToken(x: Buf, cls: Parameter): Buf {
  const heap = core.heap();
  const [B, N, E] = x.shape;
  const y = empty([B, N + 1, E]);
  for (let b = 0; b < B; b++) {
    heap.f32(y.ptr + b * (N + 1) * E * 4, E).set(heap.f32(cls.ptr, E));
    heap.u8(y.ptr + (b * (N + 1) + 1) * E * 4, N * E * 4).set(heap.u8(x.ptr + b * N * E * 4, N * E * 4));
  }
  return y;
}

/** An attention/padding mask tensor (B, T), int32 or float32, as a JS array of 0/1 "is padding". */
export function paddingFromAttentionMask(who: string, mask: Tensor, B: number, T: number): Int32Array {
  if (!(mask instanceof Tensor) || mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T) {
    throw new Error(
      `${who}: attentionMask must have shape [${B}, ${T}] (1 = token, 0 = padding), ` +
        `got ${mask instanceof Tensor ? fmtShape(mask.shape) : typeof mask}`,
    );
  }
  const pad = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    const v = mask.data[i];
    if (Number.isNaN(v)) throw new Error(`${who}: attentionMask holds NaN`);
    pad[i] = v === 0 ? 1 : 0;
  }
  return pad;
}

export { fromTensor };

/** exp of a scalar parameter with the package's own exp kernel (CLIP's logit_scale -> the factor on similarities). */
export function expOfScalar(p: Parameter): number {
  const heap = core.heap();
  return heap.scope(() => {
    const out = heap.alloc(4);
    core.unary("exp", p.ptr, out, 1);
    return heap.f32(out, 1)[0];
  });
}
