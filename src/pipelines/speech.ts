// WAV in, words out: the shipped CTC recogniser's whole pipeline (decode, mono, resample, log-mel, normalise,
// SpeechRecognitionModel, CTC decoding), configured by its model card so training and inference cannot drift.
import { PolymodalError } from "../util/errors.js";
import { Tensor } from "../tensor.js";
import { decodeWav, downmix } from "../audio/wav.js";
import { resample } from "../audio/resample.js";
import { ctcGreedyDecode, ctcBeamSearch, ctcAlign } from "../audio/ctc.js";
import { applyLogMelPlan, logMelPlan, type LogMelPlan } from "../ops/audio.js";
import { SpeechRecognitionModel } from "../models/speech.js";
import { modelFromCard, type WeightsInput, cardField } from "./card.js";
import { voiceActivity, MIN_VOICED_FRAMES } from "./voice-activity.js";
import { exp } from "../ops/elementwise.js";
import type { Module } from "../nn/module.js";
import { MultimodalModelOptimizer } from "../optimize/optimizer.js";
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

/** The fields of a speech model card (models/asr-words.json) the pipeline reads. */
export interface SpeechCard {
  config: { vocab_size: number; n_mels: number; hidden_dim: number };
  vocabulary: string[];
  features: { sampleRate: number; nFft: number; hopLength: number; nMels: number; mean: number; std: number };
}

export type { Transcript, AudioInput } from "./pipeline.js";

/**
 * WAV bytes or a mono waveform -> mono float32 at `rate` Hz.  nFft: the model's window, whose centre padding
 * (reflect, n_fft / 2) needs more samples than that: shorter audio is an Error saying how long it must be.
 */
export function audioAt(who: string, input: AudioInput, rate: number, nFft = 0): Float32Array {
  return audioIn(who, input, rate, nFft).wave;
}

/** audioAt, also saying the rate the audio came at. */
function audioIn(
  who: string,
  input: AudioInput,
  rate: number,
  nFft: number,
): { wave: Float32Array; sourceRate: number } {
  let wave: Float32Array, sr: number;
  const rateOk = (x: { sampleRate: unknown }): boolean =>
    typeof x.sampleRate === "number" && Number.isFinite(x.sampleRate) && x.sampleRate > 0;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    const d = decodeWav(input);
    wave = downmix(d.channels);
    sr = d.sampleRate;
  } else if (input && "waveform" in input && input.waveform instanceof Float32Array && rateOk(input)) {
    wave = input.waveform;
    sr = input.sampleRate;
  } else if (
    input &&
    "channels" in input &&
    Array.isArray(input.channels) &&
    input.channels.length > 0 &&
    input.channels.every((c) => c instanceof Float32Array && c.length === input.channels[0].length) &&
    rateOk(input)
  ) {
    wave = downmix(input.channels); // readAudioFile's result, as a WAV's channels are
    sr = input.sampleRate;
  } else {
    throw new Error(
      `${who}: expected WAV bytes (Uint8Array/ArrayBuffer), { waveform: Float32Array, sampleRate } or ` +
        `{ channels: Float32Array[], sampleRate } (readAudioFile), got ${input === null ? "null" : typeof input}`,
    );
  }
  if (wave.length === 0) throw new Error(`${who}: the audio is empty`);
  for (let i = 0; i < wave.length; i++)
    if (!Number.isFinite(wave[i])) throw new Error(`${who}: sample ${i} is ${wave[i]}; audio must be finite`);
  const out = sr === rate ? wave : (resample(new Tensor(wave, [wave.length]), sr, rate).data as Float32Array);
  const need = Math.floor(nFft / 2) + 1;
  if (out.length < need) {
    const ms = (n: number): string => `${((n / rate) * 1000).toFixed(1)} ms`;
    throw new PolymodalError(
      "bad_input",
      `${who}: the audio is too short: ${ms(out.length)} (${out.length} samples at ${rate} Hz); the ` +
        `model's ${nFft}-sample window needs at least ${need} samples (${ms(need)})`,
    );
  }
  return { wave: out, sourceRate: sr };
}

/**
 * Below this share of the voiced frames' power in the mel bands centred above 5 kHz (whose skirts stay clear of a
 * 4 kHz band limit), 16 kHz audio is telephone-band (8 kHz) audio.  Measured on the test utterances: full band >=
 * 1.4e-5, the same resampled through 8 kHz <= 2.5e-6.
 */
