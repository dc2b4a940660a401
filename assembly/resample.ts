// torchaudio.functional.resample's windowed-sinc kernel (sinc_interp_hann), evaluated step by step in f32 as
// torchaudio 0.13 does for a float32 waveform (_get_sinc_resample_kernel).

/**
 * out (newFreq, 2*width + origFreq): phase j of the polyphase filter.  origFreq/newFreq already divided by
 * their gcd; width = ceil(lowpassWidth * origFreq / baseFreq), baseFreq = min(orig, new) * rolloff.
 */
export function sinc_resample_kernel(origFreq: i32, newFreq: i32, width: i32, lowpassWidth: f64, baseFreq: f64, out: usize): void {
  const K = 2 * width + origFreq;
  const lw = <f32>lowpassWidth;
  const bf = <f32>baseFreq;
  const pi = <f32>Math.PI;
  const scale = <f32>(baseFreq / <f64>origFreq);
  for (let j = 0; j < newFreq; j++) {
    const tj: f32 = <f32>(-j) / <f32>newFreq;
    for (let i = 0; i < K; i++) {
      const idx: f32 = <f32>(i - width) / <f32>origFreq;
      let t: f32 = (tj + idx) * bf;
      t = min(lw, max(-lw, t));
      let w: f32 = Mathf.cos(t * pi / lw / <f32>2);
      w = w * w;
      const tp: f32 = t * pi;
      const k: f32 = tp == 0 ? <f32>1 : Mathf.sin(tp) / tp;
      store<f32>(out + ((<usize>j * K + i) << 2), k * (w * scale));
    }
  }
}

/**
 * Applies the polyphase kernel (newFreq, K) to a zero-padded signal x: output sample f*newFreq + j is the dot
 * product of phase j's taps [lo_j, lo_j + len_j) with x[f*origFreq + lo_j ...] (the caller drops the ~1e-16
 * taps outside the window's support).  Writes `target` samples.
 */
export function resample_poly_f32(
  x: usize, origFreq: i32, newFreq: i32, kernel: usize, K: i32, lo: usize, len: usize, out: usize, target: i32
): void {
  let o = 0;
  for (let f = 0; o < target; f++) {
    const xf = x + (<usize>f * origFreq << 2);
    for (let j = 0; j < newFreq && o < target; j++, o++) {
      const l = load<i32>(lo + (<usize>j << 2)), n = load<i32>(len + (<usize>j << 2));
      const kp = kernel + ((<usize>j * K + l) << 2), xp = xf + (<usize>l << 2);
      let a = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= n; i += 4) a = f32x4.add(a, f32x4.mul(v128.load(kp + (<usize>i << 2)), v128.load(xp + (<usize>i << 2))));
      let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
      for (; i < n; i++) s += load<f32>(kp + (<usize>i << 2)) * load<f32>(xp + (<usize>i << 2));
      store<f32>(out + (<usize>o << 2), s);
    }
  }
}
