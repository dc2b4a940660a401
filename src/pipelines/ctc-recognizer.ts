// Speech to text with a Hugging Face CTC checkpoint (Wav2Vec2ForCTC, HubertForCTC): audio -> mono at the feature
// extractor's rate -> zero-mean unit-variance samples -> logits -> greedy decoding as transformers' pipeline does
// (argmax per frame, then the tokenizer's decode), or our prefix beam search; word confidences and times from the
// frames each token's run spans.
import { Tensor } from "../tensor.js";
import * as core from "../core/index.js";
import { scoped } from "../nn/module.js";
import { PolymodalError } from "../util/errors.js";
import { MultimodalModelOptimizer } from "../optimize/optimizer.js";
import { ctcBeamSearch, ctcAlign, detExp, detLog } from "../audio/ctc.js";
import type { Wav2Vec2FeatureExtractor } from "../audio/wav2vec2-features.js";
import { featureFrames, type Wav2Vec2ForCTC } from "../models/hf-wav2vec2.js";
import { HF_WAV2VEC2_WRITERS } from "../onnx/hf-wav2vec2.js";
import type { CTCTokenizer, CTCSegment } from "../text/ctc-tokenizer.js";
import { audioAt, checkBeamWork, MAX_BEAM_WORK } from "./speech.js";
import {
  UnsupportedTaskError,
  eachAlone,
  noLanguageOptions,
  type AudioInput,
  type Outcome,
  type Pipeline,
  type Tasks,
  type Transcript,
  type TranscribeOptions,
} from "./pipeline.js";

/**
 * Most bytes one forward pass may take (the feature encoder's widest layer: its input, im2col and output; the
 * encoder's activations and one head's scores): a wav2vec2-base reads ~20 s of audio within it.
 */
export const MAX_FORWARD_BYTES = 512 * 1024 * 1024;

/** Bytes a forward pass over `samples` samples needs at its peak (an estimate from the shapes, within 10%). */
export function forwardBytes(model: Wav2Vec2ForCTC, samples: number): number {
  const c = model.config;
  let peak = 0,
    cin = 1,
    len = samples;
  c.convDim.forEach((cout, i) => {
    const out = Math.max(0, Math.floor((len - c.convKernel[i]) / c.convStride[i]) + 1);
    peak = Math.max(peak, cin * len + cin * c.convKernel[i] * out + 3 * cout * out);
    cin = cout;
    len = out;
  });
  const T = len,
    E = c.hiddenSize;
  const encoder =
    10 * T * E +
    T * c.intermediateSize +
    2 * T * T +
    E * (E / c.numConvPosEmbeddingGroups) * 2 * c.numConvPosEmbeddings;
  return 4 * Math.max(peak, encoder);
}

/** A window of long audio: its samples [start, end) and the frames of it kept, [first, last) (null: to its end). */
export interface AudioWindow {
  start: number;
  end: number;
  first: number;
  last: number | null;
}

/**
 * Windows of `chunk` samples over n samples, each overlapping the next by 2 x `stride` (both multiples of the
 * model's samples per frame, `ratio`): a window's first `stride` samples' frames are left to the window before and
 * its last `stride` samples' to the window after, so the kept frames tile the whole audio (reference/hf_wav2vec2.py
 * chunk_plan).
 */
export function windowPlan(n: number, chunk: number, stride: number, ratio: number): AudioWindow[] {
  if (chunk % ratio || stride % ratio || chunk <= 4 * stride)
    throw new Error(
      `windowPlan: chunk (${chunk}) and stride (${stride}) must be multiples of ${ratio} samples, the chunk more ` +
        `than 4 strides`,
    );
  const plan: AudioWindow[] = [];
  for (let start = 0; ; start += chunk - 2 * stride) {
    const end = Math.min(n, start + chunk),
      last = end >= n;
    plan.push({ start, end, first: start === 0 ? 0 : stride / ratio, last: last ? null : (chunk - stride) / ratio });
    if (last) return plan;
  }
}

export interface CTCTranscribeOptions {
  beamWidth?: number;
  maxBeamWork?: number;
  /**
   * audio longer than this is read in windows of this length (default: 20 s, or less where one call's memory
   * bound is less), overlapping by 2 x strideSeconds (default a sixth of it: transformers' pipeline's default)
   */
  chunkSeconds?: number;
  strideSeconds?: number;
}

