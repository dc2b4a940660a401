// Hugging Face's BertModel (transformers' modeling_bert.py, eager attention), by its own key names:
// embeddings.{word,position,token_type}_embeddings, embeddings.LayerNorm, encoder.layer.{i}.attention.self.{query,
// key,value}, .attention.output.{dense,LayerNorm}, .intermediate.dense, .output.{dense,LayerNorm}, pooler.dense (kept
// so strict loading accepts the checkpoint; sentence-transformers pools the token states instead).  The encoders of
// all-MiniLM, bge, e5 and gte; with model_type roberta / xlm-roberta (positions counted from the padding index, one
// token type) multilingual-e5's and paraphrase-multilingual's.  Reference: reference/hf_bert.py.
//
//   ids (B, T), token types -> word + token type + absolute position embeddings -> LayerNorm -> post-LN layers
//   (LayerNorm(x + attention(x)), LayerNorm(a + output(act(intermediate(a))))) -> the token states (B, T, H).
// Padded keys get float32's lowest added to their scores, as transformers adds (1 - mask) * finfo.min.
import * as core from "../core/index.js";
import { type Buf, empty } from "../core/index.js";
import { Module } from "../nn/module.js";
import { Linear, Embedding } from "../nn/linear.js";
import { LayerNorm } from "../nn/basic.js";
import { ModuleList } from "../nn/containers.js";

export type BertActivation = "gelu" | "gelu_tanh" | "relu";

export interface BertConfig {
  /** "bert", or "roberta" / "xlm-roberta": positions counted from pad_token_id + 1 over the non-padding tokens */
  modelType: "bert" | "roberta" | "xlm-roberta";
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: BertActivation;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
}

const DEFAULTS: Record<string, unknown> = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
};

const ACTIVATIONS: Record<string, BertActivation> = {
  gelu: "gelu",
  gelu_new: "gelu_tanh",
  gelu_pytorch_tanh: "gelu_tanh",
  relu: "relu",
};

