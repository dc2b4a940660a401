// What a service worker runs: a job is one model, one operation and one input kind over a list of inputs (the
// inputs of one or more requests, batched by the pool), run through the model's pipeline, where each input fails
// alone and the good ones run as one batch (the bits each would get alone).
import {
  WHISPER_FALLBACK,
  type AudioInput,
  type Pipeline,
  type InputKind,
  type Outcome,
  type TokenizedText,
} from "../pipelines/pipeline.js";
import { directInput, mediaInput, type MediaInputOptions } from "../pipelines/media-input.js";
import type { Transcript } from "../pipelines/speech.js";

export type { InputKind };
export type Op = "embed" | "transcribe" | "tokenize";

/** One batch of work, as posted to a worker. */
export interface Job {
  model: string;
  op: Op;
  kind: InputKind;
  /** text inputs are strings (or token ids in the model's vocabulary), media inputs the file's bytes */
  inputs: Array<string | Uint8Array | readonly number[]>;
  /** transcribe: CTC beam width */
  beam?: number;
  /** transcribe (Whisper): the spoken language and the task */
  language?: string;
  task?: "transcribe" | "translate";
  /** transcribe (Whisper): segments with times; the temperature fallback (WHISPER_FALLBACK) */
  timestamps?: boolean;
  fallback?: boolean;
}

/** A transcript as the service returns it: the library's Transcript without its token ids. */
export type SpokenText = Pick<
  Transcript,
  "text" | "words" | "speech" | "wordConfidences" | "confidence" | "wordTimes" | "segments" | "warnings"
>;
export type ItemResult =
  | { embedding: Float32Array }
  | { transcript: SpokenText }
  | { tokenized: TokenizedText }
  | { error: string };

/** The pipelines a worker holds, by the name jobs give. */
export type Loaded = ReadonlyMap<string, Pipeline>;

const wire = <T, R>(outcomes: Array<Outcome<T>>, f: (v: T) => R): Array<R | { error: string }> =>
  outcomes.map((o) => ("error" in o ? { error: o.error.message } : f(o.value)));

/**
 * Runs a job; throws only for a job no model here can run (the pool checks that first).  Media inputs go through
 * the one input path (mediaInput: PNG/JPEG/WAV/Y4M as bytes, other formats through ffmpeg), each failing alone.
 */
export async function runJob(models: Loaded, job: Job, options: MediaInputOptions = {}): Promise<ItemResult[]> {
  const p = models.get(job.model);
  if (!p) throw new Error(`model ${JSON.stringify(job.model)} is not loaded`);
  if (job.kind === "text") {
    // a text's bytes (a raw text/plain body) are its UTF-8
    const texts = job.inputs.map((x) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : x));
    if (job.op === "tokenize") return wire(p.tokenizeBatch(texts as string[]), (tokenized) => ({ tokenized }));
    return wire(p.embedBatch("text", texts), (embedding) => ({ embedding }));
  }
  const kind = job.kind;
  const numFrames = p.tasks.embed?.frames;
  // the bytes a pipeline decodes itself go straight in; only the others wait for ffmpeg (mediaInput)
  const prepared: Array<Outcome<unknown> | null> = job.inputs.map((x) => {
    const value = directInput(kind, bytes(x));
    return value === null ? null : { value };
  });
  // (no promise at all when every input is direct: the common case, on the hot path)
  if (prepared.includes(null)) {
    await Promise.all(
      prepared.map(async (o, i) => {
        if (o !== null) return;
        prepared[i] = await mediaInput(kind, bytes(job.inputs[i]), { ...options, numFrames }).then(
          (value) => ({ value }),
          (error: Error) => ({ error }),
        );
      }),
    );
  }
  const ok = prepared.flatMap((o, i) => (o && "value" in o ? [i] : []));
  const ran: Array<Outcome<unknown>> =
    job.op === "transcribe"
      ? p.transcribeBatch(
          ok.map((i) => (prepared[i] as { value: AudioInput }).value),
          // beam search bounded by transcribe's own default
          {
            ...(job.beam !== undefined ? { beamWidth: job.beam } : {}),
            language: job.language,
            task: job.task,
            ...(job.timestamps ? { timestamps: true } : {}),
            ...(job.fallback ? WHISPER_FALLBACK : {}),
          },
        )
      : p.embedBatch(
          kind,
          ok.map((i) => (prepared[i] as { value: never }).value),
        );
  ok.forEach((i, j) => {
    prepared[i] = ran[j];
  });
  if (job.op === "transcribe") {
    return wire(prepared as Array<Outcome<Transcript>>, (t) => {
      const { text, words, speech, wordConfidences, confidence, wordTimes, segments, warnings } = t;
      return { transcript: { text, words, speech, wordConfidences, confidence, wordTimes, segments, warnings } };
    });
  }
  return wire(prepared as Array<Outcome<Float32Array>>, (embedding) => ({ embedding }));
}

/** A media input is its file's bytes; anything else there is refused as that input's error by the pipeline. */
const bytes = (x: string | Uint8Array | readonly number[]): Uint8Array =>
  x instanceof Uint8Array ? x : new TextEncoder().encode(String(x));
