// Hugging Face's Wav2Vec2ForCTC and HubertForCTC (transformers' modeling_wav2vec2.py / modeling_hubert.py, eager
// attention), by their own key names: {wav2vec2,hubert}.feature_extractor.conv_layers.{i}.{conv,layer_norm},
// .feature_projection.{layer_norm,projection}, .masked_spec_embed (training only: loaded, unused), .encoder.
// {pos_conv_embed.conv.{weight_g,weight_v,bias}, layer_norm, layers.{i}.{attention.{q,k,v,out}_proj, layer_norm,
// feed_forward.{intermediate,output}_dense, final_layer_norm}}, lm_head.  Reference: reference/hf_wav2vec2.py.
//
//   samples (B, L) -> feature encoder: conv layers (GroupNorm on the first of "group", LayerNorm over channels on each
//   of "layer"), GELU -> (B, T, C) -> [LayerNorm] -> Linear -> (B, T, E) -> + GELU(weight-normed grouped conv, the
//   extra frame of an even kernel dropped) -> post-LN layers then LayerNorm first (do_stable_layer_norm false), or
//   pre-LN layers then LayerNorm last (true) -> lm_head -> (B, T, vocab) logits.
import * as core from "../core/index.js";
import { type Buf, empty } from "../core/index.js";
import { Module } from "../nn/module.js";
import { Linear } from "../nn/linear.js";
import { Conv1d } from "../nn/conv.js";
import { GroupNorm, LayerNorm } from "../nn/basic.js";
import { ModuleList } from "../nn/containers.js";
import { Parameter, fill } from "../nn/parameter.js";
import { CLIPAttention } from "./hf-clip-encoder.js";

export interface Wav2Vec2Config {
  modelType: "wav2vec2" | "hubert";
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  layerNormEps: number;
  featExtractNorm: "group" | "layer";
  convDim: number[];
  convKernel: number[];
  convStride: number[];
  convBias: boolean;
  numConvPosEmbeddings: number;
  numConvPosEmbeddingGroups: number;
  doStableLayerNorm: boolean;
  /** HuBERT's feature projection may leave out its LayerNorm (wav2vec2's always has it) */
  featProjLayerNorm: boolean;
  /** the checkpoint holds masked_spec_embed (mask_time_prob or mask_feature_prob > 0) */
  maskedSpecEmbed: boolean;
  padTokenId: number;
}

/** Config defaults as transformers' Wav2Vec2Config / HubertConfig give them. */
const DEFAULTS = {
  vocab_size: 32,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  layer_norm_eps: 1e-5,
  feat_extract_norm: "group",
  feat_extract_activation: "gelu",
  conv_dim: [512, 512, 512, 512, 512, 512, 512],
  conv_stride: [5, 2, 2, 2, 2, 2, 2],
  conv_kernel: [10, 3, 3, 3, 3, 2, 2],
  conv_bias: false,
  num_conv_pos_embeddings: 128,
  num_conv_pos_embedding_groups: 16,
  do_stable_layer_norm: false,
  feat_proj_layer_norm: true,
  mask_time_prob: 0.05,
  mask_feature_prob: 0,
  pad_token_id: 0,
} as const;

/** Largest size of any one dimension a config may give (real checkpoints: <= 4096 hidden, <= 1024 layers of conv). */
const MAX_DIM = 1 << 16;

