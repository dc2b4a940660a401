// STFT power spectra and mel spectrograms, 4 frames per pass (see fft.ts for the lane layout).
// A real frame of even length N is transformed as a complex signal of N/2 points (even samples real, odd
// imaginary) and split afterwards; odd N goes through a full complex transform with zero imaginary part.
//
// Real plan: [0] nfft  [4] half 0/1  [8] byte offset of the complex plan  [12] complex length
//            [16] split twiddles (cos, -sin)(2 pi k / nfft), k <= nfft/2 (half only)
import { cfft_plan_size, cfft_work_size, cfft_plan_init, cfft4 } from "./fft";

@inline function cplanOffset(nfft: i32): i32 {
  const h = nfft / 2;
  return (16 + 8 * (h + 1) + 15) & ~15;
}
@inline function clen(nfft: i32): i32 { return (nfft & 1) == 0 ? nfft / 2 : nfft; }

export function rfft_plan_size(nfft: i32): i32 { return cplanOffset(nfft) + cfft_plan_size(clen(nfft)); }

/** Work bytes: complex FFT work + one lane input/output array + lane spectrum of nfft/2 + 1 bins. */
export function rfft_work_size(nfft: i32): i32 {
  const L = clen(nfft);
  return cfft_work_size(L) + 32 * L + 32 * (nfft / 2 + 1) + 64;
}

export function rfft_plan_init(nfft: i32, plan: usize, ws: usize): void {
  const half = (nfft & 1) == 0 ? 1 : 0;
  store<i32>(plan, nfft);
  store<i32>(plan, half, 4);
  store<i32>(plan, cplanOffset(nfft), 8);
  store<i32>(plan, clen(nfft), 12);
  if (half) {
    const h = nfft / 2;
    for (let k = 0; k <= h; k++) {
      const a = 2.0 * Math.PI * <f64>k / <f64>nfft;
      store<f32>(plan + 16 + (<usize>k << 3), <f32>Math.cos(a));
      store<f32>(plan + 16 + (<usize>k << 3), <f32>(-Math.sin(a)), 4);
    }
  }
  cfft_plan_init(clen(nfft), plan + <usize>cplanOffset(nfft), ws);
}

/**
 * Spectrum of 4 frames: frame l (l < nfr; missing lanes repeat the last frame) starts at
 * x + (t0 + l) * hop floats and is multiplied by window (nfft).  Writes nfft/2 + 1 lane bins
 * (re, im pairs of f32x4, 32 bytes each) and returns their address inside ws.
 */
