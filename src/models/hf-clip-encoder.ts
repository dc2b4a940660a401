// The transformer blocks of Hugging Face's CLIP (transformers' modeling_clip.py, "eager" attention), by their own
// key names: encoder.layers.{i}.{self_attn.{q,k,v,out}_proj, layer_norm1, mlp.fc1, mlp.fc2, layer_norm2}.
// Pre-LN: h + attn(ln1(h)), then h + mlp(ln2(h)).  Arithmetic as theirs: q_proj(h) * head_dim^-0.5 (a float32
// multiply), scores q k^T + additive masks, softmax over keys, probabilities x v, out_proj.
import * as core from "../core/index.js";
import { type Buf, empty } from "../core/index.js";
import { Module } from "../nn/module.js";
import { Linear } from "../nn/linear.js";
import { LayerNorm } from "../nn/basic.js";
import { ModuleList } from "../nn/containers.js";

/** The activations a config's hidden_act may name (ACT2FN's keys for them). */
export const HIDDEN_ACTS = ["quick_gelu", "gelu"] as const;
export type HiddenAct = (typeof HIDDEN_ACTS)[number];

export interface CLIPEncoderConfig {
  hiddenSize: number;
  intermediateSize: number;
  numAttentionHeads: number;
  numHiddenLayers: number;
  hiddenAct: HiddenAct;
  layerNormEps: number;
}

/** x * sigmoid(1.702 x) in place (transformers' QuickGELUActivation, in its order of operations). */
function quickGelu(x: Buf): void {
  const h = core.heap(),
    n = core.size(x);
  h.scope(() => {
    const s = h.alloc(n * 4);
    core.affine(x.ptr, s, n, Math.fround(1.702), 0); // 1.702 * x (float32 multiply; + 0 changes nothing)
    core.unary("sigmoid", s, s, n);
    core.binary("mul", x.ptr, s, x.ptr, 1, n, 1);
  });
}

/** CLIPAttention: separate q/k/v/out projections with biases; (B, T, E) -> (B, T, E). */
export class CLIPAttention extends Module {
  k_proj: Linear;
  v_proj: Linear;
  q_proj: Linear;
  out_proj: Linear;
  readonly headDim: number;
  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
  ) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new Error(
        `CLIPAttention: hidden_size (${embedDim}) must be divisible by num_attention_heads (${numHeads})`,
      );
    }
    this.headDim = embedDim / numHeads;
    this.k_proj = new Linear(embedDim, embedDim);
    this.v_proj = new Linear(embedDim, embedDim);
    this.q_proj = new Linear(embedDim, embedDim);
    this.out_proj = new Linear(embedDim, embedDim);
  }

  /** x (B, T, E); mask: additive (B, T, T) floats (0 / -inf) in scratch, or 0 for none. */
  run(x: Buf, mask: number): Buf {
    const [B, T, E] = x.shape,
      H = this.numHeads,
      D = this.headDim;
    const q = this.q_proj.run(x); // (B, T, E)
    core.affine(q.ptr, q.ptr, B * T * E, Math.fround(D ** -0.5), 0); // q_proj(h) * self.scale
    const k = this.k_proj.run(x),
      v = this.v_proj.run(x); // (B, T, E) each
    const heads = empty([B, T, E]); // merged heads, (B, T, H * D)
    const at = (ptr: number) => ({ ptr, ld: E, batch: T * E, head: D });
    core.attention(B, H, T, T, D, D, at(q.ptr), at(k.ptr), at(v.ptr), at(heads.ptr), mask, T * T, T);
    return this.out_proj.run(heads);
  }
}

/** CLIPMLP: fc1 -> hidden_act -> fc2. */
export class CLIPMLP extends Module {
  fc1: Linear;
  fc2: Linear;
  constructor(
    hidden: number,
    intermediate: number,
    readonly act: HiddenAct,
  ) {
    super();
    this.fc1 = new Linear(hidden, intermediate);
    this.fc2 = new Linear(intermediate, hidden);
  }
  run(x: Buf): Buf {
    const h = this.fc1.run(x);
    if (this.act === "quick_gelu") quickGelu(h);
    else core.unaryInPlace("gelu", h);
    return this.fc2.run(h);
  }
}

/** CLIPEncoderLayer: pre-LN attention and MLP blocks with residuals. */
export class CLIPEncoderLayer extends Module {
  self_attn: CLIPAttention;
  layer_norm1: LayerNorm;
  mlp: CLIPMLP;
  layer_norm2: LayerNorm;
  constructor(c: CLIPEncoderConfig) {
    super();
    this.self_attn = new CLIPAttention(c.hiddenSize, c.numAttentionHeads);
    this.layer_norm1 = new LayerNorm(c.hiddenSize, c.layerNormEps);
    this.mlp = new CLIPMLP(c.hiddenSize, c.intermediateSize, c.hiddenAct);
    this.layer_norm2 = new LayerNorm(c.hiddenSize, c.layerNormEps);
  }
  run(x: Buf, mask: number): Buf {
    // residual + attn: same sum either way round
    const h = core.addInPlace(this.self_attn.run(this.layer_norm1.run(x), mask), x);
    return core.addInPlace(this.mlp.run(this.layer_norm2.run(h)), h);
  }
}

/** CLIPEncoder: layers.0 ... layers.{n-1}. */
export class CLIPEncoder extends Module {
  layers: ModuleList<CLIPEncoderLayer>;
  constructor(c: CLIPEncoderConfig) {
    super();
    this.layers = new ModuleList(Array.from({ length: c.numHiddenLayers }, () => new CLIPEncoderLayer(c)));
  }

  /**
   * x (B, T, E) -> last hidden state (B, T, E); each layer in its own scratch frame (one layer's intermediates
   * live).
   */
  run(x: Buf, mask: number): Buf {
    const heap = core.heap();
    const bytes = core.size(x) * 4;
    const pong = [empty(x.shape), empty(x.shape)];
    let y = x;
    [...this.layers].forEach((layer, i) => {
      const dst = pong[i % 2];
      heap.scope(() => heap.u8(dst.ptr, bytes).set(heap.u8(layer.run(y, mask).ptr, bytes)));
      y = dst;
    });
    return y;
  }
}