/** A config.json (model_type "wav2vec2" or "hubert") -> Wav2Vec2Config; anything this code cannot run is refused. */
export function wav2vec2ConfigFromJSON(json: unknown): Wav2Vec2Config {
  if (!json || typeof json !== "object") throw new Error("wav2vec2 config: expected a config.json object");
  const j = { ...DEFAULTS, ...(json as Record<string, unknown>) } as Record<string, unknown>;
  const who = `config.json (${String(j.model_type)})`;
  const int = (k: string, min = 1): number => {
    const v = j[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > MAX_DIM)
      throw new Error(`${who}: ${k} must be an integer from ${min} to ${MAX_DIM}, got ${JSON.stringify(v)}`);
    return v;
  };
  const ints = (k: string): number[] => {
    const v = j[k];
    if (
      !Array.isArray(v) ||
      v.length < 1 ||
      v.length > 64 ||
      v.some((x) => !Number.isInteger(x) || x < 1 || x > MAX_DIM)
    )
      throw new Error(`${who}: ${k} must be a list of 1 to 64 positive integers, got ${JSON.stringify(v)}`);
    return v as number[];
  };
  const one = <T extends string>(k: string, allowed: readonly T[]): T => {
    if (!allowed.includes(j[k] as T))
      throw new Error(`${who}: ${k} ${JSON.stringify(j[k])} is not supported (supported: ${allowed.join(", ")})`);
    return j[k] as T;
  };
  const refuse = (k: string, ok: (v: unknown) => boolean, why: string): void => {
    if (j[k] !== undefined && !ok(j[k])) throw new Error(`${who}: ${k} ${JSON.stringify(j[k])}: ${why}`);
  };
  one("hidden_act", ["gelu"] as const);
  one("feat_extract_activation", ["gelu"] as const);
  refuse("add_adapter", (v) => v === false, "adapter layers are not supported");
  refuse("conv_pos_batch_norm", (v) => v === false, "a batch-normed positional convolution is not supported");
  refuse("use_weighted_layer_sum", (v) => v === false, "only the last layer's output feeds lm_head here");
  const modelType = one("model_type", ["wav2vec2", "hubert"] as const);
  const convDim = ints("conv_dim"),
    convKernel = ints("conv_kernel"),
    convStride = ints("conv_stride");
  if (convKernel.length !== convDim.length || convStride.length !== convDim.length)
    throw new Error(
      `${who}: conv_dim, conv_kernel and conv_stride must be as long as each other, got ${convDim.length}, ` +
        `${convKernel.length} and ${convStride.length}`,
    );
  const hiddenSize = int("hidden_size"),
    heads = int("num_attention_heads"),
    groups = int("num_conv_pos_embedding_groups");
  if (hiddenSize % heads !== 0)
    throw new Error(`${who}: hidden_size (${hiddenSize}) must be divisible by num_attention_heads (${heads})`);
  if (hiddenSize % groups !== 0)
    throw new Error(
      `${who}: hidden_size (${hiddenSize}) must be divisible by num_conv_pos_embedding_groups (${groups})`,
    );
  const eps = j.layer_norm_eps;
  if (typeof eps !== "number" || !(eps > 0 && eps < 1))
    throw new Error(`${who}: layer_norm_eps must be a number in (0, 1), got ${JSON.stringify(eps)}`);
  const prob = (k: string): number => (typeof j[k] === "number" ? (j[k] as number) : 0);
  return {
    modelType,
    vocabSize: int("vocab_size"),
    hiddenSize,
    numHiddenLayers: int("num_hidden_layers"),
    numAttentionHeads: heads,
    intermediateSize: int("intermediate_size"),
    layerNormEps: eps,
    featExtractNorm: one("feat_extract_norm", ["group", "layer"] as const),
    convDim,
    convKernel,
    convStride,
    convBias: j.conv_bias === true,
    numConvPosEmbeddings: int("num_conv_pos_embeddings"),
    numConvPosEmbeddingGroups: groups,
    doStableLayerNorm: j.do_stable_layer_norm === true,
    featProjLayerNorm: modelType === "wav2vec2" || j.feat_proj_layer_norm !== false,
    maskedSpecEmbed: prob("mask_time_prob") > 0 || prob("mask_feature_prob") > 0,
    padTokenId: int("pad_token_id", 0),
  };
}

