// Seed models, single-threaded, polymodal vs onnxruntime-web's WASM backend on the same weights (procedural,
// bit-identical on both sides) and the same input.  The ONNX files come from bench/peers/export_models.py
// (Debian torch 1.13), cached in bench/.cache/ and regenerated when missing.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import {
  Tensor,
  CLIPModel,
  VisionEncoder,
  AudioFeatureExtractor,
  SpeechRecognitionModel,
  memoryStats,
} from "../dist/index.js";
import { fillProcedural } from "../test/harness/procedural.mjs";
import { measure, report } from "./measure.mjs";
import { loadOrt, session } from "./peers/ort.mjs";

function data(n, seed, scale = 1) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2147483648 - 1) * scale;
  }
  return a;
}

function onnxPath(name, group) {
  const p = `bench/.cache/${name}.onnx`;
  if (!existsSync(p)) {
    try {
      execFileSync("/usr/bin/python3", ["bench/peers/export_models.py", group], {
        stdio: ["ignore", "inherit", "ignore"],
      });
    } catch {
      /* reported below */
    }
  }
  return existsSync(p) ? p : null;
}

function maxDiff(a, b) {
  let m = 0,
    r = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    r = Math.max(r, Math.abs(b[i]));
  }
  return `max |diff| ${m.toExponential(1)} (max |ref| ${r.toFixed(2)})`;
}

const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function one({ title, build, run, onnx, group, feeds, rounds = 3 }) {
  const ort = await loadOrt();
  const model = build();
  fillProcedural(model);
  const ours = run(model);
  const weights = memoryStats().persistentBytes;
  const path = onnxPath(onnx, group);
  const peers = { polymodal: () => run(model) };
  let sess = null,
    check = "";
  if (path) {
    sess = await session(readFileSync(path));
    const f = feeds(ort, sess);
    const out = await sess.run(f);
    check = maxDiff(ours.data, out[sess.outputNames[0]].data);
    peers["onnxruntime-web"] = async () => (await sess.run(f))[sess.outputNames[0]].data;
  }
  const res = await measure(peers, { rounds });
  const ms = memoryStats();
  report(
    title +
      (check ? `  [outputs: ${check}]` : "  [onnxruntime-web skipped: no ONNX export (needs Debian python3-torch)]"),
    res,
  );
  console.log(
    `  polymodal WASM memory ${mib(ms.wasmBytes)} = weights ${mib(weights)} + ${mib(ms.wasmBytes - weights)}; ` +
      `process RSS ${mib(process.memoryUsage().rss)}`,
  );
  model.dispose();
  if (sess) await sess.release();
  return {
    title,
    ms: res.polymodal.median,
    ratio: res["onnxruntime-web"] ? res.polymodal.median / res["onnxruntime-web"].median : null,
  };
}

export async function benchModels(which = ["clip4", "vitb", "audio", "asr"]) {
  const out = [];
  const img = (b) => new Tensor(data(b * 3 * 224 * 224, 11), [b, 3, 224, 224]);
  const clipCfg = {
    visionConfig: { imageSize: 224, patchSize: 16, numLayers: 4 },
    textConfig: { vocabSize: 10000, numLayers: 4 },
    projectionDim: 256,
  };
  if (which.includes("clip4")) {
    for (const b of [1, 8]) {
      const x = img(b);
      out.push(
        await one({
          title: `CLIP (seed example: 4-layer ViT-B/16 at 224) encodeImage, batch ${b}`,
          group: "clip4",
          onnx: `clip4_image_b${b}`,
          build: () => new CLIPModel(clipCfg),
          run: (m) => m.encodeImage(x),
          feeds: (ort, s) => ({ [s.inputNames[0]]: new ort.Tensor("float32", x.data, x.shape) }),
        }),
      );
    }
  }
  if (which.includes("vitb")) {
    const x = img(1);
    out.push(
      await one({
        title: "VisionEncoder, seed defaults (ViT-B/16, 12 layers), batch 1",
        group: "vitb",
        onnx: "vitb16_b1",
        build: () => new VisionEncoder(),
        run: (m) => m.forward(x),
        feeds: (ort, s) => ({ [s.inputNames[0]]: new ort.Tensor("float32", x.data, x.shape) }),
      }),
    );
  }
  if (which.includes("audio")) {
    const wav = new Tensor(data(160000, 5, 0.3), [1, 160000]);
    let mel = null;
    out.push(
      await one({
        title:
          "AudioFeatureExtractor on 10 s (polymodal: waveform in, log-mel included; ORT: encode_mel on the same " +
          "log-mel)",
        group: "audio",
        onnx: "audio_mel_10s",
        build: () => new AudioFeatureExtractor(),
        run: (m) => {
          mel ??= m.computeSpectrogram(wav);
          return m.forward(wav);
        },
        feeds: (ort, s) => ({ [s.inputNames[0]]: new ort.Tensor("float32", mel.data, mel.shape) }),
      }),
    );
  }
  if (which.includes("asr")) {
    const mel = new Tensor(data(80 * 1000, 7), [1, 80, 1000]);
    out.push(
      await one({
        title: "SpeechRecognitionModel (seed defaults, 4-layer BiLSTM 512) on 1,000 frames",
        group: "asr",
        onnx: "asr_1000",
        build: () => new SpeechRecognitionModel(),
        run: (m) => m.forward(mel),
        feeds: (ort, s) => ({ [s.inputNames[0]]: new ort.Tensor("float32", mel.data, mel.shape) }),
      }),
    );
  }
  return out;
}
