// Embedding pipelines for the shipped models: raw inputs (image bytes, strings, WAVs, video frames) in,
// unit-norm embeddings out, each configured by its model card (models/*.json) so training and inference agree.
import { Tensor } from "../tensor.js";
import { CLIPModel } from "../models/clip.js";
import { AudioFeatureExtractor } from "../models/audio.js";
import { VideoTextModel } from "../models/video.js";
import { ImageProcessor, type ImageProcessorOptions, type ImageInput } from "../vision/processor.js";
import { VideoProcessor } from "../video/processor.js";
import { ByteTokenizer, type EncodeOptions, type Encoding, type TokenBatch } from "../text/tokenizer.js";
import { PolymodalError } from "../util/errors.js";
import { normalize } from "../ops/norm.js";
import { audioAt, type AudioInput } from "./speech.js";
import type { ImageTextModel } from "../retrieval/retriever.js";
import { cardField, modelFromCard, type WeightsInput } from "./card.js";
import { decodeY4M } from "../video/y4m.js";
import { sampleFrameIndices } from "../video/processor.js";
import { limits } from "../util/limits.js";
import type { Module } from "../nn/module.js";
import { MultimodalModelOptimizer } from "../optimize/optimizer.js";
import {
  UnsupportedTaskError,
  batchAlone,
  eachAlone,
  rows,
  allValues,
  type InputKind,
  type Inputs,
  type Outcome,
  type Pipeline,
  type Tasks,
  type TokenizedText,
  type VideoInput,
} from "./pipeline.js";

/** How a pipeline's model reads text: its tokenizer, the longest sequence, how a batch is padded. */
export interface TextReader {
  readonly tokenizer: TextBatcher;
  readonly maxLength: number;
  readonly padding: "max_length" | "longest";
}

/**
 * One text input -> the ids the model reads: a string tokenized (truncated at maxLength), or token ids checked
 * against the vocabulary and maxLength (refused past it: ids are what a caller chose, not to be cut silently).
 */
function readText(x: unknown, r: TextReader): Pick<Encoding, "ids" | "attentionMask"> {
  if (typeof x === "string") return r.tokenizer.encode(x, { maxLength: r.maxLength, padding: false });
  if (!Array.isArray(x)) throw new TypeError(`expected a string or token ids, got ${x === null ? "null" : typeof x}`);
  if (x.length === 0 || x.length > r.maxLength)
    throw new PolymodalError(
      "bad_input",
      `token ids: expected 1 to ${r.maxLength} ids (the model's longest sequence), got ${x.length}`,
    );
  const v = r.tokenizer.vocabSize;
  x.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= v)
      throw new PolymodalError(
        "bad_input",
        `token ids: [${i}] is ${JSON.stringify(id)}, not an id of this model's vocabulary (0 to ${v - 1})`,
      );
  });
  return { ids: [...x], attentionMask: x.map(() => 1) };
}

/** Texts as one batch: each read alone (a bad one fails alone), the good ones padded together and embedded. */
export function textBatch(
  inputs: readonly unknown[],
  r: TextReader,
  embed: (batch: TokenBatch) => Tensor,
): Array<Outcome<Float32Array>> {
  const out: Array<Outcome<Float32Array>> = new Array(inputs.length);
  const ok: number[] = [],
    encs: Array<Pick<Encoding, "ids" | "attentionMask">> = [];
  eachAlone(inputs, (x) => readText(x, r)).forEach((o, i) => {
    if ("error" in o) out[i] = o;
    else {
      ok.push(i);
      encs.push(o.value);
    }
  });
  if (ok.length)
    rows(embed(r.tokenizer.padBatch(encs, { maxLength: r.maxLength, padding: r.padding }))).forEach((e, j) => {
      out[ok[j]] = { value: e };
    });
  return out;
}

