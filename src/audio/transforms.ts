// torchaudio.transforms (0.13) as classes with camelCase options: Spectrogram, MelSpectrogram, AmplitudeToDB,
// MFCC.  Input (..., time); the leading dimensions are kept.
import * as core from "../core/index.js";
import { gemmNN } from "../core/index.js";
import { Tensor, fmtShape, numel } from "../tensor.js";
import {
  spectrogram,
  melscaleFbanks,
  logEps,
  melPlan,
  applyMelPlan,
  type MelPlan,
  type MelNorm,
  type MelScale,
} from "../ops/audio.js";

function waveArg(who: string, x: unknown): Tensor {
  if (!(x instanceof Tensor) || x.dtype !== "float32" || x.ndim < 1) {
    throw new Error(
      `${who}: waveform must be a float32 Tensor (..., time), ` +
        `got ${x instanceof Tensor ? `${x.dtype} ${fmtShape(x.shape)}` : typeof x}`,
    );
  }
  return x;
}

/** (..., L) -> (rows, L + 2 pad) with zero padding (torchaudio's `pad` option). */
function rowsOf(x: Tensor, pad: number): Tensor {
  const L = x.shape[x.ndim - 1];
  const rows = L === 0 ? 1 : x.size / L;
  if (pad === 0) return x.reshape([rows, L]);
  const out = new Float32Array(rows * (L + 2 * pad));
  for (let r = 0; r < rows; r++)
    out.set((x.data as Float32Array).subarray(r * L, (r + 1) * L), r * (L + 2 * pad) + pad);
  return new Tensor(out, [rows, L + 2 * pad]);
}

function unrows(t: Tensor, lead: readonly number[]): Tensor {
  return t.reshape([...lead, ...t.shape.slice(1)]);
}

export interface SpectrogramOptions {
  nFft?: number;
  winLength?: number | null;
  hopLength?: number | null;
  pad?: number;
  window?: Tensor | null;
  /** 2 power, 1 magnitude, any other positive exponent of the magnitude */
  power?: number;
  normalized?: boolean;
  center?: boolean;
  padMode?: "reflect" | "constant";
  onesided?: boolean;
}

function checkCommon(who: string, o: { pad?: number; onesided?: boolean; power?: number }): void {
  if (o.pad !== undefined && (!Number.isInteger(o.pad) || o.pad < 0))
    throw new Error(`${who}: pad must be a non-negative integer, got ${o.pad}`);
  if (o.onesided === false) throw new Error(`${who}: onesided=false is not supported in this build`);
  if (o.power !== undefined && !(o.power > 0))
    throw new Error(
      `${who}: power must be a positive number (complex output, power=None, is not supported), got ${o.power}`,
    );
}

function powInPlace(t: Tensor, p: number): Tensor {
  const heap = core.heap();
  return heap.scope(() => {
    const ptr = heap.put(t.data);
    core.powInto(ptr, ptr, t.size, p);
    return new Tensor(heap.takeF32(ptr, t.size), t.shape);
  });
}

/**
 * torchaudio.transforms.Spectrogram: (..., time) -> (..., nFft/2 + 1, frames).  Defaults: nFft 400,
 * winLength nFft, hopLength winLength / 2, periodic Hann, power 2, centre reflect padding.
 */
export class Spectrogram {
  readonly nFft: number;
  readonly winLength: number;
  readonly hopLength: number;
  readonly pad: number;
  readonly power: number;
  constructor(readonly options: SpectrogramOptions = {}) {
    checkCommon("Spectrogram", options);
    this.nFft = options.nFft ?? 400;
    this.winLength = options.winLength ?? this.nFft;
    this.hopLength = options.hopLength ?? Math.floor(this.winLength / 2);
    this.pad = options.pad ?? 0;
    this.power = options.power ?? 2;
  }
  forward(waveform: Tensor): Tensor {
    const x = waveArg("Spectrogram.forward", waveform);
    const o = this.options;
    const base = {
      nFft: this.nFft,
      winLength: this.winLength,
      hopLength: this.hopLength,
      window: o.window,
      center: o.center,
      padMode: o.padMode,
      normalized: o.normalized,
    };
    const p = this.power;
    let s = spectrogram(rowsOf(x, this.pad), { ...base, power: p === 2 ? 2 : 1 });
    if (p !== 1 && p !== 2) s = powInPlace(s, p);
    return unrows(s, x.shape.slice(0, -1));
  }
}

