// ONNX export (opset 17) of polymodal modules from their weights: each supported layer writes its ONNX nodes,
// weights become initializers, and the graph is checked against the module on the sample inputs by the tests
// (onnxruntime-web).  Supported: SpeechRecognitionModel, VisionEncoder, TextEncoder, CLIPModel (forward), and any stack of the nn
// layers SUPPORTED lists (a Sequential or a single layer).
import { Tensor, fmtShape } from "../tensor.js";
import { Module } from "../nn/module.js";
import { Parameter } from "../nn/parameter.js";
import { Linear } from "../nn/linear.js";
import { Conv1d } from "../nn/conv.js";
import { LSTM } from "../nn/lstm.js";
import { Sequential } from "../nn/containers.js";
import { LayerNorm, ReLU, GELU, Sigmoid, Tanh, Dropout, Identity } from "../nn/basic.js";
import { DynamicQuantizedLinear, DynamicQuantizedLSTM } from "../nn/quantized.js";
import { SpeechRecognitionModel } from "../models/speech.js";
import { VisionEncoder } from "../models/vision.js";
import { MultiheadAttention } from "../nn/attention.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../nn/transformer.js";
import { Conv2d } from "../nn/conv.js";
import { nodeProto, tensorProto, valueInfo, modelProto, elemType, type AttrValue } from "./proto.js";
import { TextEncoder } from "../models/text.js";
import { CLIPModel } from "../models/clip.js";

const SUPPORTED = "SpeechRecognitionModel, VisionEncoder, TextEncoder, CLIPModel, or a Sequential / single layer of Linear, Conv1d, Conv2d, LSTM, " +
  "TransformerEncoderLayer / TransformerEncoder (batch-first, no padding mask), LayerNorm, ReLU, GELU, Sigmoid, Tanh, Dropout, Identity";

class Graph {
  readonly nodes: Uint8Array[] = [];
  readonly initializers: Uint8Array[] = [];
  private n = 0;
  private fresh(prefix: string): string { return `${prefix}_${this.n++}`; }

  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push(nodeProto(op, inputs, outs, attrs, this.fresh(op)));
    return outs;
  }
  op1(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string { return this.op(op, inputs, attrs)[0]; }

  constF(prefix: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }
  constI(prefix: string, values: number[]): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensorProto(name, [values.length], BigInt64Array.from(values.map(BigInt))));
    return name;
  }
  /** A constant of a sample's dtype (int32 or float32). */
  constLike(prefix: string, t: Tensor, dims: number[], values: number[]): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensorProto(name, dims, t.dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values)));
    return name;
  }
  param(prefix: string, p: Parameter): string { return this.constF(prefix, [...p.shape], p.toTensor().data as Float32Array); }
}

/** W (out, in) -> W^T (in, out), for MatMul. */
function transposed(p: Parameter): Float32Array {
  const [N, K] = p.shape, w = p.toTensor().data as Float32Array, t = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w[n * K + k];
  return t;
}

function lstmLayerWeights(lstm: LSTM, layer: number): { W: Float32Array; R: Float32Array; B: Float32Array; dirs: number; inp: number } {
  // ONNX orders gates i, o, f, c; torch i, f, g, o: ONNX block j takes torch block ORDER[j]
  const ORDER = [0, 3, 1, 2];
  const H = lstm.hiddenSize, dirs = lstm.bidirectional ? 2 : 1;
  const params = new Map(lstm.namedParameters());
  const inp = params.get(`weight_ih_l${layer}`)!.shape[1];
  const W = new Float32Array(dirs * 4 * H * inp), R = new Float32Array(dirs * 4 * H * H), B = new Float32Array(dirs * 8 * H);
  for (let d = 0; d < dirs; d++) {
    const sfx = `_l${layer}${d ? "_reverse" : ""}`;
    const wih = params.get(`weight_ih${sfx}`)!.toTensor().data as Float32Array, whh = params.get(`weight_hh${sfx}`)!.toTensor().data as Float32Array;
    const bih = params.get(`bias_ih${sfx}`)?.toTensor().data as Float32Array | undefined, bhh = params.get(`bias_hh${sfx}`)?.toTensor().data as Float32Array | undefined;
    for (let j = 0; j < 4; j++) {
      const src = ORDER[j] * H;
      W.set(wih.subarray(src * inp, (src + H) * inp), (d * 4 * H + j * H) * inp);
      R.set(whh.subarray(src * H, (src + H) * H), (d * 4 * H + j * H) * H);
      if (bih) B.set(bih.subarray(src, src + H), d * 8 * H + j * H);
      if (bhh) B.set(bhh.subarray(src, src + H), d * 8 * H + 4 * H + j * H);
    }
  }
  return { W, R, B, dirs, inp };
}

