// WAV in, words out: the shipped CTC recogniser's whole pipeline (decode, mono, resample, log-mel, normalise,
// SpeechRecognitionModel, CTC decoding), configured by its model card so training and inference cannot drift.
import { Tensor } from "../tensor.js";
import { decodeWav, downmix } from "../audio/wav.js";
import { resample } from "../audio/resample.js";
import { MelSpectrogram } from "../audio/transforms.js";
import { ctcGreedyDecode, ctcBeamSearch } from "../audio/ctc.js";
import { logEps } from "../ops/audio.js";
import { SpeechRecognitionModel } from "../models/speech.js";
import { modelFromCard, type WeightsInput, cardField } from "./card.js";

/** The fields of a speech model card (models/asr-words.json) the pipeline reads. */
export interface SpeechCard {
  config: { vocab_size: number; n_mels: number; hidden_dim: number };
  vocabulary: string[];
  features: { sampleRate: number; nFft: number; hopLength: number; nMels: number; mean: number; std: number };
}

export interface Transcript {
  text: string;
  words: string[];
  tokens: number[];
  /** seconds of audio transcribed */
  duration: number;
}

export type AudioInput = Uint8Array | ArrayBuffer | { waveform: Float32Array; sampleRate: number };

/**
 * WAV bytes or a mono waveform -> mono float32 at `rate` Hz.  nFft: the model's window, whose centre padding
 * (reflect, n_fft / 2) needs more samples than that: shorter audio is an Error saying how long it must be.
 */
export function audioAt(who: string, input: AudioInput, rate: number, nFft = 0): Float32Array {
  let wave: Float32Array, sr: number;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    const d = decodeWav(input);
    wave = downmix(d.channels);
    sr = d.sampleRate;
  } else if (input && input.waveform instanceof Float32Array && Number.isFinite(input.sampleRate) && input.sampleRate > 0) {
    wave = input.waveform;
    sr = input.sampleRate;
  } else {
    throw new Error(`${who}: expected WAV bytes (Uint8Array/ArrayBuffer) or { waveform: Float32Array, sampleRate }, got ${input === null ? "null" : typeof input}`);
  }
  if (wave.length === 0) throw new Error(`${who}: the audio is empty`);
  for (let i = 0; i < wave.length; i++) if (!Number.isFinite(wave[i])) throw new Error(`${who}: sample ${i} is ${wave[i]}; audio must be finite`);
  const out = sr === rate ? wave : (resample(new Tensor(wave, [wave.length]), sr, rate).data as Float32Array);
  const need = Math.floor(nFft / 2) + 1;
  if (out.length < need) {
    const ms = (n: number): string => `${((n / rate) * 1000).toFixed(1)} ms`;
    throw Object.assign(new Error(`${who}: the audio is too short: ${ms(out.length)} (${out.length} samples at ${rate} Hz); the model's ${nFft}-sample window needs at least ${need} samples (${ms(need)})`), { exitCode: 3 });
  }
  return out;
}

/**
 * Speech to text with a CTC SpeechRecognitionModel and its model card.
 * @example
 * import { init, SpeechRecognizer } from "polymodal";
 * await init();
 * const get = async (u: string) => new Uint8Array(await (await fetch(u)).arrayBuffer());
 * const asr = SpeechRecognizer.fromCard(await (await fetch("models/asr-words.json")).json(), await get("models/asr-words.safetensors"));
 * asr.transcribe(await get("speech.wav")).text; // "on nine up"
 */
export class SpeechRecognizer {
  readonly mel: MelSpectrogram;
  constructor(readonly model: SpeechRecognitionModel, readonly card: SpeechCard) {
    const f = card.features;
    if (card.vocabulary.length !== model.config.vocabSize) {
      throw new Error(`SpeechRecognizer: the card has ${card.vocabulary.length} words, the model ${model.config.vocabSize} outputs`);
    }
    if (f.nMels !== model.config.nMels) throw new Error(`SpeechRecognizer: the card's nMels ${f.nMels} differs from the model's ${model.config.nMels}`);
    this.mel = new MelSpectrogram({ sampleRate: f.sampleRate, nFft: f.nFft, hopLength: f.hopLength, nMels: f.nMels });
  }

  static fromCard(card: SpeechCard, weights: WeightsInput): SpeechRecognizer {
    cardField("SpeechRecognizer", card, "vocabulary");
    cardField("SpeechRecognizer", card, "features");
    return new SpeechRecognizer(modelFromCard("SpeechRecognizer", card, weights, SpeechRecognitionModel), card);
  }

  /** Normalised log-mel features (1, nMels, frames) of mono audio at the card's sample rate. */
  features(wave: Float32Array): Tensor {
    const f = this.card.features;
    const x = logEps(this.mel.forward(new Tensor(wave, [1, wave.length])), 1e-6);
    const d = x.data as Float32Array;
    const mean = Math.fround(f.mean), inv = Math.fround(1 / f.std);
    for (let i = 0; i < d.length; i++) d[i] = Math.fround(Math.fround(d[i] - mean) * inv);
    return x;
  }

  /** (1, frames, vocab) log-probabilities for one recording. */
  logProbs(input: AudioInput): Tensor {
    return this.model.forward(this.features(audioAt("SpeechRecognizer.logProbs", input, this.card.features.sampleRate, this.card.features.nFft)));
  }

  /** Greedy CTC (the reference design's decode_greedy), or prefix beam search with { beamWidth }. */
  transcribe(input: AudioInput, options: { beamWidth?: number } = {}): Transcript {
    const wave = audioAt("SpeechRecognizer.transcribe", input, this.card.features.sampleRate, this.card.features.nFft);
    const lp = this.model.forward(this.features(wave));
    const tokens = options.beamWidth && options.beamWidth > 1 ? ctcBeamSearch(lp, { beamWidth: options.beamWidth })[0][0].tokens : ctcGreedyDecode(lp)[0];
    const words = tokens.map((t) => this.card.vocabulary[t]);
    return { text: words.join(" "), words, tokens, duration: wave.length / this.card.features.sampleRate };
  }
}

/** Word error rate: (substitutions + deletions + insertions) / reference words, by edit distance. */
export function wordErrors(reference: string[], hypothesis: string[]): number {
  let d = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const n = [i];
    for (let j = 1; j <= hypothesis.length; j++) n.push(Math.min(d[j] + 1, n[j - 1] + 1, d[j - 1] + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1)));
    d = n;
  }
  return d[hypothesis.length];
}
