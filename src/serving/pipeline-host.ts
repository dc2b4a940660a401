// A whole pipeline in a Worker behind a small async API: the shipped models (load once, by name), embedding of
// texts, images, sounds and clips, transcription, and named indexes to add to, search and save.  The worker runs
// `polymodal/worker` (dist/worker.js, which calls exposePipelineHost()); the page or server calls it through
// wrapWorker<PipelineHost>(worker), so models never run on its main thread.  Inputs are file bytes (PNG/JPEG, WAV,
// Y4M) and strings; results are Float32Arrays and plain objects: all cross by structured clone.
import { init } from "../bindings/module.js";
import { decodeY4M } from "../video/y4m.js";
import type { DecodedImage } from "../vision/png.js";
import { MultimodalIndex, type IndexOptions, type RetrievalResult } from "../retrieval/multimodal-index.js";
import { filterFunction, type FilterValue } from "../retrieval/embedding-store.js";
import { loadPretrained, PRETRAINED, type PretrainedName } from "../pipelines/pretrained.js";
import type { Transcript } from "../pipelines/speech.js";
import { exposeWorker, type MessageEndpoint } from "./worker-rpc.js";

/** What a loaded model can do, by the methods it has (no class checks). */
interface Loaded {
  dim?: number;
  embedTexts?(texts: string[]): Float32Array[];
  embedImages?(images: Uint8Array[]): Float32Array[];
  embed?(wav: Uint8Array): Float32Array;
  embedVideos?(clips: DecodedImage[][]): Float32Array[];
  transcribe?(wav: Uint8Array, options?: { beamWidth?: number }): Transcript;
}

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
  private readonly models = new Map<string, Promise<Loaded>>();
  private readonly indexes = new Map<string, MultimodalIndex>();

  /** Starts the runtime in the worker (threads: the worker's own kernel threads). */
  async init(options: { threads?: number } = {}): Promise<void> {
    await init(options);
  }

  /** Loads a shipped model once (later calls share it); its embedding width when it embeds. */
  async load(name: PretrainedName, options: { baseUrl?: string; modelsDir?: string; cache?: boolean } = {}): Promise<{ name: string; dim: number | null }> {
    if (!(name in PRETRAINED)) throw new Error(`PipelineHost.load: unknown model ${JSON.stringify(name)}; shipped: ${Object.keys(PRETRAINED).join(", ")}`);
    if (!this.models.has(name)) {
      const p = loadPretrained(name, options) as Promise<unknown> as Promise<Loaded>;
      this.models.set(name, p);
      p.catch(() => this.models.delete(name)); // a failed load can be retried
    }
    const m = await this.models.get(name)!;
    return { name, dim: typeof m.dim === "number" ? m.dim : null };
  }

  private async model<K extends keyof Loaded>(name: string, can: K, what: string): Promise<Loaded & Required<Pick<Loaded, K>>> {
    const p = this.models.get(name);
    if (!p) throw new Error(`PipelineHost: load("${name}") first`);
    const m = await p;
    if (typeof m[can] !== "function") throw new Error(`PipelineHost: ${name} does not ${what}`);
    return m as Loaded & Required<Pick<Loaded, K>>;
  }

  async embedTexts(model: string, texts: string[]): Promise<Float32Array[]> {
    return (await this.model(model, "embedTexts", "embed texts")).embedTexts(texts);
  }
  /** PNG or JPEG bytes. */
  async embedImages(model: string, images: Uint8Array[]): Promise<Float32Array[]> {
    return (await this.model(model, "embedImages", "embed images")).embedImages(images);
  }
  /** WAV bytes. */
  async embedAudio(model: string, wav: Uint8Array): Promise<Float32Array> {
    return (await this.model(model, "embed", "embed sounds")).embed(wav);
  }
  /** Y4M bytes, one file per clip. */
  async embedVideos(model: string, clips: Uint8Array[]): Promise<Float32Array[]> {
    return (await this.model(model, "embedVideos", "embed videos")).embedVideos(clips.map((c) => decodeY4M(c).frames));
  }
  /** WAV bytes -> the transcript (greedy, or prefix beam search with { beamWidth }). */
  async transcribe(model: string, wav: Uint8Array, options: { beamWidth?: number } = {}): Promise<Transcript> {
    return (await this.model(model, "transcribe", "transcribe speech")).transcribe(wav, options);
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
  add(name: string, ids: string[], embeddings: Float32Array[], modality: string, metadata?: Array<Record<string, unknown>>): number {
    const ix = this.index(name);
    ix.addBatch(ids, embeddings, modality, metadata);
    return ix.size;
  }
  /**
   * The k best items (of `modality` when given).  A filter crosses as an object (items whose metadata has each
   * field: value), since a function cannot cross to a worker.
   */
  search(name: string, query: Float32Array, k: number, modality: string | null = null, options: { filter?: Record<string, FilterValue>; efSearch?: number } = {}): RetrievalResult[] {
    return this.index(name).search(query, k, modality, { efSearch: options.efSearch, filter: filterFunction(options.filter) });
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