const LAYERS = [Linear, Conv1d, Conv2d, LSTM, TransformerEncoderLayer, TransformerEncoder, LayerNorm, ReLU, GELU, Sigmoid, Tanh, Dropout, Identity];

/** A Sequential of supported layers (nested Sequentials too), or one supported layer other than a bare LSTM. */
function isStack(m: Module, root = true): boolean {
  if (m instanceof Sequential) return Array.from({ length: m.length }, (_, i) => m[i]).every((c) => isStack(c, false));
  if (root && m instanceof LSTM) return false; // LSTM.forward returns { output, h, c }, not one tensor
  // the graph reads (B, T, E) as run() does; forward reads (T, B, E) unless batchFirst
  if (root && m instanceof TransformerEncoderLayer && !m.batchFirst) return false;
  if (root && m instanceof TransformerEncoder && m.layers.length > 0 && !m.layers[0].batchFirst) return false;
  return LAYERS.some((L) => m.constructor === L);
}

/** Writes m's nodes after x; returns the output name. */
function emit(g: Graph, m: Module, x: string, path: string, mask: string | null = null): string {
  if (m instanceof DynamicQuantizedLinear || m instanceof DynamicQuantizedLSTM) {
    throw new Error(`MultimodalModelOptimizer.exportOnnx: ${path} is dynamically quantised; export the float model (quantise in the ONNX runtime)`);
  }
  if (m instanceof Sequential) {
    let y = x;
    for (let i = 0; i < m.length; i++) y = emit(g, m[i], y, `${path}.${i}`);
    return y;
  }
  if (m instanceof Linear) {
    const y = g.op1("MatMul", [x, g.constF("weight_t", [m.inFeatures, m.outFeatures], transposed(m.weight))]);
    return m.bias ? g.op1("Add", [y, g.param("bias", m.bias)]) : y;
  }
  if (m instanceof Conv1d) {
    const K = m.weight.shape[2];
    const ins = [x, g.param("conv_weight", m.weight), ...(m.bias ? [g.param("conv_bias", m.bias)] : [])];
    return g.op1("Conv", ins, { kernel_shape: [K], pads: [m.padding, m.padding], strides: [m.stride], dilations: [m.dilation], group: m.groups });
  }
  if (m instanceof LayerNorm) {
    const n = m.normalizedShape;
    const p = new Map(m.namedParameters());
    const scale = p.get("weight") ? g.param("ln_weight", p.get("weight")!) : g.constF("ln_ones", [n], new Float32Array(n).fill(1));
    const bias = p.get("bias") ? g.param("ln_bias", p.get("bias")!) : g.constF("ln_zeros", [n], new Float32Array(n));
    return g.op1("LayerNormalization", [x, scale, bias], { axis: -1, epsilon: { float: m.eps } });
  }
  if (m instanceof ReLU) return g.op1("Relu", [x]);
  if (m instanceof Sigmoid) return g.op1("Sigmoid", [x]);
  if (m instanceof Tanh) return g.op1("Tanh", [x]);
  if (m instanceof GELU) {
    // exact GELU (opset 17 has no Gelu op): 0.5 x (1 + erf(x / sqrt 2))
    const e = g.op1("Erf", [g.op1("Div", [x, g.constF("sqrt2", [], Float32Array.of(Math.SQRT2))])]);
    return g.op1("Mul", [g.op1("Mul", [x, g.op1("Add", [e, g.constF("one", [], Float32Array.of(1))])]), g.constF("half", [], Float32Array.of(0.5))]);
  }
  if (m instanceof Dropout || m instanceof Identity) return x;
  if (m instanceof LSTM) {
    // as LSTM.run, which layers call: (B, T, I) in, (B, T, dirs * H) out, whatever batchFirst says (batchFirst
    // only tells LSTM.forward how to read its argument)
    const H = m.hiddenSize;
    let y = g.op1("Transpose", [x], { perm: [1, 0, 2] }); // (T, B, I)
    for (let l = 0; l < m.numLayers; l++) {
      const w = lstmLayerWeights(m, l);
      const out = g.op1("LSTM", [y, g.constF("lstm_W", [w.dirs, 4 * H, w.inp], w.W), g.constF("lstm_R", [w.dirs, 4 * H, H], w.R), g.constF("lstm_B", [w.dirs, 8 * H], w.B)],
        { hidden_size: H, direction: m.bidirectional ? "bidirectional" : "forward" }); // Y (T, dirs, B, H)
      y = g.op1("Reshape", [g.op1("Transpose", [out], { perm: [0, 2, 1, 3] }), g.constI("shape", [0, 0, -1])]); // (T, B, dirs * H)
    }
    return g.op1("Transpose", [y], { perm: [1, 0, 2] });
  }
  if (m instanceof Conv2d) {
    const [, , KH, KW] = m.weight.shape;
    const ins = [x, g.param("conv_weight", m.weight), ...(m.bias ? [g.param("conv_bias", m.bias)] : [])];
    return g.op1("Conv", ins, { kernel_shape: [KH, KW], pads: [m.padding[0], m.padding[1], m.padding[0], m.padding[1]], strides: [...m.stride], dilations: [...m.dilation], group: m.groups });
  }
  if (m instanceof TransformerEncoder) {
    let y = x;
    for (let i = 0; i < m.layers.length; i++) y = emit(g, m.layers[i], y, `${path}.layers.${i}`, mask);
    return m.norm ? emit(g, m.norm, y, `${path}.norm`) : y;
  }
  if (m instanceof TransformerEncoderLayer) {
    const ff = (h: string): string => {
      let a = emit(g, m.linear1, h, `${path}.linear1`);
      a = m.activation === "relu" ? g.op1("Relu", [a]) : emit(g, new GELU(), a, `${path}.activation`);
      return emit(g, m.linear2, a, `${path}.linear2`);
    };
    if (m.normFirst) {
      const y = g.op1("Add", [selfAttention(g, m.self_attn, emit(g, m.norm1, x, `${path}.norm1`), mask), x]);
      return g.op1("Add", [ff(emit(g, m.norm2, y, `${path}.norm2`)), y]);
    }
    const h = emit(g, m.norm1, g.op1("Add", [selfAttention(g, m.self_attn, x, mask), x]), `${path}.norm1`);
    return emit(g, m.norm2, g.op1("Add", [ff(h), h]), `${path}.norm2`);
  }
  throw new Error(`MultimodalModelOptimizer.exportOnnx: cannot export ${path} (${m.constructor.name}); supported: ${SUPPORTED}`);
}

