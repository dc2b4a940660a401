// Setup file of the "relaxed" test project (vitest.config.ts): loads the build POLYMODAL_SIMD names before the test
// file runs, so the file's own init() returns that runtime and its PyTorch comparisons check the relaxed kernels.
import { init, type SimdBuild } from "../src/index.js";

const simd = process.env.POLYMODAL_SIMD as SimdBuild | undefined;
if (simd) {
  const r = await init({ simd });
  if (r.simd !== simd) throw new Error(`the ${simd} build could not load: ${r.simdNote}`);
}
