import { swap01 } from "../ops/layout.js";
import * as core from "../core/index.js";
import { lstmRecurrence, lstmBidirectional } from "../core/index.js";
import { type Buf, empty, fromTensor, toTensor, zeros } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { Module, scoped } from "./module.js";
import { Parameter, uniformInit, nextSeed } from "./parameter.js";

export interface LSTMOptions {
  numLayers?: number;
  bias?: boolean;
  batchFirst?: boolean;
  bidirectional?: boolean;
}

export interface LSTMOutput {
  output: Tensor;
  /** (numLayers * directions, B, H), as torch's h_n */
  h: Tensor;
  /** (numLayers * directions, B, H), as torch's c_n */
  c: Tensor;
}

/**
 * nn.LSTM with PyTorch's gate order (i, f, g, o).  State: weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k},
 * bias_hh_l{k} and the _reverse keys when bidirectional.  The input projection of a whole sequence is one
 * GEMM per layer and direction; each step is one small GEMM plus the cell kernel.
 * @example
 * const lstm = new LSTM(128, 64, { batchFirst: true, bidirectional: true });
 * const { output } = lstm.forward(x); // x (B, T, 128) -> output (B, T, 128)
 */
export class LSTM extends Module {
  readonly numLayers: number;
  readonly batchFirst: boolean;
  readonly bidirectional: boolean;
  readonly hasBias: boolean;
  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    o: LSTMOptions = {},
  ) {
    super();
    this.numLayers = o.numLayers ?? 1;
    this.batchFirst = o.batchFirst ?? false;
    this.bidirectional = o.bidirectional ?? false;
    this.hasBias = o.bias ?? true;
    const H = hiddenSize,
      bound = 1 / Math.sqrt(H);
    const self = this as unknown as Record<string, Parameter>;
    for (let l = 0; l < this.numLayers; l++) {
      const inp = l === 0 ? inputSize : H * (this.bidirectional ? 2 : 1);
      for (const sfx of this.bidirectional ? ["", "_reverse"] : [""]) {
        self[`weight_ih_l${l}${sfx}`] = new Parameter([4 * H, inp], "linear", uniformInit(bound, nextSeed()));
        self[`weight_hh_l${l}${sfx}`] = new Parameter([4 * H, H], "linear", uniformInit(bound, nextSeed()));
        if (this.hasBias) {
          self[`bias_ih_l${l}${sfx}`] = new Parameter([4 * H], "raw", uniformInit(bound, nextSeed()));
          self[`bias_hh_l${l}${sfx}`] = new Parameter([4 * H], "raw", uniformInit(bound, nextSeed()));
        }
      }
    }
  }

  private p(name: string): Parameter | null {
    return ((this as unknown as Record<string, Parameter>)[name] as Parameter | undefined) ?? null;
  }

  /** One layer, one direction: x (B, T, I) -> writes h_t into out (B, T, ldo) at column offset colOff. */
  protected direction(x: Buf, layer: number, reverse: boolean, out: Buf, colOff: number, hN: number, cN: number): void {
    const [B, T, I] = x.shape;
    const H = this.hiddenSize,
      ldo = out.shape[2];
    const sfx = reverse ? "_reverse" : "";
    const wih = this.p(`weight_ih_l${layer}${sfx}`)!,
      whh = this.p(`weight_hh_l${layer}${sfx}`)!;
    const bih = this.p(`bias_ih_l${layer}${sfx}`),
      bhh = this.p(`bias_hh_l${layer}${sfx}`);
    core
      .heap()
      .f32(cN, B * H)
      .fill(0);
    lstmRecurrence(
      B,
      T,
      I,
      H,
      x.ptr,
      wih.ptr,
      bih ? bih.ptr : 0,
      whh.ptr,
      bhh ? bhh.ptr : 0,
      reverse,
      out.ptr,
      ldo,
      colOff,
      0,
      hN,
      cN,
    );
  }

  /**
   * Both directions of a layer: on two threads at once when there are workers and the batch takes the one-row
   * recurrence (B < 4), else one after the other.  The same bits either way.
   */
  protected bothDirections(x: Buf, layer: number, out: Buf, hN: [number, number], cN: [number, number]): void {
    const [B, T, I] = x.shape;
    const H = this.hiddenSize;
    if (!core.pool() || B >= 4 || T === 0) {
      this.direction(x, layer, false, out, 0, hN[0], cN[0]);
      this.direction(x, layer, true, out, H, hN[1], cN[1]);
      return;
    }
    const dir = (d: number) => {
      const sfx = `_l${layer}${d ? "_reverse" : ""}`;
      const p = (n: string): number => this.p(`${n}${sfx}`)?.ptr ?? 0;
      core
        .heap()
        .f32(cN[d], B * H)
        .fill(0);
      return { wih: p("weight_ih"), bih: p("bias_ih"), whh: p("weight_hh"), bhh: p("bias_hh"), hN: hN[d], c: cN[d] };
    };
    lstmBidirectional(B, T, I, H, x.ptr, [dir(0), dir(1)], out.ptr, out.shape[2]);
  }

  /** x (B, T, I) batch-first in scratch -> output (B, T, H * dirs); hN/cN (layers*dirs, B, H) when given. */
  run(x: Buf, state?: { h: Buf; c: Buf }): Buf {
    const [B, T, I] = x.shape;
    if (I !== this.inputSize)
      throw new Error(`LSTM: input must have ${this.inputSize} features, got shape ${fmtShape(x.shape)}`);
    const H = this.hiddenSize,
      dirs = this.bidirectional ? 2 : 1;
    const hN = state?.h ?? zeros([this.numLayers * dirs, B, H]);
    const cN = state?.c ?? zeros([this.numLayers * dirs, B, H]);
    let inp = x;
    for (let l = 0; l < this.numLayers; l++) {
      const out = empty([B, T, H * dirs]);
      const at = (buf: Buf, d: number): number => buf.ptr + (l * dirs + d) * B * H * 4;
      if (dirs === 2) this.bothDirections(inp, l, out, [at(hN, 0), at(hN, 1)], [at(cN, 0), at(cN, 1)]);
      else this.direction(inp, l, false, out, 0, at(hN, 0), at(cN, 0));
      inp = out;
    }
    return inp;
  }

  /** input (B, T, I) if batchFirst else (T, B, I) -> { output, h, c }.  Initial states are zeros. */
  forward(input: Tensor): LSTMOutput {
    const who = "LSTM.forward";
    if (!(input instanceof Tensor) || input.ndim !== 3)
      throw new Error(
        `${who}: input must be 3-D, got ${input instanceof Tensor ? fmtShape(input.shape) : typeof input}`,
      );
    const x = this.batchFirst ? input : swap01(input);
    return scoped(() => {
      const dirs = this.bidirectional ? 2 : 1;
      const [B] = x.shape;
      const h = zeros([this.numLayers * dirs, B, this.hiddenSize]),
        c = zeros([this.numLayers * dirs, B, this.hiddenSize]);
      const y = toTensor(this.run(fromTensor(who, "input", x), { h, c }));
      return { output: this.batchFirst ? y : swap01(y), h: toTensor(h), c: toTensor(c) };
    });
  }
}
