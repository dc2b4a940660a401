// STFT (n_fft 400, hop 160, periodic Hann, centre reflect padding) + 80-band mel on 60 s of 16 kHz audio,
// single-threaded.  torchaudio 0.13 runs as a separate process on the same samples (written to a file); Meyda
// runs in this process (it needs power-of-two frames, so it gets 512-sample frames at the same hop), and so
// does onnxruntime-web as STFT (opset 17) -> |.|^2 -> MatMul with the same mel bank, on the reflect-padded signal.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { F, Tensor, MFCC, resample, StreamingMelSpectrogram } from "../dist/index.js";
import { measure, report } from "./measure.mjs";
import { loadOrt, session } from "./peers/ort.mjs";
import { model, node, initializer } from "./peers/onnx-build.mjs";

export function signal(seconds = 60, sr = 16000) {
  const n = seconds * sr;
  const a = new Float32Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] =
      0.3 * Math.sin((2 * Math.PI * 220 * i) / sr) +
      0.2 * Math.sin((2 * Math.PI * 1375 * i) / sr) +
      0.05 * (s / 2147483648 - 1);
  }
  return a;
}

export function torchaudioTime(sig, kind = "mel") {
  if (!existsSync("/usr/bin/python3")) return null;
  mkdirSync("bench/.cache", { recursive: true });
  const f = `bench/.cache/signal-${kind}.f32`;
  writeFileSync(f, Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength));
  try {
    return JSON.parse(
      execFileSync("/usr/bin/python3", ["bench/peers/torchaudio_mel.py", f, kind], {
        stdio: ["ignore", "pipe", "ignore"],
      }).toString(),
    );
  } catch {
    return null;
  }
}

export async function benchAudio() {
  const sig = signal();
  const x = Tensor.from(sig);
  const require = createRequire(import.meta.url);
  const Meyda = require("meyda");
  Meyda.bufferSize = 512;
  Meyda.sampleRate = 16000;
  Meyda.melBands = 80;
  Meyda.windowingFunction = "hanning";
  const hop = 160,
    nFrames = 1 + Math.floor((sig.length - 512) / hop);
  const ort = await loadOrt();
  const padded = new Float32Array(sig.length + 400);
  padded.set(sig, 200);
  for (let i = 0; i < 200; i++) {
    padded[199 - i] = sig[i + 1];
    padded[200 + sig.length + i] = sig[sig.length - 2 - i];
  }
  const sess = await session(
    model({
      nodes: [
        node("STFT", ["X", "step", "win", "len"], ["S"], { onesided: 1 }),
        node("Mul", ["S", "S"], ["S2"]),
        node("ReduceSum", ["S2", "ax"], ["P"], { keepdims: 0 }),
        node("MatMul", ["P", "fb"], ["M"]),
      ],
      initializers: [
        initializer("step", [], BigInt64Array.from([160n])),
        initializer("len", [], BigInt64Array.from([400n])),
        initializer("win", [400], F.hannWindow(400).data),
        initializer("ax", [1], BigInt64Array.from([-1n])),
        initializer("fb", [201, 80], F.melscaleFbanks(201, 0, 8000, 80, 16000).data),
      ],
      inputs: [["X", [1, padded.length, 1]]],
      outputs: [["M", [1, "T", 80]]],
    }),
  );
  const ox = new ort.Tensor("float32", padded, [1, padded.length, 1]);
  const frame = new Float32Array(512);
  const res = await measure(
    {
      "polymodal F.melSpectrogram": () =>
        F.melSpectrogram(x, { sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80 }),
      "onnxruntime-web STFT + MatMul(mel)": async () => (await sess.run({ X: ox })).M.data,
      "Meyda melBands (512-sample frames)": () => {
        for (let t = 0; t < nFrames; t++) {
          frame.set(sig.subarray(t * hop, t * hop + 512));
          Meyda.extract("melBands", frame);
        }
      },
    },
    { rounds: 5 },
  );
  const ta = torchaudioTime(sig, "mel");
  if (ta) res["torchaudio 0.13 MelSpectrogram (separate process)"] = { median: ta.median_ms, best: ta.best_ms };
  report("STFT + mel (n_fft 400, hop 160, 80 mels) on 60 s of 16 kHz audio", res);
  // MFCC (40 coefficients over the same 80-band mel, dB with top_db 80, ortho DCT-II)
  const mfcc = new MFCC({ sampleRate: 16000, nMfcc: 40, melkwargs: { nFft: 400, hopLength: 160, nMels: 80 } });
  Meyda.numberOfMFCCCoefficients = 40;
  const resM = await measure(
    {
      "polymodal MFCC": () => mfcc.forward(x),
      "Meyda mfcc (512-sample frames)": () => {
        for (let t = 0; t < nFrames; t++) {
          frame.set(sig.subarray(t * hop, t * hop + 512));
          Meyda.extract("mfcc", frame);
        }
      },
    },
    { rounds: 5 },
  );
  const taM = torchaudioTime(sig, "mfcc");
  if (taM) resM["torchaudio 0.13 MFCC (separate process)"] = { median: taM.median_ms, best: taM.best_ms };
  report("MFCC (40 from 80 mels, n_fft 400, hop 160) on 60 s of 16 kHz audio", resM);

  // resample 44.1 kHz -> 16 kHz, 60 s
  const sig44 = signal(60, 44100);
  const x44 = Tensor.from(sig44);
  const resR = await measure({ "polymodal resample 44.1k -> 16k": () => resample(x44, 44100, 16000) }, { rounds: 5 });
  const taR = torchaudioTime(sig44, "resample");
  if (taR) resR["torchaudio 0.13 resample (separate process)"] = { median: taR.median_ms, best: taR.best_ms };
  report("resample 44.1 kHz -> 16 kHz (sinc_interp_hann, width 6, rolloff 0.99) on 60 s", resR);

  // streaming: 20 ms chunks, as an AudioWorklet would deliver them
  const stream = await measure(
    {
      "StreamingMelSpectrogram, 20 ms chunks": () => {
        const s = new StreamingMelSpectrogram({ sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80 });
        for (let i = 0; i < sig.length; i += 320) s.push(sig.subarray(i, Math.min(sig.length, i + 320)));
        s.flush();
      },
    },
    { rounds: 5 },
  );
  report("streaming mel on 60 s of 16 kHz audio", stream);
  const rtf = stream["StreamingMelSpectrogram, 20 ms chunks"].median / 60000;
  console.log(`  real-time factor ${rtf.toExponential(2)} (${(1 / rtf).toFixed(0)}x faster than real time)`);

  return {
    mfccMs: resM["polymodal MFCC"].median,
    mfccTorch: taM?.median_ms ?? null,
    resampleMs: resR["polymodal resample 44.1k -> 16k"].median,
    resampleTorch: taR?.median_ms ?? null,
    rtf,
    ms: res["polymodal F.melSpectrogram"].median,
    torchaudioMs: ta?.median_ms ?? null,
    vsMeyda: res["Meyda melBands (512-sample frames)"].median / res["polymodal F.melSpectrogram"].median,
    vsOrt: res["onnxruntime-web STFT + MatMul(mel)"].median / res["polymodal F.melSpectrogram"].median,
  };
}