/** Texts as the model reads them: ids and tokens, special tokens included, truncated at maxLength. */
export function tokenizeTexts(texts: readonly unknown[], r: TextReader): Array<Outcome<TokenizedText>> {
  return eachAlone(texts, (t) => {
    if (typeof t !== "string") throw new TypeError(`expected a string, got ${t === null ? "null" : typeof t}`);
    const e = r.tokenizer.encode(t, { maxLength: r.maxLength, padding: false });
    return { ids: e.ids, tokens: e.tokens };
  });
}

/** Ids of T tokens, all 1, for an export sample. */
const sampleIds = (T: number): Tensor => new Tensor(new Int32Array(T).fill(1), [1, T]);

interface TextCard {
  maxLength: number;
}

/** Images -> a pixel batch (ImageProcessor, CLIPImageProcessor). */
export interface ImageBatcher {
  process(images: ImageInput[]): Tensor;
}
/** Texts -> ids, and ids -> a padded batch (ByteTokenizer, Tokenizer). */
export interface TextBatcher {
  readonly vocabSize: number;
  encode(text: string, options: EncodeOptions): Encoding;
  encodeBatch(texts: string[], options: EncodeOptions): TokenBatch;
  padBatch(encodings: Array<Pick<Encoding, "ids" | "attentionMask">>, options: EncodeOptions): TokenBatch;
}

/**
 * Images and captions into one space: a CLIP model with its image processor and tokenizer.  `fromCard` builds the
 * shipped clip-scenes; `loadPretrained(dir)` a Hugging Face CLIP folder.
 * @example
 * const clip = ImageTextEmbedder.fromCard(JSON.parse(readFileSync("models/clip-scenes.json", "utf8")),
 * readFileSync("models/clip-scenes.safetensors"));
 * const [img] = clip.embedImages([readFileSync("scene.png")]);
 * const [txt] = clip.embedTexts(["two small red circles on the left"]);
 */
export class ImageTextEmbedder<M extends ImageTextModel = ImageTextModel> implements Pipeline {
  static readonly tasks: Tasks = { embed: { space: "image", kinds: ["text", "image"] }, transcribe: false };
  readonly tasks = ImageTextEmbedder.tasks;
  /**
   * maxLength: the longest token sequence (truncated beyond); padding: "max_length" pads every batch to it (the
   * shipped models were trained so), "longest" to the batch's longest (a causal text model is unaffected by padding).
   */
  constructor(
    readonly model: M,
    readonly processor: ImageBatcher,
    readonly maxLength: number,
    readonly tokenizer: TextBatcher = new ByteTokenizer(),
    readonly padding: "max_length" | "longest" = "max_length",
  ) {}

  static fromCard(
    card: Record<string, any>,
    weights: WeightsInput,
    o: { exifTranspose?: boolean } = {},
  ): ImageTextEmbedder<CLIPModel> {
    const who = "ImageTextEmbedder";
    const model = modelFromCard(who, card, weights, CLIPModel);
    const processor = cardField<ImageProcessorOptions>(who, card, "processor");
    return new ImageTextEmbedder(
      model,
      new ImageProcessor({ ...processor, exifTranspose: o.exifTranspose ?? false }),
      cardField<TextCard>(who, card, "text").maxLength,
    );
  }
  get dim(): number {
    return this.model.projectionDim;
  }

  embedImages(images: ImageInput[]): Float32Array[] {
    return allValues(this.embedBatch("image", images));
  }
  embedTexts(texts: string[]): Float32Array[] {
    return allValues(this.embedBatch("text", texts));
  }
  tokenizeBatch(texts: readonly string[]): Array<Outcome<TokenizedText>> {
    return tokenizeTexts(texts, this);
  }

