// A whole pipeline in a Worker behind a small async API: the shipped models (load once, by name), embedding of
// texts, images, sounds and clips, transcription, and named indexes to add to, search and save.  The worker runs
// `polymodal/worker` (dist/worker.js, which calls exposePipelineHost()); the page or server calls it through
// wrapWorker<PipelineHost>(worker), so models never run on its main thread.  Inputs are file bytes (PNG/JPEG, WAV,
// Y4M) and strings; results are Float32Arrays and plain objects: all cross by structured clone.
import { init } from "../bindings/module.js";
import { MultimodalIndex, type IndexOptions, type RetrievalResult } from "../retrieval/multimodal-index.js";
import { filterFunction, type FilterValue } from "../retrieval/embedding-store.js";
import { loadModel, resolveModel } from "../pipelines/registry.js";
import {
  allValues,
  embedsKind,
  UnsupportedTaskError,
  type InputKind,
  type Inputs,
  type Pipeline,
  type TranscribeOptions,
} from "../pipelines/pipeline.js";
import type { Transcript } from "../pipelines/speech.js";
import { exposeWorker, type MessageEndpoint } from "./worker-rpc.js";
import { mediaInput, type MediaKind } from "../pipelines/media-input.js";

/**
 * @example
 * // page.js (worker.js is polymodal's own: new URL("polymodal/worker", import.meta.url) with a bundler)
 * import { wrapWorker } from "polymodal";
 * const host = wrapWorker<PipelineHost>(new Worker(workerUrl, { type: "module" }));
 * await host.init();
 * await host.load("clip-scenes", { baseUrl: "/models/" });
 * await host.createIndex("photos", 64);
 * await host.add("photos", ["a.png"], await host.embedImages("clip-scenes", [pngBytes]), "image");
 * const hits = await host.search("photos", (await host.embedTexts("clip-scenes", ["a red circle"]))[0], 5);
 */
export class PipelineHost {
  // each model once, with the processing it was loaded with
  private readonly models = new Map<string, { pipeline: Promise<Pipeline>; exifTranspose: boolean }>();
  private readonly indexes = new Map<string, MultimodalIndex>();

  /** Starts the runtime in the worker (threads: the worker's own kernel threads). */
  async init(options: { threads?: number } = {}): Promise<void> {
    await init(options);
  }

  /** Loads a model once (a shipped one by name, or a model folder's URL; later calls share it); its embedding width. */
  async load(
    name: string,
    options: { baseUrl?: string; modelsDir?: string; cache?: boolean; exifTranspose?: boolean } = {},
  ): Promise<{ name: string; dim: number | null }> {
    const exifTranspose = !!options.exifTranspose;
    let entry = this.models.get(name);
    if (entry && entry.exifTranspose !== exifTranspose) {
      throw new Error(
        `PipelineHost: ${name} is loaded ${entry.exifTranspose ? "with" : "without"} exifTranspose; ` +
          "a model has one processing per host",
      );
    }
    if (!entry) {
      const pipeline = resolveModel(name, options).then((ref) => loadModel(ref, options));
      entry = { pipeline, exifTranspose };
      this.models.set(name, entry);
      pipeline.catch(() => this.models.delete(name)); // a failed load can be retried
    }
    const m = await entry.pipeline;
    return { name, dim: m.dim };
  }

  private async model(name: string): Promise<Pipeline> {
    const entry = this.models.get(name);
    if (!entry) throw new Error(`PipelineHost: load("${name}") first`);
    return entry.pipeline;
  }
  private async embed<K extends InputKind>(model: string, kind: K, inputs: Array<Inputs[K]>): Promise<Float32Array[]> {
    const m = await this.model(model);
    if (!embedsKind(m.tasks, kind)) throw new UnsupportedTaskError(`PipelineHost: ${model}`, `embed ${kind}`, m.tasks);
    return allValues(m.embedBatch(kind, inputs));
  }
  /** Files' bytes as the pipeline's inputs: the one input path (PNG/JPEG/WAV/Y4M as bytes, others by ffmpeg). */
  private async media<K extends MediaKind>(model: string, kind: K, files: Uint8Array[]): Promise<Array<Inputs[K]>> {
    const frames = (await this.model(model)).tasks.embed?.frames;
    return Promise.all(files.map((b) => mediaInput(kind, b, { numFrames: frames })));
  }

