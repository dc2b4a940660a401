// f32 GEMM over packed B panels.
//
// Every output element is a two-level sum: K is cut into blocks of SB; each block is summed in its own
// accumulator (acc = 0; acc = madd(a[k], b[k], acc): mul then add in the exact build, one fused multiply-add in
// the relaxed build, assembly/madd.ts) and the block sums are added to C in block order, then + bias.  The order
// depends only on K, never on M, N, the tile a row falls in or the thread count, so a row of a batch gives the same
// bits as the same row alone (batch invariance) and Node and browsers agree.  The blocks also bound f32 rounding
// error by about SB + K/SB additions instead of K (K = 768: 76 instead of 768), which keeps a 768-term product
// within 1e-5 of the float64 result (4.5e-6 measured).

import { madd } from "./madd";
import { NR, MR, SB, accum, tileStore, tile4, tile5 } from "./gemm-tile";

export { NR, MR };

const KC: i32 = 256; // cache block of K: a 4xKC slice of A and a KCx8 panel stay in L1
const NCP: i32 = 16; // panels per column chunk: 16 * KC * 8 floats = 128 KiB of B stay in L2
const SMALL_M: i32 = 256; // below this many rows B is walked panel-contiguous (see sgemm_packed)
const SMALL_CHUNK: i32 = 256 * 1024; // bytes of B per chunk then

/** Floats needed to pack a K x N operand. */
export function sgemm_packed_size(K: i32, N: i32): i32 {
  return ((N + NR - 1) / NR) * K * NR;
}

/**
 * Pack B(k, n) = src[k*rs + n*cs] (K x N) into panels of 8 columns:
 * dst[(p*K + k)*8 + c] = B(k, p*8 + c), zero beyond N.
 * nn.Linear's weight W (N x K) is B = W^T: rs = 1, cs = ldw.  A plain K x N matrix: rs = ldb, cs = 1.
 */
