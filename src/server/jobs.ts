// What a service worker runs: a job is one model, one operation and one input kind over a list of inputs (the
// inputs of one or more requests, batched by the pool), run through the model's pipeline, where each input fails
// alone and the good ones run as one batch (the bits each would get alone).
import type { Pipeline, InputKind, Outcome } from "../pipelines/pipeline.js";
import type { Transcript } from "../pipelines/speech.js";

export type { InputKind };
export type Op = "embed" | "transcribe";

/** One batch of work, as posted to a worker. */
export interface Job {
  model: string;
  op: Op;
  kind: InputKind;
  /** text inputs are strings, media inputs the file's bytes */
  inputs: Array<string | Uint8Array>;
  /** transcribe: CTC beam width */
  beam?: number;
}

/** A transcript as the service returns it: the library's Transcript without its token ids. */
export type SpokenText = Pick<Transcript, "text" | "words" | "speech" | "wordConfidences" | "confidence" | "warnings">;
export type ItemResult = { embedding: Float32Array } | { transcript: SpokenText } | { error: string };

/** The pipelines a worker holds, by the name jobs give. */
export type Loaded = ReadonlyMap<string, Pipeline>;

const wire = <T, R>(outcomes: Array<Outcome<T>>, f: (v: T) => R): Array<R | { error: string }> =>
  outcomes.map((o) => ("error" in o ? { error: o.error.message } : f(o.value)));

/** Runs a job; throws only for a job no model here can run (the pool checks that first). */
export function runJob(models: Loaded, job: Job): ItemResult[] {
  const p = models.get(job.model);
  if (!p) throw new Error(`model ${JSON.stringify(job.model)} is not loaded`);
  if (job.op === "transcribe") {
    // beam search bounded by transcribe's own default
    return wire(p.transcribeBatch(job.inputs.map(bytes), { beamWidth: job.beam ?? 1 }), (t) => {
      const { text, words, speech, wordConfidences, confidence, warnings } = t;
      return { transcript: { text, words, speech, wordConfidences, confidence, warnings } };
    });
  }
  const inputs = job.kind === "text" ? job.inputs.map((x) => (typeof x === "string" ? x : new TextDecoder().decode(x))) : job.inputs.map(bytes);
  return wire(p.embedBatch(job.kind, inputs as never[]), (embedding) => ({ embedding }));
}

/** A media input is its file's bytes; a string there is refused as that input's error by the pipeline. */
const bytes = (x: string | Uint8Array): Uint8Array => (typeof x === "string" ? new TextEncoder().encode(x) : x);