/** config.json -> BertConfig, every field checked (transformers' defaults where absent). */
export function bertConfigFromJSON(json: unknown): BertConfig {
  if (!json || typeof json !== "object") throw new Error("bert config: expected a config.json object");
  const j = { ...DEFAULTS, ...(json as Record<string, unknown>) };
  const int = (k: string, min = 1): number => {
    const v = j[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > 1 << 24)
      throw new Error(`config.json (bert): ${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const act = ACTIVATIONS[String(j.hidden_act)];
  if (!act)
    throw new Error(
      `config.json (bert): hidden_act ${JSON.stringify(j.hidden_act)} is not supported ` +
        `(${Object.keys(ACTIVATIONS).join(", ")})`,
    );
  const type = j.model_type ?? "bert";
  if (type !== "bert" && type !== "roberta" && type !== "xlm-roberta")
    throw new Error(`config.json (bert): model_type ${JSON.stringify(type)} is not bert, roberta or xlm-roberta`);
  const eps = j.layer_norm_eps;
  if (typeof eps !== "number" || !(eps > 0 && eps < 1))
    throw new Error(`config.json (bert): layer_norm_eps must be a number in (0, 1), got ${JSON.stringify(eps)}`);
  const c: BertConfig = {
    modelType: type,
    vocabSize: int("vocab_size"),
    hiddenSize: int("hidden_size"),
    numHiddenLayers: int("num_hidden_layers"),
    numAttentionHeads: int("num_attention_heads"),
    intermediateSize: int("intermediate_size"),
    hiddenAct: act,
    maxPositionEmbeddings: int("max_position_embeddings"),
    typeVocabSize: int("type_vocab_size"),
    layerNormEps: eps,
    padTokenId: int("pad_token_id", 0),
  };
  if (c.hiddenSize % c.numAttentionHeads !== 0)
    throw new Error(
      `config.json (bert): hidden_size (${c.hiddenSize}) must be divisible by num_attention_heads ` +
        `(${c.numAttentionHeads})`,
    );
  return c;
}

/** Parameters a config describes (checked against the weights before anything is allocated). */
export function bertParameterCount(c: BertConfig): number {
  const H = c.hiddenSize,
    I = c.intermediateSize;
  const layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H;
  return (c.vocabSize + c.maxPositionEmbeddings + c.typeVocabSize) * H + 2 * H + c.numHiddenLayers * layer + H * H + H;
}

/** torch's gelu(approximate="tanh"): 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), from primitives. */
function geluTanh(x: Buf): Buf {
  const n = x.shape.reduce((a, b) => a * b, 1);
  const t = empty([...x.shape]);
  core.binary("mul", x.ptr, x.ptr, t.ptr, 1, n, 1);
  core.binary("mul", t.ptr, x.ptr, t.ptr, 1, n, 1); // x^3
  core.affine(t.ptr, t.ptr, n, Math.fround(0.044715), 0);
  core.binary("add", t.ptr, x.ptr, t.ptr, 1, n, 1);
  core.affine(t.ptr, t.ptr, n, Math.fround(Math.sqrt(2 / Math.PI)), 0);
  core.unaryInPlace("tanh", t);
  core.affine(t.ptr, t.ptr, n, 1, 1);
  core.binary("mul", t.ptr, x.ptr, t.ptr, 1, n, 1);
  core.affine(t.ptr, t.ptr, n, 0.5, 0);
  return t;
}

/** The configured activation of x (in place for gelu and relu). */
export const bertActivate = (x: Buf, act: BertActivation): Buf =>
  act === "gelu_tanh" ? geluTanh(x) : core.unaryInPlace(act === "relu" ? "relu" : "gelu", x);

class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  constructor(c: BertConfig) {
    super();
    this.word_embeddings = new Embedding(c.vocabSize, c.hiddenSize);
    this.position_embeddings = new Embedding(c.maxPositionEmbeddings, c.hiddenSize);
    this.token_type_embeddings = new Embedding(c.typeVocabSize, c.hiddenSize);
    this.LayerNorm = new LayerNorm(c.hiddenSize, c.layerNormEps);
  }
  /** ids, types (B, T) int32; positions (B, T) int32 or null (0..T-1 for every row) -> (B, T, H) */
  run(ids: Buf, types: Buf, positions: Buf | null): Buf {
    const [B, T] = ids.shape,
      H = this.word_embeddings.embeddingDim;
    const x = core.addInPlace(this.word_embeddings.run(ids), this.token_type_embeddings.run(types));
    // (word + type) + position, as transformers adds them
    if (positions) core.addInPlace(x, this.position_embeddings.run(positions));
    else core.binary("add", x.ptr, this.position_embeddings.weight.ptr, x.ptr, B * T, H, T);
    return this.LayerNorm.run(x);
  }
}

class BertSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;
  constructor(readonly c: BertConfig) {
    super();
    const H = c.hiddenSize;
    this.query = new Linear(H, H);
    this.key = new Linear(H, H);
    this.value = new Linear(H, H);
  }
  /** x (B, T, H), mask: additive (B, T) key rows or 0 -> (B, T, H) */
  run(x: Buf, mask: number): Buf {
    const [B, T, H] = x.shape,
      heads = this.c.numAttentionHeads,
      D = H / heads;
    const q = this.query.run(x),
      k = this.key.run(x),
      v = this.value.run(x);
    core.divideRows(q.ptr, B * T, H, H, Math.sqrt(D));
    const out = empty([B, T, H]);
    const at = (ptr: number) => ({ ptr, ld: H, batch: T * H, head: D });
    core.attention(B, heads, T, T, D, D, at(q.ptr), at(k.ptr), at(v.ptr), at(out.ptr), mask, T, 1);
    return out;
  }
}

/** dense, then LayerNorm(dense(x) + residual) */
export class BertOutput extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  constructor(cin: number, cout: number, eps: number) {
    super();
    this.dense = new Linear(cin, cout);
    this.LayerNorm = new LayerNorm(cout, eps);
  }
  run(x: Buf, residual: Buf): Buf {
    return this.LayerNorm.run(core.addInPlace(this.dense.run(x), residual));
  }
}

class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertOutput;
  constructor(c: BertConfig) {
    super();
    this.self = new BertSelfAttention(c);
    this.output = new BertOutput(c.hiddenSize, c.hiddenSize, c.layerNormEps);
  }
  run(x: Buf, mask: number): Buf {
    return this.output.run(this.self.run(x, mask), x);
  }
}

export class BertIntermediate extends Module {
  dense: Linear;
  constructor(readonly c: Pick<BertConfig, "hiddenSize" | "intermediateSize" | "hiddenAct">) {
    super();
    this.dense = new Linear(c.hiddenSize, c.intermediateSize);
  }
  run(x: Buf): Buf {
    return bertActivate(this.dense.run(x), this.c.hiddenAct);
  }
}

class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertOutput;
  constructor(c: BertConfig) {
    super();
    this.attention = new BertAttention(c);
    this.intermediate = new BertIntermediate(c);
    this.output = new BertOutput(c.intermediateSize, c.hiddenSize, c.layerNormEps);
  }
  run(x: Buf, mask: number): Buf {
    const a = this.attention.run(x, mask);
    return this.output.run(this.intermediate.run(a), a);
  }
}

class BertEncoder extends Module {
  layer: ModuleList<BertLayer>;
  constructor(c: BertConfig) {
    super();
    this.layer = new ModuleList(Array.from({ length: c.numHiddenLayers }, () => new BertLayer(c)));
  }
}

export class BertPooler extends Module {
  dense: Linear;
  constructor(c: Pick<BertConfig, "hiddenSize">) {
    super();
    this.dense = new Linear(c.hiddenSize, c.hiddenSize);
  }
}

/**
 * RoBERTa's (and MPNet's) position ids of ids (B, T) int32: each row's non-padding tokens count up from pad + 1,
 * padding sits at pad (transformers' create_position_ids_from_input_ids).
 */
export function paddingPositions(ids: Buf, pad: number): Buf {
  const [B, T] = ids.shape,
    h = core.heap();
  const positions: Buf = { ptr: h.alloc(B * T * 4), shape: [B, T], dtype: "int32" };
  const p = h.i32(positions.ptr, B * T),
    v = h.i32(ids.ptr, B * T);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) p[b * T + t] = v[b * T + t] === pad ? pad : pad + ++n;
  }
  return positions;
}

/** float32's lowest: what transformers adds to a padded key's scores ((1 - mask) * finfo.min). */
export const LOWEST = -3.4028234663852886e38;

export class BertModel extends Module {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler;
  constructor(readonly config: BertConfig) {
    super();
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = new BertPooler(config);
  }

  /**
   * ids (B, T) int32, mask (B, T) int32 (1: a token, 0: padding) or null, token types (B, T) int32 or null (all 0)
   * -> the token states (B, T, H); with keep, [the embeddings' output, each layer's output].
   */
  run(ids: Buf, mask: Buf | null, types: Buf | null, keep = false): Buf[] {
    const [B, T] = ids.shape,
      c = this.config,
      h = core.heap();
    const bert = c.modelType === "bert",
      longest = bert ? c.maxPositionEmbeddings : c.maxPositionEmbeddings - c.padTokenId - 1;
    if (T > longest) throw new Error(`BertModel: ${T} tokens, more than this model's positions allow (${longest})`);
    const positions = bert ? null : paddingPositions(ids, c.padTokenId);
    const tt = types ?? { ptr: h.alloc(B * T * 4), shape: [B, T], dtype: "int32" as const };
    if (!types) h.i32(tt.ptr, B * T).fill(0);
    let add = 0;
    if (mask) {
      add = h.alloc(B * T * 4);
      const m = h.i32(mask.ptr, B * T),
        a = h.f32(add, B * T);
      for (let i = 0; i < B * T; i++) a[i] = m[i] ? 0 : LOWEST;
    }
    let x = this.embeddings.run(ids, tt, positions);
    const states = keep ? [x] : [];
    for (const layer of this.encoder.layer) {
      x = layer.run(x, add);
      if (keep) states.push(x);
    }
    return keep ? states : [x];
  }
  /** ids and mask (B, T) -> the last token states (B, T, H): what sentence pooling reads. */
  encodeTokens(ids: Buf, mask: Buf | null): Buf {
    return this.run(ids, mask, null)[0];
  }
}