export class CTCRecognizer implements Pipeline {
  static readonly tasks: Tasks = { embed: null, transcribe: true };
  readonly tasks = CTCRecognizer.tasks;
  readonly dim = null;
  constructor(
    readonly model: Wav2Vec2ForCTC,
    readonly features: Wav2Vec2FeatureExtractor,
    readonly tokenizer: CTCTokenizer,
  ) {
    if (tokenizer.vocabSize > model.config.vocabSize)
      throw new Error(
        `CTCRecognizer: the tokenizer has ${tokenizer.vocabSize} tokens, the model ${model.config.vocabSize} outputs`,
      );
  }

  /** Seconds of audio one call may take (MAX_FORWARD_BYTES). */
  get maxSeconds(): number {
    const rate = this.features.config.samplingRate;
    let lo = 1,
      hi = 3600;
    while (hi - lo > 0.05) {
      const mid = (lo + hi) / 2;
      if (forwardBytes(this.model, Math.round(mid * rate)) <= MAX_FORWARD_BYTES) lo = mid;
      else hi = mid;
    }
    return Math.floor(lo * 10) / 10;
  }

  /** Mono samples at the extractor's rate, long enough for one frame (and, with `bounded`, for the memory bound). */
  private wave(who: string, input: AudioInput, bounded = true): Float32Array {
    const rate = this.features.config.samplingRate;
    const wave = audioAt(who, input, rate);
    if (featureFrames(this.model.config, wave.length) < 1)
      throw new PolymodalError(
        "bad_input",
        `${who}: the audio is too short: ${wave.length} samples at ${rate} Hz make no frame for this model`,
      );
    if (bounded && forwardBytes(this.model, wave.length) > MAX_FORWARD_BYTES)
      throw new PolymodalError(
        "bad_input",
        `${who}: ${(wave.length / rate).toFixed(1)} s of audio is more than this model reads in one call ` +
          `(${this.maxSeconds} s within ${MAX_FORWARD_BYTES / 2 ** 20} MiB); transcribe it in shorter pieces`,
      );
    return wave;
  }

  /** Logits (B, T, vocab) of utterances (each normalised alone, padded to the longest and masked out). */
  logits(inputs: readonly AudioInput[]): { logits: Tensor; frames: number[] } {
    const waves = inputs.map((x) => this.wave("CTCRecognizer.logits", x));
    const b = this.features.batch(waves);
    const padded = waves.some((w) => w.length !== b.shape[1]);
    const logits = scoped(() => {
      const x = core.fromTensor("CTCRecognizer.logits", "input_values", new Tensor(b.values, b.shape));
      return core.toTensor(this.model.run(x, padded ? b.lengths : null).logits);
    });
    return { logits, frames: b.lengths.map((n) => featureFrames(this.model.config, n)) };
  }

  /**
   * Logits (T, vocab) of one recording of any length: in one call when it is at most chunkSeconds long, else window
   * by window (each normalised alone, as the feature extractor sees it), the kept frames concatenated.
   */
  frameLogits(wave: Float32Array, options: Pick<CTCTranscribeOptions, "chunkSeconds" | "strideSeconds"> = {}): Tensor {
    const rate = this.features.config.samplingRate,
      ratio = this.model.config.convStride.reduce((a, s) => a * s, 1);
    const toFrames = (s: number): number => Math.max(1, Math.round((s * rate) / ratio)) * ratio;
    const chunk = toFrames(options.chunkSeconds ?? Math.min(20, this.maxSeconds)),
      stride = toFrames(options.strideSeconds ?? chunk / rate / 6);
    const V = this.model.config.vocabSize;
    if (wave.length <= chunk) {
      const { logits } = this.logits([{ waveform: wave, sampleRate: rate }]);
      return new Tensor(logits.data, [logits.shape[1], V]);
    }
    const parts: Float32Array[] = [];
    for (const w of windowPlan(wave.length, chunk, stride, ratio)) {
      const { logits } = this.logits([{ waveform: wave.subarray(w.start, w.end), sampleRate: rate }]);
      const T = logits.shape[1];
      parts.push((logits.data as Float32Array).subarray(w.first * V, (w.last ?? T) * V));
    }
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return new Tensor(out, [out.length / V, V]);
  }

