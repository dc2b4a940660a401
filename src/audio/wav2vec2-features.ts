// transformers' Wav2Vec2FeatureExtractor (preprocessor_config.json): mono float32 samples at sampling_rate, each
// utterance zero-mean unit-variance over its own samples ((x - mean) / sqrt(var + 1e-7), in float32 as numpy
// computes it), then padded to the batch's longest with padding_value.  Reference: reference/hf_wav2vec2.py.

export interface Wav2Vec2FeatureExtractorConfig {
  samplingRate: number;
  doNormalize: boolean;
  paddingValue: number;
  /** whether the model was trained with attention masks over padding (layer-norm models) */
  returnAttentionMask: boolean;
}

/** A batch as the model takes it: samples (B, L) row-major, and each item's real length. */
export interface AudioBatch {
  values: Float32Array;
  shape: [number, number];
  lengths: number[];
}

export class Wav2Vec2FeatureExtractor {
  constructor(readonly config: Wav2Vec2FeatureExtractorConfig) {}

  /** preprocessor_config.json -> the extractor; refused unless it is a one-channel Wav2Vec2FeatureExtractor. */
  static fromJSON(json: unknown, where = "preprocessor_config.json"): Wav2Vec2FeatureExtractor {
    if (!json || typeof json !== "object") throw new Error(`${where}: expected a JSON object`);
    const j = json as Record<string, unknown>;
    const type = j.feature_extractor_type;
    if (type !== undefined && type !== "Wav2Vec2FeatureExtractor")
      throw new Error(`${where}: feature_extractor_type ${JSON.stringify(type)} is not Wav2Vec2FeatureExtractor`);
    if ((j.feature_size ?? 1) !== 1)
      throw new Error(`${where}: feature_size must be 1 (raw samples), got ${JSON.stringify(j.feature_size)}`);
    const rate = j.sampling_rate ?? 16000;
    if (typeof rate !== "number" || !Number.isInteger(rate) || rate < 1000 || rate > 384000)
      throw new Error(`${where}: sampling_rate must be an integer from 1000 to 384000, got ${JSON.stringify(rate)}`);
    const pad = j.padding_value ?? 0;
    if (typeof pad !== "number" || !Number.isFinite(pad))
      throw new Error(`${where}: padding_value must be a finite number, got ${JSON.stringify(pad)}`);
    return new Wav2Vec2FeatureExtractor({
      samplingRate: rate,
      doNormalize: j.do_normalize !== false,
      paddingValue: pad,
      returnAttentionMask: j.return_attention_mask === true,
    });
  }

  /** One utterance, normalised: float32 mean and variance (computed in float64, then rounded, as numpy's). */
  normalize(wave: Float32Array): Float32Array {
    if (!this.config.doNormalize) return wave.slice();
    const n = wave.length;
    let s = 0;
    for (let i = 0; i < n; i++) s += wave[i];
    const mean = Math.fround(s / n);
    let v = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.fround(wave[i] - mean);
      v += d * d;
    }
    const sd = Math.fround(Math.sqrt(Math.fround(Math.fround(v / n) + 1e-7)));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.fround(wave[i] - mean) / sd;
    return out;
  }

  /** Utterances -> one padded batch (each normalised over its own samples). */
  batch(waves: readonly Float32Array[]): AudioBatch {
    if (waves.length === 0) throw new Error("Wav2Vec2FeatureExtractor.batch: expected at least one utterance");
    const L = Math.max(...waves.map((w) => w.length));
    const values = new Float32Array(waves.length * L).fill(this.config.paddingValue);
    waves.forEach((w, i) => values.set(this.normalize(w), i * L));
    return { values, shape: [waves.length, L], lengths: waves.map((w) => w.length) };
  }
}