/**
 * Batch-first self-attention: x (B, T, E) -> (B, T, E), q scaled by 1/sqrt(D) first, as torch; mask: an additive
 * (B, 1, 1, T) key mask (0 or -inf) or null.
 */
function selfAttention(g: Graph, a: MultiheadAttention, x: string, mask: string | null): string {
  const E = a.embedDim, H = a.numHeads, D = a.headDim;
  const w = g.constF("in_proj_t", [E, 3 * E], transposed(a.in_proj_weight));
  const qkv = g.op1("Add", [g.op1("MatMul", [x, w]), g.param("in_proj_bias", a.in_proj_bias)]);
  const [q, k, v] = g.op("Split", [qkv, g.constI("split", [E, E, E])], { axis: -1 }, 3);
  const heads = (t: string): string => g.op1("Transpose", [g.op1("Reshape", [t, g.constI("shape", [0, 0, H, D])])], { perm: [0, 2, 1, 3] }); // (B, H, T, D)
  const qs = g.op1("Div", [heads(q), g.constF("sqrt_d", [], Float32Array.of(Math.fround(Math.sqrt(D))))]);
  const kt = g.op1("Transpose", [g.op1("Reshape", [k, g.constI("shape", [0, 0, H, D])])], { perm: [0, 2, 3, 1] }); // (B, H, D, T)
  const scores = g.op1("MatMul", [qs, kt]);
  const p = g.op1("Softmax", [mask ? g.op1("Add", [scores, mask]) : scores], { axis: -1 });
  const o = g.op1("Reshape", [g.op1("Transpose", [g.op1("MatMul", [p, heads(v)])], { perm: [0, 2, 1, 3] }), g.constI("shape", [0, 0, E])]);
  return emit(g, a.out_proj, o, "out_proj");
}

/** VisionEncoder.forward: patches -> [cls; tokens] + pos -> transformer -> ln(cls) -> projection. */
function visionEncoder(g: Graph, m: VisionEncoder, x: string): string {
  const E = m.config.embedDim;
  const p = emit(g, m.patch_embed, x, "patch_embed"); // (B, E, gh, gw)
  const tokens = g.op1("Transpose", [g.op1("Reshape", [p, g.constI("shape", [0, E, -1])])], { perm: [0, 2, 1] }); // (B, N, E)
  // the cls token, repeated over the batch: Expand to (B, 1, E) with B read from the input's shape
  const b = g.op1("Slice", [g.op1("Shape", [x]), g.constI("start", [0]), g.constI("end", [1])]);
  const shape = g.op1("Concat", [b, g.constI("one_e", [1, E])], { axis: 0 });
  const cls = g.op1("Expand", [g.param("cls_token", m.cls_token), shape]);
  const seq = g.op1("Add", [g.op1("Concat", [cls, tokens], { axis: 1 }), g.param("pos_embed", m.pos_embed)]);
  const h = emit(g, m.transformer, seq, "transformer");
  const first = g.op1("Gather", [h, g.constI("zero", [0])], { axis: 1 }); // (B, 1, E)
  const c = g.op1("Reshape", [first, g.constI("shape", [0, E])]);
  return emit(g, m.projection, emit(g, m.ln, c, "ln"), "projection");
}

