// The models a command uses (the registry's lineup: the shipped models, or --model in place of one), each loaded
// once, lazily (a search by text needs no audio model), and files read into their inputs.
import { readImageInput } from "../vision/file.js";
import { readAudioFile } from "../audio/file.js";
import { downmix } from "../audio/wav.js";
import { fileURLToPath } from "node:url";
import { modelsUrl } from "../pipelines/shipped.js";
import { ModelSet, loadModel, type ModelRef } from "../pipelines/registry.js";
import { allValues, type Pipeline, type Space } from "../pipelines/pipeline.js";
import { readVideoFile } from "../video/file.js";
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
  constructor(readonly modelsDir?: string, readonly ffmpegPath?: string, readonly folder?: string) {
    this.dir = modelsDir ?? fileURLToPath(modelsUrl());
  }

  /** The lineup (resolving --model reads its config.json). */
  lineup(): Promise<ModelSet> {
    this.set ??= ModelSet.lineup({ folder: this.folder });
    return this.set;
  }
  /** The model that fills a space. */
  async ref(space: Space): Promise<ModelRef> {
    const r = (await this.lineup()).forSpace(space);
    if (!r) throw new Error(`no model here embeds ${space} items`);
    return r;
  }
  load(ref: ModelRef): Promise<Pipeline> {
    let p = this.loaded.get(ref);
    if (!p) {
      p = loadModel(ref, { modelsDir: this.modelsDir });
      this.loaded.set(ref, p);
    }
    return p;
  }
  /** The pipeline that fills a space. */
  async pipeline(space: Space): Promise<Pipeline> {
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
    return versionOf(await this.ref(space), this.dir);
  }
  /** The width of a space. */
  async dim(space: Space): Promise<number> {
    return (await this.pipeline(space)).dim!;
  }

  /** One file -> its embedding in its space. */
  async embedFile(file: string, space: Space): Promise<Float32Array> {
    const p = await this.pipeline(space);
    // a PNG/JPEG goes in as its bytes, as the library's and the service's inputs do: the same bits from every entry
    // point (and a 12 MP JPEG decoded at reduced scale, not in full)
    if (space === "image") return allValues(p.embedBatch("image", [await readImageInput(file, { ffmpegPath: this.ffmpegPath })]))[0];
    if (space === "audio") return allValues(p.embedBatch("audio", [await this.readAudio(file)]))[0];
    // every frame read (a video's frame count is known only once decoded); the pipeline samples its own
    const { frames } = await readVideoFile(file, { numFrames: p.tasks.embed?.frames, ffmpegPath: this.ffmpegPath });
    return allValues(p.embedBatch("video", [frames]))[0];
  }

  /** An audio file (WAV, or MP3/FLAC/Ogg/M4A/... through ffmpeg) as a mono waveform at its own rate. */
  async readAudio(file: string): Promise<{ waveform: Float32Array; sampleRate: number }> {
    const a = await readAudioFile(file, { ffmpegPath: this.ffmpegPath });
    return { waveform: downmix(a.channels), sampleRate: a.sampleRate };
  }

  /** Text -> a query in a space whose model embeds text. */
  async embedText(text: string, space: Space): Promise<Float32Array> {
    return allValues((await this.pipeline(space)).embedBatch("text", [text]))[0];
  }
}
