// STFT, spectrogram and mel primitives with torch.stft / torchaudio 0.13 semantics: option and shape checks here,
// the frames computed by the op core (src/core/spectral.ts, which keeps one FFT plan per n_fft).
import {
  heap as getHeap,
  hannWindowInto,
  melscaleFbanksInto,
  logEps as logEpsKernel,
  spectra,
  spectraThen,
  framesOf,
  type FrameSpec,
} from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { f32, fail, putFinite, posInt } from "./check.js";

/** torch.hann_window(n, periodic). */
export function hannWindow(n: number, periodic = true): Tensor {
  posInt("hannWindow", "window_length", n);
  const heap = getHeap();
  return heap.scope(() => {
    const p = heap.alloc(n * 4);
    hannWindowInto(n, periodic, p);
    return new Tensor(heap.takeF32(p, n), [n]);
  });
}

export interface STFTOptions {
  nFft: number;
  /** Default floor(nFft / 4), as torch.stft. */
  hopLength?: number;
  /** Default nFft. */
  winLength?: number;
  /** (winLength); default a periodic Hann window. */
  window?: Tensor | null;
  /** Pad nFft/2 on both sides so frame t is centred at t * hop (default true). */
  center?: boolean;
  padMode?: "reflect" | "constant";
}

export interface Framing {
  nFft: number;
  hop: number;
  window: Float32Array;
  center: boolean;
  padMode: "reflect" | "constant";
}

function framing(op: string, o: STFTOptions): Framing {
  if (!o || typeof o !== "object") fail(op, "options with at least { nFft } are required");
  const nFft = posInt(op, "nFft", o.nFft, 1);
  const hop = posInt(op, "hopLength", o.hopLength ?? Math.floor(nFft / 4), 1);
  const winLength = posInt(op, "winLength", o.winLength ?? nFft, 1);
  if (winLength > nFft) fail(op, `winLength (${winLength}) must be <= nFft (${nFft})`);
  let w: Float32Array;
  if (o.window) {
    f32(op, "window", o.window);
    if (o.window.ndim !== 1 || o.window.size !== winLength)
      fail(op, `window must have shape [${winLength}] (winLength), got ${fmtShape(o.window.shape)}`);
    w = o.window.data as Float32Array;
  } else {
    w = hannWindow(winLength, true).data as Float32Array;
  }
  let window = w;
  if (winLength < nFft) {
    // torch.stft centres a shorter window inside n_fft with zeros.
    window = new Float32Array(nFft);
    window.set(w, Math.floor((nFft - winLength) / 2));
  }
  const padMode = o.padMode ?? "reflect";
  if (padMode !== "reflect" && padMode !== "constant")
    fail(op, `padMode must be "reflect" or "constant", got ${JSON.stringify(padMode)}`);
  return { nFft, hop, window, center: o.center ?? true, padMode };
}

/** Checks that signals x (L) or (B, L) can be framed as fr says; returns the core's frame spec and the sizes. */
function framed(op: string, x: Tensor, fr: Framing): { spec: FrameSpec; rows: number; L: number; T: number } {
  if (x.ndim !== 1 && x.ndim !== 2)
    fail(op, `input must be 1-D (time) or 2-D (batch, time), got shape ${fmtShape(x.shape)}`);
  const L = x.shape[x.ndim - 1];
  const rows = x.ndim === 2 ? x.shape[0] : 1;
  const pad = fr.center ? Math.floor(fr.nFft / 2) : 0;
  if (fr.center && fr.padMode === "reflect" && pad >= L) {
    fail(
      op,
      `reflect padding of ${pad} needs more than ${pad} samples per signal, got ${L} (shape ${fmtShape(x.shape)})`,
    );
  }
  if (L + 2 * pad < fr.nFft) fail(op, `signal of ${L} samples is shorter than nFft (${fr.nFft}) with center=false`);
  const spec: FrameSpec = { nFft: fr.nFft, hop: fr.hop, window: fr.window, pad, reflect: fr.padMode === "reflect" };
  return { spec, rows, L, T: framesOf(L, spec).T };
}

/**
 * torch.stft(x, n_fft, hop, win, window, center, pad_mode, onesided=True, return_complex=True) as real pairs:
 * input (L) or (B, L) -> (nFft/2 + 1, T, 2) or (B, nFft/2 + 1, T, 2).
 */
export function stft(x: Tensor, options: STFTOptions): Tensor {
  const op = "F.stft";
  f32(op, "input", x);
  const fr = framing(op, options);
  const { spec, rows, L, T } = framed(op, x, fr);
  const shape = [Math.floor(fr.nFft / 2) + 1, T, 2];
  return new Tensor(
    spectra(op, x.data as Float32Array, rows, L, spec, { kind: "complex" }),
    x.ndim === 2 ? [rows, ...shape] : shape,
  );
}

export interface SpectrogramOptions extends STFTOptions {
  /** 1 magnitude, 2 power (default 2). */
  power?: number;
  /** torchaudio's normalized=True: divide the STFT by sqrt(sum(window^2)). */
  normalized?: boolean;
}

