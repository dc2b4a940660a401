// Before init() every op says what to do; init() is idempotent and accepts explicit bytes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { init, isInitialized, Tensor, F } from "../src/index.js";

describe("init", () => {
  it("ops before init() throw a clear Error", () => {
    expect(isInitialized()).toBe(false);
    expect(() => F.relu(Tensor.zeros([2]))).toThrow(/call `await init\(\)` before using any op/);
  });

  it("init from explicit bytes, then again is a no-op returning the same runtime", async () => {
    const bytes = readFileSync(new URL("../build/polymodal.wasm", import.meta.url));
    const a = await init({ wasm: bytes });
    const b = await init();
    expect(a).toBe(b);
    expect(await init({ threads: 1 })).toBe(a);
    await expect(init({ threads: 2 })).rejects.toThrow(
      /already initialised with 1 thread; .* ask for threads in the first init\(\)/,
    );
    expect(Array.from(F.relu(Tensor.from([-1, 2])).data)).toEqual([0, 2]);
  });
});
