// The model zoo's numeric budget as a vitest assertion (compare.ts stays free of vitest: the browser page imports
// it too).
import { expect } from "vitest";
import { compare } from "./compare.js";

/**
 * The model zoo's budget against a reference: max |a - ref| <= 2e-4 x max(1, |ref|) and NMSE <= 1e-7, the shapes
 * equal when both are given; the failure message carries the measures.
 */
export function expectWithinBudget(
  name: string,
  got: ArrayLike<number> | { shape: readonly number[]; data: ArrayLike<number> },
  want: ArrayLike<number> | { shape: readonly number[]; data: ArrayLike<number> },
): void {
  const data = (x: typeof got): ArrayLike<number> => ("data" in x && "shape" in x ? x.data : (x as ArrayLike<number>));
  if ("shape" in got && "shape" in want) expect([...got.shape], name).toEqual([...want.shape]);
  const e = compare(data(got), data(want));
  const line =
    `${name}: maxAbs ${e.maxAbs.toExponential(2)} scaled ${e.maxScaled.toExponential(2)} ` +
    `nmse ${e.nmse.toExponential(2)}`;
  expect(e.maxScaled, line).toBeLessThanOrEqual(2e-4);
  expect(e.nmse, line).toBeLessThanOrEqual(1e-7);
}