  embedBatch<K extends InputKind>(kind: K, inputs: ReadonlyArray<Inputs[K]>): Array<Outcome<Float32Array>> {
    if (kind === "text") return textBatch(inputs, this, (b) => this.model.encodeText(b.inputIds, b.attentionMask));
    if (kind !== "image") throw new UnsupportedTaskError("ImageTextEmbedder", `embed ${kind}`, this.tasks);
    return batchAlone(
      inputs as readonly ImageInput[],
      (x) => this.processor.process([x]),
      (b) => this.model.encodeImage(b),
    );
  }
  transcribeBatch(): never {
    throw new UnsupportedTaskError("ImageTextEmbedder", "transcribe speech", this.tasks);
  }
  quantized(): ImageTextEmbedder<M> {
    const q = MultimodalModelOptimizer.quantizeModel(this.model as unknown as Module) as unknown as M;
    return new ImageTextEmbedder(q, this.processor, this.maxLength, this.tokenizer, this.padding);
  }
  exportSample(): { module: Module; inputs: Record<string, Tensor> } {
    const s = this.model.imageSize,
      T = this.maxLength;
    return {
      module: this.model as unknown as Module,
      inputs: { images: Tensor.zeros([1, 3, s, s]), input_ids: sampleIds(T), attention_mask: sampleIds(T) },
    };
  }
}

/**
 * Sound embeddings (and kinds, by nearest prototype) with an AudioFeatureExtractor and its card.
 * @example
 * const sounds = AudioEmbedder.fromCard(JSON.parse(readFileSync("models/audio-events.json", "utf8")),
 * readFileSync("models/audio-events.safetensors"));
 * sounds.classify(readFileSync("beep.wav")); // { label: "beeps", score: 0.97 }
 */
export class AudioEmbedder implements Pipeline {
  static readonly tasks: Tasks = { embed: { space: "audio", kinds: ["audio"] }, transcribe: false };
  readonly tasks = AudioEmbedder.tasks;
  constructor(
    readonly model: AudioFeatureExtractor,
    readonly kinds: string[],
    readonly prototypes: Float32Array[],
  ) {}

  static fromCard(card: Record<string, any>, weights: WeightsInput): AudioEmbedder {
    const who = "AudioEmbedder";
    const model = modelFromCard(who, card, weights, AudioFeatureExtractor);
    const kinds = cardField<string[]>(who, card, "kinds"),
      protos = cardField<number[][]>(who, card, "prototypes");
    if (protos.length !== kinds.length || protos.some((p) => p.length !== model.config.embedDim)) {
      throw new Error(`${who}: the card needs one ${model.config.embedDim}-d prototype per kind (${kinds.length})`);
    }
    return new AudioEmbedder(
      model,
      kinds,
      protos.map((p) => Float32Array.from(p)),
    );
  }
  get dim(): number {
    return this.model.config.embedDim;
  }

  /** One recording (WAV bytes or waveform) -> unit-norm embedding. */
  embed(input: AudioInput): Float32Array {
    const wave = audioAt("AudioEmbedder.embed", input, this.model.config.sampleRate, this.model.config.nFft);
    return rows(normalize(this.model.forward(new Tensor(wave, [1, wave.length]))))[0];
  }

  embedBatch<K extends InputKind>(kind: K, inputs: ReadonlyArray<Inputs[K]>): Array<Outcome<Float32Array>> {
    if (kind !== "audio") throw new UnsupportedTaskError("AudioEmbedder", `embed ${kind}`, this.tasks);
    return eachAlone(inputs as readonly AudioInput[], (x) => this.embed(x));
  }
  transcribeBatch(): never {
    throw new UnsupportedTaskError("AudioEmbedder", "transcribe speech", this.tasks);
  }
  tokenizeBatch(): never {
    throw new UnsupportedTaskError("AudioEmbedder", "tokenize text", this.tasks);
  }
  quantized(): AudioEmbedder {
    return new AudioEmbedder(MultimodalModelOptimizer.quantizeModel(this.model), this.kinds, this.prototypes);
  }
  exportSample(): { module: Module; inputs: Record<string, Tensor> } {
    return { module: this.model, inputs: { waveform: Tensor.zeros([1, this.model.config.sampleRate]) } };
  }

  /** The kind whose prototype is most similar (cosine). */
  classify(input: AudioInput): { label: string; score: number } {
    const e = this.embed(input);
    let best = 0,
      bs = -Infinity;
    this.prototypes.forEach((p, k) => {
      let s = 0;
      for (let i = 0; i < e.length; i++) s += e[i] * p[i];
      if (s > bs) {
        bs = s;
        best = k;
      }
    });
    return { label: this.kinds[best], score: bs };
  }
}

