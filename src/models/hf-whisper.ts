// Hugging Face's WhisperForConditionalGeneration (transformers' modeling_whisper.py, eager attention), by its own key
// names: model.encoder.{conv1, conv2, embed_positions, layers.{i}.{self_attn.{k,v,q,out}_proj, self_attn_layer_norm,
// fc1, fc2, final_layer_norm}, layer_norm}, model.decoder.{embed_tokens, embed_positions, layers.{i}.{self_attn,
// self_attn_layer_norm, encoder_attn, encoder_attn_layer_norm, fc1, fc2, final_layer_norm}, layer_norm}; the output
// projection is the token embedding (proj_out, tied).  Reference: reference/hf_whisper.py.
//
//   features (1, n_mels, 2T) -> GELU(conv1) -> GELU(conv2, stride 2) -> (1, T, d) + stored positions -> pre-LN
//   layers -> LayerNorm = the encoder's states (T = 1500 for 30 s).
//   tokens -> embed_tokens + learned positions -> pre-LN layers (causal self-attention over the KV cache, then
//   cross-attention over the encoder's keys and values, computed once per window) -> LayerNorm -> x embed_tokens^T.
// The KV cache is allocated once per model (WhisperKVCache), outside every op's scratch, and reused by every window.
import * as core from "../core/index.js";
import { type Buf, empty, size } from "../core/index.js";
import { Module } from "../nn/module.js";
import { Linear, Embedding } from "../nn/linear.js";
import { Conv1d } from "../nn/conv.js";
import { LayerNorm } from "../nn/basic.js";
import { ModuleList } from "../nn/containers.js";
import { Parameter } from "../nn/parameter.js";

export interface WhisperConfig {
  vocabSize: number;
  numMelBins: number;
  dModel: number;
  encoderLayers: number;
  encoderAttentionHeads: number;
  decoderLayers: number;
  decoderAttentionHeads: number;
  encoderFfnDim: number;
  decoderFfnDim: number;
  maxSourcePositions: number;
  maxTargetPositions: number;
  scaleEmbedding: boolean;
}

/** Config defaults as transformers' WhisperConfig gives them. */
const DEFAULTS: Record<string, unknown> = {
  vocab_size: 51865,
  num_mel_bins: 80,
  d_model: 384,
  encoder_layers: 4,
  encoder_attention_heads: 6,
  decoder_layers: 4,
  decoder_attention_heads: 6,
  encoder_ffn_dim: 1536,
  decoder_ffn_dim: 1536,
  max_source_positions: 1500,
  max_target_positions: 448,
  activation_function: "gelu",
  scale_embedding: false,
};

