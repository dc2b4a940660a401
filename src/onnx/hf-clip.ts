// ONNX writers for Hugging Face's CLIP (models/hf-clip.ts): pre-LN encoder layers with separate q/k/v projections,
// quick_gelu or gelu, the causal text mask plus the padding mask (float32's lowest, summed as transformers sums
// them), end-of-text pooling by the config's rule, projections without bias.  Registered like every other writer.
import type { Tensor } from "../tensor.js";
import { GELU } from "../nn/basic.js";
import { HFCLIPModel, type CLIPTextTransformer, type CLIPVisionTransformer } from "../models/hf-clip.js";
import { CLIPEncoder, CLIPEncoderLayer, type CLIPAttention } from "../models/hf-clip-encoder.js";
import { type Graph, dimsOf, l2normalize } from "./graph.js";
import { emit } from "./layers.js";
import { registerLayer, registerModel, type Dims, type Spec } from "./registry.js";

const LOW = -3.4028234663852886e38;

/**
 * x (B, T, E) -> (B, T, E): q_proj(x) * head_dim^-0.5, scores + mask (B|1, 1, T, T) or none, softmax, x v,
 * out_proj.
 */
export function attention(g: Graph, a: CLIPAttention, x: string, path: string, mask: string | null): string {
  const E = a.embedDim,
    H = a.numHeads,
    D = a.headDim;
  const proj = (l: typeof a.q_proj, name: string): string => emit(g, l, x, `${path}.${name}`);
  const heads = (t: string, perm: number[]): string =>
    g.op1("Transpose", [g.op1("Reshape", [t, g.constI("shape", [0, 0, H, D])])], { perm });
  const q = g.op1("Mul", [proj(a.q_proj, "q_proj"), g.constF("scale", [], Float32Array.of(Math.fround(D ** -0.5)))]);
  // (B, H, T, T)
  const scores = g.op1("MatMul", [heads(q, [0, 2, 1, 3]), heads(proj(a.k_proj, "k_proj"), [0, 2, 3, 1])]);
  const p = g.op1("Softmax", [mask ? g.op1("Add", [scores, mask]) : scores], { axis: -1 });
  const o = g.op1("MatMul", [p, heads(proj(a.v_proj, "v_proj"), [0, 2, 1, 3])]); // (B, H, T, D)
  return emit(
    g,
    a.out_proj,
    g.op1("Reshape", [g.op1("Transpose", [o], { perm: [0, 2, 1, 3] }), g.constI("shape", [0, 0, E])]),
    `${path}.out_proj`,
  );
}

registerLayer(
  CLIPEncoderLayer,
  (g, m, x, path, mask) => {
    const h = g.op1("Add", [
      x,
      attention(g, m.self_attn, emit(g, m.layer_norm1, x, `${path}.layer_norm1`), `${path}.self_attn`, mask),
    ]);
    let f = emit(g, m.mlp.fc1, emit(g, m.layer_norm2, h, `${path}.layer_norm2`), `${path}.mlp.fc1`);
    f =
      m.mlp.act === "quick_gelu"
        ? g.op1("Mul", [
            f,
            g.op1("Sigmoid", [g.op1("Mul", [f, g.constF("k", [], Float32Array.of(Math.fround(1.702)))])]),
          ])
        : emit(g, new GELU(), f, `${path}.mlp.act`);
    return g.op1("Add", [h, emit(g, m.mlp.fc2, f, `${path}.mlp.fc2`)]);
  },
  "inside HFCLIPModel",
  false,
);
registerLayer(
  CLIPEncoder,
  (g, m, x, path, mask) => {
    let y = x;
    for (let i = 0; i < m.layers.length; i++) y = emit(g, m.layers[i], y, `${path}.layers.${i}`, mask);
    return y;
  },
  "inside HFCLIPModel",
  false,
);

/** pixel values (B, C, S, S) -> pooled (B, hidden). */
function vision(g: Graph, m: CLIPVisionTransformer, x: string): string {
  const E = m.config.hiddenSize,
    e = m.embeddings;
  const p = emit(g, e.patch_embedding, x, "vision_model.embeddings.patch_embedding"); // (B, E, g, g)
  // (B, N, E)
  const tokens = g.op1("Transpose", [g.op1("Reshape", [p, g.constI("shape", [0, E, -1])])], { perm: [0, 2, 1] });
  const cls = g.op1("Expand", [
    g.constF("class_embedding", [1, 1, E], e.class_embedding.toTensor().data as Float32Array),
    g.op1("Concat", [dimsOf(g, x, 0, 1), g.constI("one_e", [1, E])], { axis: 0 }),
  ]);
  const seq = g.op1("Add", [
    g.op1("Concat", [cls, tokens], { axis: 1 }),
    g.param("position_embedding", e.position_embedding.weight),
  ]);
  const h = emit(g, m.encoder, emit(g, m.pre_layrnorm, seq, "vision_model.pre_layrnorm"), "vision_model.encoder");
  const first = g.op1("Reshape", [g.op1("Gather", [h, g.constI("zero", [0])], { axis: 1 }), g.constI("shape", [0, E])]);
  return emit(g, m.post_layernorm, first, "vision_model.post_layernorm");
}

