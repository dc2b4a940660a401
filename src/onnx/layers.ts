// Per-layer ONNX writers: each supported nn layer appends its nodes after an input and returns its output.
import type { Module } from "../nn/module.js";
import { Linear, Embedding } from "../nn/linear.js";
import { Conv1d, Conv2d } from "../nn/conv.js";
import { LSTM } from "../nn/lstm.js";
import { Sequential } from "../nn/containers.js";
import {
  LayerNorm,
  ReLU,
  GELU,
  Sigmoid,
  SiLU,
  Tanh,
  Dropout,
  Identity,
  AdaptiveAvgPool1d,
  AdaptiveAvgPool2d,
  Flatten,
} from "../nn/basic.js";
import type { MultiheadAttention } from "../nn/attention.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../nn/transformer.js";
import { DynamicQuantizedLinear, DynamicQuantizedLSTM } from "../nn/quantized.js";
import { type Graph, transposed } from "./graph.js";
import { registerLayer, layerWriter, supported } from "./registry.js";

function lstmLayerWeights(
  lstm: LSTM,
  layer: number,
): { W: Float32Array; R: Float32Array; B: Float32Array; dirs: number; inp: number } {
  // ONNX orders gates i, o, f, c; torch i, f, g, o: ONNX block j takes torch block ORDER[j]
  const ORDER = [0, 3, 1, 2];
  const H = lstm.hiddenSize,
    dirs = lstm.bidirectional ? 2 : 1;
  const params = new Map(lstm.namedParameters());
  const inp = params.get(`weight_ih_l${layer}`)!.shape[1];
  const W = new Float32Array(dirs * 4 * H * inp),
    R = new Float32Array(dirs * 4 * H * H),
    B = new Float32Array(dirs * 8 * H);
  for (let d = 0; d < dirs; d++) {
    const sfx = `_l${layer}${d ? "_reverse" : ""}`;
    const wih = params.get(`weight_ih${sfx}`)!.toTensor().data as Float32Array,
      whh = params.get(`weight_hh${sfx}`)!.toTensor().data as Float32Array;
    const bih = params.get(`bias_ih${sfx}`)?.toTensor().data as Float32Array | undefined,
      bhh = params.get(`bias_hh${sfx}`)?.toTensor().data as Float32Array | undefined;
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

/** A Sequential of supported layers (nested Sequentials too), or one supported layer other than a bare LSTM. */
export function isStack(m: Module, root = true): boolean {
  if (m instanceof Sequential) return Array.from({ length: m.length }, (_, i) => m[i]).every((c) => isStack(c, false));
  const e = layerWriter(m);
  if (!e || e.ctor !== m.constructor) return false;
  if (root && !e.stackable) return false;
  // the graph reads (B, T, E) as run() does; forward reads (T, B, E) unless batchFirst
  if (root && m instanceof TransformerEncoderLayer && !m.batchFirst) return false;
  if (root && m instanceof TransformerEncoder && m.layers.length > 0 && !m.layers[0].batchFirst) return false;
  return true;
}

const cannot = (path: string, m: Module): Error =>
  new Error(
    `MultimodalModelOptimizer.exportOnnx: cannot export ${path} (${m.constructor.name}); supported: ${supported()}`,
  );

/** Writes m's nodes after x; returns the output name. */
export function emit(g: Graph, m: Module, x: string, path: string, mask: string | null = null): string {
  const e = layerWriter(m);
  if (!e) throw cannot(path, m);
  return e.write(g, m, x, path, mask);
}

const quantised = (_g: Graph, _m: Module, _x: string, path: string): string => {
  throw new Error(
    `MultimodalModelOptimizer.exportOnnx: ${path} is dynamically quantised; export the float model (quantise in ` +
      `the ONNX runtime)`,
  );
};
registerLayer(DynamicQuantizedLinear, quantised, "", false);
registerLayer(DynamicQuantizedLSTM, quantised, "", false);
registerLayer(
  Sequential,
  (g, m, x, path) => {
    let y = x;
    for (let i = 0; i < m.length; i++) y = emit(g, m[i], y, `${path}.${i}`);
    return y;
  },
  "",
  false,
);
registerLayer(Linear, (g, m, x) => {
  const y = g.op1("MatMul", [x, g.constF("weight_t", [m.inFeatures, m.outFeatures], transposed(m.weight))]);
  return m.bias ? g.op1("Add", [y, g.param("bias", m.bias)]) : y;
});
registerLayer(Embedding, (g, m, x) => g.op1("Gather", [g.param("embedding", m.weight), x], { axis: 0 }));
registerLayer(Conv1d, (g, m, x) => {
  const K = m.weight.shape[2];
  const ins = [x, g.param("conv_weight", m.weight), ...(m.bias ? [g.param("conv_bias", m.bias)] : [])];
  return g.op1("Conv", ins, {
    kernel_shape: [K],
    pads: [m.padding, m.padding],
    strides: [m.stride],
    dilations: [m.dilation],
    group: m.groups,
  });
});
registerLayer(Conv2d, (g, m, x) => {
  const [, , KH, KW] = m.weight.shape;
  const ins = [x, g.param("conv_weight", m.weight), ...(m.bias ? [g.param("conv_bias", m.bias)] : [])];
  return g.op1("Conv", ins, {
    kernel_shape: [KH, KW],
    pads: [m.padding[0], m.padding[1], m.padding[0], m.padding[1]],
    strides: [...m.stride],
    dilations: [...m.dilation],
    group: m.groups,
  });
});
// as LSTM.run, which layers call: (B, T, I) in, (B, T, dirs * H) out, whatever batchFirst says (batchFirst only
// tells LSTM.forward how to read its argument); not exportable alone: LSTM.forward returns { output, h, c }
registerLayer(
  LSTM,
  (g, m, x) => {
    const H = m.hiddenSize;
    let y = g.op1("Transpose", [x], { perm: [1, 0, 2] }); // (T, B, I)
    for (let l = 0; l < m.numLayers; l++) {
      const w = lstmLayerWeights(m, l);
      const out = g.op1(
        "LSTM",
        [
          y,
          g.constF("lstm_W", [w.dirs, 4 * H, w.inp], w.W),
          g.constF("lstm_R", [w.dirs, 4 * H, H], w.R),
          g.constF("lstm_B", [w.dirs, 8 * H], w.B),
        ],
        { hidden_size: H, direction: m.bidirectional ? "bidirectional" : "forward" },
      ); // Y (T, dirs, B, H)
      // (T, B, dirs * H)
      y = g.op1("Reshape", [g.op1("Transpose", [out], { perm: [0, 2, 1, 3] }), g.constI("shape", [0, 0, -1])]);
    }
    return g.op1("Transpose", [y], { perm: [1, 0, 2] });
  },
  "inside a Sequential",
  false,
);
registerLayer(
  TransformerEncoderLayer,
  (g, m, x, path, mask) => {
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
  },
  "batch-first, no padding mask",
);
registerLayer(
  TransformerEncoder,
  (g, m, x, path, mask) => {
    let y = x;
    for (let i = 0; i < m.layers.length; i++) y = emit(g, m.layers[i], y, `${path}.layers.${i}`, mask);
    return m.norm ? emit(g, m.norm, y, `${path}.norm`) : y;
  },
  "batch-first, no padding mask",
);
registerLayer(LayerNorm, (g, m, x) => {
  const n = m.normalizedShape;
  const p = new Map(m.namedParameters());
  const scale = p.get("weight")
    ? g.param("ln_weight", p.get("weight")!)
    : g.constF("ln_ones", [n], new Float32Array(n).fill(1));
  const bias = p.get("bias") ? g.param("ln_bias", p.get("bias")!) : g.constF("ln_zeros", [n], new Float32Array(n));
  return g.op1("LayerNormalization", [x, scale, bias], { axis: -1, epsilon: { float: m.eps } });
});
registerLayer(ReLU, (g, _m, x) => g.op1("Relu", [x]));
registerLayer(GELU, (g, _m, x) => {
  // exact GELU (opset 17 has no Gelu op): 0.5 x (1 + erf(x / sqrt 2))
  const e = g.op1("Erf", [g.op1("Div", [x, g.constF("sqrt2", [], Float32Array.of(Math.SQRT2))])]);
  return g.op1("Mul", [
    g.op1("Mul", [x, g.op1("Add", [e, g.constF("one", [], Float32Array.of(1))])]),
    g.constF("half", [], Float32Array.of(0.5)),
  ]);
});
registerLayer(Sigmoid, (g, _m, x) => g.op1("Sigmoid", [x]));
registerLayer(SiLU, (g, _m, x) =>
  g.op1("Div", [x, g.op1("Add", [g.op1("Exp", [g.op1("Neg", [x])]), g.constF("one", [], Float32Array.of(1))])]),
);
registerLayer(Tanh, (g, _m, x) => g.op1("Tanh", [x]));
registerLayer(Dropout, (_g, _m, x) => x);
registerLayer(Identity, (_g, _m, x) => x);
registerLayer(
  AdaptiveAvgPool1d,
  (g, m, x, path) => {
    if (m.outputSize !== 1) throw cannot(path, m);
    return g.op1("GlobalAveragePool", [x]);
  },
  "to size 1",
);
registerLayer(
  AdaptiveAvgPool2d,
  (g, m, x, path) => {
    if (m.outputSize[0] !== 1 || m.outputSize[1] !== 1) throw cannot(path, m);
    return g.op1("GlobalAveragePool", [x]);
  },
  "to size 1",
);
registerLayer(
  Flatten,
  (g, m, x, path) => {
    if (m.startDim !== 1 || m.endDim !== -1) throw cannot(path, m);
    return g.op1("Flatten", [x], { axis: 1 });
  },
  "1, -1",
);

/**
 * Batch-first self-attention: x (B, T, E) -> (B, T, E), q scaled by 1/sqrt(D) first, as torch; mask: an additive
 * (B, 1, 1, T) key mask (0 or -inf) or null.
 */
export function selfAttention(g: Graph, a: MultiheadAttention, x: string, mask: string | null): string {
  const E = a.embedDim,
    H = a.numHeads,
    D = a.headDim;
  const w = g.constF("in_proj_t", [E, 3 * E], transposed(a.in_proj_weight));
  const qkv = g.op1("Add", [g.op1("MatMul", [x, w]), g.param("in_proj_bias", a.in_proj_bias)]);
  const [q, k, v] = g.op("Split", [qkv, g.constI("split", [E, E, E])], { axis: -1 }, 3);
  const heads = (t: string): string =>
    // (B, H, T, D)
    g.op1("Transpose", [g.op1("Reshape", [t, g.constI("shape", [0, 0, H, D])])], { perm: [0, 2, 1, 3] });
  const qs = g.op1("Div", [heads(q), g.constF("sqrt_d", [], Float32Array.of(Math.fround(Math.sqrt(D))))]);
  // (B, H, D, T)
  const kt = g.op1("Transpose", [g.op1("Reshape", [k, g.constI("shape", [0, 0, H, D])])], { perm: [0, 2, 3, 1] });
  const scores = g.op1("MatMul", [qs, kt]);
  const p = g.op1("Softmax", [mask ? g.op1("Add", [scores, mask]) : scores], { axis: -1 });
  const o = g.op1("Reshape", [
    g.op1("Transpose", [g.op1("MatMul", [p, heads(v)])], { perm: [0, 2, 1, 3] }),
    g.constI("shape", [0, 0, E]),
  ]);
  return emit(g, a.out_proj, o, "out_proj");
}
