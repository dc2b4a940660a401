// The register tiles of the f32 GEMM (gemm.ts) and how a tile's block sums reach C.  Each tile keeps two f32x4
// accumulators per row (one 8-column panel) and walks one summation block of K at a time.
import { madd } from "./madd";

export const NR: i32 = 8; // columns per packed panel (two f32x4)
// Rows per register tile and per packed A block: 4 in the exact build, 5 in the relaxed build (see tile5).
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 5 : 4;
export const SB: i32 = 64; // summation block: each run of SB products gets its own accumulator

/** Partial load of up to 8 floats into two vectors. */
@inline export function loadPart(p: usize, c0: i32, nv: i32): v128 {
  let v = f32x4.splat(0);
  if (c0 + 0 < nv) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (c0 + 1 < nv) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (c0 + 2 < nv) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  if (c0 + 3 < nv) v = f32x4.replace_lane(v, 3, load<f32>(p, 12));
  return v;
}

@inline export function storePart(p: usize, v: v128, c0: i32, nv: i32): void {
  if (c0 + 0 < nv) store<f32>(p, f32x4.extract_lane(v, 0));
  if (c0 + 1 < nv) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (c0 + 2 < nv) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  if (c0 + 3 < nv) store<f32>(p, f32x4.extract_lane(v, 3), 12);
}

// Epilogue applied once, after the last K block: bias (per column, per row or none), then activation.
@inline export function epi(v: v128, bcol: v128, brow: f32, act: i32): v128 {
  let r = f32x4.add(f32x4.add(v, bcol), f32x4.splat(brow));
  if (act == 1) r = f32x4.max(r, f32x4.splat(0));
  return r;
}

/** A full 8-column row of a middle summation block: C = block sum, or C + block sum. */
@inline export function accum(cp: usize, a: v128, b: v128, first: bool): void {
  if (first) { v128.store(cp, a); v128.store(cp, b, 16); }
  else { v128.store(cp, f32x4.add(v128.load(cp), a)); v128.store(cp, f32x4.add(v128.load(cp, 16), b), 16); }
}

/** Adds (bias per column, per row) and applies act, for the last K block only. */
@inline export function tileStore(
  cp: usize, c0v: v128, c1v: v128, nv: i32, first: bool, last: bool,
  bias: usize, biasMode: i32, col0: i32, row: i32, act: i32
): void {
  let a = c0v, b = c1v;
  if (!first) {
    if (nv == NR) { a = f32x4.add(v128.load(cp), a); b = f32x4.add(v128.load(cp, 16), b); }
    else { a = f32x4.add(loadPart(cp, 0, nv), a); b = f32x4.add(loadPart(cp + 16, 4, nv), b); }
  }
  if (last) {
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0);
    let br: f32 = 0;
    if (biasMode == 1) {
      const bp = bias + (<usize>col0 << 2);
      if (nv == NR) { b0 = v128.load(bp); b1 = v128.load(bp, 16); }
      else { b0 = loadPart(bp, 0, nv); b1 = loadPart(bp + 16, 4, nv); }
    } else if (biasMode == 2) {
      br = load<f32>(bias + (<usize>row << 2));
    }
    // (0 + bias) keeps "sum, then + bias" as torch's addmm does; adding +0.0 changes no finite value.
    a = epi(a, b0, br, act);
    b = epi(b, b1, br, act);
  }
  if (nv == NR) { v128.store(cp, a); v128.store(cp, b, 16); }
  else { storePart(cp, a, 0, nv); storePart(cp + 16, b, 4, nv); }
}


