// Speech to text with a Hugging Face Whisper checkpoint: audio -> 16 kHz mono -> log-mel features (one 30 s window,
// or the whole recording for longer audio) -> generation (whisper-generate.ts: the prompt, greedy / beam search /
// the temperature fallback, seeking windows) over this file's side of it: windows through the encoder and decoder
// steps over a KV cache allocated once -> text by the folder's tokenizer.json with special tokens skipped, word
// confidences from the tokens' probabilities, segments with times in timestamp mode.
import * as core from "../core/index.js";
import { scoped } from "../nn/module.js";
import { Tensor } from "../tensor.js";
import { HF_WHISPER_WRITERS } from "../onnx/hf-whisper.js";
import { PolymodalError } from "../util/errors.js";
import { MultimodalModelOptimizer } from "../optimize/optimizer.js";
import { exp } from "../util/detmath.js";
import type { WhisperFeatureExtractor } from "../audio/whisper-features.js";
import { WhisperKVCache, type WhisperForConditionalGeneration } from "../models/hf-whisper.js";
import type { Tokenizer } from "../text/tokenizer.js";
import { audioAt } from "./speech.js";
import { generate, type WhisperGeneration, type WhisperSteps, type WhisperWindows } from "./whisper-generate.js";
import {
  UnsupportedTaskError,
  eachAlone,
  type AudioInput,
  type Outcome,
  type Pipeline,
  type Tasks,
  type Transcript,
  type TranscribeOptions,
} from "./pipeline.js";

export interface WhisperTranscribeOptions {
  /** "en", "de", ... (or "<|en|>"); default: detected from the first window */
  language?: string;
  /** "transcribe" (default) or "translate" (into English) */
  task?: "transcribe" | "translate";
  /** timestamp mode: segments with their times (always used inside for audio longer than a window) */
  timestamps?: boolean;
  /** beam search of this width at temperature 0 (default: generation_config.json's num_beams, else 1: greedy) */
  beamWidth?: number;
  /** the temperature fallback's temperatures, tried in order while a window fails the thresholds (default [0]) */
  temperatures?: readonly number[];
  /** thresholds of the fallback (default: generation_config.json's, else none) */
  compressionRatioThreshold?: number;
  logprobThreshold?: number;
  noSpeechThreshold?: number;
  /** the sampler's seed (default 0: the same draws every run) */
  seed?: number;
}

export class WhisperRecognizer implements Pipeline {
  static readonly tasks: Tasks = { embed: null, transcribe: true };
  readonly tasks = WhisperRecognizer.tasks;
  readonly dim = null;
  /** allocated once, reused by every window of every call */
  private cache: WhisperKVCache | null = null;
  constructor(
    readonly model: WhisperForConditionalGeneration,
    readonly features: WhisperFeatureExtractor,
    readonly tokenizer: Tokenizer,
    readonly generation: WhisperGeneration,
  ) {
    const frames = features.frames / 2;
    if (frames > model.config.maxSourcePositions)
      throw new Error(
        `WhisperRecognizer: a ${features.config.chunkLength} s window makes ${frames} encoder frames, more than ` +
          `max_source_positions (${model.config.maxSourcePositions})`,
      );
    if (features.config.nMels !== model.config.numMelBins)
      throw new Error(
        `WhisperRecognizer: the feature extractor makes ${features.config.nMels} mel bins, the model takes ` +
          `${model.config.numMelBins}`,
      );
  }

  /**
   * The recogniser's KV cache for `beams` hypotheses (allocated with the first window, again only for more beams),
   * emptied for a new window.
   */
  cacheFor(beams = 1): WhisperKVCache {
    if (!this.cache) this.model.model.decoder.prepareOutput(); // (the weights are this recogniser's own: packed once)
    if (!this.cache || this.cache.beams < beams) {
      this.cache?.dispose();
      this.cache = new WhisperKVCache(this.model.config, beams);
    }
    this.cache.reset();
    return this.cache;
  }

  /** One window's features (1, n_mels, frames) through the encoder, its keys and values into the cache. */
  encodeWindow(features: Tensor, cache: WhisperKVCache): void {
    scoped(() => {
      const states = this.model.model.encoder.run(core.fromTensor("WhisperRecognizer", "features", features));
      this.model.model.decoder.encode(states[states.length - 1], cache);
    });
  }

  /** Tokens after those the cache holds -> the last one's logits (vocab); the cache grows by them. */
  decodeStep(ids: readonly number[], cache: WhisperKVCache): Float32Array {
    return scoped(() => this.model.model.decoder.step(ids, cache));
  }

