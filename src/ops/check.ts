// Shape, dtype and value checks shared by the ops: every message names the op, what it expected and what came.
import { putFinite as putFiniteData } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";

export function fail(op: string, msg: string): never {
  throw new Error(`${op}: ${msg}`);
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}

export function f32(op: string, name: string, x: unknown): Tensor {
  if (!isTensor(x)) fail(op, `${name} must be a Tensor, got ${x === null ? "null" : typeof x}`);
  if (x.dtype !== "float32") fail(op, `${name} must be float32, got ${x.dtype}`);
  return x;
}

export function i32(op: string, name: string, x: unknown): Tensor {
  if (!isTensor(x)) fail(op, `${name} must be a Tensor, got ${x === null ? "null" : typeof x}`);
  if (x.dtype !== "int32") fail(op, `${name} must be int32, got ${x.dtype}`);
  return x;
}

export function ndim(op: string, name: string, x: Tensor, allowed: number[], layout: string): void {
  if (!allowed.includes(x.ndim)) {
    fail(op, `${name} must be ${allowed.join("-D or ")}-D ${layout}, got shape ${fmtShape(x.shape)}`);
  }
}

export function shapeIs(op: string, name: string, x: Tensor, expected: readonly number[]): void {
  if (x.ndim !== expected.length || x.shape.some((d, i) => d !== expected[i])) {
    fail(op, `${name} must have shape ${fmtShape(expected)}, got ${fmtShape(x.shape)}`);
  }
}

export function posInt(op: string, name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) fail(op, `${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/**
 * Copies a float tensor into scratch and rejects NaN and +-inf there (torch would propagate them silently
 * into every output).  Returns the scratch pointer.
 */
export function putFinite(op: string, name: string, x: Tensor): number {
  return putFiniteData(op, name, x.data as Float32Array);
}

/** Normalises a possibly negative dim against ndim. */
export function dimIndex(op: string, dim: number, nd: number): number {
  if (!Number.isInteger(dim) || dim < -nd || dim >= nd) fail(op, `dim must be in [${-nd}, ${nd - 1}], got ${dim}`);
  return dim < 0 ? dim + nd : dim;
}