export interface MelSpectrogramOptions extends SpectrogramOptions {
  sampleRate?: number;
  fMin?: number;
  fMax?: number | null;
  nMels?: number;
  norm?: MelNorm;
  melScale?: MelScale;
}

/**
 * torchaudio.transforms.MelSpectrogram: (..., time) -> (..., nMels, frames).  Defaults: sampleRate 16000,
 * nFft 400, hop winLength / 2, nMels 128, fMin 0, fMax sampleRate / 2, power 2, HTK scale, no norm.
 * Powers 1 and 2 run fused with a sparse filter bank; other powers take |X|^p, then the bank.
 * @example
 * const mel = new MelSpectrogram({ sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80 }).forward(wave);
 */
export class MelSpectrogram {
  readonly spectrogram: Spectrogram;
  readonly sampleRate: number;
  readonly nMels: number;
  readonly fMin: number;
  readonly fMax: number;
  /** window and sparse filter bank, built on the first forward and reused (they depend only on the options) */
  private plan: MelPlan | null = null;
  constructor(readonly options: MelSpectrogramOptions = {}) {
    this.spectrogram = new Spectrogram(options);
    this.sampleRate = options.sampleRate ?? 16000;
    this.nMels = options.nMels ?? 128;
    this.fMin = options.fMin ?? 0;
    this.fMax = options.fMax ?? this.sampleRate / 2;
  }
  /** The (nFreqs, nMels) filter bank in use. */
  get fb(): Tensor {
    return melscaleFbanks(
      Math.floor(this.spectrogram.nFft / 2) + 1,
      this.fMin,
      this.fMax,
      this.nMels,
      this.sampleRate,
      this.options.norm ?? null,
      this.options.melScale ?? "htk",
    );
  }
  forward(waveform: Tensor): Tensor {
    const x = waveArg("MelSpectrogram.forward", waveform);
    const s = this.spectrogram,
      o = this.options;
    const rows = rowsOf(x, s.pad);
    if (s.power === 1 || s.power === 2) {
      const op = "F.melSpectrogram";
      this.plan ??= melPlan(op, {
        sampleRate: this.sampleRate,
        nFft: s.nFft,
        winLength: s.winLength,
        hopLength: s.hopLength,
        fMin: this.fMin,
        fMax: this.fMax,
        nMels: this.nMels,
        power: s.power,
        normalized: o.normalized,
        center: o.center,
        padMode: o.padMode,
        norm: o.norm ?? null,
        melScale: o.melScale ?? "htk",
        window: o.window,
      });
      return unrows(applyMelPlan(op, rows, this.plan), x.shape.slice(0, -1));
    }
    const spec = s.forward(rows); // (rows, F, T)
    return unrows(applyFb(spec, this.fb), x.shape.slice(0, -1));
  }
}

/** (rows, F, T) x fb (F, M) -> (rows, M, T) */
function applyFb(spec: Tensor, fb: Tensor): Tensor {
  const [R, Fq, T] = spec.shape,
    M = fb.shape[1];
  const heap = core.heap();
  const fbT = new Float32Array(M * Fq);
  for (let f = 0; f < Fq; f++) for (let m = 0; m < M; m++) fbT[m * Fq + f] = fb.data[f * M + m];
  return heap.scope(() => {
    const a = heap.put(fbT),
      s = heap.put(spec.data),
      o = heap.alloc(R * M * T * 4);
    for (let r = 0; r < R; r++) gemmNN(M, T, Fq, a, Fq, s + r * Fq * T * 4, T, o + r * M * T * 4, T);
    return new Tensor(heap.takeF32(o, R * M * T), [R, M, T]);
  });
}

/**
 * torchaudio.transforms.AmplitudeToDB: multiplier * log10(max(x, 1e-10)) with multiplier 10 (power) or 20
 * (magnitude), reference 1; with topDb, values below (max - topDb) are raised to it, the max taken per item of
 * the batch over (channel, freq, time) as torchaudio packs it.
 */
