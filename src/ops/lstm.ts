// LSTM in PyTorch's gate order (i, f, g, o).  The input projection of a whole sequence is one GEMM;
// each step is one small GEMM for h W_hh^T + b_hh and the pointwise cell kernel.
import { heap as getHeap, lstmLayerRowMajor } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { f32, fail, putFinite, shapeIs } from "./check.js";

export interface LSTMWeights {
  weightIh: Tensor; // (4H, I)
  weightHh: Tensor; // (4H, H)
  biasIh?: Tensor | null; // (4H)
  biasHh?: Tensor | null; // (4H)
}

function checkWeights(op: string, w: LSTMWeights, I: number): number {
  f32(op, "weightIh", w.weightIh);
  f32(op, "weightHh", w.weightHh);
  if (w.weightHh.ndim !== 2 || w.weightHh.shape[0] !== 4 * w.weightHh.shape[1]) {
    fail(op, `weightHh must have shape [4*hidden, hidden], got ${fmtShape(w.weightHh.shape)}`);
  }
  const H = w.weightHh.shape[1];
  shapeIs(op, "weightIh", w.weightIh, [4 * H, I]);
  if (w.biasIh) {
    f32(op, "biasIh", w.biasIh);
    shapeIs(op, "biasIh", w.biasIh, [4 * H]);
  }
  if (w.biasHh) {
    f32(op, "biasHh", w.biasHh);
    shapeIs(op, "biasHh", w.biasHh, [4 * H]);
  }
  return H;
}

/**
 * One LSTM layer over a batch-first sequence: x (B, T, I) -> { output (B, T, H), h (B, H), c (B, H) },
 * as torch.nn.LSTM(batch_first=True) with one layer; reverse runs the sequence backwards (the
 * bidirectional half), h0 / c0 default to zeros.
 */
export function lstmLayer(
  x: Tensor,
  w: LSTMWeights,
  options: { h0?: Tensor | null; c0?: Tensor | null; reverse?: boolean } = {},
): { output: Tensor; h: Tensor; c: Tensor } {
  const op = "F.lstmLayer";
  f32(op, "input", x);
  if (x.ndim !== 3) fail(op, `input must be 3-D (batch, seq, features), got shape ${fmtShape(x.shape)}`);
  const [B, T, I] = x.shape;
  const H = checkWeights(op, w, I);
  if (options.h0) {
    f32(op, "h0", options.h0);
    shapeIs(op, "h0", options.h0, [B, H]);
  }
  if (options.c0) {
    f32(op, "c0", options.c0);
    shapeIs(op, "c0", options.c0, [B, H]);
  }
  const heap = getHeap();
  return heap.scope(() => {
    const px = putFinite(op, "input", x);
    const pwi = putFinite(op, "weightIh", w.weightIh),
      pwh = putFinite(op, "weightHh", w.weightHh);
    const pbi = w.biasIh ? putFinite(op, "biasIh", w.biasIh) : 0;
    const pbh = w.biasHh ? putFinite(op, "biasHh", w.biasHh) : 0;

    const h0 = options.h0 ? heap.put(options.h0.data) : 0;
    const c = heap.alloc(B * H * 4),
      h = heap.alloc(B * H * 4);
    if (options.c0) heap.f32(c, B * H).set(options.c0.data as Float32Array);
    else heap.f32(c, B * H).fill(0);
    const out = heap.alloc(B * T * H * 4); // (B, T, H)
    lstmLayerRowMajor(B, T, I, H, px, pwi, pbi, pwh, pbh, !!options.reverse, out, h0, h, c);
    return {
      output: new Tensor(heap.takeF32(out, B * T * H), [B, T, H]),
      h: new Tensor(heap.takeF32(h, B * H), [B, H]),
      c: new Tensor(heap.takeF32(c, B * H), [B, H]),
    };
  });
}

/** One LSTM cell step, as torch.nn.LSTMCell: input (B, I), h and c (B, H) -> { h, c }. */
export function lstmCell(input: Tensor, h: Tensor, c: Tensor, w: LSTMWeights): { h: Tensor; c: Tensor } {
  const op = "F.lstmCell";
  f32(op, "input", input);
  if (input.ndim !== 2) fail(op, `input must be 2-D (batch, features), got shape ${fmtShape(input.shape)}`);
  const [B, I] = input.shape;
  const r = lstmLayer(input.reshape([B, 1, I]), w, { h0: h, c0: c });
  return { h: r.h, c: r.c };
}
