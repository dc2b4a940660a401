// torchaudio.functional.resample (0.13) with its defaults: sinc_interp_hann, lowpass_filter_width 6, rolloff
// 0.99.  The polyphase kernel is a conv1d with stride orig (after dividing both rates by their gcd): one
// im2col + GEMM, the same arithmetic torchaudio's conv1d does.
import { rt } from "../bindings/module.js";
import { Tensor, fmtShape } from "../tensor.js";
import { gemmPacked, Bias } from "../ops/gemm.js";

export interface ResampleOptions {
  lowpassFilterWidth?: number;
  rolloff?: number;
  resamplingMethod?: "sinc_interp_hann";
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

const kernels = new Map<string, { ptr: number; width: number; K: number }>();

function kernel(orig: number, nw: number, lw: number, rolloff: number): { ptr: number; width: number; K: number } {
  const key = `${orig}/${nw}/${lw}/${rolloff}`;
  let k = kernels.get(key);
  if (k) return k;
  const { k: kr, heap } = rt();
  const base = Math.min(orig, nw) * rolloff;
  const width = Math.ceil((lw * orig) / base);
  const K = 2 * width + orig;
  const ptr = heap.allocPersistent(nw * K * 4);
  kr.sinc_resample_kernel(orig, nw, width, lw, base, ptr);
  k = { ptr, width, K };
  kernels.set(key, k);
  return k;
}

/**
 * Resamples (..., time) from origFreq to newFreq Hz; output length ceil(newFreq * time / origFreq).
 * @example
 * const y16k = resample(x44k, 44100, 16000);
 */
export function resample(waveform: Tensor, origFreq: number, newFreq: number, options: ResampleOptions = {}): Tensor {
  const who = "resample";
  if (!(waveform instanceof Tensor) || waveform.dtype !== "float32" || waveform.ndim < 1) {
    throw new Error(`${who}: waveform must be a float32 Tensor (..., time), got ${waveform instanceof Tensor ? `${waveform.dtype} ${fmtShape(waveform.shape)}` : typeof waveform}`);
  }
  for (const [n, v] of [["origFreq", origFreq], ["newFreq", newFreq]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${who}: ${n} must be a positive integer, got ${v}`);
  }
  const lw = options.lowpassFilterWidth ?? 6, rolloff = options.rolloff ?? 0.99;
  if ((options.resamplingMethod ?? "sinc_interp_hann") !== "sinc_interp_hann") throw new Error(`${who}: only resamplingMethod "sinc_interp_hann" is supported in this build`);
  if (!(lw > 0) || !(rolloff > 0 && rolloff <= 1)) throw new Error(`${who}: need lowpassFilterWidth > 0 and 0 < rolloff <= 1`);
  if (origFreq === newFreq) return waveform.clone();
  const g = gcd(origFreq, newFreq);
  const orig = origFreq / g, nw = newFreq / g;
  const L = waveform.shape[waveform.ndim - 1];
  const rows = L === 0 ? 0 : waveform.size / L;
  const target = Math.ceil((nw * L) / orig);
  const { k, heap } = rt();
  const kern = kernel(orig, nw, lw, rolloff);
  const bad = heap.scope(() => k.count_nonfinite_f32(heap.put(waveform.data), waveform.size));
  if (bad) throw new Error(`${who}: waveform holds ${bad} NaN or infinite values`);
  const out = new Float32Array(rows * target);
  heap.scope(() => {
    const Lp = L + 2 * kern.width + orig;
    const F = Math.floor((Lp - kern.K) / orig) + 1;
    const x = heap.alloc(Lp * 4);
    const cols = heap.alloc(k.sgemm_packed_size(kern.K, F) * 4);
    const y = heap.alloc(nw * F * 4);
    for (let r = 0; r < rows; r++) {
      const xv = heap.f32(x, Lp);
      xv.fill(0);
      xv.set((waveform.data as Float32Array).subarray(r * L, (r + 1) * L), kern.width);
      k.im2col_pack(x, 1, 1, Lp, 1, kern.K, 1, orig, 0, 0, 1, 1, 1, F, cols);
      gemmPacked(nw, F, kern.K, kern.ptr, kern.K, cols, y, F, 0, Bias.none, 0);
      const yv = heap.f32(y, nw * F);
      const o = r * target;
      for (let f = 0, i = 0; f < F && i < target; f++) for (let j = 0; j < nw && i < target; j++, i++) out[o + i] = yv[j * F + f];
    }
  });
  return new Tensor(out, [...waveform.shape.slice(0, -1), target]);
}
