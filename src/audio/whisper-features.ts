// transformers' WhisperFeatureExtractor (preprocessor_config.json): mono samples at 16 kHz padded with zeros or cut to
// chunk_length seconds -> power spectrogram (n_fft 400, hop 160, periodic Hann, centred, reflect padding) -> Slaney
// mel filter bank (feature_size bins: 80, or 128 for large-v3) -> the last frame dropped -> log10 clamped at 1e-10
// -> floored at (max - 8) -> (x + 4) / 4: (n_mels, chunk_length * rate / hop), 3000 frames for 30 s.  The log is the
// package's deterministic one (same bits on every engine).  Reference: reference/hf_whisper.py.
import { Tensor } from "../tensor.js";
import { melPlan, applyMelPlan, type MelPlan } from "../ops/audio.js";
import { log } from "../util/detmath.js";

export interface WhisperFeatureConfig {
  /** mel bins (preprocessor_config.json's feature_size) */
  nMels: number;
  samplingRate: number;
  nFft: number;
  hopLength: number;
  /** seconds of one window */
  chunkLength: number;
}

const int = (j: Record<string, unknown>, k: string, dflt: number, min: number, max: number, where: string): number => {
  const v = j[k] ?? dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new Error(`${where}: ${k} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
};

export class WhisperFeatureExtractor {
  /** the filter bank and window, built once */
  private readonly plan: MelPlan;
  constructor(readonly config: WhisperFeatureConfig) {
    this.plan = melPlan("WhisperFeatureExtractor", {
      sampleRate: config.samplingRate,
      nFft: config.nFft,
      hopLength: config.hopLength,
      nMels: config.nMels,
      power: 2,
      center: true,
      padMode: "reflect",
      norm: "slaney",
      melScale: "slaney",
    });
  }

  /** preprocessor_config.json -> the extractor (transformers' defaults where a field is absent). */
  static fromJSON(json: unknown, where = "preprocessor_config.json"): WhisperFeatureExtractor {
    if (!json || typeof json !== "object") throw new Error(`${where}: expected a JSON object`);
    const j = json as Record<string, unknown>;
    const type = j.feature_extractor_type;
    if (type !== undefined && type !== "WhisperFeatureExtractor")
      throw new Error(`${where}: feature_extractor_type ${JSON.stringify(type)} is not WhisperFeatureExtractor`);
    return new WhisperFeatureExtractor({
      nMels: int(j, "feature_size", 80, 1, 512, where),
      samplingRate: int(j, "sampling_rate", 16000, 1000, 384000, where),
      nFft: int(j, "n_fft", 400, 16, 1 << 16, where),
      hopLength: int(j, "hop_length", 160, 1, 1 << 16, where),
      chunkLength: int(j, "chunk_length", 30, 1, 600, where),
    });
  }

  /** Samples in one window. */
  get windowSamples(): number {
    return this.config.chunkLength * this.config.samplingRate;
  }

  /** Frames of one window's features. */
  get frames(): number {
    return this.windowSamples / this.config.hopLength;
  }

  /** One window's features (1, n_mels, frames) from mono samples at samplingRate (zero-padded or cut). */
  extract(wave: Float32Array): Tensor {
    const n = this.windowSamples,
      x = new Float32Array(n);
    x.set(wave.length > n ? wave.subarray(0, n) : wave);
    return this.logMel(x);
  }

  /**
   * The whole recording's features (1, n_mels, samples / hop), normalised by its own maximum, as the processor
   * gives them with truncation off (long-form generation slices its windows from them); a recording shorter than a
   * window is zero-padded to one, as extract() does.
   */
  extractAll(wave: Float32Array): Tensor {
    if (wave.length <= this.windowSamples) return this.extract(wave);
    return this.logMel(wave);
  }

  private logMel(x: Float32Array): Tensor {
    const n = x.length;
    const mel = applyMelPlan("WhisperFeatureExtractor.extract", new Tensor(x, [n]), this.plan); // (nMels, T + 1)
    const M = this.config.nMels,
      T1 = mel.shape[1],
      T = T1 - 1;
    const m = mel.data as Float32Array,
      out = new Float32Array(M * T);
    let max = -Infinity;
    for (let b = 0; b < M; b++)
      for (let t = 0; t < T; t++) {
        // log10(max(mel, 1e-10)) in float32, as torch's clamp(min=1e-10).log10()
        const v = Math.fround(log(Math.max(m[b * T1 + t], Math.fround(1e-10))) / Math.LN10);
        out[b * T + t] = v;
        if (v > max) max = v;
      }
    const floor = Math.fround(max - 8);
    for (let i = 0; i < out.length; i++) out[i] = Math.fround(Math.fround(Math.max(out[i], floor) + 4) / 4);
    return new Tensor(out, [1, M, T]);
  }
}
