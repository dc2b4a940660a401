// ONNX writer for Hugging Face's BertModel (models/hf-bert.ts), as Optimum exports the feature-extraction task:
// input_ids, attention_mask (and token_type_ids when given), int32 (B, T) -> last_hidden_state (B, T, H).  Word +
// token type + absolute position embeddings (RoBERTa's positions: the non-padding tokens' running count past the
// padding index, by CumSum), LayerNorm, post-LN layers with the padding mask as float32's lowest, exact GELU (tanh
// GELU composed as the model composes it).
import type { Tensor } from "../tensor.js";
import { GELU } from "../nn/basic.js";
import { BertModel } from "../models/hf-bert.js";
import { type Graph, dimsOf } from "./graph.js";
import { emit } from "./layers.js";
import { registerModel } from "./registry.js";

const LOW = -3.4028234663852886e38;

function act(g: Graph, m: BertModel, x: string, path: string): string {
  const a = m.config.hiddenAct;
  if (a === "relu") return g.op1("Relu", [x]);
  if (a === "gelu") return emit(g, new GELU(), x, path);
  const f = (v: number) => g.constF("k", [], Float32Array.of(Math.fround(v)));
  const cube = g.op1("Mul", [g.op1("Mul", [x, x]), x]);
  const inner = g.op1("Mul", [g.op1("Add", [g.op1("Mul", [cube, f(0.044715)]), x]), f(Math.sqrt(2 / Math.PI))]);
  return g.op1("Mul", [g.op1("Mul", [g.op1("Add", [g.op1("Tanh", [inner]), f(1)]), x]), f(0.5)]);
}

function lastHiddenState(g: Graph, m: BertModel, ids: string, mask: string, types: string | null, s: Tensor): string {
  const c = m.config,
    H = c.hiddenSize,
    heads = c.numAttentionHeads,
    D = H / heads,
    e = m.embeddings;
  const ids64 = g.op1("Cast", [ids], { to: 7 });
  let x = g.op1("Gather", [g.param("word", e.word_embeddings.weight), ids64], { axis: 0 });
  const tt = types ? g.op1("Cast", [types], { to: 7 }) : g.op1("Mul", [ids64, g.constI("zero", [0])]);
  x = g.op1("Add", [x, g.op1("Gather", [g.param("type", e.token_type_embeddings.weight), tt], { axis: 0 })]);
  const posTable = g.param("position", e.position_embeddings.weight);
  if (c.modelType === "bert") {
    const T = dimsOf(g, ids, 1, 2);
    x = g.op1("Add", [x, g.op1("Slice", [posTable, g.constI("start", [0]), T, g.constI("axes", [0])])]);
  } else {
    const pad = g.constLike("pad", s, [], [c.padTokenId]);
    const keep = g.op1("Cast", [g.op1("Not", [g.op1("Equal", [ids, pad])])], { to: 7 });
    const pos = g.op1("Add", [
      g.op1("Mul", [g.op1("CumSum", [keep, g.scalarI("axis", 1)]), keep]),
      g.constI("pad64", [c.padTokenId]),
    ]);
    x = g.op1("Add", [x, g.op1("Gather", [posTable, pos], { axis: 0 })]);
  }
  let h = emit(g, e.LayerNorm, x, "embeddings.LayerNorm");
  // (B, 1, 1, T): 0 for a token, float32's lowest for padding
  const add = g.op1("Unsqueeze", [
    g.op1("Where", [
      g.op1("Equal", [mask, g.constLike("zero", s, [], [0])]),
      g.constF("low", [], Float32Array.of(LOW)),
      g.constF("zero_f", [], Float32Array.of(0)),
    ]),
    g.constI("axes", [1, 2]),
  ]);
  const split = (t: string, perm: number[]) =>
    g.op1("Transpose", [g.op1("Reshape", [t, g.constI("shape", [0, 0, heads, D])])], { perm });
  [...m.encoder.layer].forEach((l, i) => {
    const p = `encoder.layer.${i}`,
      sa = l.attention.self;
    const q = g.op1("Div", [
      emit(g, sa.query, h, `${p}.query`),
      g.constF("sqrt_d", [], Float32Array.of(Math.fround(Math.sqrt(D)))),
    ]);
    const scores = g.op1("MatMul", [split(q, [0, 2, 1, 3]), split(emit(g, sa.key, h, `${p}.key`), [0, 2, 3, 1])]);
    const probs = g.op1("Softmax", [g.op1("Add", [scores, add])], { axis: -1 });
    const o = g.op1("MatMul", [probs, split(emit(g, sa.value, h, `${p}.value`), [0, 2, 1, 3])]);
    const merged = g.op1("Reshape", [g.op1("Transpose", [o], { perm: [0, 2, 1, 3] }), g.constI("shape", [0, 0, H])]);
    const ao = l.attention.output;
    const a = emit(g, ao.LayerNorm, g.op1("Add", [emit(g, ao.dense, merged, `${p}.ao`), h]), `${p}.ao.LayerNorm`);
    const f = act(g, m, emit(g, l.intermediate.dense, a, `${p}.intermediate`), `${p}.act`);
    h = emit(g, l.output.LayerNorm, g.op1("Add", [emit(g, l.output.dense, f, `${p}.out`), a]), `${p}.out.LayerNorm`);
  });
  return h;
}

/** input_ids, attention_mask [, token_type_ids] (int32, batch x tokens) -> last_hidden_state. */
registerModel(BertModel, (g, model, sample, who) => {
  const names = Object.keys(sample);
  const ok =
    (names.length === 2 || (names.length === 3 && names[2] === "token_type_ids")) &&
    names[0] === "input_ids" &&
    names[1] === "attention_mask" &&
    names.every((n) => sample[n].dtype === "int32" && sample[n].shape.length === 2);
  if (!ok)
    throw new Error(
      `${who}: BertModel exports from input_ids and attention_mask (and token_type_ids), int32 batch x tokens, ` +
        `got ${names.map((n) => `${n} ${sample[n].dtype} (${sample[n].shape})`).join(", ") || "none"}`,
    );
  const types = names.length === 3 ? "token_type_ids" : null;
  const out = lastHiddenState(g, model, "input_ids", "attention_mask", types, sample.input_ids);
  return {
    inputs: names.map((n) => [n, sample[n], ["batch", "tokens"]]),
    outputs: [["last_hidden_state", out, ["batch", "tokens", model.config.hiddenSize]]],
  };
});

/** Imported by the sentence embedder so the writer is registered wherever it is used. */
export const HF_BERT_WRITERS = true;
