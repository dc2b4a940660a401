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
    if (r < n && worse(load<f32>(hs + (<usize>r << 2)), load<i32>(hi + (<usize>r << 2)), load<f32>(hs + (<usize>l << 2)), load<i32>(hi + (<usize>l << 2)))) c = r;
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
    while (n == k && i + 4 <= N && !v128.any_true(f32x4.gt(v128.load(scores + (<usize>i << 2)), f32x4.splat(load<f32>(outScore))))) i += 4;
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
    store<f32>(outScore, load<f32>(outScore + (<usize>end << 2))); store<i32>(outIndex, load<i32>(outIndex + (<usize>end << 2)));
    store<f32>(outScore + (<usize>end << 2), s0); store<i32>(outIndex + (<usize>end << 2), i0);
    siftDown(outScore, outIndex, end, 0);
  }
  return n;
}

/** scores[i] = dot(q, X[i]) (exact i32) * scales[i] for int8 X (N, D), row stride ld bytes. */
export function scan_i8_scaled(q: usize, X: usize, N: i32, D: i32, ld: i32, scales: usize, scores: usize): void {
  for (let i = 0; i < N; i++) {
    const px = X + <usize>i * ld;
    const s = dotI8(q, px, D);
    store<f32>(scores + (<usize>i << 2), <f32>s * load<f32>(scales + (<usize>i << 2)));
  }
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
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; d < D; d++) s += <i32>load<i8>(q + d) * <i32>load<i8>(px + d);
  return s;
}

/** Sign-extends n int8 values to int16 (a query widened once for scan_i8w_scaled). */
export function widen_i8_i16(src: usize, n: i32, dst: usize): void {
  for (let i = 0; i < n; i++) store<i16>(dst + (<usize>i << 1), <i16>load<i8>(src + i));
}

/**
 * scan_i8_scaled with the query pre-widened to int16 (q16, D values; D a multiple of 16): per 16 stored bytes,
 * one load, two sign extensions and two i16 dot products against the widened query.  Same exact i32 sums.
 */
export function scan_i8w_scaled(q16: usize, X: usize, N: i32, D: i32, ld: i32, scales: usize, scores: usize): void {
  // One row per pass: unrolling across rows makes V8 hoist every load and spill (measured slower).  Within a row,
  // 32 bytes per iteration with pointer bounds: 5-15% faster than 16 with an index (less loop arithmetic).
  const qEnd32 = q16 + (<usize>(D & ~31) << 1);
  for (let i = 0; i < N; i++) {
    let pb = X + <usize>i * ld;
    let qa = q16;
    let a = i32x4.splat(0), c = i32x4.splat(0);
    while (qa < qEnd32) {
      // load8x8_s loads 8 bytes and sign-extends them in one instruction (no high-half shuffle)
      a = i32x4.add(a, i32x4.dot_i16x8_s(v128.load(qa), v128.load8x8_s(pb)));
      c = i32x4.add(c, i32x4.dot_i16x8_s(v128.load(qa, 16), v128.load8x8_s(pb, 8)));
      a = i32x4.add(a, i32x4.dot_i16x8_s(v128.load(qa, 32), v128.load8x8_s(pb, 16)));
      c = i32x4.add(c, i32x4.dot_i16x8_s(v128.load(qa, 48), v128.load8x8_s(pb, 24)));
      qa += 64; pb += 32;
    }
    if (D & 16) {
      a = i32x4.add(a, i32x4.dot_i16x8_s(v128.load(qa), v128.load8x8_s(pb)));
      c = i32x4.add(c, i32x4.dot_i16x8_s(v128.load(qa, 16), v128.load8x8_s(pb, 8)));
    }
    store<f32>(scores + (<usize>i << 2), <f32>hsumi4(i32x4.add(a, c)) * load<f32>(scales + (<usize>i << 2)));
  }
}

@inline function hsumi4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