/** A config.json (model_type "whisper") -> WhisperConfig; what this code cannot run is refused by field. */
export function whisperConfigFromJSON(json: unknown): WhisperConfig {
  if (!json || typeof json !== "object") throw new Error("whisper config: expected a config.json object");
  const j = { ...DEFAULTS, ...(json as Record<string, unknown>) };
  const int = (k: string): number => {
    const v = j[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 1 << 20)
      throw new Error(`config.json (whisper): ${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  if (j.activation_function !== "gelu")
    throw new Error(
      `config.json (whisper): activation_function ${JSON.stringify(j.activation_function)} is not supported (gelu)`,
    );
  const c: WhisperConfig = {
    vocabSize: int("vocab_size"),
    numMelBins: int("num_mel_bins"),
    dModel: int("d_model"),
    encoderLayers: int("encoder_layers"),
    encoderAttentionHeads: int("encoder_attention_heads"),
    decoderLayers: int("decoder_layers"),
    decoderAttentionHeads: int("decoder_attention_heads"),
    encoderFfnDim: int("encoder_ffn_dim"),
    decoderFfnDim: int("decoder_ffn_dim"),
    maxSourcePositions: int("max_source_positions"),
    maxTargetPositions: int("max_target_positions"),
    scaleEmbedding: j.scale_embedding === true,
  };
  for (const [k, h] of [
    ["encoder_attention_heads", c.encoderAttentionHeads],
    ["decoder_attention_heads", c.decoderAttentionHeads],
  ] as const)
    if (c.dModel % h !== 0)
      throw new Error(`config.json (whisper): d_model (${c.dModel}) must be divisible by ${k} (${h})`);
  return c;
}

/** Parameters a config describes (checked against the weights and the limits before anything is allocated). */
export function whisperParameterCount(c: WhisperConfig): number {
  const d = c.dModel;
  const attn = 4 * d * d + 3 * d;
  const enc = c.encoderLayers * (attn + 4 * d + 2 * d * c.encoderFfnDim + c.encoderFfnDim + d);
  const dec = c.decoderLayers * (2 * attn + 6 * d + 2 * d * c.decoderFfnDim + c.decoderFfnDim + d);
  return (
    c.numMelBins * d * 3 +
    d +
    d * d * 3 +
    d +
    c.maxSourcePositions * d +
    enc +
    2 * d +
    c.vocabSize * d +
    c.maxTargetPositions * d +
    dec +
    2 * d
  );
}

/** Keys and values of one attention: rows of d, `rows` of them, in memory outside any op's scratch. */
interface KV {
  k: number;
  v: number;
}

/**
 * The decoder's caches, allocated once: per layer the self-attention's keys and values for each of `beams`
 * hypotheses (max_target_positions rows each, filled a step at a time; beam b's rows start at b x
 * max_target_positions) and the cross-attention's (the encoder's frames, computed once per window and shared by
 * every beam).
 */
export class WhisperKVCache {
  readonly self: KV[];
  readonly cross: KV[];
  /**
   * per layer and head, the cross-attention's keys and values packed for the GEMM once a window (the packing every
   * step would otherwise repeat: same bits, as the kernels pack them the same way)
   */
  readonly crossPacked: Array<{ k: number[]; v: number[] }>;
  /** tokens whose keys and values the self-attention caches hold (the same for every beam) */
  length = 0;
  /** frames whose keys and values the cross-attention caches hold (0: none computed yet) */
  frames = 0;
  /** beams x max_target_positions rows per layer, where reorder() gathers beams before writing them back */
  private readonly scratch: KV[];
  private readonly bytes: number[] = [];
  private disposed = false;
  constructor(
    readonly config: WhisperConfig,
    readonly beams = 1,
  ) {
    if (!Number.isInteger(beams) || beams < 1) throw new Error(`WhisperKVCache: beams must be >= 1, got ${beams}`);
    const h = core.heap(),
      d = config.dModel;
    const alloc = (rows: number): number => {
      const b = rows * d * 4;
      this.bytes.push(b);
      return h.allocPersistent(b);
    };
    const perBeam = (n: number) =>
      Array.from({ length: config.decoderLayers }, () => ({
        k: alloc(n * config.maxTargetPositions),
        v: alloc(n * config.maxTargetPositions),
      }));
    this.self = perBeam(beams);
    this.scratch = beams > 1 ? perBeam(beams) : [];
    this.cross = Array.from({ length: config.decoderLayers }, () => ({
      k: alloc(config.maxSourcePositions),
      v: alloc(config.maxSourcePositions),
    }));
    const H = config.decoderAttentionHeads,
      D = d / H,
      S = config.maxSourcePositions;
    const packed = (K: number, N: number): number => {
      const b = core.packedSize(K, N) * 4;
      this.bytes.push(b);
      return h.allocPersistent(b);
    };
    this.crossPacked = Array.from({ length: config.decoderLayers }, () => ({
      k: Array.from({ length: H }, () => packed(D, S)),
      v: Array.from({ length: H }, () => packed(S, D)),
    }));
  }
  /** A new window: the tokens and the encoder's keys and values are forgotten (the memory is kept). */
  reset(): void {
    this.length = 0;
    this.frames = 0;
  }
  /** Where beam b's rows of a self-attention cache start. */
  beamAt(ptr: number, b: number): number {
    return ptr + b * this.config.maxTargetPositions * this.config.dModel * 4;
  }
  /** Beam i continues beam parents[i]: each beam's cached rows become its parent's (a permutation or copies). */
  reorder(parents: readonly number[]): void {
    if (parents.length > this.beams || parents.some((p) => !Number.isInteger(p) || p < 0 || p >= this.beams))
      throw new Error(`WhisperKVCache.reorder: parents must be beams below ${this.beams}, got [${parents}]`);
    if (parents.every((p, i) => p === i)) return;
    const h = core.heap(),
      n = this.length * this.config.dModel;
    this.self.forEach((kv, l) => {
      for (const key of ["k", "v"] as const) {
        const from = kv[key],
          tmp = this.scratch[l][key];
        parents.forEach((p, i) => h.f32(this.beamAt(tmp, i), n).set(h.f32(this.beamAt(from, p), n)));
        parents.forEach((_, i) => h.f32(this.beamAt(from, i), n).set(h.f32(this.beamAt(tmp, i), n)));
      }
    });
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const h = core.heap();
    const all = [
      ...[...this.self, ...this.scratch, ...this.cross].flatMap((kv) => [kv.k, kv.v]),
      ...this.crossPacked.flatMap((p) => [...p.k, ...p.v]),
    ];
    all.forEach((ptr, i) => h.freePersistent(ptr, this.bytes[i]));
  }
}

/** WhisperAttention: q, k (no bias), v, out projections; q_proj(h) * head_dim^-0.5. */
class WhisperAttention extends Module {
  k_proj: Linear;
  v_proj: Linear;
  q_proj: Linear;
  out_proj: Linear;
  readonly headDim: number;
  constructor(
    readonly d: number,
    readonly heads: number,
  ) {
    super();
    this.headDim = d / heads;
    this.k_proj = new Linear(d, d, false);
    this.v_proj = new Linear(d, d);
    this.q_proj = new Linear(d, d);
    this.out_proj = new Linear(d, d);
  }
  /** keys and values of x (rows of d) written at k, v */
  keysValues(x: Buf, k: number, v: number): void {
    const n = size(x);
    const h = core.heap();
    const kk = this.k_proj.run(x),
      vv = this.v_proj.run(x);
    h.f32(k, n).set(h.f32(kk.ptr, n));
    h.f32(v, n).set(h.f32(vv.ptr, n));
  }
  /**
   * x (1, T, d) attending to S rows of keys and values at k, v; mask: additive (T, S) rows, or 0 -> (1, T, d).
   */
  attend(x: Buf, k: number, v: number, S: number, mask: number): Buf {
    const [, T, d] = x.shape,
      D = this.headDim;
    const q = this.q_proj.run(x);
    core.affine(q.ptr, q.ptr, T * d, Math.fround(D ** -0.5), 0);
    const out = empty([1, T, d]);
    const at = (ptr: number, rows: number) => ({ ptr, ld: d, batch: rows * d, head: D });
    core.attention(
      1,
      this.heads,
      T,
      S,
      D,
      D,
      at(q.ptr, T),
      at(k, S),
      at(v, S),
      at(out.ptr, T),
      mask,
      T * S,
      mask ? T : 1,
    );
    return this.out_proj.run(out);
  }
  /**
   * One query row per beam, x (1, B, d): beam b's row attends the S rows at k + b x stride, v + b x stride (its own
   * cached keys and values) -> (1, B, d).
   */
  attendBeams(x: Buf, k: number, v: number, S: number, stride: number): Buf {
    const [, B, d] = x.shape,
      D = this.headDim;
    const q = this.q_proj.run(x);
    core.affine(q.ptr, q.ptr, B * d, Math.fround(D ** -0.5), 0);
    const out = empty([1, B, d]);
    const row = (ptr: number) => ({ ptr, ld: d, batch: d, head: D }),
      cached = (ptr: number) => ({ ptr, ld: d, batch: stride, head: D });
    core.attention(B, this.heads, 1, S, D, D, row(q.ptr), cached(k), cached(v), row(out.ptr));
    return this.out_proj.run(out);
  }
  /** attend() over keys and values packed per head (WhisperKVCache.crossPacked): the same bits, no packing. */
  attendPacked(x: Buf, packed: { k: number[]; v: number[] }, S: number): Buf {
    const [, T, d] = x.shape,
      D = this.headDim,
      h = core.heap();
    const q = this.q_proj.run(x);
    core.affine(q.ptr, q.ptr, T * d, Math.fround(D ** -0.5), 0);
    const out = empty([1, T, d]);
    h.scope(() => {
      const scores = h.alloc(T * S * 4);
      for (let hd = 0; hd < this.heads; hd++) {
        core.gemmPacked(T, S, D, q.ptr + hd * D * 4, d, packed.k[hd], scores, S, 0, 0, 0);
        core.softmaxRows(scores, scores, T, S);
        core.gemmPacked(T, D, S, scores, S, packed.v[hd], out.ptr + hd * D * 4, d, 0, 0, 0);
      }
    });
    return this.out_proj.run(out);
  }
}

const gelu = (x: Buf): Buf => core.unaryInPlace("gelu", x);

class WhisperEncoderLayer extends Module {
  self_attn: WhisperAttention;
  self_attn_layer_norm: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  final_layer_norm: LayerNorm;
  constructor(c: WhisperConfig) {
    super();
    this.self_attn = new WhisperAttention(c.dModel, c.encoderAttentionHeads);
    this.self_attn_layer_norm = new LayerNorm(c.dModel);
    this.fc1 = new Linear(c.dModel, c.encoderFfnDim);
    this.fc2 = new Linear(c.encoderFfnDim, c.dModel);
    this.final_layer_norm = new LayerNorm(c.dModel);
  }
  run(x: Buf): Buf {
    const [, T, d] = x.shape;
    const n = this.self_attn_layer_norm.run(x);
    const kv = { k: empty([T, d]).ptr, v: empty([T, d]).ptr };
    this.self_attn.keysValues(n, kv.k, kv.v);
    const h = core.addInPlace(this.self_attn.attend(n, kv.k, kv.v, T, 0), x);
    return core.addInPlace(this.fc2.run(gelu(this.fc1.run(this.final_layer_norm.run(h)))), h);
  }
}

export class WhisperEncoder extends Module {
  conv1: Conv1d;
  conv2: Conv1d;
  embed_positions: Embedding;
  layers: ModuleList<WhisperEncoderLayer>;
  layer_norm: LayerNorm;
  constructor(readonly c: WhisperConfig) {
    super();
    this.conv1 = new Conv1d(c.numMelBins, c.dModel, 3, { padding: 1 });
    this.conv2 = new Conv1d(c.dModel, c.dModel, 3, { stride: 2, padding: 1 });
    this.embed_positions = new Embedding(c.maxSourcePositions, c.dModel);
    this.layers = new ModuleList(Array.from({ length: c.encoderLayers }, () => new WhisperEncoderLayer(c)));
    this.layer_norm = new LayerNorm(c.dModel);
  }
  /** features (1, n_mels, 2T) -> [the layers' input, each layer's output, the final states (1, T, d)] */
  run(features: Buf, keep = false): Buf[] {
    const x = core.transpose12(gelu(this.conv2.run(gelu(this.conv1.run(features))))); // (1, T, d)
    const [, T, d] = x.shape;
    if (T > this.c.maxSourcePositions)
      throw new Error(`WhisperEncoder: ${T} frames, more than max_source_positions (${this.c.maxSourcePositions})`);
    core.binary("add", x.ptr, this.embed_positions.weight.ptr, x.ptr, 1, T * d, 1);
    const states = keep ? [x] : [];
    let h = x;
    for (const layer of this.layers) {
      h = layer.run(h);
      if (keep) states.push(h);
    }
    states.push(this.layer_norm.run(h));
    return states;
  }
}

class WhisperDecoderLayer extends Module {
  self_attn: WhisperAttention;
  self_attn_layer_norm: LayerNorm;
  encoder_attn: WhisperAttention;
  encoder_attn_layer_norm: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  final_layer_norm: LayerNorm;
  constructor(c: WhisperConfig) {
    super();
    this.self_attn = new WhisperAttention(c.dModel, c.decoderAttentionHeads);
    this.self_attn_layer_norm = new LayerNorm(c.dModel);
    this.encoder_attn = new WhisperAttention(c.dModel, c.decoderAttentionHeads);
    this.encoder_attn_layer_norm = new LayerNorm(c.dModel);
    this.fc1 = new Linear(c.dModel, c.decoderFfnDim);
    this.fc2 = new Linear(c.decoderFfnDim, c.dModel);
    this.final_layer_norm = new LayerNorm(c.dModel);
  }
  /** x (1, T, d): new tokens after `past` cached ones; their keys and values are added to the cache. */
  run(x: Buf, self: KV, cross: { k: number[]; v: number[] }, past: number, frames: number, mask: number): Buf {
    const [, , d] = x.shape;
    const n = this.self_attn_layer_norm.run(x);
    this.self_attn.keysValues(n, self.k + past * d * 4, self.v + past * d * 4);
    const T = x.shape[1];
    let h = core.addInPlace(this.self_attn.attend(n, self.k, self.v, past + T, mask), x);
    h = core.addInPlace(this.encoder_attn.attendPacked(this.encoder_attn_layer_norm.run(h), cross, frames), h);
    return core.addInPlace(this.fc2.run(gelu(this.fc1.run(this.final_layer_norm.run(h)))), h);
  }
  /** x (1, B, d): one new token per beam after `past` cached ones; beam b's keys and values go to its own rows. */
  runBeams(x: Buf, self: KV, cross: { k: number[]; v: number[] }, cache: WhisperKVCache): Buf {
    const [, B, d] = x.shape,
      past = cache.length,
      h = core.heap();
    const n = this.self_attn_layer_norm.run(x);
    const kk = this.self_attn.k_proj.run(n),
      vv = this.self_attn.v_proj.run(n);
    for (let b = 0; b < B; b++) {
      h.f32(cache.beamAt(self.k, b) + past * d * 4, d).set(h.f32(kk.ptr + b * d * 4, d));
      h.f32(cache.beamAt(self.v, b) + past * d * 4, d).set(h.f32(vv.ptr + b * d * 4, d));
    }
    const stride = cache.config.maxTargetPositions * d;
    let y = core.addInPlace(this.self_attn.attendBeams(n, self.k, self.v, past + 1, stride), x);
    y = core.addInPlace(this.encoder_attn.attendPacked(this.encoder_attn_layer_norm.run(y), cross, cache.frames), y);
    return core.addInPlace(this.fc2.run(gelu(this.fc1.run(this.final_layer_norm.run(y)))), y);
  }
}

/**
 * The output projection packed for the GEMM (the token embedding's values; the checkpoint ties them): a one-row
 * product over the row-major embedding takes the kernels' strided path, 28 ms a token for Whisper base's 51,865 x
 * 512, where the packed one streams it.  Kept beside the decoder, outside its state dict.
 */
const packedOutput = new WeakMap<WhisperDecoder, Parameter>();

export class WhisperDecoder extends Module {
  embed_tokens: Embedding;
  embed_positions: Embedding;
  layers: ModuleList<WhisperDecoderLayer>;
  layer_norm: LayerNorm;
  constructor(readonly c: WhisperConfig) {
    super();
    this.embed_tokens = new Embedding(c.vocabSize, c.dModel);
    this.embed_positions = new Embedding(c.maxTargetPositions, c.dModel);
    this.layers = new ModuleList(Array.from({ length: c.decoderLayers }, () => new WhisperDecoderLayer(c)));
    this.layer_norm = new LayerNorm(c.dModel);
  }
  /**
   * Packs the output projection from the token embedding (outside any op: call between decoding runs, and again
   * after loading other weights).  Without it, steps use the row-major embedding (the same values, slower).
   */
  prepareOutput(): void {
    packedOutput.get(this)?.dispose();
    const c = this.c,
      p = new Parameter([c.vocabSize, c.dModel], "linear");
    p.set(this.embed_tokens.weight.toTensor().data as Float32Array);
    packedOutput.set(this, p);
  }

  /** The encoder's states' keys and values for every layer's cross-attention, into the cache (once a window). */
  encode(states: Buf, cache: WhisperKVCache): void {
    const layers = [...this.layers];
    const S = states.shape[1],
      d = this.c.dModel,
      D = d / this.c.decoderAttentionHeads;
    layers.forEach((l, i) => {
      const { k, v } = cache.cross[i];
      l.encoder_attn.keysValues(states, k, v);
      for (let hd = 0; hd < this.c.decoderAttentionHeads; hd++) {
        core.packB(k + hd * D * 4, 1, d, D, S, cache.crossPacked[i].k[hd]); // B(j, s) = K[s, hd D + j]
        core.packB(v + hd * D * 4, d, 1, S, D, cache.crossPacked[i].v[hd]); // B(s, j) = V[s, hd D + j]
      }
    });
    cache.frames = S;
  }
  /** ids (after cache.length cached tokens) -> the last token's logits (vocab); the cache grows by ids.length. */
  step(ids: readonly number[], cache: WhisperKVCache): Float32Array {
    const c = this.c,
      d = c.dModel,
      T = ids.length,
      past = cache.length;
    if (past + T > c.maxTargetPositions)
      throw new Error(`WhisperDecoder: ${past + T} tokens, more than max_target_positions (${c.maxTargetPositions})`);
    if (cache.frames === 0) throw new Error("WhisperDecoder: no encoder states in the cache (encode first)");
    const h = core.heap();
    const idBuf: Buf = { ptr: h.put(Int32Array.from(ids)), shape: [1, T], dtype: "int32" };
    const x = this.embed_tokens.run(idBuf); // (1, T, d)
    if (c.scaleEmbedding) core.affine(x.ptr, x.ptr, T * d, Math.fround(Math.sqrt(d)), 0);
    core.binary("add", x.ptr, this.embed_positions.weight.ptr + past * d * 4, x.ptr, 1, T * d, 1);
    // causal: token t sees the past and itself (additive rows of past + T)
    let mask = 0;
    if (T > 1) {
      const S = past + T;
      mask = h.alloc(T * S * 4);
      const m = h.f32(mask, T * S).fill(0);
      for (let t = 0; t < T; t++) m.fill(-Infinity, t * S + past + t + 1, (t + 1) * S);
    }
    let y = x;
    [...this.layers].forEach((l, i) => {
      y = l.run(y, cache.self[i], cache.crossPacked[i], past, cache.frames, mask);
    });
    cache.length = past + T;
    const last = empty([1, d]);
    h.f32(last.ptr, d).set(h.f32(y.ptr + (T - 1) * d * 4, d));
    return this.logits(last)[0];
  }

  /**
   * One token per beam (tokens[b] continues beam b; every beam holds cache.length tokens) -> each beam's logits;
   * the cache grows by one.  The beams go through the layers as rows of one batch (the weights read once a step).
   */
  stepBeams(tokens: readonly number[], cache: WhisperKVCache): Float32Array[] {
    const c = this.c,
      d = c.dModel,
      B = tokens.length,
      past = cache.length;
    if (B < 1 || B > cache.beams) throw new Error(`WhisperDecoder: ${B} beams, the cache holds ${cache.beams}`);
    if (past + 1 > c.maxTargetPositions)
      throw new Error(`WhisperDecoder: ${past + 1} tokens, more than max_target_positions (${c.maxTargetPositions})`);
    if (cache.frames === 0 || past === 0) throw new Error("WhisperDecoder: step the prompt before the beams");
    const h = core.heap();
    const x = this.embed_tokens.run({ ptr: h.put(Int32Array.from(tokens)), shape: [1, B], dtype: "int32" });
    if (c.scaleEmbedding) core.affine(x.ptr, x.ptr, B * d, Math.fround(Math.sqrt(d)), 0);
    core.binary("add", x.ptr, this.embed_positions.weight.ptr + past * d * 4, x.ptr, B, d, 1); // one position
    let y = x;
    [...this.layers].forEach((l, i) => {
      y = l.runBeams(y, cache.self[i], cache.crossPacked[i], cache);
    });
    cache.length = past + 1;
    return this.logits(y);
  }

  /** The final LayerNorm and the tied output projection of rows (1, R, d) -> R rows of logits. */
  private logits(rows: Buf): Float32Array[] {
    const c = this.c,
      d = c.dModel,
      R = size(rows) / d,
      h = core.heap();
    const normed = this.layer_norm.run(rows);
    const packed = packedOutput.get(this);
    let logits: Buf;
    if (packed) logits = core.linear(normed, packed, null);
    else {
      logits = empty([R, c.vocabSize]);
      core.gemmNT(R, c.vocabSize, d, normed.ptr, d, this.embed_tokens.weight.ptr, d, logits.ptr, c.vocabSize);
    }
    return Array.from({ length: R }, (_, r) => h.f32(logits.ptr + r * c.vocabSize * 4, c.vocabSize).slice());
  }
}

/** model.encoder and model.decoder, as the checkpoint nests them. */
class WhisperModel extends Module {
  encoder: WhisperEncoder;
  decoder: WhisperDecoder;
  constructor(c: WhisperConfig) {
    super();
    this.encoder = new WhisperEncoder(c);
    this.decoder = new WhisperDecoder(c);
  }
}

export class WhisperForConditionalGeneration extends Module {
  model: WhisperModel;
  constructor(readonly config: WhisperConfig) {
    super();
    this.model = new WhisperModel(config);
  }
}
