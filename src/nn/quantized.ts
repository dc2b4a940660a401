// Dynamically quantised layers, as torch.quantization.quantize_dynamic makes them (torch 1.13): int8 weights
// (per-tensor symmetric), activations quantised per call from their own min/max, exact int32 products and a
// float epilogue (assembly/qdynamic.ts).  With reduceRange false the outputs are torch's qnnpack engine's bit
// for bit; with reduceRange true (torch's x86 engines, the default) the integer products are the same and the
// float epilogue is within a few ulp of onednn's.  Like torch's, a quantised layer's output depends on the
// whole input tensor it is given (one activation scale per call), so a batch is not bitwise its rows run alone.
import * as core from "../core/index.js";
import { type Buf, empty, size } from "../core/index.js";
import { Module } from "./module.js";
import { Layer, expectFloat, expectShape } from "./layer.js";
import type { Parameter } from "./parameter.js";
import { Linear } from "./linear.js";
import { LSTM } from "./lstm.js";

const registry = new FinalizationRegistry<{ ptr: number; bytes: number }>((b) => {
  try {
    core.heap().freePersistent(b.ptr, b.bytes);
  } catch {
    /* runtime gone */
  }
});

/** An (N, K) float weight as qint8 codes with one scale, plus each output's code sum (for the zero point). */
export class QuantizedWeight {
  readonly shape: readonly [number, number];
  readonly colSum: number; // (N) int32
  readonly ptr: number; // (N, K) int8, after colSum so both stay aligned
  readonly scale: number;
  private readonly bytes: number;
  private disposed = false;
  constructor(w: Parameter) {
    const [N, K] = w.shape;
    const heap = core.heap();
    this.shape = [N, K];
    this.bytes = N * 4 + N * K;
    this.colSum = heap.allocPersistent(this.bytes);
    this.ptr = this.colSum + N * 4;
    registry.register(this, { ptr: this.colSum, bytes: this.bytes }, this);
    this.scale = core.quantizeWeight(w.toTensor().data as Float32Array, this.ptr);
    const q = heap.i8(this.ptr, N * K),
      cs = heap.i32(this.colSum, N);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += q[n * K + j];
      cs[n] = s;
    }
  }
  /** The int8 codes, row-major (N, K) (a copy). */
  codes(): Int8Array {
    return core
      .heap()
      .i8(this.ptr, this.shape[0] * this.shape[1])
      .slice();
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    registry.unregister(this);
    core.heap().freePersistent(this.colSum, this.bytes);
  }
}

/**
 * y (M, N) = dynamic-quantised x (M, K) times w^T + bias, written to out.  One activation scale for all M rows.
 */
export function dynamicLinear(
  x: number,
  M: number,
  K: number,
  w: QuantizedWeight,
  bias: Parameter | null,
  reduceRange: boolean,
  relu: boolean,
  out: number,
): void {
  core.dynamicLinear(x, M, K, w.shape[0], w.ptr, w.colSum, w.scale, bias ? bias.ptr : 0, reduceRange, relu, out);
}

const NO_STATE = (who: string): Error =>
  new Error(
    `${who} holds int8 weights, not PyTorch's float parameters, so a quantised model has no float state_dict: ` +
      "load weights into the float model (loadStateDict) and quantise it again with " +
      "MultimodalModelOptimizer.quantizeModel",
  );

/**
 * torch.nn.quantized.dynamic.Linear: made from a float nn.Linear by MultimodalModelOptimizer.quantizeModel.
 * @example
 * const q = DynamicQuantizedLinear.fromFloat(new Linear(64, 32));
 * const y = q.forward(Tensor.zeros([2, 64])); // [2, 32]
 */
export class DynamicQuantizedLinear extends Layer {
  private constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    private readonly qweight: QuantizedWeight,
    private readonly qbias: Parameter | null,
    readonly reduceRange: boolean,
  ) {
    super();
  }

  static fromFloat(lin: Linear, options: { reduceRange?: boolean } = {}): DynamicQuantizedLinear {
    if (!(lin instanceof Linear))
      throw new Error(
        `DynamicQuantizedLinear.fromFloat: expected an nn.Linear, ` +
          `got ${lin === null ? "null" : typeof lin === "object" ? (lin as object).constructor.name : typeof lin}`,
      );
    return new DynamicQuantizedLinear(
      lin.inFeatures,
      lin.outFeatures,
      new QuantizedWeight(lin.weight),
      lin.bias?.clone() ?? null,
      options.reduceRange ?? true,
    );
  }

  /** The qint8 weight codes (N, K) and their scale, as torch's weight().int_repr() and q_scale(). */
  weight(): { codes: Int8Array; scale: number; shape: readonly [number, number] } {
    return { codes: this.qweight.codes(), scale: this.qweight.scale, shape: this.qweight.shape };
  }

  run(x: Buf, act = 0): Buf {
    expectFloat("DynamicQuantizedLinear", x);
    expectShape(
      "DynamicQuantizedLinear",
      "input",
      x,
      x.shape.length >= 1 && x.shape[x.shape.length - 1] === this.inFeatures,
      `(..., ${this.inFeatures})`,
    );
    const y = empty([...x.shape.slice(0, -1), this.outFeatures]);
    dynamicLinear(
      x.ptr,
      size(x) / this.inFeatures,
      this.inFeatures,
      this.qweight,
      this.qbias,
      this.reduceRange,
      act === 1,
      y.ptr,
    );
    return y;
  }

  override namedParameters(): Array<[string, Parameter]> {
    throw NO_STATE("DynamicQuantizedLinear");
  }
  override numParameters(): number {
    return this.inFeatures * this.outFeatures + (this.qbias ? this.outFeatures : 0);
  }
  override dispose(): void {
    this.qweight.dispose();
    this.qbias?.dispose();
  }
}

