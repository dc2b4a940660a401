import * as core from "../core/index.js";
import { type Buf, empty, fromTensor, toTensor } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { Module, scoped } from "./module.js";
import { Linear } from "./linear.js";
import { LayerNorm, Dropout } from "./basic.js";
import { MultiheadAttention } from "./attention.js";
import { swap01 } from "../ops/layout.js";
import { ModuleList } from "./containers.js";

export interface TransformerEncoderLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: "relu" | "gelu";
  layerNormEps?: number;
  batchFirst?: boolean;
  normFirst?: boolean;
}

/**
 * nn.TransformerEncoderLayer with torch 1.13's defaults (post-norm, ReLU, dim_feedforward 2048, eps 1e-5).
 * State: self_attn.*, linear1.*, linear2.*, norm1.*, norm2.*.
 */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: "relu" | "gelu";
  readonly batchFirst: boolean;
  constructor(
    readonly dModel: number,
    readonly nhead: number,
    o: TransformerEncoderLayerOptions = {},
  ) {
    super();
    const ff = o.dimFeedforward ?? 2048,
      eps = o.layerNormEps ?? 1e-5;
    this.batchFirst = o.batchFirst ?? false;
    this.self_attn = new MultiheadAttention(dModel, nhead, { batchFirst: this.batchFirst });
    this.linear1 = new Linear(dModel, ff);
    this.dropout = new Dropout(o.dropout ?? 0.1);
    this.linear2 = new Linear(ff, dModel);
    this.norm1 = new LayerNorm(dModel, eps);
    this.norm2 = new LayerNorm(dModel, eps);
    this.dropout1 = new Dropout(o.dropout ?? 0.1);
    this.dropout2 = new Dropout(o.dropout ?? 0.1);
    this.normFirst = o.normFirst ?? false;
    this.activation = o.activation ?? "relu";
  }

  private ff(x: Buf): Buf {
    const h = this.linear1.run(x, this.activation === "relu" ? 1 : 0);
    if (this.activation === "gelu") core.unaryInPlace("gelu", h);
    return this.linear2.run(h);
  }

  /** x (B, T, E) batch-first in scratch; mask: additive (B, T) key rows or 0. */
  run(x: Buf, mask = 0): Buf {
    const E = this.dModel;
    if (this.normFirst) {
      const a = this.norm1.run(x);
      const y = core.addInPlace(this.self_attn.run(a, a, a, mask), x);
      return core.addInPlace(this.ff(this.norm2.run(y)), y);
    }
    const s = core.addInPlace(this.self_attn.run(x, x, x, mask), x); // x + sa(x), as torch: x + sa(x)
    const h = this.norm1.run(s);
    const f = core.addInPlace(this.ff(h), h);
    void E;
    return this.norm2.run(f);
  }

  forward(src: Tensor, srcKeyPaddingMask?: Tensor | null): Tensor {
    return encoderForward(
      "TransformerEncoderLayer.forward",
      this.dModel,
      this.batchFirst,
      src,
      srcKeyPaddingMask,
      (x, m) => this.run(x, m),
    );
  }
}

/**
 * nn.TransformerEncoder: layers.0 ... layers.{n-1} (+ optional norm).  With a key padding mask, torch 1.13's
 * inference path (batch-first, post-norm, even head count, left-aligned padding) returns 0 at padded
 * positions; this does the same.
 */
export class TransformerEncoder extends Module {
  layers: ModuleList<TransformerEncoderLayer>;
  norm: LayerNorm | null;
  constructor(makeLayer: () => TransformerEncoderLayer, numLayers: number, norm: LayerNorm | null = null) {
    super();
    this.layers = new ModuleList(Array.from({ length: numLayers }, makeLayer));
    this.norm = norm;
  }

  run(x: Buf, padding: ArrayLike<number> | null = null): Buf {
    const [B, T, E] = x.shape;
    const mask = padding ? core.paddingMaskBuf(padding, B, T) : 0;
    // Each layer runs in its own scratch frame and leaves only its output (ping-pong between two buffers),
    // so a deep encoder needs one layer's intermediates at a time, not all of them.
    const heap = core.heap();
    const pong = [empty(x.shape), empty(x.shape)];
    let y = x;
    [...this.layers].forEach((layer, i) => {
      const dst = pong[i % 2];
      heap.scope(() => {
        const out = layer.run(y, mask);
        heap.u8(dst.ptr, B * T * E * 4).set(heap.u8(out.ptr, B * T * E * 4));
      });
      y = dst;
    });
    if (this.norm) y = this.norm.run(y);
    if (padding && this.zeroesPadding(padding, B, T)) {
      const v = core.heap().f32(y.ptr, B * T * E);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) if (padding[b * T + t] !== 0) v.fill(0, (b * T + t) * E, (b * T + t + 1) * E);
    }
    return y;
  }

  /**
   * The layer conditions under which torch 1.13 may take its nested-tensor path (which leaves padded positions
   * at 0); it then also needs every padding mask row to be left-aligned.
   */
  nestedTensorLayers(): boolean {
    const first = this.layers[0];
    return (
      !!first && !first.normFirst && first.batchFirst && first.nhead % 2 === 0 && first.norm1.eps === first.norm2.eps
    );
  }

  /** The conditions under which torch 1.13 runs the nested-tensor path (TransformerEncoder.forward). */
  private zeroesPadding(padding: ArrayLike<number>, B: number, T: number): boolean {
    if (!this.nestedTensorLayers()) return false;
    for (let b = 0; b < B; b++) {
      let seenPad = false;
      for (let t = 0; t < T; t++) {
        if (padding[b * T + t] !== 0) seenPad = true;
        else if (seenPad) return false; // not left-aligned: torch takes the regular path
      }
    }
    return true;
  }

  forward(src: Tensor, srcKeyPaddingMask?: Tensor | null): Tensor {
    const first = this.layers[0];
    return encoderForward(
      "TransformerEncoder.forward",
      first.dModel,
      first.batchFirst,
      src,
      srcKeyPaddingMask,
      (x) => this.run(x, srcKeyPaddingMask?.data ?? null),
      true,
    );
  }
}

function encoderForward(
  who: string,
  E: number,
  batchFirst: boolean,
  src: Tensor,
  kpm: Tensor | null | undefined,
  run: (x: Buf, mask: number) => Buf,
  maskInside = false,
): Tensor {
  if (!(src instanceof Tensor) || src.ndim !== 3 || src.shape[2] !== E) {
    throw new Error(
      `${who}: src must be 3-D (batch, seq, ${E})${batchFirst ? "" : " as (seq, batch, E)"}, ` +
        `got ${src instanceof Tensor ? fmtShape(src.shape) : typeof src}`,
    );
  }
  const x = batchFirst ? src : swap01(src);
  const [B, T] = x.shape;
  if (kpm && (kpm.ndim !== 2 || kpm.shape[0] !== B || kpm.shape[1] !== T)) {
    throw new Error(`${who}: srcKeyPaddingMask must have shape [${B}, ${T}], got ${fmtShape(kpm.shape)}`);
  }
  const out = scoped(() => {
    const b = fromTensor(who, "src", x);
    const mask = !maskInside && kpm ? core.paddingMaskBuf(kpm.data, B, T) : 0;
    return toTensor(run(b, mask));
  });
  return batchFirst ? out : swap01(out);
}
