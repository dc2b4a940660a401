// Buf: an activation in the current scratch frame (pointer + shape).  Layers pass Bufs to each other, so a
// model's forward copies its inputs in once and its outputs out once.  Also the copy-in / copy-out helpers every
// op uses, and the NaN/inf check that runs on the copy in WASM.
import { Tensor, numel, fmtShape, type TypedData } from "../tensor.js";
import { kernels, heap } from "./runtime.js";

export interface Buf {
  ptr: number;
  shape: number[];
  dtype: "float32" | "int32";
}

/** A weight the kernels read in place: a pointer into persistent memory and its shape (nn's Parameter). */
export interface WeightRef {
  readonly ptr: number;
  readonly shape: readonly number[];
}

export const size = (b: Buf): number => numel(b.shape);

/** A new float32 activation in scratch (contents undefined). */
export function empty(shape: number[]): Buf {
  return { ptr: heap().alloc(numel(shape) * 4), shape, dtype: "float32" };
}

export function zeros(shape: number[]): Buf {
  const b = empty(shape);
  heap().f32(b.ptr, numel(shape)).fill(0);
  return b;
}

/** NaN and +-inf values among n floats at ptr. */
export const countNonfinite = (ptr: number, n: number): number => kernels().count_nonfinite_f32(ptr, n);

/**
 * Copies float data into scratch and rejects NaN and +-inf there (torch would propagate them silently into
 * every output).  Returns the scratch pointer.
 */
export function putFinite(op: string, name: string, data: Float32Array): number {
  const ptr = heap().put(data);
  const bad = countNonfinite(ptr, data.length);
  if (bad > 0)
    throw new Error(`${op}: ${name} holds ${bad} NaN or infinite value${bad > 1 ? "s" : ""}; expected finite numbers`);
  return ptr;
}

/** Copies raw data into scratch (no value check): int codes, masks, ids. */
export const put = (data: TypedData | Int8Array | Uint8Array): number => heap().put(data);

/** Copies a tensor into scratch; float inputs must be finite. */
export function fromTensor(op: string, name: string, t: Tensor): Buf {
  const ptr = t.dtype === "float32" ? putFinite(op, name, t.data as Float32Array) : heap().put(t.data);
  return { ptr, shape: [...t.shape], dtype: t.dtype };
}

export function toTensor(b: Buf): Tensor {
  const n = size(b);
  return new Tensor(b.dtype === "float32" ? heap().takeF32(b.ptr, n) : heap().takeI32(b.ptr, n), b.shape);
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
  const h = heap();
  const out = { ...empty(b.shape), dtype: b.dtype };
  h.u8(out.ptr, size(b) * 4).set(h.u8(b.ptr, size(b) * 4));
  return out;
}
