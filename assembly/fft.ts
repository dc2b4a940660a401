// FFT for real frames, 4 frames at a time: every complex value is a pair of f32x4 (re, im) whose lanes are
// 4 independent signals.  Each lane runs exactly the scalar algorithm, so a frame's spectrum does not depend
// on its neighbours, and no shuffles are needed.
//
// Complex plan (Stockham autosort, decimation in frequency), all in caller memory:
//   [0] n  [4] nfactors  [8] bluestein 0/1  [12] m (inner length)  [16..144) factors
//   [160] twiddles of the inner length L (L = n, or m for Bluestein): (cos, -sin)(2 pi j / L), j < L
//   Bluestein only: chirp (cos, -sin)(pi j^2 / n), j < n, then FFT of the conjugate chirp filter (m).
// A lane complex array element j is 32 bytes: re (16) then im (16).

const HDR: usize = 160;
const MAXF: i32 = 32;
const BLUESTEIN_PRIME: i32 = 13; // larger prime factors use Bluestein: the generic radix is O(p) a point

function largestPrime(n: i32): i32 {
  let best = 1;
  let x = n;
  for (let p = 2; p * p <= x; p++) while (x % p == 0) { best = p; x /= p; }
  return x > 1 ? max(best, x) : best;
}

function smooth(n: i32): bool {
  let x = n;
  while (x % 2 == 0) x /= 2;
  while (x % 3 == 0) x /= 3;
  while (x % 5 == 0) x /= 5;
  return x == 1;
}

/** Bytes of a complex plan for length n. */
export function cfft_plan_size(n: i32): i32 {
  if (largestPrime(n) <= BLUESTEIN_PRIME) return <i32>HDR + 8 * n;
  let m = 2 * n - 1;
  while (!smooth(m)) m++;
  return <i32>HDR + 8 * m + 8 * n + 8 * m;
}

/** Bytes of lane work space a complex FFT of n needs (two ping-pong arrays of the inner length + radix scratch). */
export function cfft_work_size(n: i32): i32 {
  let L = n;
  if (largestPrime(n) > BLUESTEIN_PRIME) { L = 2 * n - 1; while (!smooth(L)) L++; }
  return 32 * (2 * L + 64);
}

function factorInto(plan: usize, L: i32): void {
  let x = L;
  let nf = 0;
  while (x % 4 == 0 && nf < MAXF) { store<i32>(plan + 16 + (<usize>nf << 2), 4); nf++; x /= 4; }
  for (let p = 2; x > 1 && nf < MAXF; ) {
    if (x % p == 0) { store<i32>(plan + 16 + (<usize>nf << 2), p); nf++; x /= p; }
    else p++;
  }
  store<i32>(plan + 4, nf);
}

function twiddles(dst: usize, L: i32): void {
  for (let j = 0; j < L; j++) {
    const a = 2.0 * Math.PI * <f64>j / <f64>L;
    store<f32>(dst + (<usize>j << 3), <f32>Math.cos(a));
    store<f32>(dst + (<usize>j << 3), <f32>(-Math.sin(a)), 4);
  }
}

/** Fill a plan for length n (forward transform, unnormalised). ws: cfft_work_size(n) bytes of scratch. */
export function cfft_plan_init(n: i32, plan: usize, ws: usize): void {
  store<i32>(plan, n);
  if (largestPrime(n) <= BLUESTEIN_PRIME) {
    store<i32>(plan, 0, 8);
    store<i32>(plan, n, 12);
    factorInto(plan, n);
    twiddles(plan + HDR, n);
    return;
  }
  let m = 2 * n - 1;
  while (!smooth(m)) m++;
  store<i32>(plan, 1, 8);
  store<i32>(plan, m, 12);
  factorInto(plan, m);
  twiddles(plan + HDR, m);
  const chirp = plan + HDR + (<usize>m << 3);
  const bf = chirp + (<usize>n << 3);
  const n2 = <i64>2 * n;
  for (let j = 0; j < n; j++) {
    // j^2 mod 2n keeps the angle small and exact.
    const q = <f64>((<i64>j * j) % n2);
    const a = Math.PI * q / <f64>n;
    store<f32>(chirp + (<usize>j << 3), <f32>Math.cos(a));
    store<f32>(chirp + (<usize>j << 3), <f32>(-Math.sin(a)), 4);
  }
  // b_j = conj(chirp_j) at j and m - j; transform it once with the inner plan (all lanes equal).
  const b = ws;
  for (let j = 0; j < m; j++) {
    v128.store(b + (<usize>j << 5), f32x4.splat(0));
    v128.store(b + (<usize>j << 5), f32x4.splat(0), 16);
  }
  for (let j = 0; j < n; j++) {
    const re = f32x4.splat(load<f32>(chirp + (<usize>j << 3)));
    const im = f32x4.splat(-load<f32>(chirp + (<usize>j << 3), 4));
    v128.store(b + (<usize>j << 5), re); v128.store(b + (<usize>j << 5), im, 16);
    if (j > 0) { v128.store(b + (<usize>(m - j) << 5), re); v128.store(b + (<usize>(m - j) << 5), im, 16); }
  }
  const out = stockham(plan, m, b, b + (<usize>m << 5), b + (<usize>(2 * m) << 5));
  for (let j = 0; j < m; j++) {
    store<f32>(bf + (<usize>j << 3), f32x4.extract_lane(v128.load(out + (<usize>j << 5)), 0));
    store<f32>(bf + (<usize>j << 3), f32x4.extract_lane(v128.load(out + (<usize>j << 5), 16), 0), 4);
  }
}

