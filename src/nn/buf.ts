// Buf: an activation in the current scratch frame (pointer + shape).  Layers pass Bufs to each other, so a
// model's forward copies its inputs in once and its outputs out once.
import { rt } from "../bindings/module.js";
import { Tensor, numel, fmtShape } from "../tensor.js";

export interface Buf {
  ptr: number;
  shape: number[];
  dtype: "float32" | "int32";
}

export const size = (b: Buf): number => numel(b.shape);

/** A new float32 activation in scratch (contents undefined). */
export function empty(shape: number[]): Buf {
  return { ptr: rt().heap.alloc(numel(shape) * 4), shape, dtype: "float32" };
}

export function zeros(shape: number[]): Buf {
  const b = empty(shape);
  rt().heap.f32(b.ptr, numel(shape)).fill(0);
  return b;
}

/** Copies a tensor into scratch; float inputs must be finite. */
export function fromTensor(op: string, name: string, t: Tensor): Buf {
  const { k, heap } = rt();
  const ptr = heap.put(t.data);
  if (t.dtype === "float32") {
    const bad = k.count_nonfinite_f32(ptr, t.size);
    if (bad > 0) throw new Error(`${op}: ${name} holds ${bad} NaN or infinite value${bad > 1 ? "s" : ""}; expected finite numbers`);
  }
  return { ptr, shape: [...t.shape], dtype: t.dtype };
}

export function toTensor(b: Buf): Tensor {
  const { heap } = rt();
  const n = size(b);
  return new Tensor(b.dtype === "float32" ? heap.takeF32(b.ptr, n) : heap.takeI32(b.ptr, n), b.shape);
}

export function view(b: Buf, shape: number[]): Buf {
  if (numel(shape) !== size(b)) throw new Error(`internal: cannot view ${fmtShape(b.shape)} as ${fmtShape(shape)}`);
  return { ptr: b.ptr, shape, dtype: b.dtype };
}

/** Rows [r0, r0 + n) of a buffer viewed as (rows, ...rest): no copy. */
export function rows(b: Buf, r0: number, n: number): Buf {
  const rest = b.shape.slice(1);
  return { ptr: b.ptr + r0 * numel(rest) * 4, shape: [n, ...rest], dtype: b.dtype };
}

export function copy(b: Buf): Buf {
  const { heap } = rt();
  const out = { ...empty(b.shape), dtype: b.dtype };
  heap.u8(out.ptr, size(b) * 4).set(heap.u8(b.ptr, size(b) * 4));
  return out;
}
