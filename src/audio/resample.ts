// torchaudio.functional.resample (0.13) with its defaults: sinc_interp_hann, lowpass_filter_width 6, rolloff
// 0.99.  torchaudio applies its polyphase kernel as a conv1d with stride orig (after dividing both rates by
// their gcd).  Outside the Hann window's support (about 2 x 6 zero crossings) a phase's taps are ~1e-16
// (f32 cos(pi/2)^2 residues, not exact zeros): their whole contribution is below 1e-13 of the signal, far
// under an f32 ulp, so the kernel here sums only each phase's span of taps above 1e-12 of the largest tap
// (44.1 -> 16 kHz: 34 of 475 taps).
import * as core from "../core/index.js";
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

/**
 * Resamples (..., time) from origFreq to newFreq Hz; output length ceil(newFreq * time / origFreq).
 * @example
 * const y16k = resample(x44k, 44100, 16000);
 */
export function resample(waveform: Tensor, origFreq: number, newFreq: number, options: ResampleOptions = {}): Tensor {
  const who = "resample";
  if (!(waveform instanceof Tensor) || waveform.dtype !== "float32" || waveform.ndim < 1) {
    throw new Error(
      `${who}: waveform must be a float32 Tensor (..., time), ` +
        `got ${waveform instanceof Tensor ? `${waveform.dtype} ${fmtShape(waveform.shape)}` : typeof waveform}`,
    );
  }
  for (const [n, v] of [
    ["origFreq", origFreq],
    ["newFreq", newFreq],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${who}: ${n} must be a positive integer, got ${v}`);
  }
  const lw = options.lowpassFilterWidth ?? 6,
    rolloff = options.rolloff ?? 0.99;
  if ((options.resamplingMethod ?? "sinc_interp_hann") !== "sinc_interp_hann")
    throw new Error(`${who}: only resamplingMethod "sinc_interp_hann" is supported in this build`);
  if (!(lw > 0) || !(rolloff > 0 && rolloff <= 1))
    throw new Error(`${who}: need lowpassFilterWidth > 0 and 0 < rolloff <= 1`);
  if (origFreq === newFreq) return waveform.clone();
  const g = gcd(origFreq, newFreq);
  const orig = origFreq / g,
    nw = newFreq / g;
  const L = waveform.shape[waveform.ndim - 1];
  const rows = L === 0 ? 0 : waveform.size / L;
  const target = Math.ceil((nw * L) / orig);
  const heap = core.heap();
  const kern = core.resampleKernel(orig, nw, lw, rolloff);
  const bad = heap.scope(() => core.countNonfinite(heap.put(waveform.data), waveform.size));
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
      core.resamplePoly(x, orig, nw, kern, y, target);
      out.set(heap.f32(y, target), r * target);
    }
  });
  return new Tensor(out, [...waveform.shape.slice(0, -1), target]);
}