/**
 * Videos and captions into one space with a VideoTextModel and its card.
 * @example
 * const vt = VideoTextEmbedder.fromCard(JSON.parse(readFileSync("models/video-text.json", "utf8")),
 * readFileSync("models/video-text.safetensors"));
 * const [v] = vt.embedVideos([decodeY4M(readFileSync("clip.y4m")).frames]);
 * const [t] = vt.embedTexts(["a red circle that grows"]);
 */
export class VideoTextEmbedder implements Pipeline {
  static readonly tasks: Tasks = { embed: { space: "video", kinds: ["text", "video"] }, transcribe: false };
  readonly tasks: Tasks;
  readonly tokenizer = new ByteTokenizer();
  // the reference design's text encoder reads the BiLSTM's last position, so every caption is padded to the same
  // length
  readonly padding = "max_length";
  constructor(
    readonly model: VideoTextModel,
    readonly processor: VideoProcessor,
    readonly maxLength: number,
  ) {
    this.tasks = {
      ...VideoTextEmbedder.tasks,
      embed: { ...VideoTextEmbedder.tasks.embed!, frames: processor.numFrames },
    };
  }

  static fromCard(card: Record<string, any>, weights: WeightsInput): VideoTextEmbedder {
    const who = "VideoTextEmbedder";
    const model = modelFromCard(who, card, weights, VideoTextModel);
    const proc = new VideoProcessor(cardField(who, card, "processor"));
    return new VideoTextEmbedder(model, proc, cardField<TextCard>(who, card, "text").maxLength);
  }
  get dim(): number {
    return this.model.video_proj.outFeatures;
  }

  /** Clips (each: its decoded frames, any count; numFrames are sampled) -> unit-norm embeddings. */
  embedVideos(clips: VideoInput[]): Float32Array[] {
    return allValues(this.embedBatch("video", clips));
  }
  embedTexts(texts: string[]): Float32Array[] {
    return allValues(this.embedBatch("text", texts));
  }
  tokenizeBatch(texts: readonly string[]): Array<Outcome<TokenizedText>> {
    return tokenizeTexts(texts, this);
  }

  embedBatch<K extends InputKind>(kind: K, inputs: ReadonlyArray<Inputs[K]>): Array<Outcome<Float32Array>> {
    if (kind === "text") return textBatch(inputs, this, (b) => this.model.encodeText(b.inputIds));
    if (kind !== "video") throw new UnsupportedTaskError("VideoTextEmbedder", `embed ${kind}`, this.tasks);
    return batchAlone(
      inputs as readonly VideoInput[],
      (x) => this.processor.process([this.frames(x)]),
      (b) => this.model.encodeVideo(b),
    );
  }
  /** A Y4M file's frames, only the sampled ones decoded; decoded frames as they are. */
  private frames(x: VideoInput): ImageInput[] {
    if (!(x instanceof Uint8Array)) return x;
    const n = this.processor.numFrames;
    return decodeY4M(x, (count) => sampleFrameIndices(count, n), { maxPixels: limits.maxVideoPixels }).frames;
  }
  transcribeBatch(): never {
    throw new UnsupportedTaskError("VideoTextEmbedder", "transcribe speech", this.tasks);
  }
  quantized(): VideoTextEmbedder {
    return new VideoTextEmbedder(MultimodalModelOptimizer.quantizeModel(this.model), this.processor, this.maxLength);
  }
  exportSample(): { module: Module; inputs: Record<string, Tensor> } {
    const crop = this.processor.image.options.cropSize ?? this.processor.image.options.size;
    if (crop === null) throw new Error("VideoTextEmbedder.exportSample: the card's processor has no fixed frame size");
    const [h, w] = Array.isArray(crop) ? crop : [crop, crop];
    return {
      module: this.model,
      inputs: { video: Tensor.zeros([1, this.processor.numFrames, 3, h, w]), input_ids: sampleIds(this.maxLength) },
    };
  }
}
