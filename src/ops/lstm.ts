// LSTM in PyTorch's gate order (i, f, g, o).  The input projection of a whole sequence is one GEMM;
// each step is one small GEMM for h W_hh^T + b_hh and the pointwise cell kernel.
import { Tensor, fmtShape } from "../tensor.js";
import { rt } from "../bindings/module.js";
import { f32, fail, putFinite, shapeIs } from "./check.js";
import { gemmPacked, Bias } from "./gemm.js";

export interface LSTMWeights {
  weightIh: Tensor; // (4H, I)
  weightHh: Tensor; // (4H, H)
  biasIh?: Tensor | null; // (4H)
  biasHh?: Tensor | null; // (4H)
}

function checkWeights(op: string, w: LSTMWeights, I: number): number {
  f32(op, "weightIh", w.weightIh); f32(op, "weightHh", w.weightHh);
  if (w.weightHh.ndim !== 2 || w.weightHh.shape[0] !== 4 * w.weightHh.shape[1]) {
    fail(op, `weightHh must have shape [4*hidden, hidden], got ${fmtShape(w.weightHh.shape)}`);
  }
  const H = w.weightHh.shape[1];
  shapeIs(op, "weightIh", w.weightIh, [4 * H, I]);
  if (w.biasIh) { f32(op, "biasIh", w.biasIh); shapeIs(op, "biasIh", w.biasIh, [4 * H]); }
  if (w.biasHh) { f32(op, "biasHh", w.biasHh); shapeIs(op, "biasHh", w.biasHh, [4 * H]); }
  return H;
}

/**
 * One LSTM layer over a batch-first sequence: x (B, T, I) -> { output (B, T, H), h (B, H), c (B, H) },
 * as torch.nn.LSTM(batch_first=True) with one layer; reverse runs the sequence backwards (the
 * bidirectional half), h0 / c0 default to zeros.
 */
export function lstmLayer(
  x: Tensor, w: LSTMWeights, options: { h0?: Tensor | null; c0?: Tensor | null; reverse?: boolean } = {},
): { output: Tensor; h: Tensor; c: Tensor } {
  const op = "F.lstmLayer";
  f32(op, "input", x);
  if (x.ndim !== 3) fail(op, `input must be 3-D (batch, seq, features), got shape ${fmtShape(x.shape)}`);
  const [B, T, I] = x.shape;
  const H = checkWeights(op, w, I);
  if (options.h0) { f32(op, "h0", options.h0); shapeIs(op, "h0", options.h0, [B, H]); }
  if (options.c0) { f32(op, "c0", options.c0); shapeIs(op, "c0", options.c0, [B, H]); }
  const { k, heap } = rt();
  return heap.scope(() => {
    const px = putFinite(op, "input", x);
    const pwi = putFinite(op, "weightIh", w.weightIh), pwh = putFinite(op, "weightHh", w.weightHh);
    const pbi = w.biasIh ? putFinite(op, "biasIh", w.biasIh) : 0;
    const pbh = w.biasHh ? putFinite(op, "biasHh", w.biasHh) : 0;
    const G = 4 * H;
    const wih = heap.alloc(k.sgemm_packed_size(I, G) * 4), whh = heap.alloc(k.sgemm_packed_size(H, G) * 4);
    k.sgemm_pack_b(pwi, 1, I, I, G, wih);
    k.sgemm_pack_b(pwh, 1, H, H, G, whh);
    const h0 = options.h0 ? heap.put(options.h0.data) : 0;
    const c = heap.alloc(B * H * 4), h = heap.alloc(B * H * 4);
    if (options.c0) heap.f32(c, B * H).set(options.c0.data as Float32Array); else heap.f32(c, B * H).fill(0);
    const out = heap.alloc(B * T * H * 4); // (B, T, H)
    lstmRecurrence(B, T, I, H, px, wih, pbi, whh, pbh, !!options.reverse, out, H, 0, h0, h, c);
    return {
      output: new Tensor(heap.takeF32(out, B * T * H), [B, T, H]),
      h: new Tensor(heap.takeF32(h, B * H), [B, H]),
      c: new Tensor(heap.takeF32(c, B * H), [B, H]),
    };
  });
}

/**
 * One LSTM layer direction over pointers, shared by F.lstmLayer and nn.LSTM.  x (B, T, I); packed W_ih (I -> 4H)
 * and W_hh (H -> 4H) with optional biases; writes h_t into out (B, T, ldo) at column colOff, leaves the last h in
 * hN (B, H) and updates c (B, H, holding c0 on entry) in place.  h0: (B, H) or 0 for zeros.
 * The input projection of all steps is one GEMM; h_{t-1} is read where the cell wrote it (row stride T * ldo),
 * so no step copies.  Batches below 4 use the GEMV kernel (same bits as sgemm's rows), walking W_hh's panels in
 * alternating order so they stay cached.
 */
