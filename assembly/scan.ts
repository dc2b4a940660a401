// Similarity scans for retrieval: one query against N stored rows, then top-k selection.
// Every row's score is one fixed-order dot product (8 lane partials, then a fixed horizontal order), so a
// score does not depend on N, on which block a row falls in, or on the thread that scanned it.
import { hsum } from "./vmath";

/** scores[i] = dot(q, X[i]) for X (N, D) f32, row stride ld floats. */
export function scan_f32(q: usize, X: usize, N: i32, D: i32, ld: i32, scores: usize): void {
  for (let i = 0; i < N; i++) store<f32>(scores + (<usize>i << 2), dotF32(q, X + (<usize>i * ld << 2), D));
}

/** The one f32 dot product every scan uses: 8 lane partials, a fixed horizontal order, then the tail. */
@inline function dotF32(q: usize, px: usize, D: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let d = 0;
  for (; d + 8 <= D; d += 8) {
    const o = <usize>d << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(q + o), v128.load(px + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(q + o, 16), v128.load(px + o, 16)));
  }
  let s = hsum(f32x4.add(a0, a1));
  for (; d < D; d++) s += load<f32>(q + (<usize>d << 2)) * load<f32>(px + (<usize>d << 2));
  return s;
}

/** scores[i] = dot(q, X[i]) as exact i32 for int8 X (N, D), row stride ld bytes. */
export function scan_i8(q: usize, X: usize, N: i32, D: i32, ld: i32, scores: usize): void {
  for (let i = 0; i < N; i++) {
    const px = X + <usize>i * ld;
    store<i32>(scores + (<usize>i << 2), dotI8(q, px, D));
  }
}

// Min-heap of (score, index) ordered so the root is the worst kept item: lower score, or equal score and
// higher index.  Ties therefore keep the lower index, which makes the result independent of scan order.
@inline function worse(sa: f32, ia: i32, sb: f32, ib: i32): bool {
  return sa < sb || (sa == sb && ia > ib);
}

function siftDown(hs: usize, hi: usize, n: i32, i0: i32): void {
  let i = i0;
  while (true) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let c = l;
    const r = l + 1;
    if (r < n && worse(load<f32>(hs + (<usize>r << 2)), load<i32>(hi + (<usize>r << 2)), load<f32>(hs +
        (<usize>l << 2)), load<i32>(hi + (<usize>l << 2)))) c = r;
    const cs = load<f32>(hs + (<usize>c << 2)), ci = load<i32>(hi + (<usize>c << 2));
    const is = load<f32>(hs + (<usize>i << 2)), ii = load<i32>(hi + (<usize>i << 2));
    if (!worse(cs, ci, is, ii)) break;
    store<f32>(hs + (<usize>i << 2), cs); store<i32>(hi + (<usize>i << 2), ci);
    store<f32>(hs + (<usize>c << 2), is); store<i32>(hi + (<usize>c << 2), ii);
    i = c;
  }
}

/**
 * Top-k of scores (N) into outScore/outIndex (k), best first (score desc, index asc on ties).  mask (N bytes,
 * 0 = skip) or 0 for none.  Returns how many were found (< k when fewer rows pass).  NaN scores are skipped.
 */
