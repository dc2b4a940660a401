// ONNX writers for Hugging Face's Whisper (models/hf-whisper.ts), as Optimum splits it for onnxruntime:
// - the encoder: input_features (B, n_mels, frames) -> last_hidden_state (B, frames / 2, d);
// - one decoder step with its past: input_ids (B, 1) and, per layer i, past_key_values.i.decoder.key / .value
//   (B, H, P, D) and past_key_values.i.encoder.key / .value (B, H, S, D) -> logits (B, 1, vocab) and
//   present.i.decoder.key / .value (B, H, P + 1, D).
// The sample's input names pick which.  q_proj(h) * head_dim^-0.5, k_proj without bias, exact GELU, the output
// projection tied to the token embedding (one initializer for the Gather and the Gemm).
import type { Tensor } from "../tensor.js";
import { GELU } from "../nn/basic.js";
import { WhisperForConditionalGeneration, type WhisperConfig } from "../models/hf-whisper.js";
import type { Linear } from "../nn/linear.js";
import { type Graph, dimsOf } from "./graph.js";
import { emit } from "./layers.js";
import { registerModel, type Spec } from "./registry.js";

type Attn = { q_proj: Linear; k_proj: Linear; v_proj: Linear; out_proj: Linear; heads: number; headDim: number };

/** (B, T, d) -> (B, H, T, D) */
function heads(g: Graph, x: string, H: number, D: number): string {
  return g.op1("Transpose", [g.op1("Reshape", [x, g.constI("shape", [0, 0, H, D])])], { perm: [0, 2, 1, 3] });
}

/** softmax(q k^T) v over (B, H, T, D) heads -> (B, T, d) through out_proj. */
function attend(g: Graph, a: Attn, q: string, k: string, v: string, path: string): string {
  const p = g.op1("Softmax", [g.op1("MatMul", [q, g.op1("Transpose", [k], { perm: [0, 1, 3, 2] })])], { axis: -1 });
  const o = g.op1("Transpose", [g.op1("MatMul", [p, v])], { perm: [0, 2, 1, 3] });
  return emit(g, a.out_proj, g.op1("Reshape", [o, g.constI("shape", [0, 0, a.heads * a.headDim])]), `${path}.out_proj`);
}

/** q_proj(x) * head_dim^-0.5 as (B, H, T, D) */
function query(g: Graph, a: Attn, x: string, path: string): string {
  const scale = g.constF("scale", [], Float32Array.of(Math.fround(a.headDim ** -0.5)));
  return heads(g, g.op1("Mul", [emit(g, a.q_proj, x, `${path}.q_proj`), scale]), a.heads, a.headDim);
}

const gelu = (g: Graph, x: string, path: string) => emit(g, new GELU(), x, path);

function encoder(g: Graph, m: WhisperForConditionalGeneration, x: string): string {
  const e = m.model.encoder;
  let h = gelu(g, emit(g, e.conv1, x, "model.encoder.conv1"), "act1");
  h = gelu(g, emit(g, e.conv2, h, "model.encoder.conv2"), "act2");
  h = g.op1("Transpose", [h], { perm: [0, 2, 1] }); // (B, T, d)
  const pos = g.op1("Slice", [
    g.param("embed_positions", e.embed_positions.weight),
    g.constI("start", [0]),
    dimsOf(g, h, 1, 2),
    g.constI("axes", [0]),
  ]);
  h = g.op1("Add", [h, pos]);
  [...e.layers].forEach((l, i) => {
    const path = `model.encoder.layers.${i}`,
      a = l.self_attn as unknown as Attn;
    const n = emit(g, l.self_attn_layer_norm, h, `${path}.self_attn_layer_norm`);
    const k = heads(g, emit(g, a.k_proj, n, `${path}.self_attn.k_proj`), a.heads, a.headDim);
    const v = heads(g, emit(g, a.v_proj, n, `${path}.self_attn.v_proj`), a.heads, a.headDim);
    h = g.op1("Add", [h, attend(g, a, query(g, a, n, `${path}.self_attn`), k, v, `${path}.self_attn`)]);
    const f = gelu(g, emit(g, l.fc1, emit(g, l.final_layer_norm, h, `${path}.final_layer_norm`), `${path}.fc1`), "a");
    h = g.op1("Add", [h, emit(g, l.fc2, f, `${path}.fc2`)]);
  });
  return emit(g, e.layer_norm, h, "model.encoder.layer_norm");
}