@inline function cmulRe(ar: v128, ai: v128, wr: v128, wi: v128): v128 {
  return f32x4.sub(f32x4.mul(ar, wr), f32x4.mul(ai, wi));
}
@inline function cmulIm(ar: v128, ai: v128, wr: v128, wi: v128): v128 {
  return f32x4.add(f32x4.mul(ar, wi), f32x4.mul(ai, wr));
}

@inline function put(dst: usize, idx: i32, re: v128, im: v128, tw: usize, twi: i32): void {
  const d = dst + (<usize>idx << 5);
  if (twi == 0) { v128.store(d, re); v128.store(d, im, 16); return; }
  const wr = v128.load32_splat(tw + (<usize>twi << 3));
  const wi = v128.load32_splat(tw + (<usize>twi << 3) + 4);
  v128.store(d, cmulRe(re, im, wr, wi));
  v128.store(d, cmulIm(re, im, wr, wi), 16);
}

/**
 * Stockham passes over lane complex data of length L using the factors/twiddles in plan.
 * x and y are L-element arrays; scratch holds up to 64 elements for the generic radix.  Returns the array
 * (x or y) that holds the natural-order result.
 */
function stockham(plan: usize, L: i32, x: usize, y: usize, scratch: usize): usize {
  const nf = load<i32>(plan, 4);
  const tw = plan + HDR;
  let src = x, dst = y;
  let ncur = L, s = 1;
  for (let f = 0; f < nf; f++) {
    const r = load<i32>(plan + 16 + (<usize>f << 2));
    const m = ncur / r;
    for (let p = 0; p < m; p++) {
      for (let q = 0; q < s; q++) {
        const base = q + s * p;
        const sm = s * m;
        const ob = q + s * r * p;
        const t1 = p * s; // twiddle index step for u = 1
        if (r == 2) {
          const a0 = src + (<usize>base << 5), a1 = src + (<usize>(base + sm) << 5);
          const a0r = v128.load(a0), a0i = v128.load(a0, 16), a1r = v128.load(a1), a1i = v128.load(a1, 16);
          put(dst, ob, f32x4.add(a0r, a1r), f32x4.add(a0i, a1i), tw, 0);
          put(dst, ob + s, f32x4.sub(a0r, a1r), f32x4.sub(a0i, a1i), tw, t1);
        } else if (r == 4) {
          const a0 = src + (<usize>base << 5), a1 = src + (<usize>(base + sm) << 5);
          const a2 = src + (<usize>(base + 2 * sm) << 5), a3 = src + (<usize>(base + 3 * sm) << 5);
          const a0r = v128.load(a0), a0i = v128.load(a0, 16), a1r = v128.load(a1), a1i = v128.load(a1, 16);
          const a2r = v128.load(a2), a2i = v128.load(a2, 16), a3r = v128.load(a3), a3i = v128.load(a3, 16);
          const t0r = f32x4.add(a0r, a2r), t0i = f32x4.add(a0i, a2i);
          const t1r = f32x4.sub(a0r, a2r), t1i = f32x4.sub(a0i, a2i);
          const t2r = f32x4.add(a1r, a3r), t2i = f32x4.add(a1i, a3i);
          const t3r = f32x4.sub(a1r, a3r), t3i = f32x4.sub(a1i, a3i);
          put(dst, ob, f32x4.add(t0r, t2r), f32x4.add(t0i, t2i), tw, 0);
          put(dst, ob + s, f32x4.add(t1r, t3i), f32x4.sub(t1i, t3r), tw, t1);
          put(dst, ob + 2 * s, f32x4.sub(t0r, t2r), f32x4.sub(t0i, t2i), tw, 2 * t1);
          put(dst, ob + 3 * s, f32x4.sub(t1r, t3i), f32x4.add(t1i, t3r), tw, 3 * t1);
        } else if (r == 3) {
          const a0 = src + (<usize>base << 5);
          const a1 = src + (<usize>(base + sm) << 5);
          const a2 = src + (<usize>(base + 2 * sm) << 5);
          const a0r = v128.load(a0), a0i = v128.load(a0, 16), a1r = v128.load(a1), a1i = v128.load(a1, 16);
          const a2r = v128.load(a2), a2i = v128.load(a2, 16);
          const sr = f32x4.add(a1r, a2r), si = f32x4.add(a1i, a2i);
          const dr = f32x4.sub(a1r, a2r), di = f32x4.sub(a1i, a2i);
          const hr = f32x4.sub(a0r, f32x4.mul(sr, f32x4.splat(0.5)));
          const hi = f32x4.sub(a0i, f32x4.mul(si, f32x4.splat(0.5)));
          const S = f32x4.splat(0.866025403784438647);
          put(dst, ob, f32x4.add(a0r, sr), f32x4.add(a0i, si), tw, 0);
          put(dst, ob + s, f32x4.add(hr, f32x4.mul(S, di)), f32x4.sub(hi, f32x4.mul(S, dr)), tw, t1);
          put(dst, ob + 2 * s, f32x4.sub(hr, f32x4.mul(S, di)), f32x4.add(hi, f32x4.mul(S, dr)), tw, 2 * t1);
        } else if (r == 5) {
          const a0 = src + (<usize>base << 5);
          const a1 = src + (<usize>(base + sm) << 5);
          const a2 = src + (<usize>(base + 2 * sm) << 5);
          const a3 = src + (<usize>(base + 3 * sm) << 5), a4 = src + (<usize>(base + 4 * sm) << 5);
          const a0r = v128.load(a0), a0i = v128.load(a0, 16);
          const a1r = v128.load(a1), a1i = v128.load(a1, 16), a4r = v128.load(a4), a4i = v128.load(a4, 16);
          const a2r = v128.load(a2), a2i = v128.load(a2, 16), a3r = v128.load(a3), a3i = v128.load(a3, 16);
          const s1r = f32x4.add(a1r, a4r);
          const s1i = f32x4.add(a1i, a4i);
          const d1r = f32x4.sub(a1r, a4r);
          const d1i = f32x4.sub(a1i, a4i);
          const s2r = f32x4.add(a2r, a3r);
          const s2i = f32x4.add(a2i, a3i);
          const d2r = f32x4.sub(a2r, a3r);
          const d2i = f32x4.sub(a2i, a3i);
          const C1 = f32x4.splat(0.309016994374947424), C2 = f32x4.splat(-0.809016994374947424);
          const S1 = f32x4.splat(0.951056516295153572), S2 = f32x4.splat(0.587785252292473129);
          const e1r = f32x4.add(a0r, f32x4.add(f32x4.mul(C1, s1r), f32x4.mul(C2, s2r)));
          const e1i = f32x4.add(a0i, f32x4.add(f32x4.mul(C1, s1i), f32x4.mul(C2, s2i)));
          const e2r = f32x4.add(a0r, f32x4.add(f32x4.mul(C2, s1r), f32x4.mul(C1, s2r)));
          const e2i = f32x4.add(a0i, f32x4.add(f32x4.mul(C2, s1i), f32x4.mul(C1, s2i)));
          // o1 = S1 d1 + S2 d2 ; o2 = S2 d1 - S1 d2 ; b = e -+ i o  (-i(x + iy) = y - ix)
          const o1r = f32x4.add(f32x4.mul(S1, d1r), f32x4.mul(S2, d2r));
          const o1i = f32x4.add(f32x4.mul(S1, d1i), f32x4.mul(S2, d2i));
          const o2r = f32x4.sub(f32x4.mul(S2, d1r), f32x4.mul(S1, d2r));
          const o2i = f32x4.sub(f32x4.mul(S2, d1i), f32x4.mul(S1, d2i));
          put(dst, ob, f32x4.add(a0r, f32x4.add(s1r, s2r)), f32x4.add(a0i, f32x4.add(s1i, s2i)), tw, 0);
          put(dst, ob + s, f32x4.add(e1r, o1i), f32x4.sub(e1i, o1r), tw, t1);
          put(dst, ob + 2 * s, f32x4.add(e2r, o2i), f32x4.sub(e2i, o2r), tw, 2 * t1);
          put(dst, ob + 3 * s, f32x4.sub(e2r, o2i), f32x4.add(e2i, o2r), tw, 3 * t1);
          put(dst, ob + 4 * s, f32x4.sub(e1r, o1i), f32x4.add(e1i, o1r), tw, 4 * t1);
        } else {
          // Generic radix r (prime, <= BLUESTEIN_PRIME): b_u = sum_t a_t w_r^{tu}, w_r^j = tw[j * L / r].
          for (let t = 0; t < r; t++) {
            const a = src + (<usize>(base + t * sm) << 5);
            v128.store(scratch + (<usize>t << 5), v128.load(a));
            v128.store(scratch + (<usize>t << 5), v128.load(a, 16), 16);
          }
          const step = L / r;
          for (let u = 0; u < r; u++) {
            let br = v128.load(scratch), bi = v128.load(scratch, 16);
            for (let t = 1; t < r; t++) {
              const j = ((t * u) % r) * step;
              const wr = v128.load32_splat(tw + (<usize>j << 3));
              const wi = v128.load32_splat(tw + (<usize>j << 3) + 4);
              const ar = v128.load(scratch + (<usize>t << 5)), ai = v128.load(scratch + (<usize>t << 5), 16);
              br = f32x4.add(br, cmulRe(ar, ai, wr, wi));
              bi = f32x4.add(bi, cmulIm(ar, ai, wr, wi));
            }
            put(dst, ob + u * s, br, bi, tw, u * t1);
          }
        }
      }
    }
    ncur = m;
    s *= r;
    const t = src; src = dst; dst = t;
  }
  return src;
}

