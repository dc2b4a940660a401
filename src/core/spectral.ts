// Spectral kernels with torch.stft / torchaudio 0.13 semantics: FFT plans (persistent, one per n_fft, made on
// first use), windows, reflect padding, STFT / power spectrogram / fused sparse mel frames, torchaudio's mel
// filter banks, dB conversion, DCT matrices and the polyphase sinc resampler.  Callers hold scratch frames.
import { kernels, heap } from "./runtime.js";
import { putFinite } from "./buf.js";

/** FFT plans kept; more distinct sizes than this evict the least recently used (sizes come from callers' options). */
export const FFT_PLAN_CACHE_SIZE = 16;
const plans = new Map<number, number>(); // nFft -> plan pointer; insertion order = recency

/**
 * The real-FFT plan for nFft (persistent memory, made once per size and reused; at most FFT_PLAN_CACHE_SIZE kept).
 * A plan is used only inside the synchronous op that asked for it, so evicting another is safe.
 */
export function rfftPlan(nFft: number): number {
  const hit = plans.get(nFft);
  if (hit !== undefined) {
    plans.delete(nFft);
    plans.set(nFft, hit);
    return hit;
  }
  const k = kernels(),
    h = heap();
  const p = h.allocPersistent(k.rfft_plan_size(nFft));
  h.scope(() => k.rfft_plan_init(nFft, p, h.alloc(k.rfft_work_size(nFft))));
  plans.set(nFft, p);
  if (plans.size > FFT_PLAN_CACHE_SIZE) {
    const [oldN, oldP] = plans.entries().next().value as [number, number];
    plans.delete(oldN);
    h.freePersistent(oldP, k.rfft_plan_size(oldN));
  }
  return p;
}

/** Scratch work space for one transform of nFft (in the caller's frame). */
export const fftWork = (nFft: number): number => heap().alloc(kernels().rfft_work_size(nFft));

/** torch.hann_window(n, periodic) written to out (n floats). */
export const hannWindowInto = (n: number, periodic: boolean, out: number): void =>
  kernels().hann_window_f32(n, periodic ? 1 : 0, out);

/** out (n + 2 pad) = x (n) reflect-padded by pad on both sides (pad < n). */
export const padReflect = (x: number, n: number, pad: number, out: number): void =>
  kernels().pad_reflect_f32(x, n, pad, out);

/** Mel spectrogram (nMels, T) of T frames through a sparse filter bank (per mel: first bin, count, weight offset). */
export const melFrames = (
  plan: number,
  x: number,
  T: number,
  hop: number,
  window: number,
  ws: number,
  fbIdx: number,
  fbW: number,
  nMels: number,
  out: number,
  power: number,
): void => kernels().mel_spectrogram_f32(plan, x, T, hop, window, ws, fbIdx, fbW, nMels, out, power);

/** torchaudio.functional.melscale_fbanks into fb (nFreqs, nMels); work holds nMels + 2 floats. */
export const melscaleFbanksInto = (
  nFreqs: number,
  fMin: number,
  fMax: number,
  nMels: number,
  sampleRate: number,
  slaneyNorm: boolean,
  htk: boolean,
  work: number,
  fb: number,
): void =>
  kernels().melscale_fbanks_f32(
    nFreqs,
    Math.fround(fMin),
    Math.fround(fMax),
    nMels,
    sampleRate,
    slaneyNorm ? 1 : 0,
    htk ? 1 : 0,
    work,
    fb,
  );

/** out = multiplier * log10(max(x, amin)) for n floats (AmplitudeToDB before the top_db clamp). */
export const amplitudeToDb = (x: number, out: number, n: number, multiplier: number, amin: number): void =>
  kernels().amplitude_to_db_f32(x, out, n, multiplier, amin);

/** out = max(x, floor) for n floats. */
export const clampMin = (x: number, out: number, n: number, floor: number): void =>
  kernels().clamp_min_f32(x, out, n, floor);

/** out = x^p for n floats. */
export const powInto = (x: number, out: number, n: number, p: number): void =>
  kernels().pow_f32(x, out, n, Math.fround(p));

/** torchaudio.functional.create_dct (nMels, nMfcc) into out; ortho or no norm. */
export const createDct = (nMfcc: number, nMels: number, ortho: boolean, out: number): void =>
  kernels().create_dct_f32(nMfcc, nMels, ortho ? 1 : 0, out);

/**
 * A compact polyphase sinc kernel in persistent memory: per phase j, its len_j significant taps from float offs_j
 * of ptr, applied from input offset lo_j (ints at offs / lo / len, newFreq each).
 */
export interface ResampleKernel {
  ptr: number;
  offs: number;
  lo: number;
  len: number;
  width: number;
  bytes: number;
}