/** Rows m..m+3 x panel p of C over K range [k0, k1), from the packed 4-row block of A. */
@inline export function tile4(
  m: i32, p: i32, N: i32, K: i32, k0: i32, k1: i32, Ap: usize, Bp: usize, C: usize, ldc: i32,
  bias: usize, biasMode: i32, act: i32
): void {
  const col0 = p * NR;
  const nv = min(NR, N - col0);
  const cp0 = C + ((<usize>m * ldc + col0) << 2);
  const lc = <usize>ldc << 2;
  const cp1 = cp0 + lc, cp2 = cp1 + lc, cp3 = cp2 + lc;
  let pa = Ap + ((<usize>(m / MR) * K + k0) * MR << 2);
  let pb = Bp + ((<usize>p * K + k0) * NR << 2);
  for (let ks = k0; ks < k1; ks += SB) {
    const ke = min(k1, ks + SB);
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
    let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
    let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    const paEnd = pa + (<usize>(ke - ks) << 4); // the A pointer doubles as the loop counter
    while (pa < paEnd) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      let a = v128.load32_splat(pa);
      c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
      a = v128.load32_splat(pa, 4);
      c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
      a = v128.load32_splat(pa, 8);
      c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
      a = v128.load32_splat(pa, 12);
      c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
      pa += 16; pb += NR << 2;
    }
    const f = ks == 0, l = ke == K;
    if (nv == NR && !l) {
      accum(cp0, c00, c01, f); accum(cp1, c10, c11, f); accum(cp2, c20, c21, f); accum(cp3, c30, c31, f);
    } else {
      tileStore(cp0, c00, c01, nv, f, l, bias, biasMode, col0, m, act);
      tileStore(cp1, c10, c11, nv, f, l, bias, biasMode, col0, m + 1, act);
      tileStore(cp2, c20, c21, nv, f, l, bias, biasMode, col0, m + 2, act);
      tileStore(cp3, c30, c31, nv, f, l, bias, biasMode, col0, m + 3, act);
    }
  }
}

/**
 * Rows m..m+4 x panel p: the relaxed build's tile.  A fused multiply-add's latency (4-5 cycles) times two per cycle
 * needs about ten independent chains, and four rows give only eight (measured: no faster than mul+add).  Rows 0-3 of
 * A come as one vector split by shuffles: V8 issues a step's loads before its arithmetic, and five broadcast loads
 * plus ten accumulators and two B vectors overflow its 15 vector registers (two accumulators spilled: half speed).
 */
@inline export function tile5(
  m: i32, p: i32, N: i32, K: i32, k0: i32, k1: i32, Ap: usize, Bp: usize, C: usize, ldc: i32,
  bias: usize, biasMode: i32, act: i32
): void {
  const col0 = p * NR;
  const nv = min(NR, N - col0);
  const cp0 = C + ((<usize>m * ldc + col0) << 2);
  const lc = <usize>ldc << 2;
  const cp1 = cp0 + lc, cp2 = cp1 + lc, cp3 = cp2 + lc, cp4 = cp3 + lc;
  let pa = Ap + ((<usize>(m / MR) * K + k0) * MR << 2);
  let pb = Bp + ((<usize>p * K + k0) * NR << 2);
  for (let ks = k0; ks < k1; ks += SB) {
    const ke = min(k1, ks + SB);
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
    let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
    let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
    const paEnd = pa + <usize>(ke - ks) * 20;
    while (pa < paEnd) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      const a4 = v128.load(pa);
      let a = v128.shuffle<f32>(a4, a4, 0, 0, 0, 0);
      c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
      a = v128.shuffle<f32>(a4, a4, 1, 1, 1, 1);
      c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
      a = v128.shuffle<f32>(a4, a4, 2, 2, 2, 2);
      c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
      a = v128.shuffle<f32>(a4, a4, 3, 3, 3, 3);
      c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
      a = v128.load32_splat(pa, 16);
      c40 = madd(a, b0, c40); c41 = madd(a, b1, c41);
      pa += 20; pb += NR << 2;
    }
    const f = ks == 0, l = ke == K;
    if (nv == NR && !l) {
      accum(cp0, c00, c01, f); accum(cp1, c10, c11, f); accum(cp2, c20, c21, f);
      accum(cp3, c30, c31, f); accum(cp4, c40, c41, f);
    } else {
      tileStore(cp0, c00, c01, nv, f, l, bias, biasMode, col0, m, act);
      tileStore(cp1, c10, c11, nv, f, l, bias, biasMode, col0, m + 1, act);
      tileStore(cp2, c20, c21, nv, f, l, bias, biasMode, col0, m + 2, act);
      tileStore(cp3, c30, c31, nv, f, l, bias, biasMode, col0, m + 3, act);
      tileStore(cp4, c40, c41, nv, f, l, bias, biasMode, col0, m + 4, act);
    }
  }
}