/**
 * Forward complex FFT of 4 lane signals of length n = plan[0]: x (n lane elements) in, result written to
 * out (n lane elements).  ws: cfft_work_size(n) bytes.  out may alias x.
 */
export function cfft4(plan: usize, x: usize, out: usize, ws: usize): void {
  const n = load<i32>(plan);
  const blue = load<i32>(plan, 8);
  const L = load<i32>(plan, 12);
  const A = ws, B = ws + (<usize>L << 5), scratch = ws + (<usize>(2 * L) << 5);
  if (!blue) {
    for (let j = 0; j < n; j++) {
      v128.store(A + (<usize>j << 5), v128.load(x + (<usize>j << 5)));
      v128.store(A + (<usize>j << 5), v128.load(x + (<usize>j << 5), 16), 16);
    }
    const r = stockham(plan, n, A, B, scratch);
    copyOut(r, out, n);
    return;
  }
  const chirp = plan + HDR + (<usize>L << 3);
  const bf = chirp + (<usize>n << 3);
  // a_j = x_j chirp_j, zero-padded to L.
  for (let j = 0; j < L; j++) {
    const d = A + (<usize>j << 5);
    if (j < n) {
      const wr = v128.load32_splat(chirp + (<usize>j << 3)), wi = v128.load32_splat(chirp + (<usize>j << 3) + 4);
      const xr = v128.load(x + (<usize>j << 5)), xi = v128.load(x + (<usize>j << 5), 16);
      v128.store(d, cmulRe(xr, xi, wr, wi)); v128.store(d, cmulIm(xr, xi, wr, wi), 16);
    } else {
      v128.store(d, f32x4.splat(0)); v128.store(d, f32x4.splat(0), 16);
    }
  }
  let r = stockham(plan, L, A, B, scratch);
  // Multiply by the filter's spectrum and conjugate, so a forward pass gives the inverse (up to 1/L).
  for (let j = 0; j < L; j++) {
    const d = r + (<usize>j << 5);
    const wr = v128.load32_splat(bf + (<usize>j << 3)), wi = v128.load32_splat(bf + (<usize>j << 3) + 4);
    const ar = v128.load(d), ai = v128.load(d, 16);
    v128.store(d, cmulRe(ar, ai, wr, wi));
    v128.store(d, f32x4.neg(cmulIm(ar, ai, wr, wi)), 16);
  }
  const other = r == A ? B : A;
  r = stockham(plan, L, r, other, scratch);
  const invL = f32x4.splat(<f32>(1.0 / <f64>L));
  for (let k = 0; k < n; k++) {
    const d = r + (<usize>k << 5);
    const cr = f32x4.mul(v128.load(d), invL), ci = f32x4.neg(f32x4.mul(v128.load(d, 16), invL));
    const wr = v128.load32_splat(chirp + (<usize>k << 3)), wi = v128.load32_splat(chirp + (<usize>k << 3) + 4);
    const o = out + (<usize>k << 5);
    v128.store(o, cmulRe(cr, ci, wr, wi)); v128.store(o, cmulIm(cr, ci, wr, wi), 16);
  }
}

function copyOut(r: usize, out: usize, n: i32): void {
  if (r == out) return;
  for (let j = 0; j < n; j++) {
    v128.store(out + (<usize>j << 5), v128.load(r + (<usize>j << 5)));
    v128.store(out + (<usize>j << 5), v128.load(r + (<usize>j << 5), 16), 16);
  }
}