/**
 * Kernels kept for reuse; more distinct rate pairs than this evict the least recently used (nothing pinned by
 * input).
 */
export const RESAMPLE_CACHE_SIZE = 8;
const resampleKernels = new Map<string, ResampleKernel>(); // insertion order = recency

/**
 * torchaudio's sinc_interp_hann kernel for orig -> nw (reduced by their gcd), lowpass width lw, rolloff.  Only each
 * phase's window support is evaluated (about 2 x width taps, not width + orig: an odd rate such as 44,101 Hz made the
 * full kernel 2.8 GB), then taps at or below 1e-12 of the largest are dropped at a phase's ends (see
 * src/audio/resample.ts); the kept taps are exactly those of the full kernel.
 */
export function resampleKernel(orig: number, nw: number, lw: number, rolloff: number): ResampleKernel {
  const key = `${orig}/${nw}/${lw}/${rolloff}`;
  const hit = resampleKernels.get(key);
  if (hit) {
    resampleKernels.delete(key);
    resampleKernels.set(key, hit);
    return hit;
  }
  const k = kernels(),
    h = heap();
  const base = Math.min(orig, nw) * rolloff;
  const width = Math.ceil((lw * orig) / base);
  const K = 2 * width + orig;
  // phase j's taps i have t = (-j/nw + (i - width)/orig) * base; the window is zero (to ~1e-16) for |t| >= lw
  const c0 = new Int32Array(nw),
    cn = new Int32Array(nw);
  let total = 0;
  for (let j = 0; j < nw; j++) {
    const a = Math.max(0, Math.floor(width + orig * (j / nw - lw / base)) - 2);
    const b = Math.min(K - 1, Math.ceil(width + orig * (j / nw + lw / base)) + 2);
    c0[j] = a;
    cn[j] = Math.max(0, b - a + 1);
    total += cn[j];
  }
  const taps = h.scope(() => {
    const p = h.alloc(total * 4);
    for (let j = 0, o = 0; j < nw; o += cn[j], j++)
      k.sinc_resample_taps(orig, nw, width, lw, base, j, c0[j], cn[j], p + o * 4);
    return h.takeF32(p, total);
  });
  let peak = 0;
  for (let i = 0; i < total; i++) peak = Math.max(peak, Math.abs(taps[i]));
  const tiny = peak * 1e-12;
  const lo = new Int32Array(nw),
    len = new Int32Array(nw),
    from = new Int32Array(nw);
  let kept = 0;
  for (let j = 0, o = 0; j < nw; o += cn[j], j++) {
    let a = 0,
      b = cn[j] - 1;
    while (a < cn[j] && Math.abs(taps[o + a]) <= tiny) a++;
    while (b >= a && Math.abs(taps[o + b]) <= tiny) b--;
    lo[j] = a < cn[j] ? c0[j] + a : 0;
    len[j] = a < cn[j] ? b - a + 1 : 0;
    from[j] = o + a;
    kept += len[j];
  }
  const bytes = (kept + 3 * nw) * 4;
  const ptr = h.allocPersistent(bytes);
  const offs = ptr + kept * 4,
    loP = offs + nw * 4,
    lenP = loP + nw * 4;
  const kv = h.f32(ptr, kept),
    ov = h.i32(offs, nw);
  for (let j = 0, o = 0; j < nw; o += len[j], j++) {
    kv.set(taps.subarray(from[j], from[j] + len[j]), o);
    ov[j] = o;
  }
  h.i32(loP, nw).set(lo);
  h.i32(lenP, nw).set(len);
  const r: ResampleKernel = { ptr, offs, lo: loP, len: lenP, width, bytes };
  resampleKernels.set(key, r);
  if (resampleKernels.size > RESAMPLE_CACHE_SIZE) {
    const [oldKey, old] = resampleKernels.entries().next().value as [string, ResampleKernel];
    resampleKernels.delete(oldKey);
    h.freePersistent(old.ptr, old.bytes);
  }
  return r;
}

/** y (target) = resampled x (zero-padded by kern.width in front, orig extra at the end). */
export const resamplePoly = (
  x: number,
  orig: number,
  nw: number,
  kern: ResampleKernel,
  y: number,
  target: number,
): void => kernels().resample_poly_f32(x, orig, nw, kern.ptr, kern.offs, kern.lo, kern.len, y, target);

/** How signals are cut into frames: nFft, hop, the window (nFft floats, zero-padded if shorter), centre padding. */
export interface FrameSpec {
  nFft: number;
  hop: number;
  window: Float32Array;
  pad: number;
  reflect: boolean;
}

