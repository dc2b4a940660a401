// torchaudio.functional.resample (0.13) with its defaults: sinc_interp_hann, lowpass_filter_width 6, rolloff
// 0.99.  torchaudio applies its polyphase kernel as a conv1d with stride orig (after dividing both rates by
// their gcd).  Outside the Hann window's support (about 2 x 6 zero crossings) a phase's taps are ~1e-16
// (f32 cos(pi/2)^2 residues, not exact zeros): their whole contribution is below 1e-13 of the signal, far
// under an f32 ulp, so the kernel here sums only each phase's span of taps above 1e-12 of the largest tap
// (44.1 -> 16 kHz: 34 of 475 taps).
import { rt } from "../bindings/module.js";
import { Tensor, fmtShape } from "../tensor.js";

export interface ResampleOptions {
  lowpassFilterWidth?: number;
  rolloff?: number;
  resamplingMethod?: "sinc_interp_hann";
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

interface Kernel { ptr: number; width: number; K: number; lo: number; len: number }
const kernels = new Map<string, Kernel>();

function kernel(orig: number, nw: number, lw: number, rolloff: number): Kernel {
  const key = `${orig}/${nw}/${lw}/${rolloff}`;
  let k = kernels.get(key);
  if (k) return k;
  const { k: kr, heap } = rt();
  const base = Math.min(orig, nw) * rolloff;
  const width = Math.ceil((lw * orig) / base);
  const K = 2 * width + orig;
  const ptr = heap.allocPersistent(nw * K * 4);
  kr.sinc_resample_kernel(orig, nw, width, lw, base, ptr);
  // significant span of every phase
  const lo = heap.allocPersistent(nw * 4), len = heap.allocPersistent(nw * 4);
  const taps = heap.f32(ptr, nw * K), lov = heap.i32(lo, nw), lenv = heap.i32(len, nw);
  let peak = 0;
  for (let i = 0; i < nw * K; i++) peak = Math.max(peak, Math.abs(taps[i]));
  const tiny = peak * 1e-12;
  for (let j = 0; j < nw; j++) {
    let a = 0, b = K - 1;
    while (a < K && Math.abs(taps[j * K + a]) <= tiny) a++;
    while (b >= a && Math.abs(taps[j * K + b]) <= tiny) b--;
    lov[j] = a < K ? a : 0;
    lenv[j] = a < K ? b - a + 1 : 0;
  }
  k = { ptr, width, K, lo, len };
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
    const x = heap.alloc(Lp * 4);
    const y = heap.alloc(target * 4);
    for (let r = 0; r < rows; r++) {
      const xv = heap.f32(x, Lp);
      xv.fill(0);
      xv.set((waveform.data as Float32Array).subarray(r * L, (r + 1) * L), kern.width);
      k.resample_poly_f32(x, orig, nw, kern.ptr, kern.K, kern.lo, kern.len, y, target);
      out.set(heap.f32(y, target), r * target);
    }
  });
  return new Tensor(out, [...waveform.shape.slice(0, -1), target]);
}
