// torchaudio.functional.melscale_fbanks (0.13), evaluated in f32 as torchaudio does with float32 tensors:
// linspace in f32, mel <-> hz conversions per point, triangular slopes, optional Slaney area norm.

@inline function hzToMel(f: f64, htk: i32): f64 {
  if (htk) return 2595.0 * Math.log10(1.0 + f / 700.0);
  const fsp = 200.0 / 3.0;
  let m = f / fsp;
  if (f >= 1000.0) m = 15.0 + Math.log(f / 1000.0) / (Math.log(6.4) / 27.0);
  return m;
}

@inline function melToHz(m: f32, htk: i32): f32 {
  if (htk) return <f32>700.0 * (<f32>Math.pow(10.0, <f64>(m / <f32>2595.0)) - <f32>1.0);
  const fsp: f32 = <f32>(200.0 / 3.0);
  let f: f32 = fsp * m;
  if (m >= <f32>15.0) f = <f32>1000.0 * <f32>Math.exp(<f64>(<f32>(Math.log(6.4) / 27.0) * (m - <f32>15.0)));
  return f;
}

// f32 fused multiply-add: the product of two f32 is exact in f64, so one f64 add and one rounding to f32.
@inline function fmaf(a: f32, b: f32, c: f32): f32 {
  return <f32>(<f64>a * <f64>b + <f64>c);
}

/**
 * torch.linspace(start, end, steps)[i] for float32 exactly as torch 1.13's CPU kernel computes it (AVX2 build,
 * matched against Debian's torch on every size the mel code uses): blocks of two 8-lane vectors whose base is
 * start + step*blk (or end - step*(steps-1-blk) from the halfway point on), fused; lane j adds j*step unfused;
 * the tail past the last whole pair of vectors is scalar, fused.
 */
function linspace(start: f32, end: f32, steps: i32, i: i32): f32 {
  if (steps == 1) return start;
  const step: f32 = (end - start) / <f32>(steps - 1);
  const halfway = steps / 2;
  const vecEnd = (steps / 16) * 16;
  if (i < vecEnd) {
    const blk = (i / 8) * 8;
    const base: f32 = blk < halfway ? fmaf(step, <f32>blk, start) : fmaf(-step, <f32>(steps - blk - 1), end);
    return base + <f32>(i - blk) * step;
  }
  return i < halfway ? fmaf(step, <f32>i, start) : fmaf(-step, <f32>(steps - i - 1), end);
}

/**
 * fb (nFreqs, nMels) for a one-sided spectrum of nFreqs bins at sampleRate.  norm: 0 none, 1 slaney.
 * htk: 1 HTK mel scale, 0 Slaney.  work: (nMels + 2) floats.
 */
export function melscale_fbanks_f32(
  nFreqs: i32, fMin: f32, fMax: f32, nMels: i32, sampleRate: i32, norm: i32, htk: i32, work: usize, fb: usize
): void {
  const mMin = <f32>hzToMel(<f64>fMin, htk);
  const mMax = <f32>hzToMel(<f64>fMax, htk);
  const np = nMels + 2;
  for (let i = 0; i < np; i++) store<f32>(work + (<usize>i << 2), melToHz(linspace(mMin, mMax, np, i), htk));
  const top = <f32>(sampleRate / 2); // torchaudio: linspace(0, sample_rate // 2, n_freqs)
  for (let k = 0; k < nFreqs; k++) {
    const f = linspace(0, top, nFreqs, k);
    for (let m = 0; m < nMels; m++) {
      const p0 = load<f32>(work + (<usize>m << 2));
      const p1 = load<f32>(work + (<usize>(m + 1) << 2));
      const p2 = load<f32>(work + (<usize>(m + 2) << 2));
      const down = (<f32>-1.0 * (p0 - f)) / (p1 - p0);
      const up = (p2 - f) / (p2 - p1);
      let v = max(<f32>0, min(down, up));
      if (norm == 1) v = v * (<f32>2.0 / (p2 - p0));
      store<f32>(fb + ((<usize>k * nMels + m) << 2), v);
    }
  }
}
