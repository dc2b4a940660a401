// What every pipeline a user can name declares and does, so the floors above (the service, its workers, the
// worker host, the CLI, export) route by declaration: no switch on model names, no method sniffing, no instanceof.
//   tasks       - what it embeds (the input kinds, the index space its embeddings live in) and whether it transcribes;
//   embedBatch  - a batch of one kind of input, where one bad input fails alone with its own error;
//   exportSample - the module to export as ONNX and an input of the shapes it takes.
import type { Modality } from "../nn/embedder.js";
import type { Module } from "../nn/module.js";
import { Tensor } from "../tensor.js";
import { PolymodalError } from "../util/errors.js";
import type { ImageInput } from "../vision/processor.js";

/** What a pipeline takes in: text, an image, a sound, a video. */
export type InputKind = Modality;
export const INPUT_KINDS: readonly InputKind[] = ["text", "image", "audio", "video"];

/** The spaces of an index: one per kind of item, each holding one pipeline's embeddings. Spelled here only. */
export const SPACES = ["image", "audio", "video", "text"] as const;
export type Space = (typeof SPACES)[number];
/**
 * Where a pipeline's embeddings live: an index space ("text" is a text encoder's own space, sentence-transformers:
 * its vectors compare with each other only, and hold the chunks of text documents).
 */
export type EmbedSpace = Space;
/** The kinds of file a query or an item can be (a file of one of them is one item; a text document is chunked). */
export const MEDIA_KINDS = ["image", "audio", "video"] as const;
export const isSpace = (s: string): s is Space => (SPACES as readonly string[]).includes(s);

/** A recording: WAV bytes, or a mono waveform at its rate. */
/**
 * WAV bytes, a mono waveform at its rate, or readAudioFile's result (channels at a rate: downmixed as torchaudio's
 * mean over channels).
 */
export type AudioInput =
  | Uint8Array
  | ArrayBuffer
  | { waveform: Float32Array; sampleRate: number }
  | { channels: Float32Array[]; sampleRate: number };

export interface Transcript {
  /** the words, space-separated; "" when there is no speech */
  text: string;
  words: string[];
  tokens: number[];
  /** seconds of audio transcribed */
  duration: number;
  /** whether the audio holds speech (voice activity); false gives an empty transcript */
  speech: boolean;
  /** per word, the model's probability for it at its most certain frame of the best alignment of these words */
  wordConfidences: number[];
  /** the lowest word confidence (1 for no words) */
  confidence: number;
  /** per word, where the model places it: seconds from the start of the audio (character CTC models) */
  wordTimes?: Array<{ start: number; end: number }>;
  /**
   * Whisper's timestamp mode: the segments it timed, in seconds from the start of the audio, with how their window
   * was decoded (the temperature its tokens came from, their average log-probability and compression ratio, the
   * no-speech probability when computed)
   */
  segments?: Array<{
    start: number;
    end: number;
    text: string;
    temperature?: number;
    avgLogprob?: number;
    compressionRatio?: number;
    noSpeechProb?: number;
  }>;
  /** what may make this transcript less reliable: audio recorded below the model's sample rate, or without its band */
  warnings: string[];
}

/**
 * A text already tokenized: ids in the model's own vocabulary, as tokenizeBatch gives them (special tokens
 * included, at most the model's maxLength) -- the same embedding as the text they came from.
 */
export type TokenIds = readonly number[];

/** A text as a model reads it: its ids and their tokens (special tokens included, truncated at maxLength). */
export interface TokenizedText {
  ids: number[];
  tokens: string[];
}

/** A video: its file's bytes (Y4M) or its decoded frames (any count; the pipeline samples its own). */
export type VideoInput = Uint8Array | ImageInput[];
/** The input each kind takes. */
export interface Inputs {
  text: string | TokenIds;
  image: ImageInput;
  audio: AudioInput;
  video: VideoInput;
}

