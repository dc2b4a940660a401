// What a service worker runs: a job is one model, one operation and one input kind over a list of inputs (the
// inputs of one or more requests, batched by the pool).  Each input is decoded and preprocessed alone, so a corrupt
// one fails alone; the good ones run as one batch, which gives the bits each would get alone (the kernels sum in a
// fixed order whatever the batch size).
import { Tensor } from "../tensor.js";
import { decodeY4M } from "../video/y4m.js";
import { sampleFrameIndices } from "../video/processor.js";
import { limits } from "../util/limits.js";
import { rows, type ImageTextEmbedder, type AudioEmbedder, type VideoTextEmbedder } from "../pipelines/embedders.js";
import type { SpeechRecognizer, Transcript } from "../pipelines/speech.js";

export type InputKind = "text" | "image" | "audio" | "video";
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

/** The models a worker holds, by name. */
export interface Loaded {
  "clip-scenes"?: ImageTextEmbedder;
  "video-text"?: VideoTextEmbedder;
  "audio-events"?: AudioEmbedder;
  "asr-words"?: SpeechRecognizer;
}

/** What each served model does: the input kinds it embeds, whether it transcribes, the space its embeddings live in. */
export const SERVED: Record<keyof Loaded, { embeds: InputKind[]; transcribes: boolean }> = {
  "clip-scenes": { embeds: ["text", "image"], transcribes: false },
  "video-text": { embeds: ["text", "video"], transcribes: false },
  "audio-events": { embeds: ["audio"], transcribes: false },
  "asr-words": { embeds: [], transcribes: true },
};

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Preprocesses each input alone (a failure is that input's error), then runs the good ones as one batch. */
function batched(inputs: Job["inputs"], prep: (x: string | Uint8Array) => Tensor, encode: (batch: Tensor) => Tensor): ItemResult[] {
  const out: ItemResult[] = new Array(inputs.length);
  const good: Tensor[] = [], at: number[] = [];
  inputs.forEach((x, i) => {
    try {
      good.push(prep(x));
      at.push(i);
    } catch (e) {
      out[i] = { error: message(e) };
    }
  });
  if (good.length) {
    const per = good[0].size, data = new Float32Array(per * good.length);
    good.forEach((t, b) => data.set(t.data as Float32Array, b * per));
    rows(encode(new Tensor(data, [good.length, ...good[0].shape.slice(1)]))).forEach((e, b) => { out[at[b]] = { embedding: e }; });
  }
  return out;
}

const each = (inputs: Job["inputs"], f: (x: string | Uint8Array) => ItemResult): ItemResult[] => inputs.map((x) => {
  try {
    return f(x);
  } catch (e) {
    return { error: message(e) };
  }
});

function bytes(x: string | Uint8Array): Uint8Array {
  if (typeof x === "string") throw new Error("expected file bytes, got a string");
  return x;
}

/** Runs a job on the loaded models; throws only for a job no model here can run (the pool checks that first). */
export function runJob(models: Loaded, job: Job): ItemResult[] {
  const m = models[job.model as keyof Loaded];
  if (!m) throw new Error(`model ${JSON.stringify(job.model)} is not loaded`);
  if (job.op === "transcribe") {
    const asr = models["asr-words"];
    if (job.model !== "asr-words" || !asr) throw new Error(`${job.model} does not transcribe`);
    return each(job.inputs, (x) => {
      const { text, words, speech, wordConfidences, confidence, warnings } = asr.transcribe(bytes(x), { beamWidth: job.beam ?? 1 }); // beam search bounded by transcribe's own default
      return { transcript: { text, words, speech, wordConfidences, confidence, warnings } };
    });
  }
  const texts = (): string[] => job.inputs.map((x) => (typeof x === "string" ? x : new TextDecoder().decode(x)));
  switch (`${job.model}/${job.kind}`) {
    case "clip-scenes/text":
    case "video-text/text":
      return (m as ImageTextEmbedder | VideoTextEmbedder).embedTexts(texts()).map((e) => ({ embedding: e }));
    case "clip-scenes/image": {
      const clip = m as ImageTextEmbedder;
      return batched(job.inputs, (x) => clip.processor.process([bytes(x)]), (b) => clip.model.encodeImage(b));
    }
    case "video-text/video": {
      const vt = m as VideoTextEmbedder, n = vt.processor.numFrames;
      const prep = (x: string | Uint8Array): Tensor => {
        const frames = decodeY4M(bytes(x), (count) => sampleFrameIndices(count, n), { maxPixels: limits.maxVideoPixels }).frames;
        return vt.processor.process([frames]);
      };
      return batched(job.inputs, prep, (b) => vt.model.encodeVideo(b));
    }
    case "audio-events/audio": {
      const ae = m as AudioEmbedder;
      return each(job.inputs, (x) => ({ embedding: ae.embed(bytes(x)) }));
    }
    default:
      throw new Error(`${job.model} does not embed ${job.kind}`);
  }
}