const MIN_HIGH_BAND = 5e-6;
const HIGH_BAND_HZ = 5000;

/**
 * Speech to text with a CTC SpeechRecognitionModel and its model card.
 * @example
 * import { init, SpeechRecognizer } from "polymodal";
 * await init();
 * const get = async (u: string) => new Uint8Array(await (await fetch(u)).arrayBuffer());
 * const asr = SpeechRecognizer.fromCard(await (await fetch("models/asr-words.json")).json(), await
 * get("models/asr-words.safetensors"));
 * asr.transcribe(await get("speech.wav")).text; // "on nine up"
 */
/** The default bound on one transcription's beam search: frames x beam x candidate tokens (about 7 s of a core). */
export const MAX_BEAM_WORK = 16_000_000;

/**
 * A beam search's work, frames x beam x candidate tokens per beam, bounded so one call costs seconds, not minutes:
 * over `limit` is an Error naming the widest beam that fits.
 */
export function checkBeamWork(T: number, V: number, beamWidth: number, limit: number, seconds: number): void {
  const work = T * beamWidth * Math.min(V, beamWidth);
  if (work <= limit) return;
  let fit = 1;
  while (fit < beamWidth && T * (fit + 1) * Math.min(V, fit + 1) <= limit) fit++;
  throw new Error(
    `beam ${beamWidth} on ${seconds.toFixed(1)} s of audio is more search than one call may ask ` +
      `(${work} steps, limit ${limit}: options.maxBeamWork); use beam ${fit} or less, or shorter audio`,
  );
}

export class SpeechRecognizer implements Pipeline {
  static readonly tasks: Tasks = { embed: null, transcribe: true };
  readonly tasks = SpeechRecognizer.tasks;
  readonly dim = null;
  /** the front end (window, filter bank, log and the card's normalisation), built once */
  readonly frontEnd: LogMelPlan;
  constructor(
    readonly model: SpeechRecognitionModel,
    readonly card: SpeechCard,
  ) {
    const f = card.features;
    if (card.vocabulary.length !== model.config.vocabSize) {
      throw new Error(
        `SpeechRecognizer: the card has ${card.vocabulary.length} words, the model ${model.config.vocabSize} outputs`,
      );
    }
    if (f.nMels !== model.config.nMels)
      throw new Error(`SpeechRecognizer: the card's nMels ${f.nMels} differs from the model's ${model.config.nMels}`);
    this.frontEnd = logMelPlan("SpeechRecognizer", {
      sampleRate: f.sampleRate,
      nFft: f.nFft,
      hopLength: f.hopLength,
      nMels: f.nMels,
      eps: 1e-6,
      mean: f.mean,
      std: f.std,
    });
  }

  static fromCard(card: SpeechCard, weights: WeightsInput): SpeechRecognizer {
    cardField("SpeechRecognizer", card, "vocabulary");
    cardField("SpeechRecognizer", card, "features");
    return new SpeechRecognizer(modelFromCard("SpeechRecognizer", card, weights, SpeechRecognitionModel), card);
  }

  /**
   * Normalised log-mel features (1, nMels, frames) of mono audio at the card's sample rate: (log(mel + 1e-6) -
   * mean) / std.
   */
  features(wave: Float32Array): Tensor {
    return applyLogMelPlan("SpeechRecognizer.features", new Tensor(wave, [1, wave.length]), this.frontEnd).features;
  }

  /** (1, frames, vocab) log-probabilities for one recording. */
  logProbs(input: AudioInput): Tensor {
    return this.model.forward(
      this.features(
        audioAt("SpeechRecognizer.logProbs", input, this.card.features.sampleRate, this.card.features.nFft),
      ),
    );
  }

