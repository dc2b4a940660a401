// LSTM recurrences in PyTorch's gate order (i, f, g, o) over pointers, shared by F.lstmLayer, nn.LSTM and the
// quantised LSTM's float recurrence.  The input projection of a whole sequence is one GEMM; each step is one small
// GEMM for h W_hh^T + b_hh and the pointwise cell kernel (or, at batch < 4, the whole recurrence in one call).
import { kernels, heap as getHeap, pool as getPool } from "./runtime.js";
import { gemmPacked, packWeightScratch, Bias } from "./gemm.js";

/**
 * One pointwise LSTM cell over precomputed gates: gh (B, 4H) + gx rows (stride ldgx) -> c in place, h to hout
 * (stride ldh).
 */
export const lstmCellStep = (
  B: number,
  H: number,
  gh: number,
  gx: number,
  ldgx: number,
  c: number,
  hout: number,
  ldh: number,
): void => kernels().lstm_cell_f32(B, H, gh, gx, ldgx, c, hout, ldh);

/**
 * One LSTM layer direction over pointers, shared by F.lstmLayer and nn.LSTM.  x (B, T, I); packed W_ih (I -> 4H)
 * and W_hh (H -> 4H) with optional biases; writes h_t into out (B, T, ldo) at column colOff, leaves the last h in
 * hN (B, H) and updates c (B, H, holding c0 on entry) in place.  h0: (B, H) or 0 for zeros.
 * The input projection of all steps is one GEMM; h_{t-1} is read where the cell wrote it (row stride T * ldo),
 * so no step copies.  Batches below 4 use the GEMV kernel (same bits as sgemm's rows), walking W_hh's panels in
 * alternating order so they stay cached.
 */
export function lstmRecurrence(
  B: number,
  T: number,
  I: number,
  H: number,
  x: number,
  wih: number,
  bih: number,
  whh: number,
  bhh: number,
  reverse: boolean,
  out: number,
  ldo: number,
  colOff: number,
  h0: number,
  hN: number,
  c: number,
): void {
  const k = kernels(),
    heap = getHeap();
  const G = 4 * H;
  heap.scope(() => {
    if (B < 4 && T > 0) {
      // one-row products: the whole recurrence runs inside WASM (2 x T kernel calls saved per sequence)
      k.lstm_steps_f32(
        ...(oneRowJob(B, T, I, H, x, wih, bih, whh, bhh, reverse, out, ldo, colOff, h0, c) as Parameters<
          typeof k.lstm_steps_f32
        >),
      );
      copyLastH(B, T, H, out, ldo, colOff, reverse, hN);
      return;
    }
    const gx = heap.alloc(B * T * G * 4); // (B, T, 4H): x W_ih^T + b_ih for every step at once
    if (B * T > 0) gemmPacked(B * T, G, I, x, I, wih, gx, G, bih, bih ? Bias.perColumn : Bias.none, 0);
    const gh = heap.alloc(B * G * 4);
    let hp = h0,
      hs = H;
    if (!hp) {
      hp = heap.alloc(B * H * 4);
      heap.f32(hp, B * H).fill(0);
    }
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
export interface LSTMDirection {
  wih: number;
  bih: number;
  whh: number;
  bhh: number;
  hN: number;
  c: number;
}

/**
 * Both directions of a bidirectional layer at batch < 4 with worker threads: the input projections first (each
 * a GEMM that may itself use the threads), then the two recurrences at once, one per thread.  Each direction
 * runs exactly the code lstmRecurrence runs, so the bits are the same.  The caller checks pool and B.
 */
export function lstmBidirectional(
  B: number,
  T: number,
  I: number,
  H: number,
  x: number,
  dirs: [LSTMDirection, LSTMDirection],
  out: number,
  ldo: number,
): void {
  const heap = getHeap();
  heap.scope(() => {
    const jobs = dirs.map((d, i) =>
      oneRowJob(B, T, I, H, x, d.wih, d.bih, d.whh, d.bhh, i === 1, out, ldo, i * H, 0, d.c),
    );
    getPool()!.run("lstm_steps_f32", jobs);
    dirs.forEach((d, i) => copyLastH(B, T, H, out, ldo, i * H, i === 1, d.hN));
  });
}

/**
 * One direction's input projection for every step (one GEMM, in the caller's scratch frame) and the arguments
 * of lstm_steps_f32 that runs its recurrence.  h0 0 = zeros.
 */
function oneRowJob(
  B: number,
  T: number,
  I: number,
  H: number,
  x: number,
  wih: number,
  bih: number,
  whh: number,
  bhh: number,
  reverse: boolean,
  out: number,
  ldo: number,
  colOff: number,
  h0: number,
  c: number,
): number[] {
  const heap = getHeap();
  const G = 4 * H;
  const gx = heap.alloc(B * T * G * 4); // (B, T, 4H): x W_ih^T + b_ih for every step at once
  gemmPacked(B * T, G, I, x, I, wih, gx, G, bih, bih ? Bias.perColumn : Bias.none, 0);
  const gh = heap.alloc(B * G * 4);
  let hp = h0;
  if (!hp) {
    hp = heap.alloc(B * H * 4);
    heap.f32(hp, B * H).fill(0);
  }
  return [B, T, H, gx, whh, bhh, bhh ? Bias.perColumn : Bias.none, reverse ? 1 : 0, out, ldo, colOff, hp, c, gh];
}

/** hN (B, H) = the last step's h (the first step for the reverse direction), read from out. */
function copyLastH(
  B: number,
  T: number,
  H: number,
  out: number,
  ldo: number,
  colOff: number,
  reverse: boolean,
  hN: number,
): void {
  const heap = getHeap();
  const last = reverse ? 0 : T - 1;
  for (let b = 0; b < B; b++) heap.f32(hN + b * H * 4, H).set(heap.f32(out + ((b * T + last) * ldo + colOff) * 4, H));
}

/**
 * One LSTM layer direction from row-major weights (F.lstmLayer): W_ih (4H, I) and W_hh (4H, H) packed into scratch,
 * then lstmRecurrence writing out (B, T, H); hN (B, H) gets the last h, c (B, H, holding c0) is updated in place.
 */
export function lstmLayerRowMajor(
  B: number,
  T: number,
  I: number,
  H: number,
  x: number,
  wih: number,
  bih: number,
  whh: number,
  bhh: number,
  reverse: boolean,
  out: number,
  h0: number,
  hN: number,
  c: number,
): void {
  const h = getHeap();
  h.scope(() => {
    const G = 4 * H;
    lstmRecurrence(
      B,
      T,
      I,
      H,
      x,
      packWeightScratch(wih, G, I),
      bih,
      packWeightScratch(whh, G, H),
      bhh,
      reverse,
      out,
      H,
      0,
      h0,
      hN,
      c,
    );
  });
}