function powerOf(op: string, p: number | undefined): number {
  const v = p ?? 2;
  if (v !== 1 && v !== 2) fail(op, `power must be 1 or 2 in this build, got ${p}`);
  return v;
}

function windowNorm(fr: Framing, power: number): number {
  let s = 0;
  for (const v of fr.window) s += v * v;
  return power === 2 ? 1 / s : 1 / Math.sqrt(s);
}

/** |STFT|^power as torchaudio.transforms.Spectrogram: (L) or (B, L) -> ([B,] nFft/2 + 1, T). */
export function spectrogram(x: Tensor, options: SpectrogramOptions): Tensor {
  const op = "F.spectrogram";
  f32(op, "input", x);
  const fr = framing(op, options);
  const power = powerOf(op, options.power);
  const { spec, rows, L, T } = framed(op, x, fr);
  const nb = Math.floor(fr.nFft / 2) + 1;
  const data = spectra(
    op,
    x.data as Float32Array,
    rows,
    L,
    spec,
    { kind: "power", power },
    options.normalized ? windowNorm(fr, power) : 0,
  );
  return new Tensor(data, x.ndim === 2 ? [rows, nb, T] : [nb, T]);
}

export type MelNorm = null | "slaney";
export type MelScale = "htk" | "slaney";

/** torchaudio.functional.melscale_fbanks: (nFreqs, nMels) triangular filters. */
export function melscaleFbanks(
  nFreqs: number,
  fMin: number,
  fMax: number,
  nMels: number,
  sampleRate: number,
  norm: MelNorm = null,
  melScale: MelScale = "htk",
): Tensor {
  const op = "melscaleFbanks";
  posInt(op, "n_freqs", nFreqs);
  posInt(op, "n_mels", nMels);
  posInt(op, "sample_rate", sampleRate);
  if (!(fMin >= 0) || !(fMax > fMin)) fail(op, `need 0 <= f_min < f_max, got f_min=${fMin}, f_max=${fMax}`);
  if (norm !== null && norm !== "slaney") fail(op, `norm must be null or "slaney", got ${JSON.stringify(norm)}`);
  if (melScale !== "htk" && melScale !== "slaney")
    fail(op, `mel_scale must be "htk" or "slaney", got ${JSON.stringify(melScale)}`);
  const heap = getHeap();
  return heap.scope(() => {
    const work = heap.alloc((nMels + 2) * 4);
    const fb = heap.alloc(nFreqs * nMels * 4);
    melscaleFbanksInto(nFreqs, fMin, fMax, nMels, sampleRate, norm === "slaney", melScale === "htk", work, fb);
    return new Tensor(heap.takeF32(fb, nFreqs * nMels), [nFreqs, nMels]);
  });
}

/** Sparse form of a (nFreqs, nMels) bank: per mel (first bin, count, weight offset) and the weights. */
export function sparseFbanks(fb: Tensor): { idx: Int32Array; w: Float32Array } {
  const [nF, nM] = fb.shape;
  const idx = new Int32Array(nM * 3);
  const w: number[] = [];
  for (let m = 0; m < nM; m++) {
    let lo = -1,
      hi = -1;
    for (let f = 0; f < nF; f++)
      if (fb.data[f * nM + m] !== 0) {
        if (lo < 0) lo = f;
        hi = f;
      }
    idx[m * 3] = Math.max(lo, 0);
    idx[m * 3 + 1] = lo < 0 ? 0 : hi - lo + 1;
    idx[m * 3 + 2] = w.length;
    if (lo >= 0) for (let f = lo; f <= hi; f++) w.push(fb.data[f * nM + m]);
  }
  return { idx, w: Float32Array.from(w) };
}

export interface MelSpectrogramOptions {
  sampleRate?: number;
  nFft?: number;
  winLength?: number;
  hopLength?: number;
  fMin?: number;
  fMax?: number | null;
  nMels?: number;
  power?: number;
  normalized?: boolean;
  center?: boolean;
  padMode?: "reflect" | "constant";
  norm?: MelNorm;
  melScale?: MelScale;
  window?: Tensor | null;
}

/**
 * torchaudio.transforms.MelSpectrogram with its defaults (sampleRate 16000, nFft 400, hop winLength/2,
 * nMels 128, power 2, HTK scale, no norm): (L) or (B, L) -> ([B,] nMels, T).  The filter bank is applied
 * sparsely (only its nonzero bins), fused with the STFT.
 * @example
 * const mel = F.melSpectrogram(Tensor.zeros([16000]), { nFft: 400, hopLength: 160, nMels: 80 }); // [80, 101]
 */
export function melSpectrogram(x: Tensor, options: MelSpectrogramOptions = {}): Tensor {
  const op = "F.melSpectrogram";
  f32(op, "input", x);
  return applyMelPlan(op, x, melPlan(op, options));
}

