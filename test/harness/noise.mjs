// Deterministic noise for the speech tests and scripts/eval/asr-conditions.mjs: one LCG stream per seed, white
// noise uniform in [-amp, amp), pink noise by Paul Kellet's filter of that white noise.

/** A stream of uniform numbers in [-1, 1) from `seed` (a 32-bit LCG: the same numbers on every engine). */
export function lcg(seed) {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

export function white(n, rnd, amp = 1) {
  return new Float32Array(n).map(() => amp * rnd());
}

export function pink(n, rnd, amp = 1) {
  let b0 = 0,
    b1 = 0,
    b2 = 0;
  return new Float32Array(n).map(() => {
    const w = rnd();
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    return (amp * (b0 + b1 + b2 + w * 0.1848)) / 3;
  });
}

/** `w` plus `noise` scaled so the ratio of their powers (over all of `w`) is `snr` dB. */
export function atSnr(w, noise, snr) {
  let ps = 0,
    pn = 0;
  for (let i = 0; i < w.length; i++) {
    ps += w[i] * w[i];
    pn += noise[i] * noise[i];
  }
  const g = Math.sqrt(ps / pn / 10 ** (snr / 10));
  return w.map((v, i) => v + g * noise[i]);
}