export function lstmRecurrence(
  B: number, T: number, I: number, H: number, x: number, wih: number, bih: number, whh: number, bhh: number,
  reverse: boolean, out: number, ldo: number, colOff: number, h0: number, hN: number, c: number,
): void {
  const { k, heap } = rt();
  const G = 4 * H;
  heap.scope(() => {
    if (B < 4 && T > 0) {
      // one-row products: the whole recurrence runs inside WASM (2 x T kernel calls saved per sequence)
      k.lstm_steps_f32(...(oneRowJob(B, T, I, H, x, wih, bih, whh, bhh, reverse, out, ldo, colOff, h0, c) as Parameters<typeof k.lstm_steps_f32>));
      copyLastH(B, T, H, out, ldo, colOff, reverse, hN);
      return;
    }
    const gx = heap.alloc(B * T * G * 4); // (B, T, 4H): x W_ih^T + b_ih for every step at once
    if (B * T > 0) gemmPacked(B * T, G, I, x, I, wih, gx, G, bih, bih ? Bias.perColumn : Bias.none, 0);
    const gh = heap.alloc(B * G * 4);
    let hp = h0, hs = H;
    if (!hp) { hp = heap.alloc(B * H * 4); heap.f32(hp, B * H).fill(0); }
    const bm = bhh ? Bias.perColumn : Bias.none;
    for (let s = 0; s < T; s++) {
      const t = reverse ? T - 1 - s : s;
      gemmPacked(B, G, H, hp, hs, whh, gh, G, bhh, bm, 0);
      k.lstm_cell_f32(B, H, gh, gx + t * G * 4, T * G, c, out + (t * ldo + colOff) * 4, T * ldo);
      hp = out + (t * ldo + colOff) * 4;
      hs = T * ldo;
    }
    for (let b = 0; b < B; b++) heap.f32(hN + b * H * 4, H).set(heap.f32(hp + b * hs * 4, H));
  });
}

/** One direction's weights and state pointers for lstmBidirectional. */
export interface LSTMDirection { wih: number; bih: number; whh: number; bhh: number; hN: number; c: number }

/**
 * Both directions of a bidirectional layer at batch < 4 with worker threads: the input projections first (each
 * a GEMM that may itself use the threads), then the two recurrences at once, one per thread.  Each direction
 * runs exactly the code lstmRecurrence runs, so the bits are the same.  The caller checks pool and B.
 */
export function lstmBidirectional(B: number, T: number, I: number, H: number, x: number, dirs: [LSTMDirection, LSTMDirection], out: number, ldo: number): void {
  const { heap } = rt();
  heap.scope(() => {
    const jobs = dirs.map((d, i) => oneRowJob(B, T, I, H, x, d.wih, d.bih, d.whh, d.bhh, i === 1, out, ldo, i * H, 0, d.c));
    rt().pool!.run("lstm_steps_f32", jobs);
    dirs.forEach((d, i) => copyLastH(B, T, H, out, ldo, i * H, i === 1, d.hN));
  });
}

/**
 * One direction's input projection for every step (one GEMM, in the caller's scratch frame) and the arguments
 * of lstm_steps_f32 that runs its recurrence.  h0 0 = zeros.
 */
function oneRowJob(
  B: number, T: number, I: number, H: number, x: number, wih: number, bih: number, whh: number, bhh: number,
  reverse: boolean, out: number, ldo: number, colOff: number, h0: number, c: number,
): number[] {
  const { heap } = rt();
  const G = 4 * H;
  const gx = heap.alloc(B * T * G * 4); // (B, T, 4H): x W_ih^T + b_ih for every step at once
  gemmPacked(B * T, G, I, x, I, wih, gx, G, bih, bih ? Bias.perColumn : Bias.none, 0);
  const gh = heap.alloc(B * G * 4);
  let hp = h0;
  if (!hp) { hp = heap.alloc(B * H * 4); heap.f32(hp, B * H).fill(0); }
  return [B, T, H, gx, whh, bhh, bhh ? Bias.perColumn : Bias.none, reverse ? 1 : 0, out, ldo, colOff, hp, c, gh];
}

/** hN (B, H) = the last step's h (the first step for the reverse direction), read from out. */
function copyLastH(B: number, T: number, H: number, out: number, ldo: number, colOff: number, reverse: boolean, hN: number): void {
  const { heap } = rt();
  const last = reverse ? 0 : T - 1;
  for (let b = 0; b < B; b++) heap.f32(hN + b * H * 4, H).set(heap.f32(out + ((b * T + last) * ldo + colOff) * 4, H));
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
