// Weights are stored once, in WASM memory, and a ViT-B/16 batch-1 forward peaks within the weights' size
// plus 128 MiB of WASM memory.
import { beforeAll, describe, expect, it } from "vitest";
import { init, Tensor, VisionEncoder, memoryStats } from "../src/index.js";

beforeAll(async () => {
  await init();
});

describe("model memory", () => {
  it("ViT-B/16 (the seed's VisionEncoder defaults) batch 1: WASM memory <= weights + 128 MiB", () => {
    const before = memoryStats();
    const m = new VisionEncoder();
    const weights = memoryStats().persistentBytes - before.persistentBytes;
    expect(m.numParameters()).toBe(86192384);
    expect(weights).toBeGreaterThanOrEqual(m.numParameters() * 4); // stored once, as float32 (+ panel padding)
    expect(weights).toBeLessThan(m.numParameters() * 4 * 1.01);
    const x = Tensor.from(
      new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.001)),
      [1, 3, 224, 224],
    );
    const y = m.forward(x);
    expect(y.shape).toEqual([1, 512]);
    const after = memoryStats();
    const overWeights = after.wasmBytes - after.persistentBytes;
    console.log(
      `ViT-B/16: weights ${(weights / 2 ** 20).toFixed(0)} MiB, WASM ` +
        `memory ${(after.wasmBytes / 2 ** 20).toFixed(0)} MiB (${(overWeights / 2 ** 20).toFixed(0)} MiB over the ` +
        `weights)`,
    );
    expect(overWeights).toBeLessThanOrEqual(128 * 2 ** 20);
    m.dispose();
    expect(memoryStats().persistentBytes).toBe(before.persistentBytes);
  }, 120_000);
});