  /** The prompt's language token: given ("en", "<|en|>"), or null to detect. */
  private languageToken(language: string | undefined): number | null {
    const langs = this.generation.langToId;
    if (language === undefined) return null;
    const key = language.startsWith("<|") ? language : `<|${language.toLowerCase()}|>`;
    const id = langs[key];
    if (id === undefined)
      throw new PolymodalError(
        "bad_input",
        Object.keys(langs).length === 0
          ? `WhisperRecognizer: this checkpoint is English-only; it takes no language (got ${JSON.stringify(language)})`
          : `WhisperRecognizer: unknown language ${JSON.stringify(language)}; this checkpoint knows ` +
              Object.keys(langs)
                .map((l) => l.slice(2, -2))
                .join(", "),
      );
    return id;
  }

  /** The recogniser's side of generation: windows through the encoder, steps over the KV cache. */
  private windows(): WhisperWindows {
    const fe = this.features;
    return {
      frames: fe.frames,
      frameSeconds: fe.config.hopLength / fe.config.samplingRate,
      timestampSeconds: fe.config.chunkLength / (fe.frames / 2),
      vocab: this.model.config.vocabSize,
      maxTarget: this.model.config.maxTargetPositions,
      begin: (features, beams): WhisperSteps => {
        const cache = this.cacheFor(beams);
        this.encodeWindow(features, cache);
        return {
          prompt: (ids) => this.decodeStep(ids, cache),
          rewind: (n) => {
            cache.length = n;
          },
          reorder: (parents) => cache.reorder(parents),
          next: (tokens) => scoped(() => this.model.model.decoder.stepBeams(tokens, cache)),
        };
      },
    };
  }

  /** Transcription (or translation) of any length: short audio in one window, long audio in seeking windows. */
  transcribe(input: AudioInput, options: WhisperTranscribeOptions = {}): Transcript {
    const rate = this.features.config.samplingRate;
    const wave = audioAt("WhisperRecognizer.transcribe", input, rate);
    const taskName = options.task ?? "transcribe";
    const task = this.generation.taskToId[taskName] ?? null;
    if (task === null && Object.keys(this.generation.taskToId).length > 0)
      throw new PolymodalError("bad_input", `WhisperRecognizer: unknown task ${JSON.stringify(taskName)}`);
    const timestamps = options.timestamps === true;
    const g = this.generationWith(options);
    if (timestamps && g.noTimestamps === null)
      throw new PolymodalError("bad_input", "WhisperRecognizer: this checkpoint has no timestamp tokens");
    const { segments } = generate(this.features.extractAll(wave), this.windows(), g, {
      language: this.languageToken(options.language),
      task,
      timestamps,
      temperatures: options.temperatures ?? [0],
      seed: options.seed ?? 0,
    });
    const kept = segments.flatMap((s) => s.tokens.flatMap((t, i) => (t === g.eos ? [] : [[t, s.logprobs[i]]])));
    const tokens = kept.map(([t]) => t),
      probs = kept.map(([, lp]) => exp(lp));
    const textOf = (ts: number[]): string => this.tokenizer.decode(ts, { skipSpecialTokens: true }).trim();
    // words: a token whose text starts with a space starts a word; a word's confidence is its least likely token's
    const words: string[] = [],
      wordConfidences: number[] = [];
    tokens.forEach((t, i) => {
      const piece = this.tokenizer.decode([t], { skipSpecialTokens: true });
      if (piece === "") return;
      if (words.length === 0 || /^\s/.test(piece)) {
        words.push(piece.trim());
        wordConfidences.push(probs[i]);
      } else {
        words[words.length - 1] += piece;
        wordConfidences[wordConfidences.length - 1] = Math.min(wordConfidences[wordConfidences.length - 1], probs[i]);
      }
    });
    const wordsKept = words.flatMap((w, i) => (w ? [i] : []));
    return {
      text: textOf(tokens),
      words: wordsKept.map((i) => words[i]),
      tokens,
      duration: wave.length / rate,
      speech: true,
      wordConfidences: wordsKept.map((i) => wordConfidences[i]),
      confidence: Math.min(1, ...wordsKept.map((i) => wordConfidences[i])),
      ...(timestamps
        ? {
            segments: segments.map((s) => ({
              start: s.start,
              end: s.end,
              text: textOf(s.tokens),
              temperature: s.temperature,
              avgLogprob: s.avgLogprob,
              compressionRatio: s.compressionRatio,
              noSpeechProb: s.noSpeechProb,
            })),
          }
        : {}),
      warnings: [],
    };
  }

