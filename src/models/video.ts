import type { Embedder, NamedForward, Modality, ModalityEncoder } from "../nn/embedder.js";
import * as core from "../core/index.js";
import { type Buf, empty, toTensor, view } from "../core/index.js";
import { type Tensor, fmtShape, type DType } from "../tensor.js";
import { Module, scoped } from "../nn/module.js";
import { Parameter, fill } from "../nn/parameter.js";
import { Conv2d } from "../nn/conv.js";
import { Embedding, Linear } from "../nn/linear.js";
import { ReLU, AdaptiveAvgPool2d, Flatten } from "../nn/basic.js";
import { Sequential } from "../nn/containers.js";
import type { Runnable } from "../nn/layer.js";
import { LSTM } from "../nn/lstm.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../nn/transformer.js";
import { tensorArg, idsArg, fromTensor, addRows, prependToken, gatherTokens } from "./common.js";

export interface VideoEncoderConfig {
  /** A frame encoder (B*T, C, H, W) -> (B*T, frameDim); default the reference design's small conv net. */
  frameEncoder?: Runnable | null;
  frameDim?: number;
  numFrames?: number;
  temporalDim?: number;
  numTemporalLayers?: number;
}

/**
 * The reference design's VideoEncoder: a per-frame encoder, projection, temporal position embedding, CLS token and a
 * temporal transformer.  video (B, T, C, H, W), T <= numFrames -> { videoEmbedding (B, D), frameEmbeddings (B, T, D) }.
 */
export class VideoEncoder extends Module implements Embedder, NamedForward {
  frame_encoder: Runnable;
  temporal_pos_embed: Parameter;
  frame_proj: Linear;
  temporal_transformer: TransformerEncoder;
  cls_token: Parameter;
  output_proj: Linear;
  readonly config: Required<Omit<VideoEncoderConfig, "frameEncoder">>;

  constructor(config: VideoEncoderConfig = {}) {
    super();
    const c = { frameDim: 512, numFrames: 16, temporalDim: 512, numTemporalLayers: 4, ...config };
    this.config = {
      frameDim: c.frameDim,
      numFrames: c.numFrames,
      temporalDim: c.temporalDim,
      numTemporalLayers: c.numTemporalLayers,
    };
    this.frame_encoder =
      config.frameEncoder ??
      new Sequential(
        new Conv2d(3, 64, 7, { stride: 2, padding: 3 }),
        new ReLU(),
        new AdaptiveAvgPool2d(1),
        new Flatten(),
        new Linear(64, c.frameDim),
      );
    this.temporal_pos_embed = new Parameter([1, c.numFrames, c.temporalDim], "raw", fill(0));
    this.frame_proj = new Linear(c.frameDim, c.temporalDim);
    this.temporal_transformer = new TransformerEncoder(
      () => new TransformerEncoderLayer(c.temporalDim, 8, { batchFirst: true }),
      c.numTemporalLayers,
    );
    this.cls_token = new Parameter([1, 1, c.temporalDim], "raw", fill(0));
    this.output_proj = new Linear(c.temporalDim, c.temporalDim);
  }

  run(video: Buf): { video: Buf; frames: Buf } {
    if (video.shape.length !== 5)
      throw new Error(
        `VideoEncoder: video must be (batch, frames, channels, height, width), got ${fmtShape(video.shape)}`,
      );
    const [B, T, C, H, W] = video.shape;
    if (T > this.config.numFrames)
      throw new Error(`VideoEncoder: video has ${T} frames, more than num_frames (${this.config.numFrames})`);
    if (T < 1) throw new Error("VideoEncoder: video needs at least one frame");
    const D = this.config.temporalDim;
    const f = this.frame_encoder.run(view(video, [B * T, C, H, W])); // (B*T, frameDim)
    if (f.shape.length !== 2 || f.shape[1] !== this.config.frameDim)
      throw new Error(
        `VideoEncoder: the frame encoder returned ${fmtShape(f.shape)}, expected [${B * T}, ${this.config.frameDim}]`,
      );
    const p = view(this.frame_proj.run(f), [B, T, D]);
    addRows(p, this.temporal_pos_embed, T); // temporal_pos_embed[:, :T]
    const h = this.temporal_transformer.run(prependToken(p, this.cls_token)); // (B, T + 1, D)
    const videoEmb = this.output_proj.run(gatherTokens(h, new Array(B).fill(0)));
    const frames = empty([B, T, D]);
    const heap = core.heap();
    for (let b = 0; b < B; b++)
      heap.u8(frames.ptr + b * T * D * 4, T * D * 4).set(heap.u8(h.ptr + (b * (T + 1) + 1) * D * 4, T * D * 4));
    return { video: videoEmb, frames };
  }

  /** Embedder: clips (B, frames, C, H, W) float32 -> their video embeddings. */
  encoders(): Partial<Record<Modality, ModalityEncoder>> {
    return { video: { dtype: "float32", takesMask: false, encode: (x) => this.forward(x).videoEmbedding } };
  }