export function topk_f32(scores: usize, N: i32, k: i32, mask: usize, outScore: usize, outIndex: usize): i32 {
  let n = 0;
  for (let i = 0; i < N; i++) {
    // Once the heap is full only a score above its worst can enter (an equal one has a higher index, NaN never
    // does): skip four at a time while none is.  The kept set and order are the same as one by one.
    while (n == k && i + 4 <= N && !v128.any_true(f32x4.gt(v128.load(scores + (<usize>i << 2)),
        f32x4.splat(load<f32>(outScore))))) i += 4;
    if (i >= N) break;
    if (mask != 0 && load<u8>(mask + i) == 0) continue;
    const s = load<f32>(scores + (<usize>i << 2));
    if (s != s) continue;
    if (n < k) {
      // sift up
      let j = n++;
      store<f32>(outScore + (<usize>j << 2), s); store<i32>(outIndex + (<usize>j << 2), i);
      while (j > 0) {
        const p = (j - 1) >> 1;
        const ps = load<f32>(outScore + (<usize>p << 2)), pi = load<i32>(outIndex + (<usize>p << 2));
        if (!worse(s, i, ps, pi)) break;
        store<f32>(outScore + (<usize>j << 2), ps); store<i32>(outIndex + (<usize>j << 2), pi);
        store<f32>(outScore + (<usize>p << 2), s); store<i32>(outIndex + (<usize>p << 2), i);
        j = p;
      }
    } else if (worse(load<f32>(outScore), load<i32>(outIndex), s, i)) {
      store<f32>(outScore, s); store<i32>(outIndex, i);
      siftDown(outScore, outIndex, n, 0);
    }
  }
  // Heap sort in place: repeatedly move the worst to the end, giving best-first order.
  for (let end = n - 1; end > 0; end--) {
    const s0 = load<f32>(outScore), i0 = load<i32>(outIndex);
    store<f32>(outScore, load<f32>(outScore + (<usize>end << 2)));
    store<i32>(outIndex, load<i32>(outIndex + (<usize>end << 2)));
    store<f32>(outScore + (<usize>end << 2), s0); store<i32>(outIndex + (<usize>end << 2), i0);
    siftDown(outScore, outIndex, end, 0);
  }
  return n;
}

/** scores[j] = dot(q, X[ids[j]]) for a list of n row ids (f32 X, row stride ld floats): graph search batches. */
export function scan_f32_ids(q: usize, X: usize, D: i32, ld: i32, ids: usize, n: i32, scores: usize): void {
  for (let j = 0; j < n; j++) {
    store<f32>(scores + (<usize>j << 2), dotF32(q, X + (<usize>load<i32>(ids + (<usize>j << 2)) * ld << 2), D));
  }
}

/** The seed's cosine normalisation: x / (||x|| + 1e-8) per row (rows, n); returns nothing, writes out. */
export function normalize_seed_f32(x: usize, out: usize, rows: i32, n: i32): void {
  for (let r = 0; r < rows; r++) {
    const px = x + (<usize>r * n << 2), po = out + (<usize>r * n << 2);
    let a = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= n; i += 4) { const v = v128.load(px + (<usize>i << 2)); a = f32x4.add(a, f32x4.mul(v, v)); }
    let s = hsum(a);
    for (; i < n; i++) { const v = load<f32>(px + (<usize>i << 2)); s += v * v; }
    const d: f32 = Mathf.sqrt(s) + <f32>1e-8;
    for (i = 0; i < n; i++) store<f32>(po + (<usize>i << 2), load<f32>(px + (<usize>i << 2)) / d);
  }
}

/**
 * Exact int8 dot product for values in [-127, 127]: products fit in i16 (|p| <= 16129) and so does the sum of
 * two (<= 32258), so one extmul pair, one i16 add and one pairwise widening per 16 bytes.
 */
@inline function dotI8(q: usize, px: usize, D: i32): i32 {
  let acc = i32x4.splat(0);
  let d = 0;
  for (; d + 16 <= D; d += 16) {
    const a = v128.load(q + d), b = v128.load(px + d);
    const p = i16x8.add(i16x8.extmul_low_i8x16_s(a, b), i16x8.extmul_high_i8x16_s(a, b));
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(p));
  }
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) +
      i32x4.extract_lane(acc, 3);
  for (; d < D; d++) s += <i32>load<i8>(q + d) * <i32>load<i8>(px + d);
  return s;
}

/** Sign-extends n int8 values to int16 (a query widened once for scan_i8t_scaled). */
export function widen_i8_i16(src: usize, n: i32, dst: usize): void {
  for (let i = 0; i < n; i++) store<i16>(dst + (<usize>i << 1), <i16>load<i8>(src + i));
}

