import { type NamedForward, asOutputs } from "../nn/embedder.js";
import { type Buf, toTensor } from "../core/index.js";
import type { Tensor, DType } from "../tensor.js";
import { Module, scoped } from "../nn/module.js";
import { Conv1d, Conv2d } from "../nn/conv.js";
import { Embedding, Linear } from "../nn/linear.js";
import { ReLU, AdaptiveAvgPool1d, AdaptiveAvgPool2d, Flatten } from "../nn/basic.js";
import { Sequential } from "../nn/containers.js";
import { LSTM } from "../nn/lstm.js";
import { ModalityFusion, type FusionType } from "./fusion.js";
import { tensorArg, idsArg, fromTensor, gatherTokens } from "./common.js";

export interface MultimodalInputs {
  /** (B, 3, H, W) */
  image?: Tensor | null;
  /** (B, T) int32 token ids */
  text?: Tensor | null;
  /** (B, 1, samples) */
  audio?: Tensor | null;
}

/**
 * The reference design's MultimodalEmbeddingModel: small image (conv), text (embedding + LSTM) and audio (conv1d)
 * encoders to 256-d each, fused by ModalityFusion.  Any subset of modalities works (see ModalityFusion).
 */
export class MultimodalEmbeddingModel extends Module implements NamedForward {
  image_encoder: Sequential;
  text_encoder: Sequential;
  text_proj: Linear;
  audio_encoder: Sequential;
  fusion: ModalityFusion;

  constructor(config: { fusionDim?: number; fusionType?: FusionType } = {}) {
    super();
    this.image_encoder = new Sequential(
      new Conv2d(3, 64, 7, { stride: 2, padding: 3 }),
      new ReLU(),
      new AdaptiveAvgPool2d(1),
      new Flatten(),
      new Linear(64, 256),
    );
    this.text_encoder = new Sequential(new Embedding(10000, 128), new LSTM(128, 128, { batchFirst: true }));
    this.text_proj = new Linear(128, 256);
    this.audio_encoder = new Sequential(
      new Conv1d(1, 32, 7, { stride: 2, padding: 3 }),
      new ReLU(),
      new AdaptiveAvgPool1d(1),
      new Flatten(),
      new Linear(32, 256),
    );
    this.fusion = new ModalityFusion({
      embedDims: { image: 256, text: 256, audio: 256 },
      fusionDim: config.fusionDim ?? 512,
      fusionType: config.fusionType ?? "attention",
    });
  }

  /** NamedForward: { image?, text?, audio? } -> the fused embedding. */
  get namedInputs(): Record<string, DType> {
    return { image: "float32", text: "int32", audio: "float32" };
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return asOutputs(this.forward(inputs));
  }

  forward(inputs: MultimodalInputs): Tensor {
    const who = "MultimodalEmbeddingModel.forward";
    if (!inputs || typeof inputs !== "object") throw new Error(`${who}: expected { image?, text?, audio? }`);
    const { image, text, audio } = inputs;
    if (!image && !text && !audio)
      throw new Error(`${who}: at least one modality must be provided (image, text, audio)`);
    return scoped(() => {
      const embeds: Record<string, Buf> = {};
      if (image)
        embeds.image = this.image_encoder.run(
          fromTensor(who, "image", tensorArg(who, "image", image, 4, "(batch, 3, height, width)", "float32")),
        );
      if (text) {
        const out = this.text_encoder.run(fromTensor(who, "text", idsArg(who, text))); // (B, T, 128)
        embeds.text = this.text_proj.run(gatherTokens(out, new Array(out.shape[0]).fill(out.shape[1] - 1)));
      }
      if (audio)
        embeds.audio = this.audio_encoder.run(
          fromTensor(who, "audio", tensorArg(who, "audio", audio, 3, "(batch, 1, samples)", "float32")),
        );
      return toTensor(this.fusion.run(embeds));
    });
  }
}