/** What each frame becomes: complex bins (bins, T, 2), |X|^power (bins, T), or mel energies (nMels, T). */
export type SpectralOutput =
  | { kind: "complex" }
  | { kind: "power"; power: number }
  | { kind: "mel"; power: number; fbIdx: Int32Array; fbW: Float32Array; nMels: number };

/** Padded length and frame count of a signal of L samples. */
export function framesOf(L: number, f: FrameSpec): { Lp: number; T: number } {
  const Lp = L + 2 * f.pad;
  return { Lp, T: 1 + Math.floor((Lp - f.nFft) / f.hop) };
}

/** Floats per signal of a spectral output. */
export function spectralSize(T: number, f: FrameSpec, what: SpectralOutput): number {
  const bins = Math.floor(f.nFft / 2) + 1;
  return what.kind === "complex" ? bins * T * 2 : what.kind === "power" ? bins * T : what.nMels * T;
}

/**
 * What follows the spectra in the same call (the log-mel front end of a model): log(x + logEps), then
 * (x - shift) * scale, each as torch rounds it (one float32 rounding per step).
 */
export interface SpectralPost {
  logEps: number;
  shift: number;
  scale: number;
  keepSpectra: boolean;
}

/**
 * The spectra of `rows` signals of L samples (row-major in signals; the caller has checked the padding possible:
 * reflect needs pad < L, and L + 2 pad >= nFft), each frame windowed and transformed, optionally multiplied by
 * scale (0: none).  NaN or inf in the signals is an Error naming op.  Returns (rows, spectralSize) floats.
 */
export function spectra(
  op: string,
  signals: Float32Array,
  rows: number,
  L: number,
  f: FrameSpec,
  what: SpectralOutput,
  scale = 0,
): Float32Array {
  return spectraThen(op, signals, rows, L, f, what, scale, null).out;
}

/**
 * spectra(), then `post` on the same memory before anything leaves the module: one call from a waveform to a
 * model's features.  `spectra` is the spectra themselves when post.keepSpectra asks for them too.
 */
export function spectraThen(
  op: string,
  signals: Float32Array,
  rows: number,
  L: number,
  f: FrameSpec,
  what: SpectralOutput,
  scale: number,
  post: SpectralPost | null,
): { out: Float32Array; spectra: Float32Array | null } {
  const plan = rfftPlan(f.nFft); // persistent: made outside any scratch frame
  const k = kernels(),
    h = heap();
  const { Lp, T } = framesOf(L, f);
  const n = spectralSize(T, f, what);
  return h.scope(() => {
    const src = putFinite(op, "input", signals);
    // + nFft of zeros so the 4-frame kernel may over-read the last group harmlessly.
    const x = h.alloc((rows * Lp + f.nFft) * 4);
    h.f32(x, rows * Lp + f.nFft).fill(0);
    for (let r = 0; r < rows; r++) {
      if (f.pad > 0 && f.reflect) padReflect(src + r * L * 4, L, f.pad, x + r * Lp * 4);
      else h.f32(x + (r * Lp + f.pad) * 4, L).set(h.f32(src + r * L * 4, L));
    }
    const pw = h.put(f.window);
    const ws = fftWork(f.nFft);
    const out = h.alloc(rows * n * 4);
    if (what.kind === "complex") {
      for (let r = 0; r < rows; r++) k.stft_complex_f32(plan, x + r * Lp * 4, T, f.hop, pw, ws, out + r * n * 4);
    } else if (what.kind === "power") {
      for (let r = 0; r < rows; r++)
        k.spectrogram_f32(plan, x + r * Lp * 4, T, f.hop, pw, ws, out + r * n * 4, what.power);
    } else {
      const pi = h.put(what.fbIdx),
        pf = h.put(what.fbW);
      for (let r = 0; r < rows; r++)
        k.mel_spectrogram_f32(plan, x + r * Lp * 4, T, f.hop, pw, ws, pi, pf, what.nMels, out + r * n * 4, what.power);
    }
    if (scale) k.affine_f32(out, out, rows * n, Math.fround(scale), 0);
    if (!post) return { out: h.takeF32(out, rows * n), spectra: null };
    const kept = post.keepSpectra ? h.takeF32(out, rows * n) : null;
    k.log_eps_f32(out, out, rows * n, Math.fround(post.logEps));
    // x * 1 + (-shift) is x - shift in one rounding, then y * scale + 0 is y * scale in one: (x - mean) * (1 / std)
    if (post.shift !== 0) k.affine_f32(out, out, rows * n, 1, Math.fround(-post.shift));
    if (post.scale !== 1) k.affine_f32(out, out, rows * n, Math.fround(post.scale), 0);
    return { out: h.takeF32(out, rows * n), spectra: kept };
  });
}
