import * as core from "../core/index.js";
import { type Buf, empty, fromTensor, toTensor, gemmPacked, Bias } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { Module, scoped } from "./module.js";
import { Parameter, uniformInit, nextSeed, fill } from "./parameter.js";
import { Linear } from "./linear.js";
import { swap01 } from "../ops/layout.js";

/**
 * nn.MultiheadAttention (batch_first).  State: in_proj_weight (3E, E), in_proj_bias (3E), out_proj.weight,
 * out_proj.bias.  keyPaddingMask: per batch item and key, nonzero = ignore (torch's True).
 * @example
 * const mha = new MultiheadAttention(256, 8, { batchFirst: true });
 * const y = mha.forward(x, x, x); // x (B, L, 256)
 */
export class MultiheadAttention extends Module {
  in_proj_weight: Parameter;
  in_proj_bias: Parameter;
  out_proj: Linear;
  readonly headDim: number;
  readonly batchFirst: boolean;
  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    options: { batchFirst?: boolean } = {},
  ) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new Error(`MultiheadAttention: embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`);
    }
    this.headDim = embedDim / numHeads;
    this.batchFirst = options.batchFirst ?? false;
    this.in_proj_weight = new Parameter(
      [3 * embedDim, embedDim],
      "linear",
      uniformInit(Math.sqrt(6 / (4 * embedDim)), nextSeed()),
    );
    this.in_proj_bias = new Parameter([3 * embedDim], "raw", fill(0));
    this.out_proj = new Linear(embedDim, embedDim);
  }

  /**
   * Self-attention when q === k === v (one GEMM for the three projections), else separate projections.
   * q (B, L, E), k/v (B, S, E) batch-first; mask: additive (B, S) rows in scratch or 0.
   */
  run(q: Buf, k: Buf, v: Buf, mask = 0): Buf {
    const E = this.embedDim;
    const [B, L] = q.shape,
      S = k.shape[1];
    const y = empty([B, L, E]);
    const heads = empty([B, L, E]);
    const wq = this.in_proj_weight.ptr,
      bq = this.in_proj_bias.ptr;
    // Packed panels of panelCols() output columns: rows [0, E) of in_proj_weight are whole panels when E is a multiple.
    if (q === k && k === v) {
      const qkv = empty([B, L, 3 * E]);
      gemmPacked(B * L, 3 * E, E, q.ptr, E, wq, qkv.ptr, 3 * E, bq, Bias.perColumn, 0);
      core.attentionCore(
        B,
        L,
        S,
        this.numHeads,
        this.headDim,
        qkv.ptr,
        3 * E,
        qkv.ptr + E * 4,
        3 * E,
        qkv.ptr + 2 * E * 4,
        3 * E,
        heads.ptr,
        mask,
      );
    } else {
      // Separate projections use row blocks of W.  With E a multiple of the panel width each block is a run of
      // whole packed panels (panel p starts at p * E * panelCols() floats), usable in place; otherwise repack it.
      const direct = E % core.panelCols() === 0;
      const tw = direct ? null : (this.in_proj_weight.toTensor().data as Float32Array);
      const proj = (x: Buf, part: number): Buf => {
        const out = empty([x.shape[0], x.shape[1], E]);
        if (direct) {
          gemmPacked(
            x.shape[0] * x.shape[1],
            E,
            E,
            x.ptr,
            E,
            wq + part * E * E * 4,
            out.ptr,
            E,
            bq + part * E * 4,
            Bias.perColumn,
            0,
          );
          return out;
        }
        // pack the block in scratch (a forward pass must not allocate persistent memory)
        const heap = core.heap();
        heap.scope(() => {
          const bp = core.packWeightScratch(heap.put(tw!.subarray(part * E * E, (part + 1) * E * E)), E, E);
          gemmPacked(x.shape[0] * x.shape[1], E, E, x.ptr, E, bp, out.ptr, E, bq + part * E * 4, Bias.perColumn, 0);
        });
        return out;
      };
      const pq = proj(q, 0),
        pk = proj(k, 1),
        pv = proj(v, 2);
      core.attentionCore(B, L, S, this.numHeads, this.headDim, pq.ptr, E, pk.ptr, E, pv.ptr, E, heads.ptr, mask);
    }
    return core.linear(heads, this.out_proj.weight, this.out_proj.bias, 0, y);
  }

  /** Tensor API: (query, key, value[, keyPaddingMask (B, S) int32]) -> attention output (weights not returned). */
  forward(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask?: Tensor | null): Tensor {
    const who = "MultiheadAttention.forward";
    const E = this.embedDim;
    for (const [n, t] of [
      ["query", query],
      ["key", key],
      ["value", value],
    ] as const) {
      if (!(t instanceof Tensor) || t.ndim !== 3 || t.shape[2] !== E)
        throw new Error(
          `${who}: ${n} must be 3-D (..., ${E}), got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`,
        );
    }
    const bt = (t: Tensor): Tensor => (this.batchFirst ? t : swap01(t));
    const [qb, kb, vb] = [bt(query), bt(key), bt(value)];
    const [B, S] = kb.shape;
    if (qb.shape[0] !== B || vb.shape[0] !== B || vb.shape[1] !== S)
      throw new Error(
        `${who}: batch/sequence sizes of query ${fmtShape(query.shape)}, key ${fmtShape(key.shape)} and ` +
          `value ${fmtShape(value.shape)} disagree`,
      );
    if (
      keyPaddingMask &&
      (keyPaddingMask.ndim !== 2 || keyPaddingMask.shape[0] !== B || keyPaddingMask.shape[1] !== S)
    ) {
      throw new Error(`${who}: keyPaddingMask must have shape [${B}, ${S}], got ${fmtShape(keyPaddingMask.shape)}`);
    }
    const out = scoped(() => {
      const q = fromTensor(who, "query", qb);
      const same = query === key && key === value;
      const k = same ? q : fromTensor(who, "key", kb),
        v = same ? q : fromTensor(who, "value", vb);
      const mask = keyPaddingMask ? core.paddingMaskBuf(keyPaddingMask.data, B, S) : 0;
      return toTensor(this.run(q, k, v, mask));
    });
    return this.batchFirst ? out : swap01(out);
  }
}
