// Identical bits across runs, after WASM memory growth, and no memory growth over repeated calls.
import { beforeAll, describe, expect, it } from "vitest";
import { init, Tensor, F, memoryStats, nn, MultimodalModelOptimizer } from "../src/index.js";
import { rt } from "../src/bindings/module.js";
import * as core from "../src/core/index.js";
import { scoped } from "../src/nn/module.js";
import { runCase } from "./harness/cases.js";
import { hashBits } from "./harness/compare.js";
import { loadKernelFixtures, caseTensors } from "./harness/fixtures.js";

const { cases, tensors } = loadKernelFixtures();

function hashAll(): string[] {
  return cases.map((c) => {
    const out = runCase(c, caseTensors(c, tensors, c.inputs));
    return c.outputs.map((n) => hashBits(out[n].data)).join(",");
  });
}

beforeAll(async () => {
  await init();
});

describe("determinism", () => {
  it("every case gives identical bits on a second run and after the memory grows", () => {
    const first = hashAll();
    const second = hashAll();
    expect(second).toEqual(first);
    // Grow WASM memory (a 96 MiB persistent block moves scratch above it), then run everything again.
    const { heap } = rt();
    const before = heap.byteLength;
    const big = heap.allocPersistent(96 << 20);
    expect(heap.byteLength).toBeGreaterThan(before);
    const third = hashAll();
    heap.freePersistent(big, 96 << 20);
    expect(third).toEqual(first);
  });

  it("growPersistent grows the topmost block in place and moves any other, keeping its bytes", () => {
    const { heap } = rt();
    const a = heap.allocPersistent(1000);
    heap.u8(a, 1000).set(Uint8Array.from({ length: 1000 }, (_, i) => i & 255));
    const held = heap.persistentBytes;
    const a2 = heap.growPersistent(a, 1000, 5000);
    expect(a2).toBe(a); // the topmost block: no copy, no second region
    expect(heap.persistentBytes - held).toBe(5056 - 1024);
    const b = heap.allocPersistent(64);
    const a3 = heap.growPersistent(a2, 5000, 9000); // b sits above it now: moved
    expect(a3).not.toBe(a2);
    expect(Array.from(heap.u8(a3, 1000))).toEqual(Array.from({ length: 1000 }, (_, i) => i & 255));
    heap.freePersistent(b, 64);
    heap.freePersistent(a3, 9000);
    expect(heap.persistentBytes).toBe(held - 1024);
  });

  it("10,000 repeated calls of the same ops do not grow memory", () => {
    const x = Tensor.from(
      new Float32Array(64 * 96).map((_, i) => Math.sin(i)),
      [64, 96],
    );
    const w = Tensor.from(
      new Float32Array(48 * 96).map((_, i) => Math.cos(i)),
      [48, 96],
    );
    const run = (): Tensor => F.softmax(F.layerNorm(F.gelu(F.linear(x, w)), 48));
    const ref = hashBits(run().data);
    const { heap } = rt();
    const bytes = heap.byteLength;
    const stats = memoryStats();
    for (let i = 0; i < 10000; i++) {
      const y = run();
      if (i % 1000 === 0) expect(hashBits(y.data)).toBe(ref);
    }
    expect(heap.byteLength).toBe(bytes);
    expect(memoryStats()).toEqual(stats);
    expect(heap.scratchBytes).toBe(0);
  });

  it("a quantised model: repeated forwards keep their bits and memory; disposing it returns its weights", () => {
    const { heap } = rt();
    const before = memoryStats();
    const m = new nn.Sequential(new nn.LSTM(12, 16, { batchFirst: true, bidirectional: true }), new nn.Linear(32, 7));
    const q = MultimodalModelOptimizer.quantizeModel(m);
    const x = Tensor.from(
      new Float32Array(2 * 9 * 12).map((_, i) => Math.sin(i)),
      [2, 9, 12],
    );
    const ref = hashBits(q.forward(x).data);
    const stats = memoryStats();
    for (let i = 0; i < 500; i++) {
      const y = q.forward(x);
      if (i % 100 === 0) expect(hashBits(y.data)).toBe(ref);
    }
    expect(memoryStats()).toEqual(stats);
    expect(heap.scratchBytes).toBe(0);
    q.dispose();
    m.dispose();
    expect(memoryStats()).toEqual(before);
  });

  it("a failing op releases its scratch (no leak on the error path)", () => {
    const { heap } = rt();
    const ok = F.linear(Tensor.zeros([2, 3]), Tensor.zeros([4, 3]));
    expect(ok.shape).toEqual([2, 4]);
    const stats = memoryStats();
    const bad = Tensor.from(new Float32Array([1, NaN, 3, 4, 5, 6]), [2, 3]);
    for (let i = 0; i < 100; i++) expect(() => F.linear(bad, Tensor.zeros([4, 3]))).toThrow(/NaN/);
    expect(memoryStats()).toEqual(stats);
    expect(heap.scratchBytes).toBe(0);
  });

  it("attention over long sequences, a block of query rows at a time, gives the whole score matrix's bits", () => {
    const h = core.heap();
    scoped(() => {
      for (const [L, S, masked] of [
        [700, 900, true],
        [300, 3000, false],
      ] as const) {
        const D = 64,
          d = 128,
          H = 2;
        const rows = (n: number, f: (i: number) => number) => {
          const p = core.empty([n, d]).ptr;
          h.f32(p, n * d).forEach((_, i, a) => {
            a[i] = f(i);
          });
          return p;
        };
        const q = rows(L, (i) => Math.sin(i) * 0.3),
          k = rows(S, (i) => Math.cos(i * 1.3) * 0.3),
          v = rows(S, (i) => Math.sin(i * 0.7));
        const blocked = core.empty([L, d]).ptr,
          whole = core.empty([L, d]).ptr;
        let mask = 0;
        if (masked) {
          mask = h.alloc(L * S * 4);
          h.f32(mask, L * S).forEach((_, i, a) => {
            a[i] = i % S > Math.floor(i / S) + 5 ? -Infinity : 0;
          });
        }
        const at = (ptr: number, n: number) => ({ ptr, ld: d, batch: n * d, head: D });
        core.attention(1, H, L, S, D, D, at(q, L), at(k, S), at(v, S), at(blocked, L), mask, L * S, masked ? L : 1);
        const scores = h.alloc(L * S * 4);
        for (let hd = 0; hd < H; hd++) {
          core.gemmNT(L, S, D, q + hd * D * 4, d, k + hd * D * 4, d, scores, S);
          core.softmaxRows(scores, scores, L, S, mask, masked ? L : 1);
          core.gemmNN(L, D, S, scores, S, v + hd * D * 4, d, whole + hd * D * 4, d);
        }
        expect(hashBits(h.f32(blocked, L * d))).toBe(hashBits(h.f32(whole, L * d)));
      }
    });
  });
});