/** The additive key mask (B, 1, 1, T) of an attention mask (B, T), 1 = token: 0 for tokens, -inf for padding. */
function keyMask(g: Graph, mask: string, sample: Tensor): string {
  const pad = g.op1("Equal", [mask, g.constLike("zero", sample, [], [0])]);
  const add = g.op1("Where", [pad, g.constF("neg_inf", [], Float32Array.of(-Infinity)), g.constF("zero_f", [], Float32Array.of(0))]);
  return g.op1("Unsqueeze", [add, g.constI("axes", [1, 2])]);
}

/** TextEncoder.run: token + position embeddings, transformer, LayerNorm and projection of the last real token. */
function textEncoder(g: Graph, m: TextEncoder, ids: string, mask: string | null, maskSample: Tensor | null): string {
  const E = m.config.embedDim;
  const x = g.op1("Gather", [g.param("token_embed", m.token_embed.weight), ids], { axis: 0 }); // (B, T, E)
  const T = g.op1("Slice", [g.op1("Shape", [ids]), g.constI("start", [1]), g.constI("end", [2])]); // [T] int64
  const pos = g.op1("Slice", [g.param("pos_embed", m.pos_embed), g.constI("start", [0]), T, g.constI("axes", [1])]); // (1, T, E)
  const h = emit(g, m.transformer, g.op1("Add", [x, pos]), "transformer", mask ? keyMask(g, mask, maskSample!) : null);
  // EOS pooling: position (number of tokens - 1), or the last position when there is no mask or no token
  const last = g.op1("Sub", [T, g.constI("one", [1])]); // [T - 1]
  let idx: string;
  if (mask) {
    const tokens = g.op1("Cast", [g.op1("Not", [g.op1("Equal", [mask, g.constLike("zero", maskSample!, [], [0])])])], { to: 7 });
    const n1 = g.op1("Sub", [g.op1("ReduceSum", [tokens, g.constI("axes", [1])], { keepdims: 1 }), g.constI("one", [1])]); // (B, 1)
    idx = g.op1("Where", [g.op1("Less", [n1, g.constI("zero", [0])]), last, n1]);
  } else {
    const b = g.op1("Slice", [g.op1("Shape", [ids]), g.constI("start", [0]), g.constI("end", [1])]);
    idx = g.op1("Expand", [g.op1("Unsqueeze", [last, g.constI("axes", [0])]), g.op1("Concat", [b, g.constI("one", [1])], { axis: 0 })]); // (B, 1)
  }
  const pooled = g.op1("GatherND", [h, idx], { batch_dims: 1 }); // (B, E)
  void E;
  return emit(g, m.projection, emit(g, m.ln, pooled, "ln"), "projection");
}

/** x / max(||x||, eps) per row, as F.normalize (the library's l2normalize). */
function l2normalize(g: Graph, x: string): string {
  const n = g.op1("ReduceL2", [x], { axes: [-1], keepdims: 1 }); // (opset 17: axes is still an attribute here)
  return g.op1("Div", [x, g.op1("Max", [n, g.constF("eps", [], Float32Array.of(1e-12))])]);
}

type Dims = Array<number | string>;
interface Spec { inputs: Array<[string, Tensor, Dims]>; outputs: Array<[string, string, Dims]> }

