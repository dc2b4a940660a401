// WASM memory, owned and laid out by TypeScript.
//
//   [0, HEAP_BASE)            the module's static data
//   [HEAP_BASE, persistentTop) long-lived blocks (model weights, plans): allocPersistent / freePersistent
//   [persistentTop, ...)      scratch stack: every op pushes its buffers and pops them when it returns
//
// The memory only grows to the largest op seen, so repeated calls reuse the same bytes.  Any grow replaces
// memory.buffer, so views are made fresh after all of an op's allocations (see f32()/i32()), never kept.

const PAGE = 65536;

export class Heap {
  readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private persistentTop: number;
  private top: number;
  private depth = 0;
  private readonly freeBlocks: Array<{ ptr: number; bytes: number }> = [];

  constructor(memory: WebAssembly.Memory, heapBase: number) {
    this.memory = memory;
    this.base = align(heapBase, 64);
    this.persistentTop = this.base;
    this.top = this.base;
  }

  /** Bytes of WASM memory reserved now (grows, never shrinks). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes held by long-lived blocks. */
  get persistentBytes(): number {
    return this.persistentTop - this.base - this.freeBlocks.reduce((s, b) => s + b.bytes, 0);
  }

  /** Scratch bytes currently pushed (0 between ops). */
  get scratchBytes(): number {
    return this.top - this.persistentTop;
  }

  /** Runs fn with a scratch frame; everything it allocates with alloc() is released when it returns or throws. */
  scope<T>(fn: () => T): T {
    const mark = this.top;
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
      this.top = mark;
    }
  }

  /** Scratch bytes (64-byte aligned) inside the current scope. */
  alloc(bytes: number): number {
    if (this.depth === 0) throw new Error("polymodal internal error: scratch allocation outside Heap.scope()");
    const ptr = align(this.top, 64);
    this.ensure(ptr + bytes);
    this.top = ptr + bytes;
    return ptr;
  }

  /** Long-lived bytes; only between ops (no scope open), since scratch sits above them. */
  allocPersistent(bytes: number): number {
    if (this.depth !== 0) throw new Error("polymodal internal error: persistent allocation inside an op");
    const size = align(Math.max(bytes, 1), 64);
    const i = this.freeBlocks.findIndex((b) => b.bytes >= size);
    if (i >= 0) {
      const b = this.freeBlocks[i];
      if (b.bytes === size) this.freeBlocks.splice(i, 1);
      else {
        b.ptr += size;
        b.bytes -= size;
        return b.ptr - size;
      }
      return b.ptr;
    }
    const ptr = this.persistentTop;
    this.ensure(ptr + size);
    this.persistentTop = ptr + size;
    this.top = Math.max(this.top, this.persistentTop);
    return ptr;
  }

  /**
   * Grows a long-lived block to newBytes, keeping its bytes (the new tail is not cleared): in place when it is the
   * topmost block, so a growing index never holds its old and new copies at once (1 M x 512 floats is 2 GiB of
   * the 4 GiB wasm32 has); otherwise moved (allocate, copy, free).  Only between ops.
   */
  growPersistent(ptr: number, bytes: number, newBytes: number): number {
    if (this.depth !== 0) throw new Error("polymodal internal error: persistent allocation inside an op");
    const size = align(Math.max(bytes, 1), 64),
      newSize = align(Math.max(newBytes, 1), 64);
    if (newSize <= size) return ptr;
    if (ptr + size === this.persistentTop) {
      this.ensure(ptr + newSize);
      this.persistentTop = ptr + newSize;
      this.top = Math.max(this.top, this.persistentTop);
      return ptr;
    }
    const p = this.allocPersistent(newBytes);
    this.u8(p, bytes).set(this.u8(ptr, bytes));
    this.freePersistent(ptr, bytes);
    return p;
  }

  freePersistent(ptr: number, bytes: number): void {
    this.freeBlocks.push({ ptr, bytes: align(Math.max(bytes, 1), 64) });
    this.freeBlocks.sort((a, b) => a.ptr - b.ptr);
    // Coalesce neighbours and give the topmost block back to the stack.
    for (let i = this.freeBlocks.length - 1; i > 0; i--) {
      const a = this.freeBlocks[i - 1],
        b = this.freeBlocks[i];
      if (a.ptr + a.bytes === b.ptr) {
        a.bytes += b.bytes;
        this.freeBlocks.splice(i, 1);
      }
    }
    const last = this.freeBlocks[this.freeBlocks.length - 1];
    if (last && last.ptr + last.bytes === this.persistentTop) {
      this.persistentTop = last.ptr;
      this.freeBlocks.pop();
      if (this.depth === 0) this.top = this.persistentTop;
    }
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // Grow by some slack (1/8 of the current size, at most 8 MiB) so a slowly growing workload does not
    // grow on every call, while a large model's reserve stays close to what it uses.
    const need = Math.ceil((end - have) / PAGE);
    const extra = Math.max(need, Math.min(Math.ceil(have / PAGE / 8), 128));
    try {
      this.memory.grow(extra);
    } catch {
      try {
        this.memory.grow(need);
      } catch {
        throw new Error(
          `polymodal: out of WASM memory: need ${end} bytes, have ${have} (the 4 GiB wasm32 limit, init's ` +
            `maximumPages when threaded, or the engine's)`,
        );
      }
    }
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }
  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, n);
  }
  i8(ptr: number, n: number): Int8Array {
    return new Int8Array(this.memory.buffer, ptr, n);
  }
  u8(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, n);
  }

  /** Copies a typed array into fresh scratch and returns its pointer. */
  put(data: Float32Array | Int32Array | Int8Array | Uint8Array): number {
    const ptr = this.alloc(data.byteLength);
    new Uint8Array(this.memory.buffer, ptr, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return ptr;
  }

  /** Copies n floats out of WASM memory into a new JS-owned array. */
  takeF32(ptr: number, n: number): Float32Array {
    return this.f32(ptr, n).slice();
  }
  takeI32(ptr: number, n: number): Int32Array {
    return this.i32(ptr, n).slice();
  }
}

export function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