  /**
   * Greedy CTC (the reference design's decode_greedy), or prefix beam search with { beamWidth } (its time linear
   * in the audio; a search of more than { maxBeamWork } frames x beam x candidates, default 16 million, about 7 s
   * of a core, is refused naming the beam that fits).  Audio without
   * speech (silence, noise: see voice-activity.ts) gives an empty transcript unless { vad: false }.  Warnings say
   * when the audio lacks the band the model was trained on (8 kHz telephone audio: expect many more errors).
   */
  transcribe(input: AudioInput, options: { beamWidth?: number; vad?: boolean; maxBeamWork?: number } = {}): Transcript {
    const maxBeamWork = options.maxBeamWork ?? MAX_BEAM_WORK;
    const f = this.card.features;
    const { wave, sourceRate } = audioIn("SpeechRecognizer.transcribe", input, f.sampleRate, f.nFft);
    const duration = wave.length / f.sampleRate;
    // the features and, for voice activity, the mel spectrogram they come from: one call
    const { features, mel } = applyLogMelPlan(
      "SpeechRecognizer.transcribe",
      new Tensor(wave, [1, wave.length]),
      this.frontEnd,
      true,
    );
    const va = voiceActivity(mel!, f.sampleRate, HIGH_BAND_HZ);
    const warnings: string[] = [];
    if (sourceRate < f.sampleRate) {
      warnings.push(
        `the audio was recorded at ${sourceRate} Hz; the model was trained on ${f.sampleRate} Hz audio, so ` +
          `nothing above ${sourceRate / 2} Hz is there and more words may be wrong`,
      );
    } else if (va.voiced >= MIN_VOICED_FRAMES && va.highBand < MIN_HIGH_BAND) {
      warnings.push(
        `the audio has almost nothing above 4000 Hz (telephone-band audio resampled to ${sourceRate} Hz?); the ` +
          `model was trained on full-band ${f.sampleRate} Hz audio, so more words may be wrong`,
      );
    }
    if ((options.vad ?? true) && va.voiced < MIN_VOICED_FRAMES) {
      return { text: "", words: [], tokens: [], duration, speech: false, wordConfidences: [], confidence: 1, warnings };
    }
    const lp = this.model.forward(features);
    const beam = options.beamWidth !== undefined && options.beamWidth > 1;
    if (beam) checkBeamWork(lp.shape[1], lp.shape[2], options.beamWidth!, maxBeamWork, duration);
    const tokens = beam ? ctcBeamSearch(lp, { beamWidth: options.beamWidth })[0][0].tokens : ctcGreedyDecode(lp)[0];
    const words = tokens.map((t) => this.card.vocabulary[t]);
    const wordConfidences = tokenConfidences(lp, tokens);
    return {
      text: words.join(" "),
      words,
      tokens,
      duration,
      speech: true,
      wordConfidences,
      confidence: Math.min(1, ...wordConfidences),
      warnings,
    };
  }

  transcribeBatch(inputs: readonly AudioInput[], options: TranscribeOptions = {}): Array<Outcome<Transcript>> {
    noLanguageOptions("SpeechRecognizer", options);
    return eachAlone(inputs, (x) => this.transcribe(x, { beamWidth: options.beamWidth }));
  }
  embedBatch(kind: string): never {
    throw new UnsupportedTaskError("SpeechRecognizer", `embed ${kind}`, this.tasks);
  }
  tokenizeBatch(): never {
    throw new UnsupportedTaskError("SpeechRecognizer", "tokenize text", this.tasks);
  }
  quantized(): SpeechRecognizer {
    return new SpeechRecognizer(MultimodalModelOptimizer.quantizeModel(this.model), this.card);
  }
  exportSample(): { module: Module; inputs: Record<string, Tensor> } {
    return { module: this.model, inputs: { mel_spec: Tensor.zeros([1, this.model.config.nMels, 100]) } };
  }
}

/**
 * Per token of a transcript (greedy or beam): the highest probability the frames aligned to it gave it, on the
 * best CTC alignment of exactly these tokens (ctcAlign; exp by the package's kernel).  For the greedy transcript
 * that alignment is the per-frame argmax path itself.
 */
function tokenConfidences(lp: Tensor, tokens: number[]): number[] {
  const n = tokens.length;
  if (n === 0) return [];
  const [, T, V] = lp.shape;
  const path = ctcAlign(lp.data as Float32Array, T, V, tokens);
  const best = new Float32Array(n).fill(-Infinity);
  for (let t = 0; t < T; t++) {
    const k = path[t];
    if (k >= 0 && lp.data[t * V + tokens[k]] > best[k]) best[k] = lp.data[t * V + tokens[k]];
  }
  return Array.from(exp(new Tensor(best, [n])).data as Float32Array);
}

/** Word error rate: (substitutions + deletions + insertions) / reference words, by edit distance. */
export function wordErrors(reference: string[], hypothesis: string[]): number {
  let d = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const n = [i];
    for (let j = 1; j <= hypothesis.length; j++)
      n.push(Math.min(d[j] + 1, n[j - 1] + 1, d[j - 1] + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1)));
    d = n;
  }
  return d[hypothesis.length];
}
