// Row-wise reductions: softmax, log_softmax, layer norm, means and adaptive average pooling.
// Each reduction keeps 4 lane partials in a fixed order plus a scalar tail, so a row's result depends only
// on the row's values and length.
import { vexp, hsum, hmax, sexp, slog } from "./vmath";

@inline function rowMax(p: usize, n: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.max(m, v128.load(p + (<usize>i << 2)));
  let s = hmax(m);
  for (; i < n; i++) s = max(s, load<f32>(p + (<usize>i << 2)));
  return s;
}

/**
 * Softmax over the last axis of x (rows, n), optionally x*scale + mask first (mask: (maskRows, n), row r
 * uses mask row r % maskRows; 0 = no mask).  out may alias x.  A row whose entries are all -inf gives
 * NaN, as torch does.
 */
export function softmax_f32(x: usize, out: usize, rows: i32, n: i32, mask: usize, maskRows: i32, log: i32): void {
  for (let r = 0; r < rows; r++) {
    const px = x + (<usize>r * n << 2);
    const po = out + (<usize>r * n << 2);
    if (mask != 0) {
      const pm = mask + (<usize>(r % maskRows) * n << 2);
      let i = 0;
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(po + o, f32x4.add(v128.load(px + o), v128.load(pm + o)));
      }
      for (; i < n; i++) store<f32>(po + (<usize>i << 2), load<f32>(px + (<usize>i << 2)) + load<f32>(pm +
          (<usize>i << 2)));
      softmaxRow(po, po, n, log);
    } else {
      softmaxRow(px, po, n, log);
    }
  }
}

@inline function softmaxRow(px: usize, po: usize, n: i32, log: i32): void {
  const m = rowMax(px, n);
  const vm = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let i = 0;
  if (log) {
    for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, vexp(f32x4.sub(v128.load(px + (<usize>i << 2)), vm)));
    let s = hsum(acc);
    for (; i < n; i++) s += sexp(load<f32>(px + (<usize>i << 2)) - m);
    // log_softmax = x - max - log(sum)
    const ls = slog(s);
    const vl = f32x4.splat(ls);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(po + o, f32x4.sub(f32x4.sub(v128.load(px + o), vm), vl));
    }
    for (; i < n; i++) store<f32>(po + (<usize>i << 2), (load<f32>(px + (<usize>i << 2)) - m) - ls);
  } else {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const e = vexp(f32x4.sub(v128.load(px + o), vm));
      v128.store(po + o, e);
      acc = f32x4.add(acc, e);
    }
    let s = hsum(acc);
    for (; i < n; i++) {
      const e = sexp(load<f32>(px + (<usize>i << 2)) - m);
      store<f32>(po + (<usize>i << 2), e);
      s += e;
    }
    const inv = f32x4.splat(1 / s);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(po + o, f32x4.mul(v128.load(po + o), inv));
    }
    const is: f32 = 1 / s;
    for (; i < n; i++) store<f32>(po + (<usize>i << 2), load<f32>(po + (<usize>i << 2)) * is);
  }
}

@inline function rowSum(p: usize, n: i32): f32 {
  let a = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) a = f32x4.add(a, v128.load(p + (<usize>i << 2)));
  let s = hsum(a);
  for (; i < n; i++) s += load<f32>(p + (<usize>i << 2));
  return s;
}

/**
 * Layer norm over the last axis: y = (x - mean) / sqrt(var + eps) * w + b, biased variance (two passes).
 * x, out (rows, n); w, b (n) or 0 for no affine.  out may alias x.
 */
export function layernorm_f32(x: usize, out: usize, rows: i32, n: i32, w: usize, b: usize, eps: f32): void {
  for (let r = 0; r < rows; r++) {
    const px = x + (<usize>r * n << 2);
    const po = out + (<usize>r * n << 2);
    const mean = rowSum(px, n) / <f32>n;
    const vm = f32x4.splat(mean);
    let a = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const d = f32x4.sub(v128.load(px + (<usize>i << 2)), vm);
      a = f32x4.add(a, f32x4.mul(d, d));
    }
    let ss = hsum(a);
    for (; i < n; i++) {
      const d = load<f32>(px + (<usize>i << 2)) - mean;
      ss += d * d;
    }
    const rstd: f32 = 1 / Mathf.sqrt(ss / <f32>n + eps);
    const vr = f32x4.splat(rstd);
    i = 0;
    if (w != 0) {
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        const y = f32x4.mul(f32x4.sub(v128.load(px + o), vm), vr);
        v128.store(po + o, f32x4.add(f32x4.mul(y, v128.load(w + o)), v128.load(b + o)));
      }
      for (; i < n; i++) {
        const o = <usize>i << 2;
        store<f32>(po + o, ((load<f32>(px + o) - mean) * rstd) * load<f32>(w + o) + load<f32>(b + o));
      }
    } else {
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(po + o, f32x4.mul(f32x4.sub(v128.load(px + o), vm), vr));
      }
      for (; i < n; i++) {
        const o = <usize>i << 2;
        store<f32>(po + o, (load<f32>(px + o) - mean) * rstd);
      }
    }
  }
}

