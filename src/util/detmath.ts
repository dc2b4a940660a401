// exp and log in float64 from + - * / only: IEEE-754 makes those exact-rounded on every engine, whereas
// Math.exp / Math.log may differ in the last bit between JS engines.  Used where TypeScript itself does
// numerics (CTC).  Accuracy about 1 ulp.

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian: high word at index 1

const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.442695040888963387;

/** 2^k for integer k in [-1022, 1023]. */
function pow2(k: number): number {
  u32[HI] = (k + 1023) << 20;
  u32[1 - HI] = 0;
  return f64[0];
}

export function exp(x: number): number {
  if (x !== x) return NaN;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  const k = Math.round(x * INV_LN2); // rounding is exact arithmetic, not a transcendental
  const r = x - k * LN2_HI - k * LN2_LO; // |r| <= 0.35
  // Taylor to r^14: truncation < 1e-18 relative
  let p = 1 / 87178291200;
  for (let n = 13; n >= 1; n--) p = p * r + 1 / FACT[n];
  p = p * r + 1;
  if (k > 1023) return p * pow2(1023) * pow2(k - 1023);
  if (k < -1022) return p * pow2(-1022) * pow2(k + 1022);
  return p * pow2(k);
}
const FACT = [1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880, 3628800, 39916800, 479001600, 6227020800];

export function log(x: number): number {
  if (x !== x || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984;
    e = -54;
  } // subnormal: scale by 2^54
  f64[0] = x;
  const hi = u32[HI];
  e += ((hi >>> 20) & 0x7ff) - 1023;
  u32[HI] = (hi & 0x000fffff) | 0x3ff00000; // mantissa in [1, 2)
  let m = f64[0];
  if (m > 1.4142135623730951) {
    m /= 2;
    e += 1;
  }
  // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716
  const s = (m - 1) / (m + 1),
    s2 = s * s;
  let t = 0;
  for (let n = 27; n >= 3; n -= 2) t = (t + 1 / n) * s2;
  const lm = 2 * s * (1 + t);
  return e * LN2_HI + (lm + e * LN2_LO);
}

/** log(exp(a) + exp(b)) */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = a > b ? a : b;
  return m + log(1 + exp(-Math.abs(a - b)));
}
