// Speech to text with a Hugging Face Whisper checkpoint: audio -> 16 kHz mono -> 30 s windows -> log-mel features ->
// encoder -> greedy decoding over the KV cache, prompted as generation_config.json says (<|startoftranscript|>,
// the language given or detected from the first step's language-token logits, the task, <|notimestamps|>), with
// suppress_tokens everywhere and begin_suppress_tokens at the first step, until <|endoftext|> or max_length; text
// by the folder's tokenizer.json with special tokens skipped.  Audio longer than a window is read window after
// window (timestamp-seeking windows are not done yet).
import * as core from "../core/index.js";
import { scoped } from "../nn/module.js";
import type { Tensor } from "../tensor.js";
import { PolymodalError } from "../util/errors.js";
import { MultimodalModelOptimizer } from "../optimize/optimizer.js";
import { exp, log } from "../util/detmath.js";
import type { WhisperFeatureExtractor } from "../audio/whisper-features.js";
import { WhisperKVCache, type WhisperForConditionalGeneration } from "../models/hf-whisper.js";
import type { Tokenizer } from "../text/tokenizer.js";
import { audioAt } from "./speech.js";
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

/** What generation_config.json (or config.json) says about decoding. */
export interface WhisperGeneration {
  decoderStart: number;
  eos: number;
  noTimestamps: number | null;
  /** "<|en|>" -> id; empty for English-only checkpoints */
  langToId: Record<string, number>;
  taskToId: Record<string, number>;
  suppress: number[];
  beginSuppress: number[];
  maxLength: number;
  /** the latest first timestamp, in timestamp steps (null: any) */
  maxInitialTimestamp: number | null;
}

const ids = (v: unknown, where: string, k: string): number[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x) || x < 0))
    throw new Error(`${where}: ${k} must be a list of token ids, got ${JSON.stringify(v)}`);
  return v as number[];
};

/** generation_config.json (null: absent) over config.json -> how to decode; ids checked against the vocabulary. */
export function whisperGenerationFromJSON(
  gen: unknown,
  config: unknown,
  vocab: number,
  where: string,
): WhisperGeneration {
  const g = { ...((config as object) ?? {}), ...((gen as object) ?? {}) } as Record<string, unknown>;
  const id = (k: string, required: boolean): number | null => {
    const v = g[k];
    if (v === undefined || v === null) {
      if (required) throw new Error(`${where}: generation_config.json / config.json give no ${k}`);
      return null;
    }
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= vocab)
      throw new Error(`${where}: ${k} ${JSON.stringify(v)} is not a token id below vocab_size ${vocab}`);
    return v as number;
  };
  const map = (k: string): Record<string, number> => {
    const m = g[k];
    if (m === undefined || m === null) return {};
    if (
      typeof m !== "object" ||
      Array.isArray(m) ||
      Object.values(m).some((x) => !Number.isInteger(x) || x < 0 || x >= vocab)
    )
      throw new Error(`${where}: ${k} must map tokens to ids below vocab_size ${vocab}`);
    return m as Record<string, number>;
  };
  const maxLength = g.max_length ?? 448;
  if (!Number.isInteger(maxLength) || (maxLength as number) < 2)
    throw new Error(`${where}: max_length must be an integer >= 2, got ${JSON.stringify(maxLength)}`);
  return {
    decoderStart: id("decoder_start_token_id", true)!,
    eos: id("eos_token_id", true)!,
    noTimestamps: id("no_timestamps_token_id", false),
    langToId: map("lang_to_id"),
    taskToId: map("task_to_id"),
    suppress: ids(g.suppress_tokens, where, "suppress_tokens").filter((t) => t < vocab),
    beginSuppress: ids(g.begin_suppress_tokens, where, "begin_suppress_tokens").filter((t) => t < vocab),
    maxLength: maxLength as number,
    maxInitialTimestamp: Number.isInteger(g.max_initial_timestamp_index)
      ? (g.max_initial_timestamp_index as number)
      : null,
  };
}

/**
 * transformers' WhisperTimeStampLogitsProcessor on one step's logits (in place), `generated` the tokens after the
 * prompt: <|notimestamps|> never; timestamps come in pairs (after a pair, text; after a lone timestamp, another or
 * the end); they never go back; the first token is a timestamp, no later than maxInitial steps; and a timestamp
 * whenever the timestamps' total probability beats the likeliest text token's (log-space, deterministic exp/log).
 */
