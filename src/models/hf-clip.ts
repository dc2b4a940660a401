// Hugging Face's CLIPModel (transformers' modeling_clip.py) by its own state_dict key names, built from the
// config.json Hugging Face writes: text_model.*, vision_model.*, visual_projection, text_projection, logit_scale.
import type { Embedder, Modality, ModalityEncoder } from "../nn/embedder.js";
import * as core from "../core/index.js";
import { type Buf, toTensor, view } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { limits } from "../util/limits.js";
import { Module, scoped, type LoadOptions } from "../nn/module.js";
import { Parameter, fill } from "../nn/parameter.js";
import { Conv2d } from "../nn/conv.js";
import { Embedding, Linear } from "../nn/linear.js";
import { LayerNorm } from "../nn/basic.js";
import { CLIPEncoder, HIDDEN_ACTS, type CLIPEncoderConfig, type HiddenAct } from "./hf-clip-encoder.js";
import {
  tensorArg,
  idsArg,
  addRows,
  gatherTokens,
  prependToken,
  fromTensor,
  paddingFromAttentionMask,
  expOfScalar,
} from "./common.js";

export interface CLIPTextConfigHF extends CLIPEncoderConfig {
  vocabSize: number;
  maxPositionEmbeddings: number;
  /** 2: the original OpenAI configs' marker for "pool at the highest token id" (argmax); else pool at the first eos */
  eosTokenId: number;
}
export interface CLIPVisionConfigHF extends CLIPEncoderConfig {
  imageSize: number;
  patchSize: number;
  numChannels: number;
}
export interface HFCLIPConfig {
  projectionDim: number;
  logitScaleInitValue: number;
  textConfig: CLIPTextConfigHF;
  visionConfig: CLIPVisionConfigHF;
}

// transformers' CLIPTextConfig / CLIPVisionConfig defaults (what a config.json that omits a field means)
const TEXT_DEFAULTS = {
  vocab_size: 49408,
  hidden_size: 512,
  intermediate_size: 2048,
  num_hidden_layers: 12,
  num_attention_heads: 8,
  max_position_embeddings: 77,
  hidden_act: "quick_gelu",
  layer_norm_eps: 1e-5,
  eos_token_id: 49407,
};
const VISION_DEFAULTS = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  num_channels: 3,
  image_size: 224,
  patch_size: 32,
  hidden_act: "quick_gelu",
  layer_norm_eps: 1e-5,
};

function bad(msg: string): never {
  throw new Error(`CLIP config.json: ${msg}`);
}

