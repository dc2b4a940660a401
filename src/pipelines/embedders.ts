// Embedding pipelines for the shipped models: raw inputs (image bytes, strings, WAVs, video frames) in,
// unit-norm embeddings out, each configured by its model card (models/*.json) so training and inference agree.
import { Tensor } from "../tensor.js";
import { CLIPModel } from "../models/clip.js";
import { AudioFeatureExtractor } from "../models/audio.js";
import { VideoTextModel } from "../models/video.js";
import { ImageProcessor, type ImageProcessorOptions, type ImageInput } from "../vision/processor.js";
import { VideoProcessor } from "../video/processor.js";
import { ByteTokenizer, type EncodeOptions } from "../text/tokenizer.js";
import { normalize } from "../ops/norm.js";
import { audioAt, type AudioInput } from "./speech.js";
import type { ImageTextModel } from "../retrieval/retriever.js";
import { cardField, modelFromCard, type WeightsInput } from "./card.js";

/** Rows of a (B, D) tensor as Float32Arrays. */
export function rows(t: Tensor): Float32Array[] {
  const [B, D] = t.shape;
  return Array.from({ length: B }, (_, b) => (t.data as Float32Array).slice(b * D, (b + 1) * D));
}

interface TextCard { maxLength: number }

/** Images -> a pixel batch (ImageProcessor, CLIPImageProcessor). */
export interface ImageBatcher { process(images: ImageInput[]): Tensor }
/** Texts -> padded ids and mask (ByteTokenizer, Tokenizer). */
export interface TextBatcher { encodeBatch(texts: string[], options: EncodeOptions): { inputIds: Tensor; attentionMask: Tensor } }

/**
 * Images and captions into one space: a CLIP model with its image processor and tokenizer.  `fromCard` builds the
 * shipped clip-scenes; `loadPretrained(dir)` a Hugging Face CLIP folder.
 * @example
 * const clip = ImageTextEmbedder.fromCard(JSON.parse(readFileSync("models/clip-scenes.json", "utf8")), readFileSync("models/clip-scenes.safetensors"));
 * const [img] = clip.embedImages([readFileSync("scene.png")]);
 * const [txt] = clip.embedTexts(["two small red circles on the left"]);
 */
export class ImageTextEmbedder<M extends ImageTextModel = ImageTextModel> {
  /**
   * maxLength: the longest token sequence (truncated beyond); padding: "max_length" pads every batch to it (the
   * shipped models were trained so), "longest" to the batch's longest (a causal text model is unaffected by padding).
   */
  constructor(
    readonly model: M, readonly processor: ImageBatcher, readonly maxLength: number,
    readonly tokenizer: TextBatcher = new ByteTokenizer(), readonly padding: "max_length" | "longest" = "max_length",
  ) {}

  static fromCard(card: Record<string, any>, weights: WeightsInput): ImageTextEmbedder<CLIPModel> {
    const who = "ImageTextEmbedder";
    const model = modelFromCard(who, card, weights, CLIPModel);
    return new ImageTextEmbedder(model, new ImageProcessor(cardField<ImageProcessorOptions>(who, card, "processor")), cardField<TextCard>(who, card, "text").maxLength);
  }
  get dim(): number { return this.model.projectionDim; }

  embedImages(images: ImageInput[]): Float32Array[] {
    return rows(this.model.encodeImage(this.processor.process(images)));
  }
  embedTexts(texts: string[]): Float32Array[] {
    const { inputIds, attentionMask } = this.tokenizer.encodeBatch(texts, { maxLength: this.maxLength, padding: this.padding });
    return rows(this.model.encodeText(inputIds, attentionMask));
  }
}

/**
 * Sound embeddings (and kinds, by nearest prototype) with an AudioFeatureExtractor and its card.
 * @example
 * const sounds = AudioEmbedder.fromCard(JSON.parse(readFileSync("models/audio-events.json", "utf8")), readFileSync("models/audio-events.safetensors"));
 * sounds.classify(readFileSync("beep.wav")); // { label: "beeps", score: 0.97 }
 */
export class AudioEmbedder {
  constructor(readonly model: AudioFeatureExtractor, readonly kinds: string[], readonly prototypes: Float32Array[]) {}

  static fromCard(card: Record<string, any>, weights: WeightsInput): AudioEmbedder {
    const who = "AudioEmbedder";
    const model = modelFromCard(who, card, weights, AudioFeatureExtractor);
    const kinds = cardField<string[]>(who, card, "kinds"), protos = cardField<number[][]>(who, card, "prototypes");
    if (protos.length !== kinds.length || protos.some((p) => p.length !== model.config.embedDim)) {
      throw new Error(`${who}: the card needs one ${model.config.embedDim}-d prototype per kind (${kinds.length})`);
    }
    return new AudioEmbedder(model, kinds, protos.map((p) => Float32Array.from(p)));
  }
  get dim(): number { return this.model.config.embedDim; }

  /** One recording (WAV bytes or waveform) -> unit-norm embedding. */
  embed(input: AudioInput): Float32Array {
    const wave = audioAt("AudioEmbedder.embed", input, this.model.config.sampleRate, this.model.config.nFft);
    return rows(normalize(this.model.forward(new Tensor(wave, [1, wave.length]))))[0];
  }

  /** The kind whose prototype is most similar (cosine). */
  classify(input: AudioInput): { label: string; score: number } {
    const e = this.embed(input);
    let best = 0, bs = -Infinity;
    this.prototypes.forEach((p, k) => {
      let s = 0;
      for (let i = 0; i < e.length; i++) s += e[i] * p[i];
      if (s > bs) { bs = s; best = k; }
    });
    return { label: this.kinds[best], score: bs };
  }
}

/**
 * Videos and captions into one space with a VideoTextModel and its card.
 * @example
 * const vt = VideoTextEmbedder.fromCard(JSON.parse(readFileSync("models/video-text.json", "utf8")), readFileSync("models/video-text.safetensors"));
 * const [v] = vt.embedVideos([decodeY4M(readFileSync("clip.y4m")).frames]);
 * const [t] = vt.embedTexts(["a red circle that grows"]);
 */
export class VideoTextEmbedder {
  readonly tokenizer = new ByteTokenizer();
  constructor(readonly model: VideoTextModel, readonly processor: VideoProcessor, readonly maxLength: number) {}

  static fromCard(card: Record<string, any>, weights: WeightsInput): VideoTextEmbedder {
    const who = "VideoTextEmbedder";
    const model = modelFromCard(who, card, weights, VideoTextModel);
    const proc = new VideoProcessor(cardField(who, card, "processor"));
    return new VideoTextEmbedder(model, proc, cardField<TextCard>(who, card, "text").maxLength);
  }
  get dim(): number { return this.model.video_proj.outFeatures; }

  /** Clips (each: its decoded frames, any count; numFrames are sampled) -> unit-norm embeddings. */
  embedVideos(clips: ImageInput[][]): Float32Array[] {
    return rows(this.model.encodeVideo(this.processor.process(clips)));
  }
  embedTexts(texts: string[]): Float32Array[] {
    // the reference design's text encoder reads the BiLSTM's last position, so every caption is padded to the same length
    const { inputIds } = this.tokenizer.encodeBatch(texts, { maxLength: this.maxLength, padding: "max_length" });
    return rows(this.model.encodeText(inputIds));
  }
}
