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