/** How a model's processors treat its inputs (the same for every entry point that loads it). */
export interface ProcessingOptions {
  /**
   * Turn JPEGs as their EXIF orientation says before anything else (PIL's ImageOps.exif_transpose; default false:
   * torchvision's decode_image and transformers' processors ignore EXIF).  Part of the model's version stamp.
   */
  exifTranspose?: boolean;
  /**
   * How a plain Hugging Face text encoder folder (no modules.json) pools its token states: "mean" (default), "cls",
   * "max" or "lasttoken", then normalises; a sentence-transformers folder's own 1_Pooling decides, and another mode
   * asked of it is refused.  Part of the model's version stamp.
   */
  pooling?: "mean" | "cls" | "max" | "lasttoken";
}

export interface Tasks {
  /**
   * the kinds it embeds, all into one space; frames: for video, how many frames of a clip it samples (a loaded
   * pipeline says, so readers decode only those)
   */
  readonly embed: {
    readonly space: EmbedSpace;
    readonly kinds: readonly InputKind[];
    readonly frames?: number;
    /**
     * a text encoder's prompts by role, prepended by whoever embeds a query or a document (sentence-transformers'
     * encode_query / encode_document); embedBatch itself embeds a text as given
     */
    readonly prompts?: Readonly<Record<TextRole, string>>;
  } | null;
  readonly transcribe: boolean;
}

/** What a text is to a search: the question asked, or a document (a chunk of one) searched. */
export type TextRole = "query" | "document";
/** A text as a model of these tasks embeds it in a role: with that role's prompt, if the model has one. */
export const withPrompt = (tasks: Tasks, role: TextRole, text: string): string =>
  (tasks.embed?.prompts?.[role] ?? "") + text;

/**
 * How a text encoder reads documents: its tokens of a passage (no special tokens, no prompt, not truncated), and
 * the most one passage may hold (the longest sequence less the special tokens and the document prompt's tokens).
 */
export interface DocumentReader {
  countTokens(text: string): number;
  readonly maxTokens: number;
}

/** One input's outcome: its result, or the error that input alone met. */
export type Outcome<T> = { value: T } | { error: Error };
export interface TranscribeOptions {
  /** beam search of this width (CTC prefix beams; Whisper's at temperature 0) */
  beamWidth?: number;
  /** Whisper: the spoken language ("en", "de", ...; default detected) */
  language?: string;
  /** Whisper: "transcribe" (default) or "translate" into English */
  task?: "transcribe" | "translate";
  /** Whisper: segments with times (timestamp mode) */
  timestamps?: boolean;
  /** Whisper: the temperature fallback's temperatures, tried in order while a window fails the thresholds */
  temperatures?: readonly number[];
  /** Whisper: the fallback's thresholds (a window whose tokens compress more, or are less likely, is retried) */
  compressionRatioThreshold?: number;
  logprobThreshold?: number;
  /** Whisper: a window this likely silent (and under logprobThreshold) is skipped */
  noSpeechThreshold?: number;
  /** Whisper: the sampler's seed (default 0) */
  seed?: number;
}

/**
 * Whisper's temperature fallback as transformers recommends it for long-form audio (openai-whisper's defaults, with
 * the compression ratio over token bytes that transformers computes): `--fallback` on the CLI and the service.
 */
export const WHISPER_FALLBACK = {
  temperatures: [0, 0.2, 0.4, 0.6, 0.8, 1],
  compressionRatioThreshold: 1.35,
  logprobThreshold: -1,
  noSpeechThreshold: 0.6,
} as const satisfies TranscribeOptions;

