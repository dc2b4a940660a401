// LSTM cell pointwise step, PyTorch's gate order (i, f, g, o):
//   gates = (h W_hh^T + b_hh) + (x W_ih^T + b_ih)      (both products come from sgemm)
//   c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = sigmoid(o) * tanh(c')
//   (the relaxed build fuses the second product and the sum: assembly/madd.ts)
import { vsigmoid, vtanh } from "./vmath";
import { sgemv_packed } from "./gemm";
import { madd } from "./madd";

@inline function step(gh: v128, gx: v128): v128 { return f32x4.add(gh, gx); }

/**
 * gh (B, 4H) recurrent products, gx (B, 4H) input products (row stride ldgx), c (B, H) updated in place,
 * h written to hout (row stride ldh).  gh is clobbered.
 */
export function lstm_cell_f32(B: i32, H: i32, gh: usize, gx: usize, ldgx: i32, c: usize, hout: usize, ldh: i32): void {
  for (let b = 0; b < B; b++) {
    const ph = gh + (<usize>b * 4 * H << 2);
    const px = gx + (<usize>b * ldgx << 2);
    const pc = c + (<usize>b * H << 2);
    const po = hout + (<usize>b * ldh << 2);
    let j = 0;
    for (; j + 4 <= H; j += 4) cell4(ph, px, pc, po, H, <usize>j << 2);
    for (; j < H; j++) cell1(ph, px, pc, po, H, <usize>j << 2);
  }
}

@inline function cell4(ph: usize, px: usize, pc: usize, po: usize, H: i32, o: usize): void {
  const hb = <usize>H << 2;
  const i = vsigmoid(step(v128.load(ph + o), v128.load(px + o)));
  const f = vsigmoid(step(v128.load(ph + hb + o), v128.load(px + hb + o)));
  const g = vtanh(step(v128.load(ph + 2 * hb + o), v128.load(px + 2 * hb + o)));
  const og = vsigmoid(step(v128.load(ph + 3 * hb + o), v128.load(px + 3 * hb + o)));
  const c2 = madd(i, g, f32x4.mul(f, v128.load(pc + o)));
  v128.store(pc + o, c2);
  v128.store(po + o, f32x4.mul(og, vtanh(c2)));
}

// The tail goes through the same vector code on lane 0, so each unit's bits do not depend on H % 4.
@inline function cell1(ph: usize, px: usize, pc: usize, po: usize, H: i32, o: usize): void {
  const hb = <usize>H << 2;
  const i = vsigmoid(step(f32x4.splat(load<f32>(ph + o)), f32x4.splat(load<f32>(px + o))));
  const f = vsigmoid(step(f32x4.splat(load<f32>(ph + hb + o)), f32x4.splat(load<f32>(px + hb + o))));
  const g = vtanh(step(f32x4.splat(load<f32>(ph + 2 * hb + o)), f32x4.splat(load<f32>(px + 2 * hb + o))));
  const og = vsigmoid(step(f32x4.splat(load<f32>(ph + 3 * hb + o)), f32x4.splat(load<f32>(px + 3 * hb + o))));
  const c2 = madd(i, g, f32x4.mul(f, f32x4.splat(load<f32>(pc + o))));
  store<f32>(pc + o, f32x4.extract_lane(c2, 0));
  store<f32>(po + o, f32x4.extract_lane(f32x4.mul(og, vtanh(c2)), 0));
}

/**
 * The whole recurrence of one LSTM layer and direction for a small batch (B < 4: one-row products), so the
 * 2 x T kernel calls per sequence stay inside WASM.  Per step t (reversed when reverse = 1):
 *   gh (B, 4H) = h_prev W_hh^T + b_hh;  cell(gh, gx[:, t]) -> c, out[:, t, colOff:colOff+H]
 * gx (B, T, 4H) input products; h0 (B, H) with row stride H; out row stride ldo (floats), batch stride T*ldo.
 */
export function lstm_steps_f32(
  B: i32, T: i32, H: i32, gx: usize, whh: usize, bhh: usize, biasMode: i32, reverse: i32,
  out: usize, ldo: i32, colOff: i32, h0: usize, c: usize, gh: usize,
): void {
  const G = 4 * H;
  let hp = h0, hs = H;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    for (let b = 0; b < B; b++) sgemv_packed(G, H, hp + (<usize>(b * hs) << 2), whh, gh + (<usize>(b * G) << 2), bhh,
        biasMode, s & 1);
    const ho = out + (<usize>(t * ldo + colOff) << 2);
    lstm_cell_f32(B, H, gh, gx + (<usize>(t * G) << 2), T * G, c, ho, T * ldo);
    hp = ho;
    hs = T * ldo;
  }
}