  /**
   * Greedy decoding (transformers' pipeline: argmax per frame, then the tokenizer), or prefix beam search with
   * { beamWidth } (bounded by { maxBeamWork } frames x beam x candidates, default 16 million).  Audio longer than
   * { chunkSeconds } is read in overlapping windows (frameLogits).
   */
  transcribe(input: AudioInput, options: CTCTranscribeOptions = {}): Transcript {
    const rate = this.features.config.samplingRate;
    const wave = this.wave("CTCRecognizer.transcribe", input, false);
    const logits = this.frameLogits(wave, options);
    const [T, V] = logits.shape;
    const lp = logSoftmax(logits.data as Float32Array, T, V);
    const secondsPerFrame = this.model.config.convStride.reduce((a, s) => a * s, 1) / rate;
    const beam = options.beamWidth !== undefined && options.beamWidth > 1;
    let segments: CTCSegment[];
    if (beam) {
      const bw = options.beamWidth!;
      checkBeamWork(T, V, bw, options.maxBeamWork ?? MAX_BEAM_WORK, wave.length / rate);
      const tokens = ctcBeamSearch(new Tensor(lp, [1, T, V]), {
        beamWidth: bw,
        blank: this.tokenizer.padId,
      })[0][0].tokens;
      // the frames of each token: the best alignment of exactly these tokens
      const path = ctcAlign(lp, T, V, tokens, this.tokenizer.padId);
      const frameIds = Array.from(path, (k) => (k < 0 ? this.tokenizer.padId : tokens[k]));
      segments = segmentsOfPath(frameIds, path);
    } else {
      const frameIds = new Int32Array(T);
      const data = logits.data as Float32Array;
      for (let t = 0; t < T; t++) {
        let best = 0;
        for (let v = 1; v < V; v++) if (data[t * V + v] > data[t * V + best]) best = v;
        frameIds[t] = best;
      }
      segments = this.tokenizer.segments(frameIds);
    }
    // a token's confidence: its highest probability over its frames; a word's: its least confident token's
    const tokenConf = segments.map((s) => {
      let best = -Infinity;
      for (let t = s.start; t < s.end; t++) best = Math.max(best, lp[t * V + s.id]);
      return detExp(best);
    });
    const words = this.tokenizer.words(segments);
    const wordConfidences = words.map((w) => Math.min(...tokenConf.slice(w.first, w.last + 1)));
    const wordTimes = words.map((w) => ({
      start: segments[w.first].start * secondsPerFrame,
      end: segments[w.last].end * secondsPerFrame,
    }));
    return {
      text: this.tokenizer.text(segments),
      words: words.map((w) => w.text),
      tokens: segments.map((s) => s.id),
      duration: wave.length / rate,
      speech: true,
      wordConfidences,
      confidence: Math.min(1, ...wordConfidences),
      wordTimes,
      warnings: [],
    };
  }

  transcribeBatch(inputs: readonly AudioInput[], options: TranscribeOptions = {}): Array<Outcome<Transcript>> {
    noLanguageOptions("CTCRecognizer", options);
    return eachAlone(inputs, (x) => this.transcribe(x, { beamWidth: options.beamWidth }));
  }
  embedBatch(kind: string): never {
    throw new UnsupportedTaskError("CTCRecognizer", `embed ${kind}`, this.tasks);
  }
  tokenizeBatch(): never {
    throw new UnsupportedTaskError("CTCRecognizer", "tokenize text", this.tasks);
  }
  /** The same recogniser with its Linear layers dynamically quantised to int8. */
  quantized(): CTCRecognizer {
    return new CTCRecognizer(MultimodalModelOptimizer.quantizeModel(this.model), this.features, this.tokenizer);
  }
  /** The model's export: input_values of one second, normalised as the extractor does -> logits. */
  exportSample(): { module: Wav2Vec2ForCTC; inputs: Record<string, Tensor> } {
    void HF_WAV2VEC2_WRITERS;
    const n = this.features.config.samplingRate;
    return { module: this.model, inputs: { input_values: new Tensor(new Float32Array(n), [1, n]) } };
  }
}

/** log_softmax over each of T rows of V logits, in float64 with the deterministic exp and log. */
function logSoftmax(x: Float32Array, T: number, V: number): Float32Array {
  const out = new Float32Array(T * V);
  for (let t = 0; t < T; t++) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, x[t * V + v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += detExp(x[t * V + v] - m);
    const z = m + detLog(s);
    for (let v = 0; v < V; v++) out[t * V + v] = x[t * V + v] - z;
  }
  return out;
}

/** A beam's alignment (per frame: the token index, or -1) -> one segment per token, with its frames. */
function segmentsOfPath(frameIds: number[], path: Int32Array): CTCSegment[] {
  const out: CTCSegment[] = [];
  for (let t = 0; t < path.length; t++) {
    const k = path[t];
    if (k < 0) continue;
    if (out.length && out.length - 1 === k) out[k].end = t + 1;
    else out.push({ id: frameIds[t], start: t, end: t + 1 });
  }
  return out;
}