// int8 rows for the scan live in 4-row tiles: tile t holds rows 4t..4t+3 as (D / 16, 4, 16) bytes, i.e. the
// first 16 bytes of each of the four rows, then the next 16 of each, and so on.  One pass over a tile reads a
// single sequential stream and loads each 16 widened query values once for four rows (28% faster than one
// row-major row per pass at 100,000 x 512, and faster than 2 or 8 rows, where V8 spills).

/** Byte offset of row r's 16-byte chunk c in a tiled int8 store of row length D (a multiple of 16). */
@inline function tileAt(r: i32, c: i32, D: i32): usize {
  return <usize>(r >> 2) * (<usize>D << 2) + (<usize>c << 6) + (<usize>(r & 3) << 4);
}

/**
 * Writes `rows` row-major int8 rows of n values (src, (rows, n)) into rows slot..slot+rows-1 of a tiled store of
 * row length D (multiple of 16, >= n); bytes n..D-1 of each row are zeroed.
 */
export function pack_i8_tiles(src: usize, rows: i32, n: i32, D: i32, dst: usize, slot: i32): void {
  for (let r = 0; r < rows; r++) {
    const ps = src + <usize>r * n;
    for (let c = 0; c < D >> 4; c++) {
      const pd = dst + tileAt(slot + r, c, D);
      const d0 = c << 4;
      if (d0 + 16 <= n) v128.store(pd, v128.load(ps + d0));
      else for (let j = 0; j < 16; j++) store<i8>(pd + j, d0 + j < n ? load<i8>(ps + d0 + j) : 0);
    }
  }
}

/** Reads rows slot..slot+rows-1 of a tiled store (row length D) into row-major (rows, n), n <= D. */
export function unpack_i8_tiles(src: usize, slot: i32, rows: i32, D: i32, n: i32, dst: usize): void {
  for (let r = 0; r < rows; r++) {
    const pd = dst + <usize>r * n;
    for (let d = 0; d < n; d++) store<i8>(pd + d, load<i8>(src + tileAt(slot + r, d >> 4, D) + (d & 15)));
  }
}

/**
 * scores[i] = dot(q, X[i]) (exact i32) * scales[i] for the first N rows of a tiled int8 store X of row length D
 * (a multiple of 16), with the query pre-widened to int16 (q16, D values).  Writes exactly N scores.
 */
export function scan_i8t_scaled(q16: usize, X: usize, N: i32, D: i32, scales: usize, scores: usize): void {
  const qEnd = q16 + (<usize>D << 1);
  for (let i = 0; i < N; i += 4) {
    let pb = X + <usize>i * D;
    let qa = q16;
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    while (qa < qEnd) {
      // load8x8_s loads 8 bytes and sign-extends them in one instruction
      const ql = v128.load(qa), qh = v128.load(qa, 16);
      a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(ql, v128.load8x8_s(pb)), i32x4.dot_i16x8_s(qh, v128.load8x8_s(pb,
          8))));
      a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(ql, v128.load8x8_s(pb, 16)), i32x4.dot_i16x8_s(qh,
          v128.load8x8_s(pb, 24))));
      a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(ql, v128.load8x8_s(pb, 32)), i32x4.dot_i16x8_s(qh,
          v128.load8x8_s(pb, 40))));
      a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(ql, v128.load8x8_s(pb, 48)), i32x4.dot_i16x8_s(qh,
          v128.load8x8_s(pb, 56))));
      qa += 32; pb += 64;
    }
    const o = scores + (<usize>i << 2), sc = scales + (<usize>i << 2);
    store<f32>(o, <f32>hsumi4(a0) * load<f32>(sc));
    // the last tile may be partial: its unused rows are scanned (they are in the tile) but not stored
    if (i + 1 < N) store<f32>(o, <f32>hsumi4(a1) * load<f32>(sc, 4), 4);
    if (i + 2 < N) store<f32>(o, <f32>hsumi4(a2) * load<f32>(sc, 8), 8);
    if (i + 3 < N) store<f32>(o, <f32>hsumi4(a3) * load<f32>(sc, 12), 12);
  }
}

@inline function hsumi4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