export function timestampRules(
  lg: Float32Array,
  generated: readonly number[],
  tsBegin: number,
  eos: number,
  noTimestamps: number,
  maxInitial: number | null,
): void {
  lg[noTimestamps] = -Infinity;
  const n = generated.length;
  const lastTs = n >= 1 && generated[n - 1] >= tsBegin,
    penultTs = n < 2 || generated[n - 2] >= tsBegin;
  if (lastTs) {
    if (penultTs) lg.fill(-Infinity, tsBegin);
    else lg.fill(-Infinity, 0, eos);
  }
  const stamps = generated.filter((t) => t >= tsBegin);
  if (stamps.length) {
    const last = stamps[stamps.length - 1];
    lg.fill(-Infinity, tsBegin, lastTs && !penultTs ? last : last + 1);
  }
  if (n === 0) {
    lg.fill(-Infinity, 0, tsBegin);
    if (maxInitial !== null) lg.fill(-Infinity, tsBegin + maxInitial + 1);
  }
  // log_softmax: the timestamps' logsumexp against the best text token (both over the same normaliser)
  let m = -Infinity;
  for (const v of lg) if (v > m) m = v;
  if (m === -Infinity) return;
  let z = 0,
    zt = 0,
    bestText = -Infinity;
  for (let v = 0; v < lg.length; v++) {
    if (lg[v] === -Infinity) continue;
    const e = exp(lg[v] - m);
    z += e;
    if (v >= tsBegin) zt += e;
    else if (lg[v] > bestText) bestText = lg[v];
  }
  const lz = log(z);
  const tsLogProb = zt > 0 ? log(zt) - lz : -Infinity,
    textLogProb = bestText - m - lz;
  if (tsLogProb > textLogProb) lg.fill(-Infinity, 0, tsBegin);
}

export interface WhisperTranscribeOptions {
  /** "en", "de", ... (or "<|en|>"); default: detected from the first window */
  language?: string;
  /** "transcribe" (default) or "translate" (into English) */
  task?: "transcribe" | "translate";
  /** timestamp mode: segments with their times, and long audio read window after window by seeking */
  timestamps?: boolean;
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

