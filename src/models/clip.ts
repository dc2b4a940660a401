import type { Embedder, NamedForward, Modality, ModalityEncoder } from "../nn/embedder.js";
import * as core from "../core/index.js";
import { type Buf, empty, toTensor } from "../core/index.js";
import { Tensor, fmtShape, type DType } from "../tensor.js";
import { Module, scoped } from "../nn/module.js";
import { Parameter, fill } from "../nn/parameter.js";
import { VisionEncoder, type VisionEncoderConfig } from "./vision.js";
import { TextEncoder, type TextEncoderConfig } from "./text.js";
import { tensorArg, idsArg, fromTensor, paddingFromAttentionMask, expOfScalar } from "./common.js";
import { logSoftmax } from "../ops/softmax.js";

export interface CLIPConfig {
  visionConfig?: Omit<VisionEncoderConfig, "projectionDim">;
  textConfig?: Omit<TextEncoderConfig, "projectionDim">;
  projectionDim?: number;
  temperature?: number;
}

export interface CLIPOutput {
  imageEmbeds: Tensor;
  textEmbeds: Tensor;
  logitsPerImage: Tensor;
  logitsPerText: Tensor;
  logitScale: number;
}

/**
 * The reference design's CLIPModel: a VisionEncoder and a TextEncoder projected to one space, L2-normalised,
 * compared with
 * a learned temperature (logit_scale).
 * @example
 * const clip = new CLIPModel({ visionConfig: { imageSize: 224, patchSize: 16, numLayers: 4 },
 *                              textConfig: { vocabSize: 10000, numLayers: 4 }, projectionDim: 256 });
 * clip.loadStateDict(loadSafetensors(bytes));
 * const { logitsPerImage } = clip.forward(images, inputIds, attentionMask);
 */
export class CLIPModel extends Module implements Embedder, NamedForward {
  vision_encoder: VisionEncoder;
  text_encoder: TextEncoder;
  logit_scale: Parameter;
  readonly projectionDim: number;

  constructor(config: CLIPConfig = {}) {
    super();
    this.projectionDim = config.projectionDim ?? 512;
    this.vision_encoder = new VisionEncoder({ ...config.visionConfig, projectionDim: this.projectionDim });
    this.text_encoder = new TextEncoder({ ...config.textConfig, projectionDim: this.projectionDim });
    this.logit_scale = new Parameter([], "raw", fill(Math.log(1 / (config.temperature ?? 0.07))));
  }

  /** the side of the square images encodeImage takes */
  get imageSize(): number {
    return this.vision_encoder.config.imageSize;
  }

  private imageBuf(images: Tensor): Buf {
    const who = "CLIPModel.encodeImage";
    tensorArg(who, "images", images, 4, "(batch, channels, height, width)", "float32");
    return core.l2normalize(this.vision_encoder.run(fromTensor(who, "images", images)));
  }

  private textBuf(inputIds: Tensor, attentionMask?: Tensor | null): Buf {
    const who = "CLIPModel.encodeText";
    idsArg(who, inputIds);
    const [B, T] = inputIds.shape;
    const pad = attentionMask ? paddingFromAttentionMask(who, attentionMask, B, T) : null;
    return core.l2normalize(this.text_encoder.run(fromTensor(who, "inputIds", inputIds), pad));
  }

  /** Embedder: images (float32) and token ids (int32, with an attention mask). */
  encoders(): Partial<Record<Modality, ModalityEncoder>> {
    return {
      image: { dtype: "float32", takesMask: false, encode: (x) => this.encodeImage(x) },
      text: { dtype: "int32", takesMask: true, encode: (ids, mask) => this.encodeText(ids, mask) },
    };
  }

  /** NamedForward: { image, text, attention_mask? } -> the fields of forward()'s CLIPOutput. */
  get namedInputs(): Record<string, DType> {
    return { image: "float32", text: "int32", attention_mask: "int32", attentionMask: "int32" };
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return { ...this.forward(inputs.image, inputs.text, inputs.attention_mask ?? inputs.attentionMask ?? null) };
  }

  /** images (B, C, H, W) -> unit-norm embeddings (B, projectionDim). */
  encodeImage(images: Tensor): Tensor {
    return scoped(() => toTensor(this.imageBuf(images)));
  }

  /** inputIds (B, T) int32, attentionMask (B, T) 1 = token -> unit-norm embeddings (B, projectionDim). */
  encodeText(inputIds: Tensor, attentionMask?: Tensor | null): Tensor {
    return scoped(() => toTensor(this.textBuf(inputIds, attentionMask)));
  }

  /** exp(logit_scale), with the package's own exp. */
  get logitScaleExp(): number {
    return expOfScalar(this.logit_scale);
  }

  forward(images: Tensor, inputIds: Tensor, attentionMask?: Tensor | null): CLIPOutput {
    const scale = this.logitScaleExp;
    return scoped(() => {
      const img = this.imageBuf(images),
        txt = this.textBuf(inputIds, attentionMask);
      const [Bi, P] = img.shape,
        Bt = txt.shape[0];
      // torch: logit_scale * image_embeds @ text_embeds.T == (scale * image) @ text^T
      const scaled = empty([Bi, P]);
      core.affine(img.ptr, scaled.ptr, Bi * P, scale, 0);
      const logits = core.linearRaw(scaled, txt);
      const lpi = toTensor(logits);
      const lpt = new Float32Array(Bi * Bt);
      for (let i = 0; i < Bi; i++) for (let j = 0; j < Bt; j++) lpt[j * Bi + i] = lpi.data[i * Bt + j];
      return {
        imageEmbeds: toTensor(img),
        textEmbeds: toTensor(txt),
        logitsPerImage: lpi,
        logitsPerText: new Tensor(lpt, [Bt, Bi]),
        logitScale: scale,
      };
    });
  }

  /** The reference design's contrastive loss: (CE(logits_per_image, arange) + CE(logits_per_text, arange)) / 2. */
  computeLoss(outputs: Pick<CLIPOutput, "logitsPerImage" | "logitsPerText">): number {
    const li = outputs.logitsPerImage,
      lt = outputs.logitsPerText;
    if (!(li instanceof Tensor) || li.ndim !== 2 || li.shape[0] !== li.shape[1]) {
      throw new Error(
        `CLIPModel.computeLoss: logitsPerImage must be square (B, B), ` +
          `got ${li instanceof Tensor ? fmtShape(li.shape) : typeof li}`,
      );
    }
    const ce = (t: Tensor): number => {
      const lp = logSoftmax(t, -1);
      const B = t.shape[0];
      let s = 0;
      for (let i = 0; i < B; i++) s = Math.fround(s - lp.data[i * B + i]);
      return Math.fround(s / B);
    };
    return Math.fround(Math.fround(ce(li) + ce(lt)) / 2);
  }
}