/** ids (B, T) int32 [+ attention mask (B, T)] -> pooled (B, hidden). */
function text(g: Graph, m: CLIPTextTransformer, ids: string, mask: string | null, sample: Tensor): string {
  const c = m.config,
    P = c.maxPositionEmbeddings;
  const x = emit(g, m.embeddings.token_embedding, ids, "text_model.embeddings.token_embedding"); // (B, T, E)
  const T = dimsOf(g, ids, 1, 2); // [T]
  const pos = g.op1("Slice", [
    g.param("position_embedding", m.embeddings.position_embedding.weight),
    g.constI("start", [0]),
    T,
    g.constI("axes", [0]),
  ]);
  // causal (1, 1, T, T): the top-left corner of a (P, P) constant; padding (B, 1, 1, T); their float32 sum
  const tri = new Float32Array(P * P);
  for (let i = 0; i < P; i++) for (let j = i + 1; j < P; j++) tri[i * P + j] = LOW;
  const causal = g.op1("Slice", [
    g.constF("causal", [1, 1, P, P], tri),
    g.constI("start", [0, 0]),
    g.op1("Concat", [T, T], { axis: 0 }),
    g.constI("axes", [2, 3]),
  ]);
  let add = causal;
  if (mask) {
    const pad = g.op1("Where", [
      g.op1("Equal", [mask, g.constLike("zero", sample, [], [0])]),
      g.constF("low", [], Float32Array.of(LOW)),
      g.constF("zero_f", [], Float32Array.of(0)),
    ]);
    add = g.op1("Add", [causal, g.op1("Unsqueeze", [pad, g.constI("axes", [1, 2])])]);
  }
  const h = emit(g, m.encoder, g.op1("Add", [x, pos]), "text_model.encoder", add);
  // pooling: the first highest id (eos_token_id 2, the original configs) or the first eos
  const key =
    c.eosTokenId === 2
      ? g.op1("Cast", [ids], { to: 1 })
      : g.op1("Cast", [g.op1("Equal", [ids, g.constLike("eos", sample, [], [c.eosTokenId])])], { to: 1 });
  const at = g.op1("ArgMax", [key], { axis: -1, keepdims: 1, select_last_index: 0 }); // (B, 1) int64
  return emit(g, m.final_layer_norm, g.op1("GatherND", [h, at], { batch_dims: 1 }), "text_model.final_layer_norm");
}

const batched = (t: Tensor, extra: Record<number, string> = {}): Dims =>
  t.shape.map((d, i) => (i === 0 ? "batch" : (extra[i] ?? d)));

/**
 * Pixel values (float32, 4-D) and/or input ids (int32) with an optional attention mask, by dtype: both give the
 * embeddings of each and the logits; one gives that modality's embeddings alone (image_embeds or text_embeds).
 */
registerModel(HFCLIPModel, (g, model, sample, who) => {
  const names = Object.keys(sample);
  const pxName = names.find((n) => sample[n].dtype === "float32");
  const [idsName, maskName, ...extra] = names.filter((n) => sample[n].dtype === "int32");
  if (names.length === 0 || extra.length || names.filter((n) => sample[n].dtype === "float32").length > 1) {
    throw new Error(
      `${who}: HFCLIPModel takes pixel values (float32) and/or input ids (int32) with an optional attention mask, ` +
        `got ${names.map((n) => `${n} ${sample[n].dtype}`).join(", ") || "none"}`,
    );
  }
  const spec: Spec = { inputs: [], outputs: [] };
  let img: string | null = null,
    txt: string | null = null;
  if (pxName) {
    const px = sample[pxName],
      ref = model.encodeImage(px); // checks the sample as the model would
    img = l2normalize(g, emit(g, model.visual_projection, vision(g, model.vision_model, pxName), "visual_projection"));
    spec.inputs.push([pxName, px, batched(px)]);
    spec.outputs.push(["image_embeds", img, batched(ref)]);
  }
  if (idsName) {
    const ids = sample[idsName],
      mask = maskName ? sample[maskName] : null,
      ref = model.encodeText(ids, mask);
    txt = l2normalize(
      g,
      emit(g, model.text_projection, text(g, model.text_model, idsName, maskName ?? null, ids), "text_projection"),
    );
    for (const n of [idsName, maskName].filter((x): x is string => !!x))
      spec.inputs.push([n, sample[n], ["text_batch", "tokens"]]);
    spec.outputs.push(["text_embeds", txt, ["text_batch", ref.shape[1]]]);
  }
  if (img && txt) {
    const scale = g.op1("Exp", [g.param("logit_scale", model.logit_scale)]);
    const lpi = g.op1("MatMul", [g.op1("Mul", [img, scale]), g.op1("Transpose", [txt], { perm: [1, 0] })]);
    spec.outputs.push(
      ["logits_per_image", lpi, ["batch", "text_batch"]],
      ["logits_per_text", g.op1("Transpose", [lpi], { perm: [1, 0] }), ["text_batch", "batch"]],
      ["logit_scale", scale, []],
    );
  }
  return spec;
});

/** Imported by export.ts so the writers above are registered wherever exportOnnx is. */
export const HF_CLIP_WRITERS = true;