  /** The recogniser's KV cache (allocated with the first window, then reused), emptied for a new window. */
  cacheFor(): WhisperKVCache {
    if (!this.cache) {
      this.cache = new WhisperKVCache(this.model.config);
      this.model.model.decoder.prepareOutput(); // (the weights are this recogniser's own: packed once)
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

  /** One window: (tokens generated, their probabilities, the language token used). */
  private window(
    wave: Float32Array,
    lang: number | null,
    task: number | null,
    timestamps = false,
  ): { tokens: number[]; probs: number[]; lang: number | null } {
    const g = this.generation,
      V = this.model.config.vocabSize;
    const cache = this.cacheFor();
    this.encodeWindow(this.features.extract(wave), cache);
    const step = (ids: number[]): Float32Array => this.decodeStep(ids, cache);
    const multilingual = Object.keys(g.langToId).length > 0;
    let prompt: number[] = [g.decoderStart];
    if (multilingual) {
      if (lang === null) {
        // detected: the language token the first step finds likeliest
        const lg = step(prompt);
        prompt = [];
        let best = -Infinity;
        for (const id of Object.values(g.langToId))
          if (lg[id] > best) {
            best = lg[id];
            lang = id;
          }
      }
      prompt.push(lang!);
      if (task !== null) prompt.push(task);
    }
    if (g.noTimestamps !== null && !timestamps) prompt.push(g.noTimestamps);
    const tokens: number[] = [],
      probs: number[] = [];
    const budget = Math.min(g.maxLength, this.model.config.maxTargetPositions) - cache.length - prompt.length;
    let next = prompt;
    for (let i = 0; i < budget; i++) {
      const lg = step(next);
      for (const s of g.suppress) lg[s] = -Infinity;
      if (i === 0) for (const s of g.beginSuppress) lg[s] = -Infinity;
      if (timestamps) timestampRules(lg, tokens, g.noTimestamps! + 1, g.eos, g.noTimestamps!, g.maxInitialTimestamp);
      let best = 0;
      for (let v = 1; v < V; v++) if (lg[v] > lg[best]) best = v;
      if (best === g.eos) break;
      // the token's probability: softmax over the (suppressed) logits, with the deterministic exp and log
      let z = 0;
      for (let v = 0; v < V; v++) if (lg[v] > -Infinity) z += exp(lg[v] - lg[best]);
      probs.push(exp(-log(z)));
      tokens.push(best);
      next = [best];
    }
    return { tokens, probs, lang };
  }

  /** Greedy transcription (or translation) of any length, a 30 s window at a time. */
  transcribe(input: AudioInput, options: WhisperTranscribeOptions = {}): Transcript {
    const rate = this.features.config.samplingRate;
    const wave = audioAt("WhisperRecognizer.transcribe", input, rate);
    const taskName = options.task ?? "transcribe";
    const task = this.generation.taskToId[taskName] ?? null;
    if (task === null && Object.keys(this.generation.taskToId).length > 0)
      throw new PolymodalError("bad_input", `WhisperRecognizer: unknown task ${JSON.stringify(taskName)}`);
    let lang = this.languageToken(options.language);
    const timestamps = options.timestamps === true;
    const g = this.generation;
    if (timestamps && g.noTimestamps === null)
      throw new PolymodalError("bad_input", "WhisperRecognizer: this checkpoint has no timestamp tokens");
    const tokens: number[] = [],
      probs: number[] = [],
      segments: Array<{ start: number; end: number; text: string }> = [];
    const n = this.features.windowSamples,
      tsBegin = (g.noTimestamps ?? 0) + 1,
      // seconds per timestamp step: one encoder frame (0.02 s for 30 s over 1500 frames)
      step = this.features.config.chunkLength / (this.features.frames / 2);
    const textOf = (ts: number[]): string => this.tokenizer.decode(ts, { skipSpecialTokens: true }).trim();
    for (let seek = 0; seek < wave.length; ) {
      const w = this.window(wave.subarray(seek, seek + n), lang, task, timestamps);
      lang = w.lang; // detected once, from the first window
      tokens.push(...w.tokens);
      probs.push(...w.probs);
      if (!timestamps) {
        seek += n;
        continue;
      }
      // the window's segments, and where the next window starts (openai's long-form rule): after the last
      // complete segment, unless the window ended on a lone timestamp (its speech ran to the end)
      const t = w.tokens,
        at = seek / rate,
        isTs = t.map((x) => x >= tsBegin);
      const single = t.length >= 2 && !isTs[t.length - 2] && isTs[t.length - 1];
      const pairs = t.flatMap((_, i) => (i > 0 && isTs[i - 1] && isTs[i] ? [i] : []));
      let advance = n;
      if (pairs.length) {
        if (single) pairs.push(t.length);
        let last = 0;
        for (const cur of pairs) {
          const s = t.slice(last, cur);
          segments.push({
            start: at + (s[0] - tsBegin) * step,
            end: at + (s[s.length - 1] - tsBegin) * step,
            text: textOf(s),
          });
          last = cur;
        }
        if (!single) advance = Math.round((t[last - 1] - tsBegin) * step * rate);
      } else {
        const stamps = t.filter((x) => x >= tsBegin);
        let dur = Math.min(n, wave.length - seek) / rate;
        if (stamps.length && stamps[stamps.length - 1] !== tsBegin) dur = (stamps[stamps.length - 1] - tsBegin) * step;
        segments.push({ start: at, end: at + dur, text: textOf(t) });
      }
      seek += advance > 0 ? advance : n; // (a window that ends at its own start still moves on)
    }
    const text = this.tokenizer.decode(tokens, { skipSpecialTokens: true }).trim();
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
    const kept = words.flatMap((w, i) => (w ? [i] : []));
    return {
      text,
      words: kept.map((i) => words[i]),
      tokens,
      duration: wave.length / rate,
      speech: true,
      wordConfidences: kept.map((i) => wordConfidences[i]),
      confidence: Math.min(1, ...kept.map((i) => wordConfidences[i])),
      ...(timestamps ? { segments } : {}),
      warnings: [],
    };
  }

  transcribeBatch(inputs: readonly AudioInput[], options: TranscribeOptions = {}): Array<Outcome<Transcript>> {
    if ((options.beamWidth ?? 1) > 1)
      throw new PolymodalError("bad_input", "WhisperRecognizer: beam search is not supported yet (greedy only)");
    return eachAlone(inputs, (x) =>
      this.transcribe(x, { language: options.language, task: options.task, timestamps: options.timestamps }),
    );
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
  exportSample(): never {
    throw new PolymodalError("unsupported_task", "ONNX export of Whisper is not supported yet");
  }
  /** Frees the KV cache (the model's weights are the model's own). */
  dispose(): void {
    this.cache?.dispose();
    this.cache = null;
  }
}