export interface Pipeline {
  readonly tasks: Tasks;
  /** the embedding width (null when it embeds nothing) */
  readonly dim: number | null;
  /** Unit-norm embeddings of one kind of input; each input that cannot be read or processed fails alone. */
  embedBatch<K extends InputKind>(kind: K, inputs: ReadonlyArray<Inputs[K]>): Array<Outcome<Float32Array>>;
  transcribeBatch(inputs: readonly AudioInput[], options?: TranscribeOptions): Array<Outcome<Transcript>>;
  /** Texts as the model reads them (a pipeline that embeds text); each input that is not a string fails alone. */
  tokenizeBatch(texts: readonly string[]): Array<Outcome<TokenizedText>>;
  /**
   * The same pipeline with its model's Linear and LSTM layers dynamically quantised to int8 (torch's
   * quantize_dynamic).
   */
  quantized(): Pipeline;
  /** the module ONNX export writes, with one input of every name and shape it takes */
  exportSample(): { module: Module; inputs: Record<string, Tensor> };
  /** a text encoder whose space holds documents: how it counts their tokens, for chunking */
  readonly documents?: DocumentReader;
}

/** The error a pipeline throws for a task it does not declare. */
export class UnsupportedTaskError extends PolymodalError {
  constructor(who: string, what: string, tasks: Tasks) {
    const does = [
      tasks.embed ? `embeds ${tasks.embed.kinds.join(", ")}` : "",
      tasks.transcribe ? "transcribes speech" : "",
    ].filter(Boolean);
    super("unsupported_task", `${who} does not ${what} (it ${does.join(" and ") || "does nothing"})`);
  }
}

/** Whether a pipeline's tasks include embedding a kind. */
export function embedsKind(tasks: Tasks, kind: InputKind): boolean {
  return tasks.embed?.kinds.includes(kind) ?? false;
}

/** f on each input alone: a throw is that input's outcome. */
/** Refuses Whisper's options for a recogniser that has no languages or tasks (a CTC model spells what it hears). */
export function noLanguageOptions(who: string, o: TranscribeOptions): void {
  const whisperOnly = [
    "language",
    "task",
    "temperatures",
    "compressionRatioThreshold",
    "logprobThreshold",
    "noSpeechThreshold",
    "seed",
  ] as const;
  const given = whisperOnly.filter((k) => o[k] !== undefined);
  if (given.length)
    throw new PolymodalError(
      "bad_input",
      `${who} takes no ${given.join(", ")} (a CTC model spells what it hears); ` +
        `language, task and the temperature fallback are Whisper's options`,
    );
}

export function eachAlone<X, T>(inputs: readonly X[], f: (x: X) => T): Array<Outcome<T>> {
  return inputs.map((x) => {
    try {
      return { value: f(x) };
    } catch (e) {
      return { error: asError(e) };
    }
  });
}

/**
 * Prepares each input alone (a failure is that input's outcome), then runs the prepared ones as one batch: the bits
 * each would get alone, since the kernels sum in a fixed order whatever the batch size.
 */
export function batchAlone<X>(
  inputs: readonly X[],
  prep: (x: X) => Tensor,
  run: (batch: Tensor) => Tensor,
): Array<Outcome<Float32Array>> {
  const out: Array<Outcome<Float32Array>> = new Array(inputs.length);
  const good: Tensor[] = [],
    at: number[] = [];
  inputs.forEach((x, i) => {
    try {
      good.push(prep(x));
      at.push(i);
    } catch (e) {
      out[i] = { error: asError(e) };
    }
  });
  if (good.length) {
    const per = good[0].size,
      data = new Float32Array(per * good.length);
    good.forEach((t, b) => data.set(t.data as Float32Array, b * per));
    rows(run(new Tensor(data, [good.length, ...good[0].shape.slice(1)]))).forEach((e, b) => {
      out[at[b]] = { value: e };
    });
  }
  return out;
}

/** Rows of a (B, D) tensor as Float32Arrays. */
export function rows(t: Tensor): Float32Array[] {
  const [B, D] = t.shape;
  return Array.from({ length: B }, (_, b) => (t.data as Float32Array).slice(b * D, (b + 1) * D));
}

/** The values of outcomes that must all have succeeded (the first error is thrown). */
export function allValues<T>(outcomes: Array<Outcome<T>>): T[] {
  return outcomes.map((o) => {
    if ("error" in o) throw o.error;
    return o.value;
  });
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
