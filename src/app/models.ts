// The shipped (or --models) models, loaded once, lazily (a search by text needs no audio model).
import { readImageInput } from "../vision/file.js";
import { readAudioFile } from "../audio/file.js";
import { downmix } from "../audio/wav.js";
import { fileURLToPath } from "node:url";
import { loadPretrained as loadPretrained, modelsUrl } from "../pipelines/pretrained.js";
import type { ImageTextEmbedder, AudioEmbedder, VideoTextEmbedder } from "../pipelines/embedders.js";
import type { SpeechRecognizer } from "../pipelines/speech.js";
import { readVideoFile } from "../video/file.js";
import type { Modality } from "./media.js";
import { embeddingVersion, folderVersion } from "./version.js";

export class Models {
  private cache = new Map<string, Promise<unknown>>();
  /** the folder the models load from */
  readonly dir: string;
  /**
   * imageTextDir: a Hugging Face CLIP folder (config.json, model.safetensors, tokenizer.json,
   * preprocessor_config.json) that embeds images and image-space text queries instead of the shipped clip-scenes.
   */
  constructor(readonly modelsDir?: string, readonly ffmpegPath?: string, readonly imageTextDir?: string) {
    this.dir = modelsDir ?? fileURLToPath(modelsUrl());
  }
  /** The embedding version stamp of a model (src/app/version.ts); clip-scenes' is the --model folder's when one is given. */
  version(name: string): string {
    return name === "clip-scenes" && this.imageTextDir ? folderVersion(this.imageTextDir) : embeddingVersion(this.dir, name);
  }
  private get<T>(name: "clip-scenes" | "audio-events" | "video-text" | "asr-words"): Promise<T> {
    if (!this.cache.has(name)) {
      this.cache.set(name, name === "clip-scenes" && this.imageTextDir ? loadPretrained(this.imageTextDir) : loadPretrained(name, { modelsDir: this.modelsDir }));
    }
    return this.cache.get(name) as Promise<T>;
  }
  clip(): Promise<ImageTextEmbedder> { return this.get("clip-scenes"); }
  audio(): Promise<AudioEmbedder> { return this.get("audio-events"); }
  video(): Promise<VideoTextEmbedder> { return this.get("video-text"); }
  asr(): Promise<SpeechRecognizer> { return this.get("asr-words"); }

  /** The width of a modality's embedding space. */
  async dim(modality: Modality): Promise<number> {
    return modality === "image" ? (await this.clip()).dim : modality === "audio" ? (await this.audio()).dim : (await this.video()).dim;
  }

  /** One file -> its embedding in its modality's space. */
  async embedFile(file: string, modality: Modality): Promise<Float32Array> {
    // a PNG/JPEG goes in as its bytes, as the library's and the service's inputs do: the same bits from every entry
    // point (and a 12 MP JPEG decoded at reduced scale, not in full)
    if (modality === "image") return (await this.clip()).embedImages([await readImageInput(file, { ffmpegPath: this.ffmpegPath })])[0];
    if (modality === "audio") return (await this.audio()).embed(await this.readAudio(file));
    const vt = await this.video();
    const { frames } = await readVideoFile(file, { numFrames: vt.processor.numFrames, ffmpegPath: this.ffmpegPath });
    return vt.embedVideos([frames])[0];
  }

  /** An audio file (WAV, or MP3/FLAC/Ogg/M4A/... through ffmpeg) as a mono waveform at its own rate. */
  async readAudio(file: string): Promise<{ waveform: Float32Array; sampleRate: number }> {
    const a = await readAudioFile(file, { ffmpegPath: this.ffmpegPath });
    return { waveform: downmix(a.channels), sampleRate: a.sampleRate };
  }

  /** Text -> a query in the image space and in the video space. */
  async embedText(text: string, modality: "image" | "video"): Promise<Float32Array> {
    return modality === "image" ? (await this.clip()).embedTexts([text])[0] : (await this.video()).embedTexts([text])[0];
  }
}
