// Procedural sound events, one second at 16 kHz: eight kinds (steady tone, rising and falling chirps, a siren,
// beeps, a click train, a noise burst, a chord) with random pitch, rate, level, onset and background noise.
// Float64 arithmetic with +, -, *, / only (sine by a fixed polynomial), so every engine and the Python training
// script (which reads this generator's output) get the same samples.
// makeSound(seed) -> { samples: Float32Array, sampleRate, label }.
import { rng as seeded } from "./scenes.mjs";

export const SOUND_RATE = 16000;
export const SOUND_KINDS = [
  "tone",
  "rising chirp",
  "falling chirp",
  "siren",
  "beeps",
  "clicks",
  "noise burst",
  "chord",
];

const rng = (seed) => seeded(seed, 2654435769, 374761393);

const TAU = 6.283185307179586;
/** sin(2*pi*t) for phase t in cycles: reduce to [-0.5, 0.5), then an odd polynomial (error < 1e-6). */
export function sinCycles(t) {
  let x = t - Math.floor(t + 0.5); // [-0.5, 0.5)
  if (x > 0.25) x = 0.5 - x;
  else if (x < -0.25) x = -0.5 - x;
  const z = x * TAU,
    z2 = z * z;
  return z * (1 - (z2 / 6) * (1 - (z2 / 20) * (1 - (z2 / 42) * (1 - (z2 / 72) * (1 - (z2 / 110) * (1 - z2 / 156))))));
}

export function makeSound(seed) {
  const r = rng(seed);
  const u = () => r() / 4294967296; // [0, 1)
  const label = SOUND_KINDS[r() % SOUND_KINDS.length];
  const n = SOUND_RATE,
    out = new Float32Array(n);
  const level = 0.2 + 0.6 * u(),
    noise = 0.002 + 0.02 * u();
  const onset = Math.floor(u() * 0.25 * n),
    len = Math.floor((0.5 + 0.25 * u()) * n);
  const f0 = 200 * Math.pow(2, 3 * u()); // 200..1600 Hz
  const rate = 3 + Math.floor(u() * 8); // events per second for beeps/clicks, LFO for the siren
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const nz = (u() * 2 - 1) * noise;
    const k = i - onset;
    let v = 0;
    if (k >= 0 && k < len) {
      const t = k / len; // 0..1 through the event
      const env = Math.min(1, k / 160, (len - k) / 160); // 10 ms ramps
      let f = f0;
      if (label === "rising chirp") f = f0 * (1 + 2 * t);
      else if (label === "falling chirp") f = f0 * (3 - 2 * t);
      else if (label === "siren") f = f0 * (1.5 + 0.5 * sinCycles((rate / 4) * (k / SOUND_RATE)));
      phase += f / SOUND_RATE;
      if (label === "noise burst") v = u() * 2 - 1;
      else if (label === "clicks") v = k % Math.floor(SOUND_RATE / rate) < 24 ? (u() < 0.5 ? 1 : -1) : 0;
      else if (label === "beeps") v = Math.floor((k * rate * 2) / SOUND_RATE) % 2 === 0 ? sinCycles(phase) : 0;
      else if (label === "chord") v = (sinCycles(phase) + sinCycles(phase * 1.25) + sinCycles(phase * 1.5)) / 3;
      else v = sinCycles(phase);
      v *= env * level;
    }
    out[i] = v + nz;
  }
  return { samples: out, sampleRate: SOUND_RATE, label };
}