/** Mean over the middle axis: x (B, T, C) -> out (B, C), summing t in order. */
export function mean_mid_f32(x: usize, out: usize, B: i32, T: i32, C: i32): void {
  for (let b = 0; b < B; b++) {
    const px = x + (<usize>b * T * C << 2);
    const po = out + (<usize>b * C << 2);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      let a = f32x4.splat(0);
      for (let t = 0; t < T; t++) a = f32x4.add(a, v128.load(px + ((<usize>t * C + c) << 2)));
      v128.store(po + (<usize>c << 2), f32x4.div(a, f32x4.splat(<f32>T)));
    }
    for (; c < C; c++) {
      let a: f32 = 0;
      for (let t = 0; t < T; t++) a += load<f32>(px + ((<usize>t * C + c) << 2));
      store<f32>(po + (<usize>c << 2), a / <f32>T);
    }
  }
}

/**
 * Adaptive average pooling over planes of (H, W) to (OH, OW), torch's bins:
 * rows [floor(i*H/OH), ceil((i+1)*H/OH)).  x (P, H, W) -> out (P, OH, OW).  1-D pooling is H = OH = 1.
 */
export function adaptive_avg_pool2d_f32(x: usize, out: usize, P: i32, H: i32, W: i32, OH: i32, OW: i32): void {
  for (let p = 0; p < P; p++) {
    const px = x + (<usize>p * H * W << 2);
    const po = out + (<usize>p * OH * OW << 2);
    for (let i = 0; i < OH; i++) {
      const h0 = <i32>((<i64>i * H) / OH);
      const h1 = <i32>(((<i64>(i + 1) * H) + OH - 1) / OH);
      for (let j = 0; j < OW; j++) {
        const w0 = <i32>((<i64>j * W) / OW);
        const w1 = <i32>(((<i64>(j + 1) * W) + OW - 1) / OW);
        let s: f32 = 0;
        if (w1 - w0 >= 8) {
          // Whole-plane pooling (the seed's AdaptiveAvgPool(1)): 4 lane partials per row, rows in order.
          let a = f32x4.splat(0);
          let tail: f32 = 0;
          for (let h = h0; h < h1; h++) {
            const pr = px + ((<usize>h * W + w0) << 2);
            const n = w1 - w0;
            let k = 0;
            for (; k + 4 <= n; k += 4) a = f32x4.add(a, v128.load(pr + (<usize>k << 2)));
            for (; k < n; k++) tail += load<f32>(pr + (<usize>k << 2));
          }
          s = hsum(a) + tail;
        } else {
          for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += load<f32>(px + ((<usize>h * W + w) << 2));
        }
        store<f32>(po + ((<usize>i * OW + j) << 2), s / <f32>((h1 - h0) * (w1 - w0)));
      }
    }
  }
}

/** Row L2 normalisation as torch's F.normalize: x / max(||x||, eps). (rows, n) */
export function l2_normalize_f32(x: usize, out: usize, rows: i32, n: i32, eps: f32): void {
  for (let r = 0; r < rows; r++) {
    const px = x + (<usize>r * n << 2);
    const po = out + (<usize>r * n << 2);
    let a = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(px + (<usize>i << 2));
      a = f32x4.add(a, f32x4.mul(v, v));
    }
    let s = hsum(a);
    for (; i < n; i++) { const v = load<f32>(px + (<usize>i << 2)); s += v * v; }
    const d = max(Mathf.sqrt(s), eps);
    const vd = f32x4.splat(d);
    i = 0;
    for (; i + 4 <= n; i += 4) v128.store(po + (<usize>i << 2), f32x4.div(v128.load(px + (<usize>i << 2)), vd));
    for (; i < n; i++) store<f32>(po + (<usize>i << 2), load<f32>(px + (<usize>i << 2)) / d);
  }
}