export function sgemm_pack_b(src: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void {
  const np = (N + NR - 1) / NR;
  for (let p = 0; p < np; p++) {
    const n0 = p * NR;
    const nv = min(NR, N - n0);
    const panel = dst + (<usize>p * <usize>K * NR << 2);
    if (cs == 1 && nv == NR) {
      for (let k = 0; k < K; k++) {
        const s = src + ((<usize>k * rs + n0) << 2);
        const d = panel + (<usize>k * NR << 2);
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
      }
    } else {
      for (let c = 0; c < NR; c++) {
        if (c < nv) {
          const s = src + (<usize>(n0 + c) * cs << 2);
          for (let k = 0; k < K; k++) {
            store<f32>(panel + ((<usize>k * NR + c) << 2), load<f32>(s + (<usize>k * rs << 2)));
          }
        } else {
          for (let k = 0; k < K; k++) store<f32>(panel + ((<usize>k * NR + c) << 2), 0);
        }
      }
    }
  }
}


/** Floats sgemm_pack_a writes for an M x K operand (whole MR-row blocks only). */
export function sgemm_packed_a_size(M: i32, K: i32): i32 {
  return (M / MR) * K * MR;
}

/** Pack the whole MR-row blocks of A (m, k) = src[m*lda + k] as dst[((m/MR)*K + k)*MR + m%MR]. */
export function sgemm_pack_a(src: usize, lda: i32, M: i32, K: i32, dst: usize): void {
  if (MR != 4) {
    packRows(src, lda, M, K, dst);
    return;
  }
  for (let mb = 0; mb + 4 <= M; mb += 4) {
    const r0 = src + (<usize>mb * lda << 2), lr = <usize>lda << 2;
    const d = dst + (<usize>(mb >> 2) * K << 4);
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      // 4x4 transpose of rows r0..r3 at columns k..k+3
      const o = <usize>k << 2;
      const x0 = v128.load(r0 + o);
      const x1 = v128.load(r0 + lr + o);
      const x2 = v128.load(r0 + 2 * lr + o);
      const x3 = v128.load(r0 + 3 * lr + o);
      const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
      const dk = d + (<usize>k << 4);
      v128.store(dk, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
      v128.store(dk, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
      v128.store(dk, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
      v128.store(dk, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
    }
    for (; k < K; k++) {
      for (let r = 0; r < 4; r++) store<f32>(d + ((<usize>k * 4 + r) << 2), load<f32>(r0 + (<usize>r * lr) +
          (<usize>k << 2)));
    }
  }
}

/** sgemm_pack_a for a tile height other than 4: each k's MR values gathered from their rows. */
function packRows(src: usize, lda: i32, M: i32, K: i32, dst: usize): void {
  const lr = <usize>lda << 2;
  for (let mb = 0; mb + MR <= M; mb += MR) {
    const r0 = src + <usize>mb * lr;
    let d = dst + (<usize>(mb / MR) * K * MR << 2);
    for (let k = 0; k < K; k++) {
      const o = <usize>k << 2;
      for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), load<f32>(r0 + <usize>r * lr + o));
      d += <usize>MR << 2;
    }
  }
}

/**
 * C(M x N) = A(M x K) * B(K x N) [+ bias] [relu], B packed by sgemm_pack_b, the whole MR-row blocks of A
 * packed by sgemm_pack_a into Ap (the last M % MR rows are read from A directly).
 * A(m, k) = A[m*lda + k]; C(m, n) = C[m*ldc + n].
 * biasMode: 0 none, 1 bias[n] (nn.Linear), 2 bias[m] (convolution as W x cols). act: 0 none, 1 relu.
 */
export function sgemm_packed(
  M: i32, N: i32, K: i32, A: usize, lda: i32, Ap: usize, Bp: usize, C: usize, ldc: i32,
  bias: usize, biasMode: i32, act: i32
): void {
  const np = (N + NR - 1) / NR;
  // Few rows (a short text, a ViT-B/32's 50 tokens, a recurrence) reuse each B panel only M / 4 times, so reading B
  // dominates: walk all of K per panel, in chunks of whole consecutive panels (one contiguous run of memory, about
  // 256 KiB, kept in L2 for the row tiles).  Same per-element sums either way.
  const small = M < SMALL_M;
  const kc = small ? K : KC;
  const ncp = small ? max(1, SMALL_CHUNK / (K * NR * 4)) : NCP;
  for (let k0 = 0; k0 < K; k0 += kc) {
    const k1 = min(K, k0 + kc);
    for (let p0 = 0; p0 < np; p0 += ncp) {
      const p1 = min(np, p0 + ncp);
      let m = 0;
      for (; m + MR <= M; m += MR) {
        for (let p = p0; p < p1; p++) {
          if (MR == 5) tile5(m, p, N, K, k0, k1, Ap, Bp, C, ldc, bias, biasMode, act);
          else tile4(m, p, N, K, k0, k1, Ap, Bp, C, ldc, bias, biasMode, act);
        }
      }
      // Two leftover rows at a time (one broadcast of each B row feeds both), then a last single row: each element
      // is still summed exactly as in a full tile, so the tile a row falls in changes no bit.
      for (; m + 2 <= M; m += 2) {
        const a0 = A + ((<usize>m * lda + k0) << 2), a1 = a0 + (<usize>lda << 2);
        for (let p = p0; p < p1; p++) {
          const col0 = p * NR;
          const nv = min(NR, N - col0);
          const cp0 = C + ((<usize>m * ldc + col0) << 2), cp1 = cp0 + (<usize>ldc << 2);
          let pa0 = a0, pa1 = a1;
          let pb = Bp + ((<usize>p * K + k0) * NR << 2);
          for (let ks = k0; ks < k1; ks += SB) {
          const ke = min(k1, ks + SB);
          let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
          for (let k = ks; k < ke; k++) {
            const b0 = v128.load(pb), b1 = v128.load(pb, 16);
            let a = v128.load32_splat(pa0);
            c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
            a = v128.load32_splat(pa1);
            c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
            pa0 += 4; pa1 += 4; pb += NR << 2;
          }
          if (nv == NR && ke != K) { accum(cp0, c00, c01, ks == 0); accum(cp1, c10, c11, ks == 0); }
          else {
            tileStore(cp0, c00, c01, nv, ks == 0, ke == K, bias, biasMode, col0, m, act);
            tileStore(cp1, c10, c11, nv, ks == 0, ke == K, bias, biasMode, col0, m + 1, act);
          }
          }
        }
      }
      for (; m < M; m++) {
        const a0 = A + ((<usize>m * lda + k0) << 2);
        for (let p = p0; p < p1; p++) {
          const col0 = p * NR;
          const nv = min(NR, N - col0);
          const cp0 = C + ((<usize>m * ldc + col0) << 2);
          let pa0 = a0;
          let pb = Bp + ((<usize>p * K + k0) * NR << 2);
          for (let ks = k0; ks < k1; ks += SB) {
          const ke = min(k1, ks + SB);
          let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
          for (let k = ks; k < ke; k++) {
            const a = v128.load32_splat(pa0);
            c00 = madd(a, v128.load(pb), c00);
            c01 = madd(a, v128.load(pb, 16), c01);
            pa0 += 4; pb += NR << 2;
          }
          if (nv == NR && ke != K) accum(cp0, c00, c01, ks == 0);
          else tileStore(cp0, c00, c01, nv, ks == 0, ke == K, bias, biasMode, col0, m, act);
          }
        }
      }
    }
  }
}

/**
 * One row: C (N) = a (K) x packed B [+ bias], the same summation as sgemm_packed's rows (SB blocks added in
 * order, bias last), so the bits are identical.  reverse = 1 walks the panels from the last to the first: a
 * recurrence that multiplies by the same ~L2-sized matrix every step alternates the direction, so the panels it
 * touched last are still cached when the next step starts with them.
 */
export function sgemv_packed(
  N: i32, K: i32, a: usize, Bp: usize, C: usize, bias: usize, biasMode: i32, reverse: i32
): void {
  const np = (N + NR - 1) / NR;
  const full = N / NR; // panels with 8 valid columns
  const ps = <usize>K * NR << 2; // bytes between panels
  let i = 0;
  // Three full panels per pass: six independent accumulator chains hide more of the add latency that bounds a
  // one-row product (5-8% faster than two; four spill under V8).  Each column still sums in k order.
  for (; i + 3 <= full; i += 3) {
    const p = reverse ? full - 3 - i : i;
    const col0 = p * NR;
    const cp = C + (<usize>col0 << 2);
    let pb = Bp + (<usize>p * K * NR << 2);
    let pa = a;
    for (let ks = 0; ks < K; ks += SB) {
      const ke = min(K, ks + SB);
      let c0 = f32x4.splat(0);
      let c1 = f32x4.splat(0);
      let c2 = f32x4.splat(0);
      let c3 = f32x4.splat(0);
      let c4 = f32x4.splat(0);
      let c5 = f32x4.splat(0);
      const paEnd = pa + (<usize>(ke - ks) << 2);
      let pc = pb + ps, pd = pb + 2 * ps;
      while (pa < paEnd) {
        const av = v128.load32_splat(pa);
        c0 = madd(av, v128.load(pb), c0);
        c1 = madd(av, v128.load(pb, 16), c1);
        c2 = madd(av, v128.load(pc), c2);
        c3 = madd(av, v128.load(pc, 16), c3);
        c4 = madd(av, v128.load(pd), c4);
        c5 = madd(av, v128.load(pd, 16), c5);
        pa += 4; pb += NR << 2; pc += NR << 2; pd += NR << 2;
      }
      if (ke != K) { accum(cp, c0, c1, ks == 0); accum(cp + 32, c2, c3, ks == 0); accum(cp + 64, c4, c5, ks == 0); }
      else {
        tileStore(cp, c0, c1, NR, ks == 0, true, bias, biasMode, col0, 0, 0);
        tileStore(cp + 32, c2, c3, NR, ks == 0, true, bias, biasMode, col0 + NR, 0, 0);
        tileStore(cp + 64, c4, c5, NR, ks == 0, true, bias, biasMode, col0 + 2 * NR, 0, 0);
      }
    }
  }
  // Two full panels per pass: one broadcast of a feeds four multiply-adds (the loop's fixed cost halves).
  for (; i + 2 <= full; i += 2) {
    const p = reverse ? full - 2 - i : i;
    const col0 = p * NR;
    const cp = C + (<usize>col0 << 2);
    let pb = Bp + (<usize>p * K * NR << 2);
    let pa = a;
    for (let ks = 0; ks < K; ks += SB) {
      const ke = min(K, ks + SB);
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      const paEnd = pa + (<usize>(ke - ks) << 2);
      while (pa < paEnd) {
        const av = v128.load32_splat(pa);
        c0 = madd(av, v128.load(pb), c0);
        c1 = madd(av, v128.load(pb, 16), c1);
        c2 = madd(av, v128.load(pb + ps), c2);
        c3 = madd(av, v128.load(pb + ps, 16), c3);
        pa += 4; pb += NR << 2;
      }
      if (ke != K) { accum(cp, c0, c1, ks == 0); accum(cp + 32, c2, c3, ks == 0); }
      else {
        tileStore(cp, c0, c1, NR, ks == 0, true, bias, biasMode, col0, 0, 0);
        tileStore(cp + 32, c2, c3, NR, ks == 0, true, bias, biasMode, col0 + NR, 0, 0);
      }
    }
  }
  // The panels no triple or pair covered, one at a time: forward passes covered [0, i), reverse [full - i, full).
  if (!reverse) {
    for (let p = i; p < np; p++) sgemvPanel(p, N, K, a, Bp, C, bias, biasMode);
  } else {
    for (let p = full - i - 1; p >= 0; p--) sgemvPanel(p, N, K, a, Bp, C, bias, biasMode);
    for (let p = np - 1; p >= full; p--) sgemvPanel(p, N, K, a, Bp, C, bias, biasMode);
  }
}

function sgemvPanel(p: i32, N: i32, K: i32, a: usize, Bp: usize, C: usize, bias: usize, biasMode: i32): void {
  const col0 = p * NR;
  const nv = min(NR, N - col0);
  const cp = C + (<usize>col0 << 2);
  let pb = Bp + (<usize>p * K * NR << 2);
  let pa = a;
  for (let ks = 0; ks < K; ks += SB) {
    const ke = min(K, ks + SB);
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
    for (let k = ks; k < ke; k++) {
      const av = v128.load32_splat(pa);
      c0 = madd(av, v128.load(pb), c0);
      c1 = madd(av, v128.load(pb, 16), c1);
      pa += 4; pb += NR << 2;
    }
    if (nv == NR && ke != K) accum(cp, c0, c1, ks == 0);
    else tileStore(cp, c0, c1, nv, ks == 0, ke == K, bias, biasMode, col0, 0, 0);
  }
}