function spectrum4(plan: usize, x: usize, t0: i32, nfr: i32, hop: i32, window: usize, ws: usize): usize {
  const nfft = load<i32>(plan);
  const half = load<i32>(plan, 4);
  const cplan = plan + <usize>load<i32>(plan, 8);
  const L = load<i32>(plan, 12);
  const cw = ws;
  const buf = ws + <usize>cfft_work_size(L);
  const spec = buf + (<usize>L << 5);
  const f0 = x + (<usize>t0 * hop << 2);
  const f1 = x + (<usize>(t0 + min(1, nfr - 1)) * hop << 2);
  const f2 = x + (<usize>(t0 + min(2, nfr - 1)) * hop << 2);
  const f3 = x + (<usize>(t0 + min(3, nfr - 1)) * hop << 2);
  if (half) {
    // z_j = x[2j] + i x[2j+1]: a 4x4 transpose of (re_j, im_j, re_j+1, im_j+1) rows of the 4 frames.
    let j = 0;
    for (; j + 2 <= L; j += 2) {
      const o = <usize>(2 * j) << 2;
      const w = v128.load(window + o);
      const r0 = f32x4.mul(v128.load(f0 + o), w), r1 = f32x4.mul(v128.load(f1 + o), w);
      const r2 = f32x4.mul(v128.load(f2 + o), w), r3 = f32x4.mul(v128.load(f3 + o), w);
      const t0v = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1v = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      const t2v = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3v = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const d = buf + (<usize>j << 5);
      v128.store(d, v128.shuffle<f32>(t0v, t1v, 0, 1, 4, 5));
      v128.store(d, v128.shuffle<f32>(t0v, t1v, 2, 3, 6, 7), 16);
      v128.store(d, v128.shuffle<f32>(t2v, t3v, 0, 1, 4, 5), 32);
      v128.store(d, v128.shuffle<f32>(t2v, t3v, 2, 3, 6, 7), 48);
    }
    for (; j < L; j++) {
      const o = <usize>(2 * j) << 2;
      const wr = load<f32>(window + o), wi = load<f32>(window + o, 4);
      let re = f32x4.splat(load<f32>(f0 + o) * wr), im = f32x4.splat(load<f32>(f0 + o, 4) * wi);
      re = f32x4.replace_lane(re, 1, load<f32>(f1 + o) * wr); im = f32x4.replace_lane(im, 1, load<f32>(f1 + o, 4) * wi);
      re = f32x4.replace_lane(re, 2, load<f32>(f2 + o) * wr); im = f32x4.replace_lane(im, 2, load<f32>(f2 + o, 4) * wi);
      re = f32x4.replace_lane(re, 3, load<f32>(f3 + o) * wr); im = f32x4.replace_lane(im, 3, load<f32>(f3 + o, 4) * wi);
      v128.store(buf + (<usize>j << 5), re);
      v128.store(buf + (<usize>j << 5), im, 16);
    }
    cfft4(cplan, buf, buf, cw);
    // Split: X_k = E_k + W_k O_k, E = (Z_k + conj Z_{h-k}) / 2, O = -i (Z_k - conj Z_{h-k}) / 2.
    const h = L;
    const half4 = f32x4.splat(0.5);
    for (let k = 0; k <= h; k++) {
      const a = buf + (<usize>(k % h) << 5), b = buf + (<usize>((h - k) % h) << 5);
      const ar = v128.load(a), ai = v128.load(a, 16), br = v128.load(b), bi = v128.load(b, 16);
      const er = f32x4.mul(f32x4.add(ar, br), half4), ei = f32x4.mul(f32x4.sub(ai, bi), half4);
      const dr = f32x4.mul(f32x4.sub(ar, br), half4), di = f32x4.mul(f32x4.add(ai, bi), half4);
      // O = -i D = (di, -dr)
      const or_ = di, oi = f32x4.neg(dr);
      const wr = v128.load32_splat(plan + 16 + (<usize>k << 3)), wi = v128.load32_splat(plan + 20 + (<usize>k << 3));
      const d = spec + (<usize>k << 5);
      v128.store(d, f32x4.add(er, f32x4.sub(f32x4.mul(wr, or_), f32x4.mul(wi, oi))));
      v128.store(d, f32x4.add(ei, f32x4.add(f32x4.mul(wr, oi), f32x4.mul(wi, or_))), 16);
    }
  } else {
    for (let j = 0; j < nfft; j++) {
      const o = <usize>j << 2;
      const w = load<f32>(window + o);
      let re = f32x4.splat(load<f32>(f0 + o) * w);
      re = f32x4.replace_lane(re, 1, load<f32>(f1 + o) * w);
      re = f32x4.replace_lane(re, 2, load<f32>(f2 + o) * w);
      re = f32x4.replace_lane(re, 3, load<f32>(f3 + o) * w);
      v128.store(buf + (<usize>j << 5), re);
      v128.store(buf + (<usize>j << 5), f32x4.splat(0), 16);
    }
    cfft4(cplan, buf, buf, cw);
    for (let k = 0; k <= nfft / 2; k++) {
      v128.store(spec + (<usize>k << 5), v128.load(buf + (<usize>k << 5)));
      v128.store(spec + (<usize>k << 5), v128.load(buf + (<usize>k << 5), 16), 16);
    }
  }
  return spec;
}

@inline function mag(re: v128, im: v128, power: i32): v128 {
  const p = f32x4.add(f32x4.mul(re, re), f32x4.mul(im, im));
  return power == 2 ? p : f32x4.sqrt(p);
}

