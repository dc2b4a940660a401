import { type Embedder, type NamedForward, type Modality, type ModalityEncoder, asOutputs } from "../nn/embedder.js";
import * as core from "../core/index.js";
import { type Buf, toTensor, view } from "../core/index.js";
import type { Tensor, DType } from "../tensor.js";
import { Module, scoped } from "../nn/module.js";
import { Parameter, fill } from "../nn/parameter.js";
import { Conv2d } from "../nn/conv.js";
import { Linear } from "../nn/linear.js";
import { LayerNorm } from "../nn/basic.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../nn/transformer.js";
import { tensorArg, addRows, gatherTokens, prependToken, fromTensor } from "./common.js";

export interface VisionEncoderConfig {
  imageSize?: number;
  patchSize?: number;
  inChannels?: number;
  embedDim?: number;
  numHeads?: number;
  numLayers?: number;
  projectionDim?: number;
}

/**
 * The reference design's VisionEncoder: a ViT (patch conv, CLS token, position embedding, post-norm transformer with
 * dim_feedforward 4E), LayerNorm on the CLS output, then a projection.  images (B, C, H, W) -> (B, projectionDim).
 * @example
 * const enc = new VisionEncoder({ imageSize: 224, patchSize: 16, numLayers: 4 });
 * enc.loadStateDict(loadSafetensors(bytes));
 * const emb = enc.forward(images); // [B, 512]
 */
export class VisionEncoder extends Module implements Embedder, NamedForward {
  patch_embed: Conv2d;
  cls_token: Parameter;
  pos_embed: Parameter;
  transformer: TransformerEncoder;
  ln: LayerNorm;
  projection: Linear;
  readonly config: Required<VisionEncoderConfig>;
  readonly numPatches: number;

  constructor(config: VisionEncoderConfig = {}) {
    super();
    const c = {
      imageSize: 224,
      patchSize: 16,
      inChannels: 3,
      embedDim: 768,
      numHeads: 12,
      numLayers: 12,
      projectionDim: 512,
      ...config,
    };
    this.config = c;
    this.numPatches = Math.floor(c.imageSize / c.patchSize) ** 2;
    this.patch_embed = new Conv2d(c.inChannels, c.embedDim, c.patchSize, { stride: c.patchSize });
    this.cls_token = new Parameter([1, 1, c.embedDim], "raw", fill(0));
    this.pos_embed = new Parameter([1, this.numPatches + 1, c.embedDim], "raw", fill(0));
    this.transformer = new TransformerEncoder(
      () => new TransformerEncoderLayer(c.embedDim, c.numHeads, { dimFeedforward: c.embedDim * 4, batchFirst: true }),
      c.numLayers,
    );
    this.ln = new LayerNorm(c.embedDim);
    this.projection = new Linear(c.embedDim, c.projectionDim);
  }

  run(x: Buf): Buf {
    const c = this.config;
    const [B, C, H, W] = x.shape;
    const gh = Math.floor(H / c.patchSize),
      gw = Math.floor(W / c.patchSize);
    if (C !== c.inChannels || gh * gw !== this.numPatches) {
      throw new Error(
        `VisionEncoder: images must be (B, ${c.inChannels}, ${c.imageSize}, ${c.imageSize}) ` +
          `for ${this.numPatches} patches of ${c.patchSize}, got [${x.shape.join(", ")}]`,
      );
    }
    const E = c.embedDim;
    const p = this.patch_embed.run(x); // (B, E, gh, gw)
    const tokens = core.transpose12(view(p, [B, E, gh * gw])); // (B, N, E)
    const seq = prependToken(tokens, this.cls_token); // (B, N + 1, E)
    addRows(seq, this.pos_embed, this.numPatches + 1);
    const h = this.transformer.run(seq);
    const cls = gatherTokens(h, new Array(B).fill(0));
    return this.projection.run(this.ln.run(cls));
  }

  /** Embedder: images (B, C, H, W) float32. */
  encoders(): Partial<Record<Modality, ModalityEncoder>> {
    return { image: { dtype: "float32", takesMask: false, encode: (x) => this.forward(x) } };
  }

  get namedInputs(): Record<string, DType> {
    return { image: "float32" };
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return asOutputs(this.forward(inputs.image));
  }

  forward(images: Tensor): Tensor {
    const who = "VisionEncoder.forward";
    tensorArg(who, "images", images, 4, "(batch, channels, height, width)", "float32");
    return scoped(() => toTensor(this.run(fromTensor(who, "images", images))));
  }
}
