// Hugging Face's MPNetModel (transformers' modeling_mpnet.py; all-mpnet-base-v2's encoder), by its own key names:
// embeddings.{word,position}_embeddings, embeddings.LayerNorm, encoder.layer.{i}.attention.attn.{q,k,v,o},
// .attention.LayerNorm, .intermediate.dense, .output.{dense,LayerNorm}, encoder.relative_attention_bias, pooler.dense.
// Reference: reference/hf_mpnet.py.
//
//   ids (B, T) -> word + position embeddings (positions counted from the padding index, as RoBERTa's) -> LayerNorm
//   -> post-LN layers whose scores get bias[head, bucket(key - query)] (T5's relative buckets) and the padding mask.
// The bias is gathered once per call and shared by every layer.
import * as core from "../core/index.js";
import { type Buf, empty } from "../core/index.js";
import { Module } from "../nn/module.js";
import { Linear, Embedding } from "../nn/linear.js";
import { LayerNorm } from "../nn/basic.js";
import { ModuleList } from "../nn/containers.js";
import { log } from "../util/detmath.js";
import { BertIntermediate, BertOutput, BertPooler, LOWEST, paddingPositions, type BertActivation } from "./hf-bert.js";

export interface MPNetConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: BertActivation;
  maxPositionEmbeddings: number;
  layerNormEps: number;
  padTokenId: number;
  relativeAttentionNumBuckets: number;
}

const DEFAULTS: Record<string, unknown> = {
  vocab_size: 30527,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  max_position_embeddings: 514,
  layer_norm_eps: 1e-5,
  pad_token_id: 1,
  relative_attention_num_buckets: 32,
};

