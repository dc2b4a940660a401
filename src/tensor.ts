// Tensor: a shape, a dtype and JS-owned data.  Tensors never pin WASM memory: ops copy inputs into a
// scratch frame, run the kernels and copy the result out, so nothing needs freeing and a held tensor stays
// valid across memory growth.  The copy costs O(elements), against O(elements x reduction) of compute.

export type DType = "float32" | "int32";
export type TypedData = Float32Array | Int32Array;
export type NestedArray = number | NestedArray[];

function dtypeOf(data: TypedData): DType {
  return data instanceof Float32Array ? "float32" : "int32";
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function checkShape(shape: readonly number[], where: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`${where}: shape ${fmtShape(shape)} must hold non-negative integers`);
  }
}

/**
 * An n-dimensional array of float32 or int32, row-major (C order) like a contiguous torch.Tensor.
 * @example
 * const x = Tensor.from(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * x.shape;      // [2, 3]
 * x.toArray();  // [[1, 2, 3], [4, 5, 6]]
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: TypedData;

  constructor(data: TypedData, shape: readonly number[]) {
    if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) {
      throw new Error(`Tensor: data must be a Float32Array or Int32Array, got ${Object.prototype.toString.call(data)}`);
    }
    checkShape(shape, "Tensor");
    if (numel(shape) !== data.length) {
      throw new Error(`Tensor: shape ${fmtShape(shape)} holds ${numel(shape)} elements, data has ${data.length}`);
    }
    this.shape = Object.freeze([...shape]);
    this.dtype = dtypeOf(data);
    this.data = data;
  }

  /** Wraps a typed array (no copy); shape defaults to 1-D.  Plain number arrays become float32. */
  static from(data: TypedData | number[], shape?: readonly number[]): Tensor {
    const d = Array.isArray(data) ? Float32Array.from(data) : data;
    return new Tensor(d, shape ?? [d.length]);
  }

  static zeros(shape: readonly number[], dtype: DType = "float32"): Tensor {
    checkShape(shape, "Tensor.zeros");
    const n = numel(shape);
    return new Tensor(dtype === "float32" ? new Float32Array(n) : new Int32Array(n), shape);
  }

  get size(): number {
    return this.data.length;
  }
  get ndim(): number {
    return this.shape.length;
  }

  /** Same data, new shape (one dimension may be -1). */
  reshape(shape: readonly number[]): Tensor {
    const s = [...shape];
    const free = s.indexOf(-1);
    if (free >= 0) {
      const rest = numel(s.filter((_, i) => i !== free));
      if (rest === 0 || this.size % rest !== 0)
        throw new Error(`Tensor.reshape: cannot reshape ${fmtShape(this.shape)} to ${fmtShape(shape)}`);
      s[free] = this.size / rest;
    }
    if (numel(s) !== this.size)
      throw new Error(
        `Tensor.reshape: cannot reshape ${fmtShape(this.shape)} (${this.size} elements) to ${fmtShape(shape)}`,
      );
    return new Tensor(this.data, s);
  }

  /** A copy with its own data. */
  clone(): Tensor {
    return new Tensor(this.data.slice() as TypedData, this.shape);
  }

  /** Nested arrays, as torch.Tensor.tolist(). */
  toArray(): NestedArray {
    if (this.shape.length === 0) return this.data[0];
    const rec = (dim: number, off: number): NestedArray[] => {
      const n = this.shape[dim];
      const out: NestedArray[] = new Array(n);
      if (dim === this.shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = this.data[off + i];
        return out;
      }
      const stride = numel(this.shape.slice(dim + 1));
      for (let i = 0; i < n; i++) out[i] = rec(dim + 1, off + i * stride);
      return out;
    };
    return rec(0, 0);
  }
}
