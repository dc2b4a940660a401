// Vector transcendental functions in f32x4.  They are compiled into the module, so every engine runs the
// same instructions and gets the same bits (a JS Math.exp may differ between V8 versions and browsers).
// Accuracy: exp and log within 2 ulp, tanh within 3 ulp, erf within 2e-7 absolute.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375; // exact in 9 bits: n*LN2_HI is exact for |n| < 2^15
const LN2_LO: f32 = -2.12194440e-4;

/** e^x per lane; +inf above 88.72, 0 below -87.33 (denormal results flush to 0), NaN stays NaN. */
@inline export function vexp(x: v128): v128 {
  const big = f32x4.gt(x, f32x4.splat(88.7228391));
  const small = f32x4.lt(x, f32x4.splat(-87.3365479));
  // pmin/pmax (one minps/maxps on x64; min/max's NaN and -0 rules cost ~8 instructions each): with x first, a
  // NaN x still comes through, so the result is the same as with min/max.
  let xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.3365479)), f32x4.splat(88.3762626));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  // Minimax polynomial for e^r on |r| <= ln2/2 (Cephes expf coefficients).
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n from the integer n in [-126, 128]: 1.5 * 2^23 + n holds n in its low mantissa bits (exact), which avoids
  // trunc_sat's long x64 sequence; (bits - 0x4B400000 + 127) << 23 is the biased exponent, as before.
  const nb = f32x4.add(n, f32x4.splat(12582912.0));
  const e = i32x4.shl(i32x4.add(nb, i32x4.splat(127 - 0x4B400000)), 23);
  let y = f32x4.mul(p, e);
  y = v128.bitselect(f32x4.splat(Infinity), y, big);
  y = v128.andnot(y, small);
  return y;
}

/** Natural log per lane: -inf at 0, NaN below 0, +inf at +inf. Denormal inputs are treated as 0. */
@inline export function vlog(x: v128): v128 {
  const xi = x;
  // Split x = m * 2^e with m in [sqrt(1/2), sqrt(2)).
  let e = i32x4.sub(i32x4.shr_u(xi, 23), i32x4.splat(126));
  let m = v128.or(v128.and(xi, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000)); // [0.5, 1)
  const lt = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = i32x4.sub(e, v128.and(lt, i32x4.splat(1)));
  m = f32x4.add(m, v128.and(lt, m)); // m < sqrt(1/2): m *= 2
  const f = f32x4.sub(m, f32x4.splat(1));
  const z = f32x4.mul(f, f);
  // Cephes logf polynomial on [sqrt(1/2)-1, sqrt(2)-1].
  let p = f32x4.splat(7.0376836292e-2);
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(-1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.1676998740e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(-1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.4249322787e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(-1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(2.0000714765e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(-2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(3.3333331174e-1));
  const ef = f32x4.convert_i32x4_s(e);
  let y = f32x4.mul(f32x4.mul(p, f), z);
  y = f32x4.add(y, f32x4.mul(ef, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  y = f32x4.add(f32x4.add(f, y), f32x4.mul(ef, f32x4.splat(0.693359375)));
  // Special cases: x <= tiny -> -inf (0) or NaN (negative); +inf and NaN pass through.
  const zero = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  y = v128.bitselect(f32x4.splat(-Infinity), y, zero);
  y = v128.bitselect(f32x4.splat(NaN), y, f32x4.lt(x, f32x4.splat(0)));
  const special = v128.or(f32x4.ne(x, x), f32x4.eq(x, f32x4.splat(Infinity)));
  return v128.bitselect(x, y, special);
}

/** tanh per lane. */
@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  // |x| < 0.625: odd polynomial (Cephes tanhf).
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  // Otherwise 1 - 2 / (e^{2|x|} + 1), with the sign of x put back.
  const e = vexp(f32x4.add(ax, ax));
  let large = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  large = v128.or(large, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(small, large, f32x4.lt(ax, f32x4.splat(0.625)));
}

/** Logistic sigmoid 1 / (1 + e^-x) per lane. */
@inline export function vsigmoid(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), vexp(f32x4.neg(x))));
}

/** erf per lane (Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7 before f32 rounding). */
@inline export function verf(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), f32x4.mul(ax, f32x4.splat(0.3275911))));
  let p = f32x4.splat(1.061405429);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.453152027));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.421413741));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.284496736));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.254829592));
  p = f32x4.mul(p, t);
  let y = f32x4.sub(f32x4.splat(1), f32x4.mul(p, vexp(f32x4.neg(f32x4.mul(ax, ax)))));
  y = v128.or(y, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(x, y, f32x4.ne(x, x));
}

/** Exact-erf GELU: x * 0.5 * (1 + erf(x / sqrt(2))), torch's default approximate='none'. */
@inline export function vgelu(x: v128): v128 {
  const e = verf(f32x4.mul(x, f32x4.splat(0.70710678118654752)));
  return f32x4.mul(f32x4.mul(x, f32x4.splat(0.5)), f32x4.add(f32x4.splat(1), e));
}

/** Horizontal sum in a fixed order: (l0 + l1) + (l2 + l3). */
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

@inline export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// Scalar versions through lane 0, so the tail of an array gets exactly the bits its body would.
@inline export function sexp(x: f32): f32 { return f32x4.extract_lane(vexp(f32x4.splat(x)), 0); }
@inline export function slog(x: f32): f32 { return f32x4.extract_lane(vlog(f32x4.splat(x)), 0); }
