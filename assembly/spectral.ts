// Small spectral helpers for the torchaudio transforms.
import { vexp, vlog } from "./vmath";

const INV_LN10: f32 = 0.434294481903251828;

/** out = multiplier * log10(max(x, amin)) (torchaudio.functional.amplitude_to_DB with ref 1). (n) */
export function amplitude_to_db_f32(x: usize, out: usize, n: i32, multiplier: f32, amin: f32): void {
  const va = f32x4.splat(amin), vm = f32x4.splat(multiplier), vi = f32x4.splat(INV_LN10);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(vm, f32x4.mul(vlog(f32x4.max(v128.load(x + o), va)), vi)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = f32x4.mul(vm, f32x4.mul(vlog(f32x4.max(f32x4.splat(load<f32>(x + o)), va)), vi));
    store<f32>(out + o, f32x4.extract_lane(v, 0));
  }
}

/** out = max(x, floor) elementwise. (n) */
export function clamp_min_f32(x: usize, out: usize, n: i32, floor: f32): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), max(load<f32>(x + (<usize>i << 2)), floor));
}

/** out = x^p for x >= 0 (0^p = 0 for p > 0), as exp(p log x). (n) */
export function pow_f32(x: usize, out: usize, n: i32, p: f32): void {
  const vp = f32x4.splat(p);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const r = vexp(f32x4.mul(vp, vlog(v)));
    v128.store(out + o, v128.andnot(r, f32x4.eq(v, f32x4.splat(0))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v == 0 ? 0 : f32x4.extract_lane(vexp(f32x4.mul(vp, vlog(f32x4.splat(v)))), 0));
  }
}

/**
 * torchaudio.functional.create_dct (DCT-II) as float32: dct[k, n] = cos(pi / nMels * (n + 0.5) * k), then
 * ortho scaling (row 0 by 1/sqrt(2), all by sqrt(2 / nMels)) or x2.  Written transposed: out (nMfcc, nMels).
 */
export function create_dct_f32(nMfcc: i32, nMels: i32, ortho: i32, out: usize): void {
  const c: f32 = <f32>(Math.PI / <f64>nMels);
  const s0: f32 = <f32>(1.0 / Math.sqrt(2.0));
  const s: f32 = <f32>Math.sqrt(2.0 / <f64>nMels);
  for (let k = 0; k < nMfcc; k++) {
    for (let n = 0; n < nMels; n++) {
      let v: f32 = Mathf.cos(c * (<f32>n + <f32>0.5) * <f32>k);
      if (ortho) {
        if (k == 0) v *= s0;
        v *= s;
      } else {
        v *= <f32>2;
      }
      store<f32>(out + ((<usize>k * nMels + n) << 2), v);
    }
  }
}