function encoderPart(where: string, o: Record<string, unknown>): CLIPEncoderConfig {
  const int = (k: string): number => {
    const v = o[k];
    if (!Number.isInteger(v) || (v as number) < 1)
      bad(`${where}.${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const act = o.hidden_act;
  if (!HIDDEN_ACTS.includes(act as HiddenAct))
    bad(`${where}.hidden_act ${JSON.stringify(act)} is not supported (supported: ${HIDDEN_ACTS.join(", ")})`);
  const eps = o.layer_norm_eps;
  if (typeof eps !== "number" || !(eps > 0))
    bad(`${where}.layer_norm_eps must be a positive number, got ${JSON.stringify(eps)}`);
  const c = {
    hiddenSize: int("hidden_size"),
    intermediateSize: int("intermediate_size"),
    numAttentionHeads: int("num_attention_heads"),
    numHiddenLayers: int("num_hidden_layers"),
    hiddenAct: act as HiddenAct,
    layerNormEps: eps,
  };
  if (c.numHiddenLayers > 1000) bad(`${where}.num_hidden_layers ${c.numHiddenLayers} is more than 1000`);
  if (c.hiddenSize % c.numAttentionHeads)
    bad(`${where}.hidden_size ${c.hiddenSize} is not divisible by num_attention_heads ${c.numAttentionHeads}`);
  return c;
}

/**
 * The model a Hugging Face CLIP config.json describes (model_type "clip"; text_config and vision_config, each
 * falling back to transformers' defaults for fields it omits).  Anything else is an Error naming the field.
 */
export function clipConfigFromJSON(json: unknown): HFCLIPConfig {
  if (!json || typeof json !== "object" || Array.isArray(json)) bad("must be a JSON object");
  const j = json as Record<string, unknown>;
  if (j.model_type !== undefined && j.model_type !== "clip")
    bad(`model_type is ${JSON.stringify(j.model_type)}; supported: "clip"`);
  const sub = (k: string): Record<string, unknown> => {
    const v = j[k] ?? j[`${k}_dict`] ?? {};
    if (typeof v !== "object" || v === null || Array.isArray(v)) bad(`${k} must be an object`);
    return v as Record<string, unknown>;
  };
  const t = { ...TEXT_DEFAULTS, ...sub("text_config") },
    v = { ...VISION_DEFAULTS, ...sub("vision_config") };
  const int = (o: Record<string, unknown>, where: string, k: string): number => {
    if (!Number.isInteger(o[k]) || (o[k] as number) < (k === "eos_token_id" ? 0 : 1))
      bad(
        `${where}.${k} must be a ${k === "eos_token_id" ? "non-negative" : "positive"} integer, ` +
          `got ${JSON.stringify(o[k])}`,
      );
    return o[k] as number;
  };
  const textConfig: CLIPTextConfigHF = {
    ...encoderPart("text_config", t),
    vocabSize: int(t, "text_config", "vocab_size"),
    maxPositionEmbeddings: int(t, "text_config", "max_position_embeddings"),
    eosTokenId: int(t, "text_config", "eos_token_id"),
  };
  const visionConfig: CLIPVisionConfigHF = {
    ...encoderPart("vision_config", v),
    imageSize: int(v, "vision_config", "image_size"),
    patchSize: int(v, "vision_config", "patch_size"),
    numChannels: int(v, "vision_config", "num_channels"),
  };
  if (visionConfig.imageSize % visionConfig.patchSize)
    bad(`vision_config.image_size ${visionConfig.imageSize} is not a multiple of patch_size ${visionConfig.patchSize}`);
  const projectionDim = j.projection_dim ?? 512;
  if (!Number.isInteger(projectionDim) || (projectionDim as number) < 1)
    bad(`projection_dim must be a positive integer, got ${JSON.stringify(projectionDim)}`);
  const ls = j.logit_scale_init_value ?? 2.6592;
  if (typeof ls !== "number" || !Number.isFinite(ls))
    bad(`logit_scale_init_value must be a number, got ${JSON.stringify(ls)}`);
  return { projectionDim: projectionDim as number, logitScaleInitValue: ls, textConfig, visionConfig };
}

/** Parameters of one encoder stack: per layer q/k/v/out projections with bias, two LayerNorms, the MLP. */
function encoderParameters(c: CLIPEncoderConfig): number {
  const h = c.hiddenSize,
    i = c.intermediateSize;
  return c.numHiddenLayers * (4 * (h * h + h) + 4 * h + (h * i + i) + (i * h + h));
}

/**
 * How many parameters the model a config describes has (HFCLIPModel's numParameters, without building it): what
 * loadPretrained checks against the limits and the weights before it allocates anything.
 */
export function clipParameterCount(c: HFCLIPConfig): number {
  const t = c.textConfig,
    v = c.visionConfig;
  const text =
    t.vocabSize * t.hiddenSize + t.maxPositionEmbeddings * t.hiddenSize + encoderParameters(t) + 2 * t.hiddenSize;
  const patches = (v.imageSize / v.patchSize) ** 2 + 1;
  const vision =
    v.hiddenSize +
    v.numChannels * v.patchSize * v.patchSize * v.hiddenSize +
    patches * v.hiddenSize +
    4 * v.hiddenSize +
    encoderParameters(v);
  return text + vision + (t.hiddenSize + v.hiddenSize) * c.projectionDim + 1;
}

/** CLIPTextEmbeddings: token_embedding + position_embedding. */
export class CLIPTextEmbeddings extends Module {
  token_embedding: Embedding;
  position_embedding: Embedding;
  constructor(c: CLIPTextConfigHF) {
    super();
    this.token_embedding = new Embedding(c.vocabSize, c.hiddenSize);
    this.position_embedding = new Embedding(c.maxPositionEmbeddings, c.hiddenSize);
  }
}

/** CLIPVisionEmbeddings: class_embedding, patch_embedding (a convolution without bias), position_embedding. */
export class CLIPVisionEmbeddings extends Module {
  class_embedding: Parameter;
  patch_embedding: Conv2d;
  position_embedding: Embedding;
  readonly numPositions: number;
  constructor(c: CLIPVisionConfigHF) {
    super();
    this.class_embedding = new Parameter([c.hiddenSize], "raw", fill(0));
    this.patch_embedding = new Conv2d(c.numChannels, c.hiddenSize, c.patchSize, { stride: c.patchSize, bias: false });
    this.numPositions = (c.imageSize / c.patchSize) ** 2 + 1;
    this.position_embedding = new Embedding(this.numPositions, c.hiddenSize);
  }
}

/** CLIPTextTransformer: embeddings, causal encoder, final_layer_norm; pooled at the end-of-text token. */
export class CLIPTextTransformer extends Module {
  embeddings: CLIPTextEmbeddings;
  encoder: CLIPEncoder;
  final_layer_norm: LayerNorm;
  constructor(readonly config: CLIPTextConfigHF) {
    super();
    this.embeddings = new CLIPTextEmbeddings(config);
    this.encoder = new CLIPEncoder(config);
    this.final_layer_norm = new LayerNorm(config.hiddenSize, config.layerNormEps);
  }

  /** ids (B, T) int32 in scratch; padding (B*T) 1 = pad, or null -> pooled output (B, hidden). */
  run(ids: Buf, padding: Int32Array | null): Buf {
    const [B, T] = ids.shape;
    const c = this.config;
    if (T > c.maxPositionEmbeddings)
      throw new Error(
        `CLIPTextTransformer: sequence length ${T} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`,
      );
    if (T < 1) throw new Error("CLIPTextTransformer: sequence length must be >= 1");
    const idv = Int32Array.from(core.heap().i32(ids.ptr, B * T));
    const x = this.embeddings.token_embedding.run(ids); // (B, T, E)
    addRows(x, this.embeddings.position_embedding.weight, T); // + position_embedding(arange(T))
    // (B, T, T) additive: causal (key after query) and padded keys at float32's lowest, summed in float32 (two
    // lowest overflow to -inf) as transformers adds its two masks
    const LOW = -3.4028234663852886e38;
    const heap = core.heap();
    const mask = heap.alloc(B * T * T * 4),
      m = heap.f32(mask, B * T * T);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++) {
          m[(b * T + i) * T + j] = Math.fround((j > i ? LOW : 0) + (padding?.[b * T + j] ? LOW : 0));
        }
    const h = this.encoder.run(x, mask);
    const idx: number[] = [];
    for (let b = 0; b < B; b++) {
      const row = idv.subarray(b * T, (b + 1) * T);
      let at = 0;
      if (c.eosTokenId === 2) {
        for (let t = 1; t < T; t++) if (row[t] > row[at]) at = t;
      } // argmax: the first highest id
      else {
        const e = row.indexOf(c.eosTokenId);
        at = e < 0 ? 0 : e;
      } // (ids == eos).argmax(): the first eos, else 0
      idx.push(at);
    }
    return this.final_layer_norm.run(gatherTokens(h, idx)); // row-wise, so pooling first changes nothing
  }
}

/** CLIPVisionTransformer: embeddings, pre_layrnorm, encoder, post_layernorm on the class token. */
export class CLIPVisionTransformer extends Module {
  embeddings: CLIPVisionEmbeddings;
  pre_layrnorm: LayerNorm;
  encoder: CLIPEncoder;
  post_layernorm: LayerNorm;
  constructor(readonly config: CLIPVisionConfigHF) {
    super();
    this.embeddings = new CLIPVisionEmbeddings(config);
    this.pre_layrnorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.encoder = new CLIPEncoder(config);
    this.post_layernorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
  }

  /** images (B, C, S, S) -> pooled output (B, hidden). */
  run(x: Buf): Buf {
    const c = this.config;
    const [B, C, H, W] = x.shape;
    if (C !== c.numChannels || H !== c.imageSize || W !== c.imageSize) {
      throw new Error(
        `CLIPVisionTransformer: pixel values must be (B, ${c.numChannels}, ${c.imageSize}, ${c.imageSize}), got ` +
          `[${x.shape.join(", ")}]`,
      );
    }
    const E = c.hiddenSize,
      g = c.imageSize / c.patchSize;
    const p = this.embeddings.patch_embedding.run(x); // (B, E, g, g)
    // (B, 1 + g*g, E)
    const seq = prependToken(core.transpose12(view(p, [B, E, g * g])), this.embeddings.class_embedding);
    addRows(seq, this.embeddings.position_embedding.weight, g * g + 1);
    const h = this.encoder.run(this.pre_layrnorm.run(seq), 0);
    return this.post_layernorm.run(gatherTokens(h, new Array(B).fill(0)));
  }
}

/**
 * Hugging Face's CLIPModel, loaded from its own files and key names (`vision_model.*`, `text_model.*`,
 * `visual_projection`, `text_projection`, `logit_scale`).  Usually made by `loadPretrained(dir)`, which also reads
 * the folder's tokenizer.json and preprocessor_config.json.
 * @example
 * const clip = HFCLIPModel.fromConfig(JSON.parse(readFileSync("clip/config.json", "utf8")));
 * clip.loadStateDict(loadSafetensors(readFileSync("clip/model.safetensors")));
 * const imageEmbeds = clip.encodeImage(pixelValues); // (B, 512), unit norm
 */
export class HFCLIPModel extends Module implements Embedder {
  text_model: CLIPTextTransformer;
  vision_model: CLIPVisionTransformer;
  visual_projection: Linear;
  text_projection: Linear;
  logit_scale: Parameter;
  constructor(readonly config: HFCLIPConfig) {
    super();
    this.text_model = new CLIPTextTransformer(config.textConfig);
    this.vision_model = new CLIPVisionTransformer(config.visionConfig);
    this.visual_projection = new Linear(config.visionConfig.hiddenSize, config.projectionDim, false);
    this.text_projection = new Linear(config.textConfig.hiddenSize, config.projectionDim, false);
    this.logit_scale = new Parameter([], "raw", fill(Math.fround(config.logitScaleInitValue)));
  }
  /** the side of the square images encodeImage takes */
  get imageSize(): number {
    return this.config.visionConfig.imageSize;
  }

  /** The model a parsed config.json describes, weights not loaded (refused past limits.maxParameters). */
  static fromConfig(json: unknown): HFCLIPModel {
    const c = clipConfigFromJSON(json),
      n = clipParameterCount(c);
    if (n > limits.maxParameters)
      throw new Error(
        `CLIP config.json: describes ${n} parameters, more than limits.maxParameters (${limits.maxParameters})`,
      );
    return new HFCLIPModel(c);
  }

  get projectionDim(): number {
    return this.config.projectionDim;
  }

  /**
   * Strict loading by the checkpoint's key names; `*.embeddings.position_ids` (a buffer older transformers saved)
   * is accepted when it holds 0, 1, 2, ... and dropped.
   */
  override loadStateDict(dict: Record<string, Tensor>, options: LoadOptions = {}): void {
    const rest: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(dict ?? {})) {
      const want =
        k === "text_model.embeddings.position_ids"
          ? this.config.textConfig.maxPositionEmbeddings
          : k === "vision_model.embeddings.position_ids"
            ? this.vision_model.embeddings.numPositions
            : -1;
      if (want < 0) {
        rest[k] = t;
        continue;
      }
      const ok =
        t instanceof Tensor &&
        t.size === want &&
        t.shape[t.ndim - 1] === want &&
        Array.from(t.data).every((v, i) => v === i);
      if (!ok)
        throw new Error(
          `loadStateDict(HFCLIPModel): ${k} must hold 0..${want - 1} (shape [1, ${want}]), ` +
            `got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`,
        );
    }
    super.loadStateDict(rest, options);
  }

  private imageFeatures(who: string, pixelValues: Tensor): Buf {
    tensorArg(who, "pixelValues", pixelValues, 4, "(batch, channels, height, width)", "float32");
    return this.visual_projection.run(this.vision_model.run(fromTensor(who, "pixelValues", pixelValues)));
  }

  private textFeatures(who: string, inputIds: Tensor, attentionMask?: Tensor | null): Buf {
    idsArg(who, inputIds);
    const [B, T] = inputIds.shape;
    const pad = attentionMask ? paddingFromAttentionMask(who, attentionMask, B, T) : null;
    return this.text_projection.run(this.text_model.run(fromTensor(who, "inputIds", inputIds), pad));
  }

  /** transformers' get_image_features: pixel values (B, 3, S, S) -> projected (B, projectionDim), not normalised. */
  getImageFeatures(pixelValues: Tensor): Tensor {
    return scoped(() => toTensor(this.imageFeatures("HFCLIPModel.getImageFeatures", pixelValues)));
  }
  /** transformers' get_text_features: ids (B, T) int32 [+ attention mask] -> projected (B, projectionDim). */
  getTextFeatures(inputIds: Tensor, attentionMask?: Tensor | null): Tensor {
    return scoped(() => toTensor(this.textFeatures("HFCLIPModel.getTextFeatures", inputIds, attentionMask)));
  }
  /** Unit-norm image embeddings (CLIPModel.forward's image_embeds). */
  encodeImage(pixelValues: Tensor): Tensor {
    return scoped(() => toTensor(core.l2normalize(this.imageFeatures("HFCLIPModel.encodeImage", pixelValues))));
  }
  /** Unit-norm text embeddings (CLIPModel.forward's text_embeds). */
  encodeText(inputIds: Tensor, attentionMask?: Tensor | null): Tensor {
    return scoped(() =>
      toTensor(core.l2normalize(this.textFeatures("HFCLIPModel.encodeText", inputIds, attentionMask))),
    );
  }

  /** exp(logit_scale): the factor CLIPModel.forward scales cosine similarities by. */
  get logitScaleExp(): number {
    return expOfScalar(this.logit_scale);
  }

  /** Embedder: pixel values (float32) and token ids (int32, with an attention mask). */
  encoders(): Partial<Record<Modality, ModalityEncoder>> {
    return {
      image: { dtype: "float32", takesMask: false, encode: (x) => this.encodeImage(x) },
      text: { dtype: "int32", takesMask: true, encode: (ids, mask) => this.encodeText(ids, mask) },
    };
  }
}