  /** generation_config.json's decoding with this call's options over it (checked). */
  private generationWith(o: WhisperTranscribeOptions): WhisperGeneration {
    const g = { ...this.generation };
    const num = (k: string, v: number | undefined, ok: (x: number) => boolean, what: string): number | undefined => {
      if (v !== undefined && (typeof v !== "number" || !ok(v)))
        throw new PolymodalError("bad_input", `WhisperRecognizer: ${k} must be ${what}, got ${JSON.stringify(v)}`);
      return v;
    };
    const beams = num("beamWidth", o.beamWidth, (x) => Number.isInteger(x) && x >= 1 && x <= 16, "an integer 1-16");
    if (beams !== undefined) g.numBeams = beams;
    const finite = (x: number) => Number.isFinite(x);
    const crt = num("compressionRatioThreshold", o.compressionRatioThreshold, finite, "a number");
    const lpt = num("logprobThreshold", o.logprobThreshold, finite, "a number");
    const nst = num("noSpeechThreshold", o.noSpeechThreshold, finite, "a number");
    if (crt !== undefined) g.compressionRatioThreshold = crt;
    if (lpt !== undefined) g.logprobThreshold = lpt;
    if (nst !== undefined) g.noSpeechThreshold = nst;
    const ts = o.temperatures;
    if (
      ts !== undefined &&
      (!Array.isArray(ts) || ts.length < 1 || ts.length > 16 || ts.some((t) => !Number.isFinite(t) || t < 0 || t > 5))
    )
      throw new PolymodalError(
        "bad_input",
        `WhisperRecognizer: temperatures must be 1-16 numbers from 0 to 5, got ${JSON.stringify(ts)}`,
      );
    num("seed", o.seed, (x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff, "an integer 0-4294967295");
    return g;
  }

  transcribeBatch(inputs: readonly AudioInput[], options: TranscribeOptions = {}): Array<Outcome<Transcript>> {
    return eachAlone(inputs, (x) => this.transcribe(x, options));
  }
  embedBatch(kind: string): never {
    throw new UnsupportedTaskError("WhisperRecognizer", `embed ${kind}`, this.tasks);
  }
  tokenizeBatch(): never {
    throw new UnsupportedTaskError("WhisperRecognizer", "tokenize text", this.tasks);
  }
  /** The same recogniser with its Linear layers dynamically quantised to int8. */
  quantized(): WhisperRecognizer {
    return new WhisperRecognizer(
      MultimodalModelOptimizer.quantizeModel(this.model),
      this.features,
      this.tokenizer,
      this.generation,
    );
  }
  /** The encoder's export: input_features of one window (1, n_mels, frames) -> last_hidden_state. */
  exportSample(): { module: WhisperForConditionalGeneration; inputs: Record<string, Tensor> } {
    void HF_WHISPER_WRITERS;
    const M = this.features.config.nMels;
    return {
      module: this.model,
      inputs: { input_features: new Tensor(new Float32Array(M * this.features.frames), [1, M, this.features.frames]) },
    };
  }
  /**
   * One decoder step's export (Optimum's decoder-with-past layout): input_ids (1, 1) and per layer the decoder's
   * past keys and values (1, H, past, D) and the encoder's (1, H, frames / 2, D) -> logits and the present keys and
   * values.
   */
  exportStepSample(past = 4): { module: WhisperForConditionalGeneration; inputs: Record<string, Tensor> } {
    void HF_WHISPER_WRITERS;
    const c = this.model.config,
      H = c.decoderAttentionHeads,
      D = c.dModel / H,
      S = this.features.frames / 2;
    const inputs: Record<string, Tensor> = {
      input_ids: new Tensor(Int32Array.of(this.generation.decoderStart), [1, 1]),
    };
    for (let i = 0; i < c.decoderLayers; i++)
      for (const [part, n] of [
        ["decoder", past],
        ["encoder", S],
      ] as const)
        for (const kv of ["key", "value"])
          inputs[`past_key_values.${i}.${part}.${kv}`] = new Tensor(new Float32Array(H * n * D), [1, H, n, D]);
    return { module: this.model, inputs };
  }
  /** Frees the KV cache (the model's weights are the model's own). */
  dispose(): void {
    this.cache?.dispose();
    this.cache = null;
  }
}