/** Everything about a mel spectrogram that does not depend on the signal: framing, window, sparse filter bank. */
export interface MelPlan {
  fr: Framing;
  sp: { idx: Int32Array; w: Float32Array };
  nMels: number;
  power: number;
  normalized: boolean;
}

/** Checks the options and builds the window and the sparse filter bank once (MelSpectrogram keeps its plan). */
export function melPlan(op: string, options: MelSpectrogramOptions): MelPlan {
  const sampleRate = posInt(op, "sampleRate", options.sampleRate ?? 16000);
  const nFft = posInt(op, "nFft", options.nFft ?? 400);
  const winLength = options.winLength ?? nFft;
  const hopLength = options.hopLength ?? Math.floor(winLength / 2);
  const nMels = posInt(op, "nMels", options.nMels ?? 128);
  const power = powerOf(op, options.power);
  const fr = framing(op, {
    nFft,
    winLength,
    hopLength,
    window: options.window,
    center: options.center,
    padMode: options.padMode,
  });
  const fb = melscaleFbanks(
    Math.floor(nFft / 2) + 1,
    options.fMin ?? 0,
    options.fMax ?? sampleRate / 2,
    nMels,
    sampleRate,
    options.norm ?? null,
    options.melScale ?? "htk",
  );
  return { fr, sp: sparseFbanks(fb), nMels, power, normalized: !!options.normalized };
}

/** The mel spectrogram of float signals x (L) or (B, L) under a plan: ([B,] nMels, T). */
export function applyMelPlan(op: string, x: Tensor, p: MelPlan): Tensor {
  const { spec, rows, L, T } = framed(op, x, p.fr);
  const what = { kind: "mel" as const, power: p.power, fbIdx: p.sp.idx, fbW: p.sp.w, nMels: p.nMels };
  const data = spectra(op, x.data as Float32Array, rows, L, spec, what, p.normalized ? windowNorm(p.fr, p.power) : 0);
  return new Tensor(data, x.ndim === 2 ? [rows, p.nMels, T] : [p.nMels, T]);
}

/** A model's audio front end: a mel spectrogram, then log(x + eps), then (x - mean) * (1 / std). */
export interface LogMelOptions extends MelSpectrogramOptions {
  /** default 1e-6 (the reference design's log-mel step) */
  eps?: number;
  /** normalisation of the log-mel (default 0 and 1: none) */
  mean?: number;
  std?: number;
}

/** A mel plan with the front end's log and normalisation constants (float32, as the kernels apply them). */
export interface LogMelPlan extends MelPlan {
  eps: number;
  mean: number;
  inv: number;
}

/** Checks the options and builds everything that does not depend on the signal, once per model. */
export function logMelPlan(op: string, options: LogMelOptions): LogMelPlan {
  const std = options.std ?? 1,
    mean = options.mean ?? 0,
    eps = options.eps ?? 1e-6;
  if (!(std > 0 && Number.isFinite(std))) throw new Error(`${op}: std must be a positive number, got ${std}`);
  if (!Number.isFinite(mean)) throw new Error(`${op}: mean must be a finite number, got ${mean}`);
  if (!(eps >= 0 && Number.isFinite(eps))) throw new Error(`${op}: eps must be a non-negative number, got ${eps}`);
  return { ...melPlan(op, options), eps: Math.fround(eps), mean: Math.fround(mean), inv: Math.fround(1 / std) };
}

/**
 * waveform (L) or (B, L) -> the front end's features ([B,] nMels, T) in one call into the module: STFT, mel, log,
 * normalisation.  keepMel: the mel spectrogram too (for voice activity), from the same call.
 */
export function applyLogMelPlan(
  op: string,
  x: Tensor,
  p: LogMelPlan,
  keepMel = false,
): { features: Tensor; mel: Tensor | null } {
  f32(op, "input", x);
  const { spec, rows, L, T } = framed(op, x, p.fr);
  const what = { kind: "mel" as const, power: p.power, fbIdx: p.sp.idx, fbW: p.sp.w, nMels: p.nMels };
  const post = { logEps: p.eps, shift: p.mean, scale: p.inv, keepSpectra: keepMel };
  const r = spectraThen(
    op,
    x.data as Float32Array,
    rows,
    L,
    spec,
    what,
    p.normalized ? windowNorm(p.fr, p.power) : 0,
    post,
  );
  const shape = x.ndim === 2 ? [rows, p.nMels, T] : [p.nMels, T];
  return { features: new Tensor(r.out, shape), mel: r.spectra && new Tensor(r.spectra, shape) };
}

/** log(x + eps) elementwise: the reference design's log-mel step (AudioFeatureExtractor uses eps = 1e-6). */
export function logEps(x: Tensor, eps = 1e-6): Tensor {
  const op = "logEps";
  f32(op, "input", x);
  const heap = getHeap();
  return heap.scope(() => {
    const p = putFinite(op, "input", x);
    logEpsKernel(p, p, x.size, eps);
    return new Tensor(heap.takeF32(p, x.size), x.shape);
  });
}
