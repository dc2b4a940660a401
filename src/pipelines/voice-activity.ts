// Is there speech at all, and does the audio have the band the model was trained on?  Decided on the mel power
// spectrogram the recogniser computes anyway.  A frame is voiced when it is loud enough (mean band power above
// 1e-6, about -60 dB) and its spectrum is far from flat: spectral flatness (geometric over arithmetic mean of the
// band powers) below 0.55.  Speech, even at 0 dB SNR in white noise, has such frames (5 or more in each of the test
// utterances); silence has none and white or pink noise at any level has at most 1 in 10 s -- so 3 voiced frames
// (60 ms at a 20 ms hop) mean speech.  Logs come from the package's own kernel (logEps), so every engine decides alike.
import { Tensor } from "../tensor.js";
import { logEps } from "../ops/audio.js";

/** log(0.55): the flatness below which a loud frame counts as voiced. */
const LOG_FLATNESS = -0.5978370007556204;
const MIN_POWER = 1e-6;
/** Voiced frames needed for "speech" (60 ms at a 20 ms hop). */
export const MIN_VOICED_FRAMES = 3;

export interface VoiceActivity {
  /** frames that look like voice */
  voiced: number;
  frames: number;
  /** the share of the voiced frames' power above `bandEdgeHz` (NaN when nothing is voiced) */
  highBand: number;
}

/**
 * Voice activity of a (1, nMels, frames) mel power spectrogram (HTK mel scale, 0 .. sampleRate / 2).  The two lowest
 * bands (hum, DC) are left out of the flatness.
 */
export function voiceActivity(mel: Tensor, sampleRate: number, bandEdgeHz = 4000): VoiceActivity {
  const [, M, T] = mel.shape;
  const p = mel.data as Float32Array;
  const logs = logEps(mel, 1e-12).data as Float32Array;
  // the first band whose centre is above bandEdgeHz: centres are equally spaced in mel, M of them below sampleRate / 2
  const hz2mel = (f: number): number => 2595 * Math.log10(1 + f / 700);
  const first = Math.floor(((M + 1) * hz2mel(bandEdgeHz)) / hz2mel(sampleRate / 2));
  const lo = 2,
    n = M - lo;
  const means = new Float32Array(T);
  const meanLogs = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0,
      ls = 0;
    for (let k = lo; k < M; k++) {
      s += p[k * T + t];
      ls += logs[k * T + t];
    }
    means[t] = s / n;
    meanLogs[t] = ls / n;
  }
  const logMeans = logEps(new Tensor(means, [T]), 1e-12).data as Float32Array;
  let voiced = 0,
    high = 0,
    all = 0;
  for (let t = 0; t < T; t++) {
    if (!(means[t] > MIN_POWER) || meanLogs[t] - logMeans[t] >= LOG_FLATNESS) continue;
    voiced++;
    for (let k = 0; k < M; k++) {
      const v = p[k * T + t];
      all += v;
      if (k >= first) high += v;
    }
  }
  return { voiced, frames: T, highBand: voiced ? high / all : NaN };
}