export class AmplitudeToDB {
  readonly multiplier: number;
  constructor(readonly options: { stype?: "power" | "magnitude"; topDb?: number | null } = {}) {
    const st = options.stype ?? "power";
    if (st !== "power" && st !== "magnitude")
      throw new Error(`AmplitudeToDB: stype must be "power" or "magnitude", got ${JSON.stringify(st)}`);
    if (options.topDb != null && !(options.topDb >= 0))
      throw new Error(`AmplitudeToDB: topDb must be >= 0, got ${options.topDb}`);
    this.multiplier = st === "power" ? 10 : 20;
  }
  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || x.dtype !== "float32" || x.ndim < 1)
      throw new Error(`AmplitudeToDB.forward: input must be a float32 Tensor`);
    const heap = core.heap();
    const topDb = this.options.topDb;
    return heap.scope(() => {
      const p = heap.put(x.data);
      core.amplitudeToDb(p, p, x.size, this.multiplier, Math.fround(1e-10));
      if (topDb != null && x.size > 0) {
        const nd = x.ndim;
        const item = nd > 2 ? numel(x.shape.slice(-3)) : numel(x.shape.slice(-2));
        const v = heap.f32(p, x.size);
        for (let s = 0; s < x.size; s += item) {
          let m = -Infinity;
          for (let i = s; i < s + item; i++) if (v[i] > m) m = v[i];
          core.clampMin(p + s * 4, p + s * 4, item, Math.fround(m - topDb));
        }
      }
      return new Tensor(heap.takeF32(p, x.size), x.shape);
    });
  }
}

export interface MFCCOptions {
  sampleRate?: number;
  nMfcc?: number;
  dctType?: 2;
  norm?: "ortho" | null;
  logMels?: boolean;
  melkwargs?: Omit<MelSpectrogramOptions, "sampleRate">;
}

/**
 * torchaudio.transforms.MFCC: mel spectrogram -> dB (top_db 80) or log(x + 1e-6) with logMels -> DCT-II
 * (ortho by default): (..., time) -> (..., nMfcc, frames).
 */
export class MFCC {
  readonly melSpectrogram: MelSpectrogram;
  readonly nMfcc: number;
  private readonly dct: Float32Array; // (nMfcc, nMels)
  constructor(readonly options: MFCCOptions = {}) {
    if ((options.dctType ?? 2) !== 2) throw new Error(`MFCC: only dctType 2 is supported, got ${options.dctType}`);
    this.melSpectrogram = new MelSpectrogram({ ...options.melkwargs, sampleRate: options.sampleRate ?? 16000 });
    this.nMfcc = options.nMfcc ?? 40;
    const nMels = this.melSpectrogram.nMels;
    if (!Number.isInteger(this.nMfcc) || this.nMfcc < 1 || this.nMfcc > nMels)
      throw new Error(`MFCC: nMfcc must be in [1, nMels = ${nMels}], got ${this.nMfcc}`);
    const norm = options.norm === undefined ? "ortho" : options.norm;
    const heap = core.heap();
    this.dct = heap.scope(() => {
      const p = heap.alloc(this.nMfcc * nMels * 4);
      core.createDct(this.nMfcc, nMels, norm === "ortho", p);
      return heap.takeF32(p, this.nMfcc * nMels);
    });
  }
  forward(waveform: Tensor): Tensor {
    const x = waveArg("MFCC.forward", waveform);
    let mel = this.melSpectrogram.forward(x); // (..., nMels, T)
    const heap = core.heap();
    if (this.options.logMels) {
      mel = logEps(mel, 1e-6);
    } else {
      mel = new AmplitudeToDB({ stype: "power", topDb: 80 }).forward(mel);
    }
    const nMels = this.melSpectrogram.nMels,
      T = mel.shape[mel.ndim - 1];
    const R = mel.size / (nMels * T || 1);
    const out = heap.scope(() => {
      const a = heap.put(this.dct),
        s = heap.put(mel.data),
        o = heap.alloc(R * this.nMfcc * T * 4);
      for (let r = 0; r < R; r++)
        gemmNN(this.nMfcc, T, nMels, a, nMels, s + r * nMels * T * 4, T, o + r * this.nMfcc * T * 4, T);
      return heap.takeF32(o, R * this.nMfcc * T);
    });
    return new Tensor(out, [...mel.shape.slice(0, -2), this.nMfcc, T]);
  }
}