@inline function storeLanes(p: usize, v: v128, nfr: i32): void {
  if (nfr == 4) { v128.store(p, v); return; }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (nfr > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (nfr > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * Complex STFT: x (padded signal, frames t = 0..T-1 start at t*hop), window (nfft) ->
 * out (nfft/2+1, T, 2) as torch.view_as_real(torch.stft(..., return_complex=True)).
 */
export function stft_complex_f32(plan: usize, x: usize, T: i32, hop: i32, window: usize, ws: usize, out: usize): void {
  const nb = load<i32>(plan) / 2 + 1;
  for (let t0 = 0; t0 < T; t0 += 4) {
    const nfr = min(4, T - t0);
    const spec = spectrum4(plan, x, t0, nfr, hop, window, ws);
    for (let k = 0; k < nb; k++) {
      const re = v128.load(spec + (<usize>k << 5)), im = v128.load(spec + (<usize>k << 5), 16);
      for (let l = 0; l < nfr; l++) {
        const o = out + ((<usize>k * T + t0 + l) << 3);
        const r = l == 0 ? f32x4.extract_lane(re, 0) : l == 1 ? f32x4.extract_lane(re,
            1) : l == 2 ? f32x4.extract_lane(re, 2) : f32x4.extract_lane(re, 3);
        const i = l == 0 ? f32x4.extract_lane(im, 0) : l == 1 ? f32x4.extract_lane(im,
            1) : l == 2 ? f32x4.extract_lane(im, 2) : f32x4.extract_lane(im, 3);
        store<f32>(o, r);
        store<f32>(o, i, 4);
      }
    }
  }
}

/** Magnitude (power 1) or power (2) spectrogram: out (nfft/2+1, T). */
export function spectrogram_f32(
  plan: usize, x: usize, T: i32, hop: i32, window: usize, ws: usize, out: usize, power: i32
): void {
  const nb = load<i32>(plan) / 2 + 1;
  for (let t0 = 0; t0 < T; t0 += 4) {
    const nfr = min(4, T - t0);
    const spec = spectrum4(plan, x, t0, nfr, hop, window, ws);
    for (let k = 0; k < nb; k++) {
      const v = mag(v128.load(spec + (<usize>k << 5)), v128.load(spec + (<usize>k << 5), 16), power);
      storeLanes(out + ((<usize>k * T + t0) << 2), v, nfr);
    }
  }
}

/**
 * Mel spectrogram: out (nMels, T) = fb^T x |STFT|^power with the filter bank in sparse form:
 * fbIdx (nMels, 3) i32 = (first bin, bin count, offset into fbW); fbW the nonzero weights in bin order.
 * Each mel sums its bins in increasing order.
 */
export function mel_spectrogram_f32(
  plan: usize, x: usize, T: i32, hop: i32, window: usize, ws: usize,
  fbIdx: usize, fbW: usize, nMels: i32, out: usize, power: i32
): void {
  const nb = load<i32>(plan) / 2 + 1;
  for (let t0 = 0; t0 < T; t0 += 4) {
    const nfr = min(4, T - t0);
    const spec = spectrum4(plan, x, t0, nfr, hop, window, ws);
    // Turn the spectrum into lane powers in place (re slot).
    for (let k = 0; k < nb; k++) {
      const d = spec + (<usize>k << 5);
      v128.store(d, mag(v128.load(d), v128.load(d, 16), power));
    }
    for (let m = 0; m < nMels; m++) {
      const f0 = load<i32>(fbIdx + (<usize>m * 12));
      const cnt = load<i32>(fbIdx + (<usize>m * 12), 4);
      const wo = load<i32>(fbIdx + (<usize>m * 12), 8);
      let acc = f32x4.splat(0);
      for (let i = 0; i < cnt; i++) {
        const w = v128.load32_splat(fbW + (<usize>(wo + i) << 2));
        acc = f32x4.add(acc, f32x4.mul(w, v128.load(spec + (<usize>(f0 + i) << 5))));
      }
      storeLanes(out + ((<usize>m * T + t0) << 2), acc, nfr);
    }
  }
}

/** Reflect padding as torch's F.pad(mode="reflect"): x (n) -> out (n + 2*pad); needs pad < n. */
export function pad_reflect_f32(x: usize, n: i32, pad: i32, out: usize): void {
  for (let i = 0; i < pad; i++) store<f32>(out + (<usize>i << 2), load<f32>(x + (<usize>(pad - i) << 2)));
  memory.copy(out + (<usize>pad << 2), x, <usize>n << 2);
  for (let i = 0; i < pad; i++) store<f32>(out + (<usize>(pad + n + i) << 2), load<f32>(x + (<usize>(n - 2 - i) << 2)));
}

/** Hann window of length n as torch.hann_window(n, periodic): 0.5 - 0.5 cos(2 pi i / N), N = n or n - 1. */
export function hann_window_f32(n: i32, periodic: i32, out: usize): void {
  const N = periodic ? n : n - 1;
  if (n == 1) { store<f32>(out, 1); return; }
  for (let i = 0; i < n; i++) {
    store<f32>(out + (<usize>i << 2), <f32>(0.5 - 0.5 * Math.cos(2.0 * Math.PI * <f64>i / <f64>N)));
  }
}
