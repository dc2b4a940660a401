import * as core from "../core/index.js";
import { type Buf, empty, size } from "../core/index.js";
import { Parameter, uniformInit, nextSeed } from "./parameter.js";
import { Layer, expectShape, expectFloat } from "./layer.js";

/**
 * nn.Linear: y = x W^T + b.  State: weight (out, in), bias (out).  Initialised like PyTorch's bound
 * (uniform +-1/sqrt(in)) from a fixed seed; load real weights with loadStateDict.
 * @example
 * const fc = new Linear(768, 512);
 * const y = fc.forward(Tensor.zeros([2, 768])); // [2, 512]
 */
export class Linear extends Layer {
  weight: Parameter;
  bias: Parameter | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    bias = true,
  ) {
    super();
    const bound = 1 / Math.sqrt(Math.max(1, inFeatures));
    this.weight = new Parameter([outFeatures, inFeatures], "linear", uniformInit(bound, nextSeed()));
    this.bias = bias ? new Parameter([outFeatures], "raw", uniformInit(bound, nextSeed())) : null;
  }
  run(x: Buf, act = 0): Buf {
    expectFloat("Linear", x);
    expectShape(
      "Linear",
      "input",
      x,
      x.shape.length >= 1 && x.shape[x.shape.length - 1] === this.inFeatures,
      `(..., ${this.inFeatures})`,
    );
    return core.linear(x, this.weight, this.bias, act);
  }
}

/**
 * nn.Embedding: rows of weight (num, dim) picked by int32 ids.  Ids outside [0, num) are an Error.
 */
export class Embedding extends Layer {
  weight: Parameter;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
  ) {
    super();
    this.weight = new Parameter([numEmbeddings, embeddingDim], "raw", uniformInit(1.7, nextSeed()));
  }
  run(ids: Buf): Buf {
    if (ids.dtype !== "int32") throw new Error(`Embedding: ids must be int32, got ${ids.dtype}`);
    const heap = core.heap();
    const n = size(ids),
      D = this.embeddingDim;
    const idv = heap.i32(ids.ptr, n);
    for (let i = 0; i < n; i++) {
      const id = idv[i];
      if (id < 0 || id >= this.numEmbeddings)
        throw new Error(`Embedding: id ${id} at position ${i} is outside the vocabulary [0, ${this.numEmbeddings})`);
    }
    const y = empty([...ids.shape, D]);
    const ids2 = heap.i32(ids.ptr, n).slice();
    const src = heap.f32(this.weight.ptr, this.numEmbeddings * D),
      dst = heap.f32(y.ptr, n * D);
    for (let i = 0; i < n; i++) dst.set(src.subarray(ids2[i] * D, ids2[i] * D + D), i * D);
    return y;
  }
}
