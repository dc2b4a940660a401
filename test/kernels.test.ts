// Every kernel case against PyTorch 1.13 / torchaudio 0.13 outputs (test/fixtures, made by
// scripts/fixtures/gen_kernels.py).  Reports max-abs error, scaled error and NMSE per output.
//
// Where the fixture also holds `y64` (the op run by PyTorch in float64), the stated tolerance bounds our error
// against that truth, and the comparison with PyTorch's float32 `y` allows the sum of both errors (2x):
// PyTorch's own float32 result is itself up to 5e-5 off the truth on the K = 768 patch convolution.
import { beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { runCase, tolerance } from "./harness/cases.js";
import { compare, maxRelAbove, maxRelComplexAbove } from "./harness/compare.js";
import { loadKernelFixtures, caseTensors } from "./harness/fixtures.js";

const { cases, tensors } = loadKernelFixtures();

beforeAll(async () => {
  await init();
});

describe("kernels match PyTorch", () => {
  it.each(cases.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const out = runCase(c, caseTensors(c, tensors, c.inputs));
    const refs = caseTensors(c, tensors, c.outputs);
    const tol = tolerance(c);
    const hasTruth = c.outputs.includes("y64");
    const checks: Array<() => void> = [];
    for (const name of c.outputs) {
      const a = out[name],
        r = refs[name];
      expect(a.shape, `${c.id}.${name} shape`).toEqual(r.shape);
      if (tol.exact) {
        expect(Array.from(a.data), `${c.id}.${name}`).toEqual(Array.from(r.data));
        continue;
      }
      const e = compare(a.data, r.data);
      const line =
        `${c.id}.${name}: maxAbs ${e.maxAbs.toExponential(2)} scaled ${e.maxScaled.toExponential(2)} ` +
        `nmse ${e.nmse.toExponential(2)}`;
      if (process.env.POLYMODAL_VERBOSE) console.log(line);
      const budget = hasTruth && name === "y" ? 2 : 1;
      checks.push(() => {
        expect(e.maxScaled, line).toBeLessThanOrEqual(tol.scaled * budget);
        expect(e.nmse, line).toBeLessThanOrEqual(tol.nmse * budget * budget);
        if (tol.rel !== undefined) {
          const rel = (tol.complex ? maxRelComplexAbove : maxRelAbove)(a.data, r.data, tol.relFloor ?? 0);
          expect(rel, `${line} rel ${rel.toExponential(2)}`).toBeLessThanOrEqual(tol.rel);
        }
      });
    }
    for (const check of checks) check();
  });
});