/** config.json -> MPNetConfig, every field checked. */
export function mpnetConfigFromJSON(json: unknown): MPNetConfig {
  if (!json || typeof json !== "object") throw new Error("mpnet config: expected a config.json object");
  const j = { ...DEFAULTS, ...(json as Record<string, unknown>) };
  const int = (k: string, min = 1): number => {
    const v = j[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > 1 << 24)
      throw new Error(`config.json (mpnet): ${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const act = ({ gelu: "gelu", gelu_new: "gelu_tanh", relu: "relu" } as const)[String(j.hidden_act) as "gelu"];
  if (!act) throw new Error(`config.json (mpnet): hidden_act ${JSON.stringify(j.hidden_act)} is not supported`);
  const eps = j.layer_norm_eps;
  if (typeof eps !== "number" || !(eps > 0 && eps < 1))
    throw new Error(`config.json (mpnet): layer_norm_eps must be a number in (0, 1), got ${JSON.stringify(eps)}`);
  const c: MPNetConfig = {
    vocabSize: int("vocab_size"),
    hiddenSize: int("hidden_size"),
    numHiddenLayers: int("num_hidden_layers"),
    numAttentionHeads: int("num_attention_heads"),
    intermediateSize: int("intermediate_size"),
    hiddenAct: act,
    maxPositionEmbeddings: int("max_position_embeddings"),
    layerNormEps: eps,
    padTokenId: int("pad_token_id", 0),
    relativeAttentionNumBuckets: int("relative_attention_num_buckets", 2),
  };
  if (c.hiddenSize % c.numAttentionHeads !== 0)
    throw new Error(`config.json (mpnet): hidden_size must be divisible by num_attention_heads`);
  return c;
}

export function mpnetParameterCount(c: MPNetConfig): number {
  const H = c.hiddenSize,
    I = c.intermediateSize;
  const layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H;
  return (
    (c.vocabSize + c.maxPositionEmbeddings) * H +
    2 * H +
    c.numHiddenLayers * layer +
    c.relativeAttentionNumBuckets * c.numAttentionHeads +
    H * H +
    H
  );
}

/**
 * T5's bidirectional relative-position bucket of (key - query) in torch's float32 arithmetic: half the buckets per
 * direction, exact below a quarter of them, logarithmic up to a distance of 128.
 */
export function relativeBucket(rel: number, buckets: number, maxDistance = 128): number {
  const half = Math.floor(buckets / 2),
    n = -rel,
    exact = Math.floor(half / 2);
  const a = Math.abs(n);
  let ret = n < 0 ? half : 0;
  if (a < exact) return ret + a;
  const f32 = Math.fround;
  const ratio = f32(f32(log(f32(f32(a) / exact))) / f32(log(maxDistance / exact)));
  ret += Math.min(exact + Math.trunc(f32(ratio * (half - exact))), half - 1);
  return ret;
}

class MPNetSelfAttention extends Module {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  constructor(readonly c: MPNetConfig) {
    super();
    const H = c.hiddenSize;
    this.q = new Linear(H, H);
    this.k = new Linear(H, H);
    this.v = new Linear(H, H);
    this.o = new Linear(H, H);
  }
  /** x (B, T, H); masks: per head, the additive (B, T, T) rows of bias + padding -> (B, T, H) */
  run(x: Buf, masks: number[]): Buf {
    const [B, T, H] = x.shape,
      heads = this.c.numAttentionHeads,
      D = H / heads;
    const q = this.q.run(x),
      k = this.k.run(x),
      v = this.v.run(x);
    core.divideRows(q.ptr, B * T, H, H, Math.sqrt(D));
    const out = empty([B, T, H]);
    const at = (ptr: number, hd: number) => ({ ptr: ptr + hd * D * 4, ld: H, batch: T * H, head: 0 });
    for (let hd = 0; hd < heads; hd++)
      core.attention(
        B,
        1,
        T,
        T,
        D,
        D,
        at(q.ptr, hd),
        at(k.ptr, hd),
        at(v.ptr, hd),
        at(out.ptr, hd),
        masks[hd],
        T * T,
        T,
      );
    return this.o.run(out);
  }
}

class MPNetAttention extends Module {
  attn: MPNetSelfAttention;
  LayerNorm: LayerNorm;
  constructor(c: MPNetConfig) {
    super();
    this.attn = new MPNetSelfAttention(c);
    this.LayerNorm = new LayerNorm(c.hiddenSize, c.layerNormEps);
  }
  run(x: Buf, masks: number[]): Buf {
    return this.LayerNorm.run(core.addInPlace(this.attn.run(x, masks), x));
  }
}

class MPNetLayer extends Module {
  attention: MPNetAttention;
  intermediate: BertIntermediate;
  output: BertOutput;
  constructor(c: MPNetConfig) {
    super();
    this.attention = new MPNetAttention(c);
    this.intermediate = new BertIntermediate(c);
    this.output = new BertOutput(c.intermediateSize, c.hiddenSize, c.layerNormEps);
  }
  run(x: Buf, masks: number[]): Buf {
    const a = this.attention.run(x, masks);
    return this.output.run(this.intermediate.run(a), a);
  }
}

class MPNetEncoder extends Module {
  layer: ModuleList<MPNetLayer>;
  relative_attention_bias: Embedding;
  constructor(c: MPNetConfig) {
    super();
    this.layer = new ModuleList(Array.from({ length: c.numHiddenLayers }, () => new MPNetLayer(c)));
    this.relative_attention_bias = new Embedding(c.relativeAttentionNumBuckets, c.numAttentionHeads);
  }
}

class MPNetEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  LayerNorm: LayerNorm;
  constructor(c: MPNetConfig) {
    super();
    this.word_embeddings = new Embedding(c.vocabSize, c.hiddenSize);
    this.position_embeddings = new Embedding(c.maxPositionEmbeddings, c.hiddenSize);
    this.LayerNorm = new LayerNorm(c.hiddenSize, c.layerNormEps);
  }
}

export class MPNetModel extends Module {
  embeddings: MPNetEmbeddings;
  encoder: MPNetEncoder;
  pooler: BertPooler;
  constructor(readonly config: MPNetConfig) {
    super();
    this.embeddings = new MPNetEmbeddings(config);
    this.encoder = new MPNetEncoder(config);
    this.pooler = new BertPooler(config);
  }

  /** ids (B, T) int32, mask (B, T) int32 or null -> the token states; with keep, every layer boundary's. */
  run(ids: Buf, mask: Buf | null, keep = false): Buf[] {
    const [B, T] = ids.shape,
      c = this.config,
      h = core.heap(),
      heads = c.numAttentionHeads;
    const longest = c.maxPositionEmbeddings - c.padTokenId - 1;
    if (T > longest) throw new Error(`MPNetModel: ${T} tokens, more than its positions allow (${longest})`);
    const positions = paddingPositions(ids, c.padTokenId);
    const e = this.embeddings;
    let x = e.LayerNorm.run(core.addInPlace(e.word_embeddings.run(ids), e.position_embeddings.run(positions)));
    // per head: bias[head, bucket(s - t)] + the padding mask, as (B, T, T) additive rows
    const table = h.f32(this.encoder.relative_attention_bias.weight.ptr, c.relativeAttentionNumBuckets * heads).slice();
    const pad = mask ? h.i32(mask.ptr, B * T).slice() : null;
    // bucket(s - t) for every distance once (the log in it is not worth T^2 x heads calls)
    const bucket = Array.from({ length: 2 * T - 1 }, (_, i) =>
      relativeBucket(i - (T - 1), c.relativeAttentionNumBuckets),
    );
    const masks = Array.from({ length: heads }, (_, hd) => {
      const m = h.alloc(B * T * T * 4),
        a = h.f32(m, B * T * T);
      for (let t = 0; t < T; t++)
        for (let s = 0; s < T; s++) {
          const bias = table[bucket[s - t + T - 1] * heads + hd];
          for (let b = 0; b < B; b++) a[(b * T + t) * T + s] = pad && !pad[b * T + s] ? LOWEST : bias;
        }
      return m;
    });
    const states = keep ? [x] : [];
    for (const layer of this.encoder.layer) {
      x = layer.run(x, masks);
      if (keep) states.push(x);
    }
    return keep ? states : [x];
  }
  /** ids and mask (B, T) -> the last token states (B, T, H): what sentence pooling reads. */
  encodeTokens(ids: Buf, mask: Buf | null): Buf {
    return this.run(ids, mask)[0];
  }
}