  async embedTexts(model: string, texts: string[]): Promise<Float32Array[]> {
    return this.embed(model, "text", texts);
  }
  /** Image files' bytes: PNG or JPEG (in Node also WebP, BMP, TIFF, GIF through ffmpeg). */
  async embedImages(model: string, images: Uint8Array[]): Promise<Float32Array[]> {
    return this.embed(model, "image", await this.media(model, "image", images));
  }
  /** An audio file's bytes: WAV (in Node also MP3, FLAC, Ogg, Opus, M4A through ffmpeg). */
  async embedAudio(model: string, audio: Uint8Array): Promise<Float32Array> {
    return (await this.embed(model, "audio", await this.media(model, "audio", [audio])))[0];
  }
  /** Video files' bytes, one file per clip: Y4M (in Node also MP4, WebM, MKV through ffmpeg). */
  async embedVideos(model: string, clips: Uint8Array[]): Promise<Float32Array[]> {
    return this.embed(model, "video", await this.media(model, "video", clips));
  }
  /**
   * An audio file's bytes -> the transcript: greedy, or beam search with { beamWidth }; a Whisper folder also takes
   * language, task, timestamps and the temperature fallback's options (TranscribeOptions).
   */
  async transcribe(model: string, audio: Uint8Array, options: TranscribeOptions = {}): Promise<Transcript> {
    const m = await this.model(model);
    if (!m.tasks.transcribe) throw new UnsupportedTaskError(`PipelineHost: ${model}`, "transcribe speech", m.tasks);
    return allValues(m.transcribeBatch([await mediaInput("audio", audio)], options))[0];
  }

  private index(name: string): MultimodalIndex {
    const ix = this.indexes.get(name);
    if (!ix) throw new Error(`PipelineHost: no index ${JSON.stringify(name)} (createIndex or openIndex it first)`);
    return ix;
  }
  createIndex(name: string, dim: number, options: IndexOptions = {}): void {
    this.dropIndex(name);
    this.indexes.set(name, new MultimodalIndex(dim, options));
  }
  /** An index from save()'s bytes (a file, OPFS, the network). */
  openIndex(name: string, bytes: Uint8Array): number {
    const ix = MultimodalIndex.load(bytes);
    this.dropIndex(name);
    this.indexes.set(name, ix);
    return ix.size;
  }
  add(
    name: string,
    ids: string[],
    embeddings: Float32Array[],
    modality: string,
    metadata?: Array<Record<string, unknown>>,
  ): number {
    const ix = this.index(name);
    ix.addBatch(ids, embeddings, modality, metadata);
    return ix.size;
  }
  /**
   * The k best items (of `modality` when given).  A filter crosses as an object (items whose metadata has each
   * field: value), since a function cannot cross to a worker.
   */
  search(
    name: string,
    query: Float32Array,
    k: number,
    modality: string | null = null,
    options: { filter?: Record<string, FilterValue>; efSearch?: number } = {},
  ): RetrievalResult[] {
    return this.index(name).search(query, k, modality, {
      efSearch: options.efSearch,
      filter: filterFunction(options.filter),
    });
  }
  saveIndex(name: string): Uint8Array {
    return this.index(name).save();
  }
  dropIndex(name: string): void {
    this.indexes.get(name)?.dispose();
    this.indexes.delete(name);
  }
}

/** In a worker: serves a PipelineHost (default endpoint: the worker's own scope; in Node pass parentPort). */
export function exposePipelineHost(endpoint?: MessageEndpoint): PipelineHost {
  const host = new PipelineHost();
  exposeWorker(host, endpoint);
  return host;
}