  get namedInputs(): Record<string, DType> {
    return { video: "float32" };
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return { ...this.forward(inputs.video) };
  }

  forward(video: Tensor): { videoEmbedding: Tensor; frameEmbeddings: Tensor } {
    const who = "VideoEncoder.forward";
    tensorArg(who, "video", video, 5, "(batch, frames, channels, height, width)", "float32");
    return scoped(() => {
      const r = this.run(fromTensor(who, "video", video));
      return { videoEmbedding: toTensor(r.video), frameEmbeddings: toTensor(r.frames) };
    });
  }
}

export interface VideoTextConfig {
  videoDim?: number;
  textDim?: number;
  projectionDim?: number;
  numClasses?: number | null;
  /** Token vocabulary of the text encoder's embedding (seed: 10000). */
  vocabSize?: number;
}

export interface VideoTextOutput {
  videoEmbedding: Tensor;
  textEmbedding?: Tensor;
  logits?: Tensor;
  classLogits?: Tensor;
}

/**
 * The reference design's VideoTextModel: VideoEncoder + BiLSTM text encoder projected to one space, a temperature, and
 * an optional classifier on the video embedding.
 */
export class VideoTextModel extends Module implements Embedder, NamedForward {
  video_encoder: VideoEncoder;
  text_encoder: Sequential;
  text_proj: Linear;
  video_proj: Linear;
  classifier: Linear | null;
  logit_scale: Parameter;

  constructor(config: VideoTextConfig = {}) {
    super();
    const c = { videoDim: 512, textDim: 512, projectionDim: 256, numClasses: null, vocabSize: 10000, ...config };
    if (c.textDim % 2) throw new Error(`VideoTextModel: textDim must be even (two LSTM directions), got ${c.textDim}`);
    this.video_encoder = new VideoEncoder({ temporalDim: c.videoDim });
    this.text_encoder = new Sequential(
      new Embedding(c.vocabSize, 256),
      new LSTM(256, c.textDim / 2, { batchFirst: true, bidirectional: true }),
    );
    this.text_proj = new Linear(c.textDim, c.projectionDim);
    this.video_proj = new Linear(c.videoDim, c.projectionDim);
    this.classifier = c.numClasses ? new Linear(c.projectionDim, c.numClasses) : null;
    this.logit_scale = new Parameter([], "raw", fill(Math.log(1 / 0.07)));
  }

  private videoBuf(video: Tensor): Buf {
    const who = "VideoTextModel.encodeVideo";
    tensorArg(who, "video", video, 5, "(batch, frames, channels, height, width)", "float32");
    return core.l2normalize(this.video_proj.run(this.video_encoder.run(fromTensor(who, "video", video)).video));
  }

  private textBuf(inputIds: Tensor): Buf {
    const who = "VideoTextModel.encodeText";
    const out = this.text_encoder.run(fromTensor(who, "inputIds", idsArg(who, inputIds))); // (B, T, textDim)
    return core.l2normalize(this.text_proj.run(gatherTokens(out, new Array(out.shape[0]).fill(out.shape[1] - 1))));
  }

  encodeVideo(video: Tensor): Tensor {
    return scoped(() => toTensor(this.videoBuf(video)));
  }
  encodeText(inputIds: Tensor): Tensor {
    return scoped(() => toTensor(this.textBuf(inputIds)));
  }

  /**
   * Embedder: clips (float32) and token ids (int32, no mask: the reference design's text tower pools the last
   * token).
   */
  encoders(): Partial<Record<Modality, ModalityEncoder>> {
    return {
      video: { dtype: "float32", takesMask: false, encode: (x) => this.encodeVideo(x) },
      text: { dtype: "int32", takesMask: false, encode: (ids) => this.encodeText(ids) },
    };
  }

  get namedInputs(): Record<string, DType> {
    return { video: "float32", text: "int32" };
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return Object.fromEntries(
      Object.entries(this.forward(inputs.video, inputs.text ?? null)).filter(([, v]) => v !== undefined),
    );
  }

  forward(video: Tensor, inputIds?: Tensor | null): VideoTextOutput {
    const heap = core.heap();
    return scoped(() => {
      const v = this.videoBuf(video);
      const out: VideoTextOutput = { videoEmbedding: toTensor(v) };
      if (inputIds) {
        const t = this.textBuf(inputIds);
        out.textEmbedding = toTensor(t);
        const s = heap.alloc(4);
        core.unary("exp", this.logit_scale.ptr, s, 1);
        const scaled = empty(v.shape);
        core.affine(v.ptr, scaled.ptr, v.shape[0] * v.shape[1], heap.f32(s, 1)[0], 0);
        out.logits = toTensor(core.linearRaw(scaled, t));
      }
      if (this.classifier) out.classLogits = toTensor(this.classifier.run(v));
      return out;
    });
  }
}
