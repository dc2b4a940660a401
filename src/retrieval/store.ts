// Vectors of an index, in persistent WASM memory: float32 rows and/or int8 rows with one scale per row
// (symmetric, max|x| / 127).  Capacity doubles by reallocation; rows are unit-normalised before they arrive.
// The int8 rows are kept in the scan's 4-row tiles (assembly/scan.ts); everything outside reads and writes
// them row-major through rowsI8 / setRowsI8, so the file format does not depend on the tiling.

export class VectorStore {
  readonly dim: number;
  readonly hasFloat: boolean;
  readonly hasInt8: boolean;
  cap = 0;
  f32 = 0; // (cap, dim) float32
  // (cap / 4, dim8 / 16, 4, 16) int8 tiles (core.i8TileRows x core.i8TileBytes), dim8 = dim rounded up to a whole
  // chunk (zero tail)
  i8 = 0;
  scales = 0; // (cap) float32
  readonly dim8: number;

  constructor(dim: number, float: boolean, int8: boolean) {
    this.dim = dim;
    this.hasFloat = float;
    this.hasInt8 = int8;
    this.dim8 = core.i8RowBytes(dim);
  }

  /**
   * Room for n rows.  Growth reallocates and copies, so old and new regions coexist for a moment: capacity doubles
   * while small, and grows by half past 2^18 rows, so a large index (1 M x 512 floats = 2 GiB) still fits the
   * 4 GiB of wasm32 while it grows.  `exact`: exactly n (rounded to whole tiles), for a size known in advance.
   */
  ensure(n: number, exact = false): void {
    if (n <= this.cap) return;
    const t = core.i8TileRows();
    const grown = this.cap < 1 << 18 ? this.cap * 2 : Math.ceil(this.cap * 1.5);
    const cap = Math.ceil(Math.max(n, exact ? 0 : grown, 64) / t) * t; // whole tiles
    const heap = core.heap();
    const move = (old: number, oldBytes: number, bytes: number): number => {
      const p = old ? heap.growPersistent(old, oldBytes, bytes) : heap.allocPersistent(bytes);
      heap.u8(p + oldBytes, bytes - oldBytes).fill(0);
      return p;
    };
    if (this.hasFloat) this.f32 = move(this.f32, this.cap * this.dim * 4, cap * this.dim * 4);
    if (this.hasInt8) {
      this.i8 = move(this.i8, this.cap * this.dim8, cap * this.dim8);
      this.scales = move(this.scales, this.cap * 4, cap * 4);
    }
    this.cap = cap;
  }

  /** Writes unit-normalised rows (count, dim) starting at slot. */
  write(slot: number, rows: Float32Array, count: number): void {
    const heap = core.heap();
    const D = this.dim;
    if (this.hasFloat) heap.f32(this.f32 + slot * D * 4, count * D).set(rows.subarray(0, count * D));
    if (this.hasInt8) {
      heap.scope(() => {
        const src = heap.put(rows.subarray(0, count * D));
        const q = heap.alloc(count * D),
          s = heap.alloc(count * 4);
        core.quantizeRows(src, count, D, q, s);
        core.packI8Tiles(q, count, D, this.dim8, this.i8, slot);
        heap.f32(this.scales + slot * 4, count).set(heap.f32(s, count));
      });
    }
  }

  /** Copies row `from` over row `to` (flat removal keeps the rows dense). */
  move(from: number, to: number): void {
    const heap = core.heap();
    const D = this.dim;
    if (this.hasFloat) heap.f32(this.f32 + to * D * 4, D).set(heap.f32(this.f32 + from * D * 4, D));
    if (this.hasInt8) {
      this.setRowsI8(to, this.rowsI8(from, 1));
      heap.f32(this.scales + to * 4, 1)[0] = heap.f32(this.scales + from * 4, 1)[0];
    }
  }

  /** Int8 rows slot..slot+count-1 as row-major (count, dim8) bytes (a copy). */
  rowsI8(slot: number, count: number): Int8Array {
    const heap = core.heap();
    return heap.scope(() => {
      const p = heap.alloc(count * this.dim8);
      core.unpackI8Tiles(this.i8, slot, count, this.dim8, this.dim8, p);
      return heap.i8(p, count * this.dim8).slice();
    });
  }

  /** Writes row-major (count, dim8) int8 rows into slots slot..slot+count-1. */
  setRowsI8(slot: number, rows: Int8Array | Uint8Array): void {
    const heap = core.heap();
    const count = rows.length / this.dim8;
    heap.scope(() => core.packI8Tiles(heap.put(rows), count, this.dim8, this.dim8, this.i8, slot));
  }

  rowF32(slot: number): Float32Array {
    return core
      .heap()
      .f32(this.f32 + slot * this.dim * 4, this.dim)
      .slice();
  }

  free(): void {
    const heap = core.heap();
    if (this.f32) heap.freePersistent(this.f32, this.cap * this.dim * 4);
    if (this.i8) {
      heap.freePersistent(this.i8, this.cap * this.dim8);
      heap.freePersistent(this.scales, this.cap * 4);
    }
    this.f32 = this.i8 = this.scales = 0;
    this.cap = 0;
  }
}
import * as core from "../core/index.js";
