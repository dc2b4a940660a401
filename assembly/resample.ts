// torchaudio.functional.resample's windowed-sinc kernel (sinc_interp_hann), evaluated step by step in f32 as
// torchaudio 0.13 does for a float32 waveform (_get_sinc_resample_kernel).

/**
 * Taps i0 .. i0+n-1 of phase j of the polyphase filter into out (n floats).  Each tap is evaluated on its own (the
 * same f32 steps for any i0, n), so computing only the window's support of every phase gives exactly the taps the
 * full (newFreq, 2*width + origFreq) kernel holds there.  origFreq/newFreq already divided by their gcd;
 * width = ceil(lowpassWidth * origFreq / baseFreq), baseFreq = min(orig, new) * rolloff.
 */
export function sinc_resample_taps(
  origFreq: i32, newFreq: i32, width: i32, lowpassWidth: f64, baseFreq: f64, j: i32, i0: i32, n: i32, out: usize
): void {
  const lw = <f32>lowpassWidth;
  const bf = <f32>baseFreq;
  const pi = <f32>Math.PI;
  const scale = <f32>(baseFreq / <f64>origFreq);
  const tj: f32 = <f32>(-j) / <f32>newFreq;
  for (let q = 0; q < n; q++) {
    const i = i0 + q;
    const idx: f32 = <f32>(i - width) / <f32>origFreq;
    let t: f32 = (tj + idx) * bf;
    t = min(lw, max(-lw, t));
    let w: f32 = Mathf.cos(t * pi / lw / <f32>2);
    w = w * w;
    const tp: f32 = t * pi;
    const k: f32 = tp == 0 ? <f32>1 : Mathf.sin(tp) / tp;
    store<f32>(out + (<usize>q << 2), k * (w * scale));
  }
}

/**
 * Applies a compact polyphase kernel to a zero-padded signal x: output sample f*newFreq + j is the dot product of
 * phase j's len_j significant taps (stored from float offs_j of kernel) with x[f*origFreq + lo_j ...] (the caller
 * keeps only the taps above ~1e-12 of the largest: the rest are ~1e-16 residues).  Writes `target` samples.
 */
export function resample_poly_f32(
  x: usize, origFreq: i32, newFreq: i32, kernel: usize, offs: usize, lo: usize, len: usize, out: usize, target: i32
): void {
  let o = 0;
  for (let f = 0; o < target; f++) {
    const xf = x + (<usize>f * origFreq << 2);
    for (let j = 0; j < newFreq && o < target; j++, o++) {
      const l = load<i32>(lo + (<usize>j << 2)), n = load<i32>(len + (<usize>j << 2));
      const kp = kernel + (<usize>load<i32>(offs + (<usize>j << 2)) << 2), xp = xf + (<usize>l << 2);
      let a = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= n; i += 4) a = f32x4.add(a, f32x4.mul(v128.load(kp + (<usize>i << 2)), v128.load(xp +
          (<usize>i << 2))));
      let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a,
          3));
      for (; i < n; i++) s += load<f32>(kp + (<usize>i << 2)) * load<f32>(xp + (<usize>i << 2));
      store<f32>(out + (<usize>o << 2), s);
    }
  }
}