/** Parameters a config describes (checked against the weights and the limits before anything is allocated). */
export function wav2vec2ParameterCount(c: Wav2Vec2Config): number {
  let n = 0,
    cin = 1;
  c.convDim.forEach((d, i) => {
    n += d * cin * c.convKernel[i] + (c.convBias ? d : 0);
    if (c.featExtractNorm === "layer" || i === 0) n += 2 * d;
    cin = d;
  });
  const E = c.hiddenSize,
    C = c.convDim[c.convDim.length - 1],
    K = c.numConvPosEmbeddings;
  n += (c.featProjLayerNorm ? 2 * C : 0) + C * E + E + (c.maskedSpecEmbed ? E : 0);
  n += K + E * (E / c.numConvPosEmbeddingGroups) * K + E + 2 * E;
  const layer =
    4 * (E * E + E) + 2 * E + E * c.intermediateSize + c.intermediateSize + c.intermediateSize * E + E + 2 * E;
  return n + c.numHiddenLayers * layer + c.vocabSize * E + c.vocabSize;
}

/** Frames the feature encoder makes of `samples` samples (0 when too short for its kernels). */
export function featureFrames(c: Pick<Wav2Vec2Config, "convKernel" | "convStride">, samples: number): number {
  let n = samples;
  for (let i = 0; i < c.convKernel.length; i++) {
    if (n < c.convKernel[i]) return 0;
    n = Math.floor((n - c.convKernel[i]) / c.convStride[i]) + 1;
  }
  return n;
}

/** One conv layer of the feature encoder: conv, its norm ("group": the first layer only; "layer": each), GELU. */
class FeatureConvLayer extends Module {
  conv: Conv1d;
  layer_norm: GroupNorm | LayerNorm | null;
  constructor(c: Wav2Vec2Config, i: number) {
    super();
    const cin = i === 0 ? 1 : c.convDim[i - 1],
      cout = c.convDim[i];
    this.conv = new Conv1d(cin, cout, c.convKernel[i], { stride: c.convStride[i], bias: c.convBias });
    this.layer_norm =
      c.featExtractNorm === "layer" ? new LayerNorm(cout) : i === 0 ? new GroupNorm(cout, cout, 1e-5) : null;
  }
  /** (B, C, L) -> (B, C', L') */
  run(x: Buf): Buf {
    let y = this.conv.run(x);
    if (this.layer_norm instanceof GroupNorm) y = this.layer_norm.run(y);
    else if (this.layer_norm) y = core.transpose12(this.layer_norm.run(core.transpose12(y)));
    return core.unaryInPlace("gelu", y);
  }
}

class FeatureEncoder extends Module {
  conv_layers: ModuleList<FeatureConvLayer>;
  constructor(c: Wav2Vec2Config) {
    super();
    this.conv_layers = new ModuleList(c.convDim.map((_, i) => new FeatureConvLayer(c, i)));
  }
  /** samples (B, L) -> features (B, T, C) */
  run(x: Buf): Buf {
    let y: Buf = { ...x, shape: [x.shape[0], 1, x.shape[1]] };
    for (const layer of this.conv_layers) y = layer.run(y);
    return core.transpose12(y);
  }
}

class FeatureProjection extends Module {
  layer_norm: LayerNorm | null;
  projection: Linear;
  constructor(c: Wav2Vec2Config) {
    super();
    const C = c.convDim[c.convDim.length - 1];
    this.layer_norm = c.featProjLayerNorm ? new LayerNorm(C, c.layerNormEps) : null;
    this.projection = new Linear(C, c.hiddenSize);
  }
  run(x: Buf): Buf {
    return this.projection.run(this.layer_norm ? this.layer_norm.run(x) : x);
  }
}

/**
 * nn.utils.weight_norm(Conv1d(E, E, K, padding K / 2, groups), dim=2) by its checkpoint keys: weight = g v / ||v||,
 * the norm over every dimension but the kernel's (one g per kernel position), computed at each run (E (E/G) K
 * multiplies: small beside the layers).
 */