/** Runs the model on the sample (which checks it as the model would) and writes its graph; returns the I/O spec. */
function buildModel(g: Graph, model: Module, sample: Record<string, Tensor>, who: string): Spec {
  const names = Object.keys(sample);
  const want = (n: number[], what: string): void => {
    if (!n.includes(names.length)) throw new Error(`${who}: ${model.constructor.name} takes ${what}, got ${names.length} sample input(s) (${names.join(", ")})`);
  };
  const batched = (t: Tensor, extra: Record<number, string> = {}): Dims => t.shape.map((d, i) => (i === 0 ? "batch" : extra[i] ?? d));
  const [a, b, c] = names.map((n) => sample[n]);
  if (model instanceof SpeechRecognitionModel) {
    want([1], "one input (melSpec)");
    const ref = model.forward(a);
    const f = g.op1("Transpose", [emit(g, model.encoder, names[0], "encoder")], { perm: [0, 2, 1] }); // (B, T, hidden)
    const out = g.op1("LogSoftmax", [emit(g, model.output, emit(g, model.lstm, f, "lstm"), "output")], { axis: -1 });
    return { inputs: [[names[0], a, batched(a, { 2: "frames" })]], outputs: [["log_probs", out, batched(ref, { 1: "frames" })]] };
  }
  if (model instanceof VisionEncoder) {
    want([1], "one input (images)");
    const ref = model.forward(a);
    return { inputs: [[names[0], a, batched(a)]], outputs: [["embeddings", visionEncoder(g, model, names[0]), batched(ref)]] };
  }
  if (model instanceof TextEncoder) {
    want([1, 2], "inputIds and optionally attentionMask");
    const ref = model.forward(a, b ?? null);
    const out = textEncoder(g, model, names[0], b ? names[1] : null, b ?? null);
    return { inputs: names.map((n, i) => [n, sample[n], batched(sample[n], { 1: "tokens" })] as [string, Tensor, Dims]), outputs: [["embeddings", out, batched(ref)]] };
  }
  if (model instanceof CLIPModel) {
    want([2, 3], "images, inputIds and optionally attentionMask");
    const ref = model.forward(a, b, c ?? null);
    const img = l2normalize(g, visionEncoder(g, model.vision_encoder, names[0]));
    const txt = l2normalize(g, textEncoder(g, model.text_encoder, names[1], c ? names[2] : null, c ?? null));
    const scale = g.op1("Exp", [g.param("logit_scale", model.logit_scale)]);
    const lpi = g.op1("MatMul", [g.op1("Mul", [img, scale]), g.op1("Transpose", [txt], { perm: [1, 0] })]);
    return {
      inputs: [[names[0], a, batched(a)], ...names.slice(1).map((n) => [n, sample[n], batched(sample[n], { 1: "tokens" })] as [string, Tensor, Dims])],
      outputs: [
        ["image_embeds", img, batched(ref.imageEmbeds)], ["text_embeds", txt, batched(ref.textEmbeds)],
        ["logits_per_image", lpi, ["batch", "text_batch"]], ["logits_per_text", g.op1("Transpose", [lpi], { perm: [1, 0] }), ["text_batch", "batch"]],
        ["logit_scale", scale, []],
      ],
    };
  }
  if (!isStack(model)) throw new Error(`${who}: cannot export ${model.constructor.name}; supported: ${SUPPORTED}`);
  want([1], "one input");
  const ref = (model as unknown as { forward(x: Tensor): Tensor }).forward(a);
  return { inputs: [[names[0], a, batched(a)]], outputs: [[names[0] === "output" ? "y" : "output", emit(g, model, names[0], model.constructor.name), batched(ref)]] };
}

/**
 * The ONNX bytes of model's forward on inputs shaped like sampleInputs (names kept, in order); dimension 0 is
 * dynamic ("batch"), as the seed's dynamic_axes ask, and so is SpeechRecognitionModel's frame axis.  The sample
 * is run through the model first, so a wrong sample fails here, naming what the model expects.
 */
export function exportOnnxBytes(model: Module, sampleInputs: Record<string, Tensor>): Uint8Array {
  const who = "MultimodalModelOptimizer.exportOnnx";
  if (!(model instanceof Module)) throw new Error(`${who}: expected a Module, got ${model === null ? "null" : typeof model}`);
  if (!sampleInputs || typeof sampleInputs !== "object") throw new Error(`${who}: sampleInputs must be an object of name -> Tensor`);
  for (const n of Object.keys(sampleInputs)) if (!(sampleInputs[n] instanceof Tensor)) throw new Error(`${who}: sample input "${n}" must be a Tensor`);
  const g = new Graph();
  const spec = buildModel(g, model, sampleInputs, who);
  // graph outputs are produced by Identity nodes, so they carry their public names
  for (const [name, node] of spec.outputs) g.nodes.push(nodeProto("Identity", [node], [name], {}, `output_${name}`));
  return modelProto({
    nodes: g.nodes, initializers: g.initializers, name: model.constructor.name,
    inputs: spec.inputs.map(([n, t, d]) => valueInfo(n, d, elemType(t.data as Float32Array | Int32Array))),
    outputs: spec.outputs.map(([n, , d]) => valueInfo(n, d)),
  });
}