/** One step: (logits, per layer the self-attention's keys and values with this step's appended). */
function decoderStep(
  g: Graph,
  m: WhisperForConditionalGeneration,
  ids: string,
  past: Array<{ k: string; v: string; ck: string; cv: string }>,
): { logits: string; present: Array<{ k: string; v: string }> } {
  const d = m.model.decoder,
    c = m.config;
  const table = g.param("embed_tokens", d.embed_tokens.weight);
  let h = g.op1("Gather", [table, ids], { axis: 0 }); // (B, 1, d)
  const P = dimsOf(g, past[0].k, 2, 3);
  const pos = g.op1("Slice", [
    g.param("embed_positions", d.embed_positions.weight),
    P,
    g.op1("Add", [P, g.constI("one", [1])]),
    g.constI("axes", [0]),
  ]);
  h = g.op1("Add", [h, pos]);
  const present: Array<{ k: string; v: string }> = [];
  [...d.layers].forEach((l, i) => {
    const path = `model.decoder.layers.${i}`,
      a = l.self_attn as unknown as Attn,
      x = l.encoder_attn as unknown as Attn;
    const n = emit(g, l.self_attn_layer_norm, h, `${path}.self_attn_layer_norm`);
    const k = g.op1(
      "Concat",
      [past[i].k, heads(g, emit(g, a.k_proj, n, `${path}.self_attn.k_proj`), a.heads, a.headDim)],
      {
        axis: 2,
      },
    );
    const v = g.op1(
      "Concat",
      [past[i].v, heads(g, emit(g, a.v_proj, n, `${path}.self_attn.v_proj`), a.heads, a.headDim)],
      {
        axis: 2,
      },
    );
    present.push({ k, v });
    h = g.op1("Add", [h, attend(g, a, query(g, a, n, `${path}.self_attn`), k, v, `${path}.self_attn`)]);
    const n2 = emit(g, l.encoder_attn_layer_norm, h, `${path}.encoder_attn_layer_norm`);
    h = g.op1("Add", [h, attend(g, x, query(g, x, n2, `${path}.encoder_attn`), past[i].ck, past[i].cv, `${path}.enc`)]);
    const f = gelu(g, emit(g, l.fc1, emit(g, l.final_layer_norm, h, `${path}.final_layer_norm`), `${path}.fc1`), "a");
    h = g.op1("Add", [h, emit(g, l.fc2, f, `${path}.fc2`)]);
  });
  const last = g.op1("Reshape", [
    emit(g, d.layer_norm, h, "model.decoder.layer_norm"),
    g.constI("shape", [-1, c.dModel]),
  ]);
  const logits = g.op1("Gemm", [last, table], { transB: 1 }); // tied: the embedding's own initializer
  return { logits: g.op1("Unsqueeze", [logits, g.constI("axes", [1])]), present };
}

function expectShape(who: string, name: string, t: Tensor, dtype: string, want: Array<number | null>): void {
  const ok =
    t.dtype === dtype && t.shape.length === want.length && want.every((w, i) => w === null || t.shape[i] === w);
  if (!ok)
    throw new Error(
      `${who}: ${name} must be ${dtype} (${want.map((w) => w ?? "any").join(", ")}), got ${t.dtype} ` +
        `(${t.shape.join(", ")})`,
    );
}

/** input_features -> the encoder; input_ids with past_key_values.* -> one decoder step. */
registerModel(WhisperForConditionalGeneration, (g, model, sample, who) => {
  const c: WhisperConfig = model.config,
    H = c.decoderAttentionHeads,
    D = c.dModel / H;
  const names = Object.keys(sample);
  if (names.length === 1 && names[0] === "input_features") {
    const x = sample.input_features;
    expectShape(who, "input_features", x, "float32", [null, c.numMelBins, null]);
    if (x.shape[2] > 2 * c.maxSourcePositions)
      throw new Error(`${who}: input_features has ${x.shape[2]} frames, more than 2 x max_source_positions`);
    const out = encoder(g, model, "input_features");
    return {
      inputs: [["input_features", x, ["batch", c.numMelBins, "frames"]]],
      outputs: [["last_hidden_state", out, ["batch", "encoder_frames", c.dModel]]],
    } satisfies Spec;
  }
  const pastNames = Array.from({ length: c.decoderLayers }, (_, i) =>
    ["decoder.key", "decoder.value", "encoder.key", "encoder.value"].map((s) => `past_key_values.${i}.${s}`),
  );
  const want = ["input_ids", ...pastNames.flat()];
  if (names.length !== want.length || want.some((n, i) => names[i] !== n))
    throw new Error(
      `${who}: WhisperForConditionalGeneration exports its encoder (input_features) or one decoder step ` +
        `(input_ids, then past_key_values.{i}.decoder.key/value and .encoder.key/value for each of ` +
        `${c.decoderLayers} layers), got ${names.join(", ") || "none"}`,
    );
  expectShape(who, "input_ids", sample.input_ids, "int32", [null, 1]);
  for (const n of pastNames.flat()) expectShape(who, n, sample[n], "float32", [null, H, null, D]);
  const past = pastNames.map(([k, v, ck, cv]) => ({ k, v, ck, cv }));
  const { logits, present } = decoderStep(g, model, "input_ids", past);
  const spec: Spec = {
    inputs: [["input_ids", sample.input_ids, ["batch", 1]]],
    outputs: [["logits", logits, ["batch", 1, c.vocabSize]]],
  };
  pastNames.forEach(([k, v, ck, cv], i) => {
    spec.inputs.push(
      [k, sample[k], ["batch", H, "past", D]],
      [v, sample[v], ["batch", H, "past", D]],
      [ck, sample[ck], ["batch", H, "encoder_frames", D]],
      [cv, sample[cv], ["batch", H, "encoder_frames", D]],
    );
    spec.outputs.push(
      [`present.${i}.decoder.key`, present[i].k, ["batch", H, "past + 1", D]],
      [`present.${i}.decoder.value`, present[i].v, ["batch", H, "past + 1", D]],
    );
  });
  return spec;
});

/** Imported by export.ts so the writers above are registered wherever exportOnnx is. */
export const HF_WHISPER_WRITERS = true;