class WeightNormConv1d extends Module {
  weight_g: Parameter;
  weight_v: Parameter;
  bias: Parameter;
  constructor(
    readonly channels: number,
    readonly kernel: number,
    readonly groups: number,
  ) {
    super();
    this.weight_g = new Parameter([1, 1, kernel], "raw", fill(1));
    this.weight_v = new Parameter([channels, channels / groups, kernel], "raw", fill(0));
    this.bias = new Parameter([channels], "raw", fill(0));
  }
  /** The convolution's weight (E, E / G, K): g v / ||v||, the norm per kernel position. */
  effectiveWeight(): Float32Array {
    const h = core.heap(),
      K = this.kernel,
      n = this.weight_v.numel;
    const g = h.f32(this.weight_g.ptr, K).slice(),
      v = h.f32(this.weight_v.ptr, n).slice();
    const norm = new Float64Array(K);
    for (let i = 0; i < n; i++) norm[i % K] += v[i] * v[i];
    const scale = new Float32Array(K);
    for (let k = 0; k < K; k++) scale[k] = g[k] / Math.sqrt(norm[k]);
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = v[i] * scale[i % K];
    return w;
  }
  /** (B, E, T) -> (B, E, T + 1 - K % 2) */
  run(x: Buf): Buf {
    const K = this.kernel;
    const w = empty([...this.weight_v.shape]);
    core.heap().f32(w.ptr, this.weight_v.numel).set(this.effectiveWeight());
    const [B, E, T] = x.shape;
    const y = core.conv(
      { ...x, shape: [B, E, 1, T] },
      w,
      this.bias,
      [1, 1],
      [0, Math.floor(K / 2)],
      [1, 1],
      this.groups,
    );
    return { ...y, shape: [B, E, y.shape[3]] };
  }
}

class PositionalConvEmbedding extends Module {
  conv: WeightNormConv1d;
  constructor(c: Wav2Vec2Config) {
    super();
    this.conv = new WeightNormConv1d(c.hiddenSize, c.numConvPosEmbeddings, c.numConvPosEmbeddingGroups);
  }
  /** h (B, T, E) -> GELU(conv) (B, T, E): an even kernel's "same" padding gives one frame too many, dropped */
  run(h: Buf): Buf {
    const [B, T, E] = h.shape;
    const y = this.conv.run(core.transpose12(h)); // (B, E, T or T + 1)
    const Ty = y.shape[2];
    let cut = y;
    if (Ty !== T) {
      cut = empty([B, E, T]);
      const heap = core.heap(),
        src = heap.f32(y.ptr, B * E * Ty),
        dst = heap.f32(cut.ptr, B * E * T);
      for (let r = 0; r < B * E; r++) dst.set(src.subarray(r * Ty, r * Ty + T), r * T);
    }
    return core.transpose12(core.unaryInPlace("gelu", cut));
  }
}

class FeedForward extends Module {
  intermediate_dense: Linear;
  output_dense: Linear;
  constructor(c: Wav2Vec2Config) {
    super();
    this.intermediate_dense = new Linear(c.hiddenSize, c.intermediateSize);
    this.output_dense = new Linear(c.intermediateSize, c.hiddenSize);
  }
  run(x: Buf): Buf {
    return this.output_dense.run(core.unaryInPlace("gelu", this.intermediate_dense.run(x)));
  }
}

class EncoderLayer extends Module {
  attention: CLIPAttention;
  layer_norm: LayerNorm;
  feed_forward: FeedForward;
  final_layer_norm: LayerNorm;
  constructor(readonly c: Wav2Vec2Config) {
    super();
    this.attention = new CLIPAttention(c.hiddenSize, c.numAttentionHeads);
    this.layer_norm = new LayerNorm(c.hiddenSize, c.layerNormEps);
    this.feed_forward = new FeedForward(c);
    this.final_layer_norm = new LayerNorm(c.hiddenSize, c.layerNormEps);
  }
  /** mask: additive (B, T, T) in scratch, or 0 */
  run(x: Buf, mask: number): Buf {
    if (this.c.doStableLayerNorm) {
      const h = core.addInPlace(this.attention.run(this.layer_norm.run(x), mask), x);
      return core.addInPlace(this.feed_forward.run(this.final_layer_norm.run(h)), h);
    }
    const h = this.layer_norm.run(core.addInPlace(this.attention.run(x, mask), x));
    return this.final_layer_norm.run(core.addInPlace(this.feed_forward.run(h), h));
  }
}

