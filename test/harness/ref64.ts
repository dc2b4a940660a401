// float64 references for the edge-size tests.

/** erf to ~1e-15 (series below 2.5, continued fraction above). */
export function erf64(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2.5) {
    let term = ax,
      sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction (Lentz)
    let f = ax,
      C = ax,
      D = 0;
    for (let n = 1; n < 300; n++) {
      const a = n / 2;
      D = ax + a * D;
      D = 1 / D;
      C = ax + a / C;
      const delta = C * D;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  }
  return x < 0 ? -r : r;
}

export const unaryRef: Record<string, (x: number) => number> = {
  relu: (x) => Math.max(0, x),
  gelu: (x) => 0.5 * x * (1 + erf64(x / Math.SQRT2)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: (x) => Math.tanh(x),
  exp: (x) => Math.exp(x),
  log: (x) => Math.log(x),
};

/** Input ranges per op where its f32 result is well defined and not over/underflowing. */
export const unaryRange: Record<string, [number, number]> = {
  relu: [-10, 10],
  gelu: [-10, 10],
  sigmoid: [-30, 30],
  tanh: [-12, 12],
  exp: [-80, 80],
  log: [1e-30, 1e30],
};
