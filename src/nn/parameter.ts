// Parameter: a weight stored once, in persistent WASM memory.  GEMM weights (nn.Linear's W, LSTM and
// attention projections) are kept only in the packed panel layout the GEMM kernel reads, so a forward pass
// never repacks them; stateDict() unpacks on demand.
import * as core from "../core/index.js";
import { Tensor, fmtShape, numel } from "../tensor.js";

export type Layout = "raw" | "linear";

const registry = new FinalizationRegistry<{ ptr: number; bytes: number }>((b) => {
  try {
    core.heap().freePersistent(b.ptr, b.bytes);
  } catch {
    /* runtime gone */
  }
});

let skipInit = 0;

/**
 * Runs `make` with parameter initialisers skipped (parameters start as zeros): for a model whose every weight is
 * loaded strictly right after, whose initial values would be computed only to be overwritten (a third of loading the
 * shipped CLIP model; seconds for a ViT-B).  The seeds are still drawn, so models made later start from the same
 * values as they would otherwise.
 */
export function withoutInit<T>(make: () => T): T {
  skipInit++;
  try {
    return make();
  } finally {
    skipInit--;
  }
}

export class Parameter {
  readonly shape: readonly number[];
  readonly layout: Layout;
  private ptr_: number;
  private readonly bytes: number;
  private disposed = false;

  /**
   * layout "linear": shape (out, in) stored as packed B = W^T panels.  init fills the initial values
   * (row-major in `shape`); default zeros.
   */
  constructor(shape: readonly number[], layout: Layout = "raw", init?: (n: number) => Float32Array) {
    this.shape = Object.freeze([...shape]);
    this.layout = layout;
    const heap = core.heap();
    if (layout === "linear" && shape.length !== 2)
      throw new Error(`internal: linear parameter needs 2 dims, got ${fmtShape(shape)}`);
    this.bytes = Math.max(4, (layout === "linear" ? core.packedSize(shape[1], shape[0]) : numel(shape)) * 4);
    this.ptr_ = heap.allocPersistent(this.bytes);
    heap.u8(this.ptr_, this.bytes).fill(0);
    registry.register(this, { ptr: this.ptr_, bytes: this.bytes }, this);
    if (init && skipInit === 0) this.set(init(numel(shape)));
  }

  get numel(): number {
    return numel(this.shape);
  }

  /** Pointer for the kernels (raw row-major, or packed panels for layout "linear"). */
  get ptr(): number {
    if (this.disposed) throw new Error("Parameter used after dispose()");
    return this.ptr_;
  }

  /** Overwrites the values from row-major data of this parameter's shape. */
  set(data: Float32Array): void {
    const heap = core.heap();
    if (data.length !== this.numel)
      throw new Error(`internal: parameter ${fmtShape(this.shape)} needs ${this.numel} values, got ${data.length}`);
    if (this.layout === "raw") {
      heap.f32(this.ptr, this.numel).set(data);
      return;
    }
    const [N, K] = this.shape;
    heap.scope(() => core.packB(heap.put(data), 1, K, K, N, this.ptr));
  }

  /** A JS-owned row-major copy. */
  toTensor(): Tensor {
    const heap = core.heap();
    if (this.layout === "raw") return new Tensor(heap.takeF32(this.ptr, this.numel), this.shape);
    const [N, K] = this.shape;
    return new Tensor(core.unpackWeight(heap.f32(this.ptr, this.bytes / 4), N, K), this.shape);
  }

  /** An independent copy (its own WASM memory, same layout and values). */
  clone(): Parameter {
    const c = new Parameter(this.shape, this.layout);
    c.set(this.toTensor().data as Float32Array);
    return c;
  }

  /** Returns the WASM memory now rather than at garbage collection. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    registry.unregister(this);
    core.heap().freePersistent(this.ptr_, this.bytes);
  }
}

/** Deterministic initialisers (no Math.random: the same model on every engine). */
export function uniformInit(bound: number, seed: number): (n: number) => Float32Array {
  return (n) => {
    const a = new Float32Array(n);
    let s = seed >>> 0;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
      s ^= s >>> 12;
      a[i] = (((s >>> 8) / 16777216) * 2 - 1) * bound;
    }
    return a;
  };
}
export const fill =
  (v: number) =>
  (n: number): Float32Array =>
    new Float32Array(n).fill(v);

let seedCounter = 1;
/** A fresh seed per parameter, so two layers never start identical. */
export function nextSeed(): number {
  seedCounter = (seedCounter * 0x9e3779b1 + 0x7f4a7c15) >>> 0;
  return seedCounter;
}
