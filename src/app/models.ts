// The models a command uses (the registry's lineup: the shipped models, or --model in place of one), each loaded
// once, lazily (a search by text needs no audio model), and files read into their inputs.
import { fileURLToPath } from "node:url";
import { mediaInput } from "../pipelines/media-input.js";
import { modelsUrl } from "../pipelines/shipped.js";
import { ModelSet, loadModel, type ModelRef } from "../pipelines/registry.js";
import {
  allValues,
  type AudioInput,
  type EmbedSpace,
  type Pipeline,
  type ProcessingOptions,
  type Space,
} from "../pipelines/pipeline.js";
import { versionOf } from "./version.js";

export class Models {
  private readonly loaded = new Map<ModelRef, Promise<Pipeline>>();
  private set: Promise<ModelSet> | null = null;
  /** the folder the shipped models load from */
  readonly dir: string;
  /**
   * folder: a Hugging Face model folder used in place of the shipped model that embeds into its space (a CLIP
   * folder for clip-scenes: images and image-space text queries).
   */
  constructor(
    readonly modelsDir?: string,
    readonly ffmpegPath?: string,
    readonly folder?: string,
    /** how the models process their inputs (exifTranspose), for every file and query alike */
    readonly processing: ProcessingOptions = {},
  ) {
    this.dir = modelsDir ?? fileURLToPath(modelsUrl());
  }

  /** The lineup (resolving --model reads its config.json). */
  lineup(): Promise<ModelSet> {
    this.set ??= ModelSet.lineup({ folder: this.folder });
    return this.set;
  }
  /** The model that fills a space. */
  async ref(space: EmbedSpace): Promise<ModelRef> {
    const r = (await this.lineup()).forSpace(space);
    if (!r) throw new Error(`no model here embeds ${space} items`);
    return r;
  }
  load(ref: ModelRef): Promise<Pipeline> {
    let p = this.loaded.get(ref);
    if (!p) {
      p = loadModel(ref, { modelsDir: this.modelsDir, ...this.processing });
      this.loaded.set(ref, p);
    }
    return p;
  }
  /** The pipeline that fills a space. */
  async pipeline(space: EmbedSpace): Promise<Pipeline> {
    return this.load(await this.ref(space));
  }
  /** The speech recogniser. */
  async transcriber(): Promise<Pipeline> {
    const r = (await this.lineup()).transcriber();
    if (!r) throw new Error("no model here transcribes speech");
    return this.load(r);
  }

  /** The embedding version stamp of a space's model (src/app/version.ts). */
  async version(space: Space): Promise<string> {
    return versionOf(await this.ref(space), this.dir, this.processing);
  }
  /** The width of a space. */
  async dim(space: Space): Promise<number> {
    return (await this.pipeline(space)).dim!;
  }

  /** One file -> its embedding in its space. */
  async embedFile(file: string, space: Space): Promise<Float32Array> {
    const p = await this.pipeline(space);
    // the one input path (pipelines/media-input.ts): a PNG/JPEG/WAV/Y4M goes in as its bytes, as the library's and
    // the service's inputs do (the same bits from every entry point; a 12 MP JPEG decoded at reduced scale), any
    // other format through ffmpeg; a video decodes only the frames the pipeline samples
    const input = await mediaInput(space, file, { ffmpegPath: this.ffmpegPath, numFrames: p.tasks.embed?.frames });
    return allValues(p.embedBatch(space, [input]))[0];
  }

  /** An audio file (WAV, or MP3/FLAC/Ogg/M4A/... through ffmpeg) as a recogniser's input. */
  async readAudio(file: string): Promise<AudioInput> {
    return mediaInput("audio", file, { ffmpegPath: this.ffmpegPath });
  }

  /** Text -> a query in a space whose model embeds text (or a text encoder's own "text" space). */
  async embedText(text: string, space: EmbedSpace): Promise<Float32Array> {
    return allValues((await this.pipeline(space)).embedBatch("text", [text]))[0];
  }
}