/**
 * torch.nn.quantized.dynamic.LSTM: made from a float nn.LSTM by MultimodalModelOptimizer.quantizeModel.  As
 * torch does on CPU, each layer's input projection quantises the whole (T, B, I) sequence once (both
 * directions share it) and every step quantises h_{t-1} (B, H) before the recurrent product.
 * @example
 * const q = DynamicQuantizedLSTM.fromFloat(new LSTM(40, 64, { batchFirst: true }));
 * const { output } = q.forward(Tensor.zeros([1, 10, 40])); // [1, 10, 64]
 */
export class DynamicQuantizedLSTM extends LSTM {
  private qw!: Map<string, QuantizedWeight>;
  private qb!: Map<string, Parameter>;
  private reduceRange_ = true;

  static fromFloat(lstm: LSTM, options: { reduceRange?: boolean } = {}): DynamicQuantizedLSTM {
    if (!(lstm instanceof LSTM))
      throw new Error(
        `DynamicQuantizedLSTM.fromFloat: expected an nn.LSTM, got ${lstm === null ? "null" : typeof lstm}`,
      );
    const q = Object.create(DynamicQuantizedLSTM.prototype) as DynamicQuantizedLSTM;
    const cfg = q as unknown as Record<string, unknown>;
    for (const f of ["inputSize", "hiddenSize", "numLayers", "batchFirst", "bidirectional", "hasBias"])
      cfg[f] = (lstm as unknown as Record<string, unknown>)[f];
    q.qw = new Map();
    q.qb = new Map();
    q.reduceRange_ = options.reduceRange ?? true;
    for (const [name, p] of lstm.namedParameters()) {
      if (name.startsWith("weight_")) q.qw.set(name, new QuantizedWeight(p));
      else q.qb.set(name, p.clone());
    }
    return q;
  }

  protected override direction(
    x: Buf,
    layer: number,
    reverse: boolean,
    out: Buf,
    colOff: number,
    hN: number,
    cN: number,
  ): void {
    const heap = core.heap();
    const [B, T, I] = x.shape;
    const H = this.hiddenSize,
      G = 4 * H,
      ldo = out.shape[2];
    const sfx = `_l${layer}${reverse ? "_reverse" : ""}`;
    const wih = this.qw.get(`weight_ih${sfx}`)!,
      whh = this.qw.get(`weight_hh${sfx}`)!;
    const bih = this.qb.get(`bias_ih${sfx}`) ?? null,
      bhh = this.qb.get(`bias_hh${sfx}`) ?? null;
    heap.f32(cN, B * H).fill(0);
    heap.scope(() => {
      const gi = heap.alloc(B * T * G * 4); // (B, T, 4H): the whole sequence's input products, one activation scale
      dynamicLinear(x.ptr, B * T, I, wih, bih, this.reduceRange_, false, gi);
      const h = heap.alloc(B * H * 4),
        gh = heap.alloc(B * G * 4); // h (B, H) contiguous: quantised as one tensor
      heap.f32(h, B * H).fill(0);
      for (let s = 0; s < T; s++) {
        const t = reverse ? T - 1 - s : s;
        dynamicLinear(h, B, H, whh, bhh, this.reduceRange_, false, gh);
        core.lstmCellStep(B, H, gh, gi + t * G * 4, T * G, cN, h, H);
        for (let b = 0; b < B; b++)
          heap.f32(out.ptr + ((b * T + t) * ldo + colOff) * 4, H).set(heap.f32(h + b * H * 4, H));
      }
      heap.f32(hN, B * H).set(heap.f32(h, B * H));
    });
  }

  protected override bothDirections(x: Buf, layer: number, out: Buf, hN: [number, number], cN: [number, number]): void {
    this.direction(x, layer, false, out, 0, hN[0], cN[0]);
    this.direction(x, layer, true, out, this.hiddenSize, hN[1], cN[1]);
  }

  override namedParameters(): Array<[string, Parameter]> {
    throw NO_STATE("DynamicQuantizedLSTM");
  }
  override numParameters(): number {
    let n = 0;
    for (const w of this.qw.values()) n += w.shape[0] * w.shape[1];
    for (const b of this.qb.values()) n += b.numel;
    return n;
  }
  override dispose(): void {
    for (const w of this.qw.values()) w.dispose();
    for (const b of this.qb.values()) b.dispose();
  }
}

/** True when a dynamically quantised layer sits anywhere in m (its outputs then depend on the batch). */
export function hasDynamicQuantization(m: unknown): boolean {
  if (m instanceof DynamicQuantizedLinear || m instanceof DynamicQuantizedLSTM) return true;
  return m instanceof Module && m.namedChildren().some(([, c]) => hasDynamicQuantization(c));
}