class Encoder extends Module {
  pos_conv_embed: PositionalConvEmbedding;
  layer_norm: LayerNorm;
  layers: ModuleList<EncoderLayer>;
  constructor(readonly c: Wav2Vec2Config) {
    super();
    this.pos_conv_embed = new PositionalConvEmbedding(c);
    this.layer_norm = new LayerNorm(c.hiddenSize, c.layerNormEps);
    this.layers = new ModuleList(Array.from({ length: c.numHiddenLayers }, () => new EncoderLayer(c)));
  }
  /**
   * h (B, T, E), frames: each item's real frames (the rest zeroed and masked out of attention) or null ->
   * [the layers' input, each layer's output, the last hidden state]; `keep` false keeps only the last.
   */
  run(h: Buf, frames: readonly number[] | null, keep: boolean): Buf[] {
    const [B, T, E] = h.shape,
      heap = core.heap();
    let mask = 0;
    if (frames) {
      const hv = heap.f32(h.ptr, B * T * E);
      for (let b = 0; b < B; b++) hv.fill(0, (b * T + frames[b]) * E, (b + 1) * T * E);
      mask = heap.alloc(B * T * T * 4);
      const m = heap.f32(mask, B * T * T);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) m.fill(-Infinity, (b * T + t) * T + frames[b], (b * T + t + 1) * T);
    }
    let x = core.addInPlace(this.pos_conv_embed.run(h), h);
    if (!this.c.doStableLayerNorm) x = this.layer_norm.run(x);
    const states = keep ? [x] : [];
    for (const layer of this.layers) {
      x = layer.run(x, mask);
      if (keep) states.push(x);
    }
    if (this.c.doStableLayerNorm) x = this.layer_norm.run(x);
    states.push(x);
    return states;
  }
}

/** The shared trunk of Wav2Vec2Model / HubertModel. */
export class Wav2Vec2Backbone extends Module {
  feature_extractor: FeatureEncoder;
  feature_projection: FeatureProjection;
  masked_spec_embed: Parameter | null;
  encoder: Encoder;
  constructor(readonly config: Wav2Vec2Config) {
    super();
    this.feature_extractor = new FeatureEncoder(config);
    this.feature_projection = new FeatureProjection(config);
    this.masked_spec_embed = config.maskedSpecEmbed ? new Parameter([config.hiddenSize], "raw", fill(0)) : null;
    this.encoder = new Encoder(config);
  }
}

/** What a forward pass can keep: the intermediate states the reference is checked at. */
export interface Wav2Vec2States {
  extractFeatures: Buf;
  projected: Buf;
  states: Buf[];
  logits: Buf;
}

/** Wav2Vec2ForCTC / HubertForCTC: the backbone under its model_type's name, then lm_head. */
export class Wav2Vec2ForCTC extends Module {
  wav2vec2?: Wav2Vec2Backbone;
  hubert?: Wav2Vec2Backbone;
  lm_head: Linear;
  constructor(readonly config: Wav2Vec2Config) {
    super();
    if (config.modelType === "hubert") this.hubert = new Wav2Vec2Backbone(config);
    else this.wav2vec2 = new Wav2Vec2Backbone(config);
    this.lm_head = new Linear(config.hiddenSize, config.vocabSize);
  }
  get backbone(): Wav2Vec2Backbone {
    return (this.wav2vec2 ?? this.hubert)!;
  }

  /**
   * samples (B, L) normalised as the feature extractor does; lengths: each item's real samples (padding after
   * them), or null when none is padded -> logits (B, T, vocab) and, with keep, every intermediate state.
   */
  run(x: Buf, lengths: readonly number[] | null, keep = false): Wav2Vec2States {
    const bb = this.backbone;
    const feats = bb.feature_extractor.run(x);
    const frames = lengths ? lengths.map((n) => featureFrames(this.config, n)) : null;
    const projected = bb.feature_projection.run(feats);
    const states = bb.encoder.run(projected, frames, keep);
    return { extractFeatures: feats, projected, states, logits: this.lm_head.run(states[states.length - 1]) };
  }
}
