// ONNX export (opset 17) of polymodal modules from their weights: each supported layer writes its ONNX nodes,
// weights become initializers, and the graph is checked against the module on the sample inputs by the tests
// (onnxruntime-web).  Supported: SpeechRecognitionModel and VisionEncoder (forward), and any stack of the nn
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
import { nodeProto, tensorProto, valueInfo, modelProto, type AttrValue } from "./proto.js";

const SUPPORTED = "SpeechRecognitionModel, VisionEncoder, or a Sequential / single layer of Linear, Conv1d, Conv2d, LSTM, " +
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
function emit(g: Graph, m: Module, x: string, path: string): string {
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
    for (let i = 0; i < m.layers.length; i++) y = emit(g, m.layers[i], y, `${path}.layers.${i}`);
    return m.norm ? emit(g, m.norm, y, `${path}.norm`) : y;
  }
  if (m instanceof TransformerEncoderLayer) {
    const ff = (h: string): string => {
      let a = emit(g, m.linear1, h, `${path}.linear1`);
      a = m.activation === "relu" ? g.op1("Relu", [a]) : emit(g, new GELU(), a, `${path}.activation`);
      return emit(g, m.linear2, a, `${path}.linear2`);
    };
    if (m.normFirst) {
      const y = g.op1("Add", [selfAttention(g, m.self_attn, emit(g, m.norm1, x, `${path}.norm1`)), x]);
      return g.op1("Add", [ff(emit(g, m.norm2, y, `${path}.norm2`)), y]);
    }
    const h = emit(g, m.norm1, g.op1("Add", [selfAttention(g, m.self_attn, x), x]), `${path}.norm1`);
    return emit(g, m.norm2, g.op1("Add", [ff(h), h]), `${path}.norm2`);
  }
  throw new Error(`MultimodalModelOptimizer.exportOnnx: cannot export ${path} (${m.constructor.name}); supported: ${SUPPORTED}`);
}

/** Batch-first self-attention without a mask: x (B, T, E) -> (B, T, E), q scaled by 1/sqrt(D) first, as torch. */
function selfAttention(g: Graph, a: MultiheadAttention, x: string): string {
  const E = a.embedDim, H = a.numHeads, D = a.headDim;
  const w = g.constF("in_proj_t", [E, 3 * E], transposed(a.in_proj_weight));
  const qkv = g.op1("Add", [g.op1("MatMul", [x, w]), g.param("in_proj_bias", a.in_proj_bias)]);
  const [q, k, v] = g.op("Split", [qkv, g.constI("split", [E, E, E])], { axis: -1 }, 3);
  const heads = (t: string): string => g.op1("Transpose", [g.op1("Reshape", [t, g.constI("shape", [0, 0, H, D])])], { perm: [0, 2, 1, 3] }); // (B, H, T, D)
  const qs = g.op1("Div", [heads(q), g.constF("sqrt_d", [], Float32Array.of(Math.fround(Math.sqrt(D))))]);
  const kt = g.op1("Transpose", [g.op1("Reshape", [k, g.constI("shape", [0, 0, H, D])])], { perm: [0, 2, 3, 1] }); // (B, H, D, T)
  const p = g.op1("Softmax", [g.op1("MatMul", [qs, kt])], { axis: -1 });
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

/**
 * The ONNX bytes of model's forward on inputs shaped like sampleInputs (names kept, in order); dimension 0 is
 * dynamic ("batch"), as the seed's dynamic_axes ask, and so is SpeechRecognitionModel's frame axis.  The sample
 * is run through the model first, so a wrong sample fails here, naming what the model expects.
 */
export function exportOnnxBytes(model: Module, sampleInputs: Record<string, Tensor>): Uint8Array {
  const who = "MultimodalModelOptimizer.exportOnnx";
  if (!(model instanceof Module)) throw new Error(`${who}: expected a Module, got ${model === null ? "null" : typeof model}`);
  if (!sampleInputs || typeof sampleInputs !== "object") throw new Error(`${who}: sampleInputs must be an object of name -> Tensor`);
  const names = Object.keys(sampleInputs);
  for (const n of names) if (!(sampleInputs[n] instanceof Tensor)) throw new Error(`${who}: sample input "${n}" must be a Tensor`);
  if (names.length !== 1) throw new Error(`${who}: ${model.constructor.name} takes one input, got ${names.length} (${names.join(", ")})`);
  if (!(model instanceof SpeechRecognitionModel) && !(model instanceof VisionEncoder) && !isStack(model)) {
    throw new Error(`${who}: cannot export ${model.constructor.name}; supported: ${SUPPORTED}`);
  }
  const name = names[0], sample = sampleInputs[name];
  const run = (model as unknown as { forward(x: Tensor): Tensor }).forward;
  if (typeof run !== "function") throw new Error(`${who}: ${model.constructor.name} has no forward(input)`);
  const ref = run.call(model, sample); // checks the sample's shape and values as the model would
  if (!(ref instanceof Tensor)) throw new Error(`${who}: ${model.constructor.name}.forward does not return one tensor; supported: ${SUPPORTED}`);
  const g = new Graph();
  let out: string;
  const inDims: Array<number | string> = sample.shape.map((d, i) => (i === 0 ? "batch" : d));
  const outDims: Array<number | string> = ref.shape.map((d, i) => (i === 0 ? "batch" : d));
  if (model instanceof SpeechRecognitionModel) {
    inDims[2] = "frames"; outDims[1] = "frames";
    const f = g.op1("Transpose", [emit(g, model.encoder, name, "encoder")], { perm: [0, 2, 1] }); // (B, T, hidden)
    out = g.op1("LogSoftmax", [emit(g, model.output, emit(g, model.lstm, f, "lstm"), "output")], { axis: -1 });
  } else if (model instanceof VisionEncoder) {
    out = visionEncoder(g, model, name);
  } else {
    out = emit(g, model, name, model.constructor.name);
  }
  // a graph output must be produced by a node: an identity stack still gets one
  const y = model instanceof SpeechRecognitionModel ? "log_probs" : name === "output" ? "y" : "output";
  g.nodes.push(nodeProto("Identity", [out], [y], {}, "output"));
  return modelProto({
    nodes: g.nodes, initializers: g.initializers, name: model.constructor.name,
    inputs: [valueInfo(name, inDims)], outputs: [valueInfo(y, outDims)],
  });
}
