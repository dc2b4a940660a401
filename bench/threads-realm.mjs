// One polymodal runtime (its own realm: a worker_thread) at a given thread count; times a case when asked.
import { parentPort, workerData } from "node:worker_threads";
import { init, Tensor, F, CLIPModel, MultimodalIndex, SpeechRecognitionModel } from "../dist/index.js";

await init({ threads: workerData.threads });
const wave = (n, f) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f)); // inputs only
const x = Tensor.from(wave(1576 * 768, 0.37), [1576, 768]),
  w = Tensor.from(wave(3072 * 768, 0.11), [3072, 768]);
const clip = new CLIPModel({});
const img = Tensor.from(wave(2 * 3 * 224 * 224, 0.01), [2, 3, 224, 224]);
const N = 100000,
  D = 512,
  ix = new MultimodalIndex(D);
ix.addBatch(
  Array.from({ length: N }, (_, i) => `v${i}`),
  wave(N * D, 0.013),
  "image",
);
const q = wave(D, 0.7);
const asr = new SpeechRecognitionModel({});
const mel = Tensor.from(wave(80 * 1000, 0.37), [1, 80, 1000]);
const cases = {
  "SpeechRecognitionModel, 1,000 frames": () => asr.forward(mel),
  "Linear 1576 x 768 -> 3072": () => F.linear(x, w),
  "CLIP ViT-B/16 image tower, batch 2": () => clip.encodeImage(img),
  "flat f32 search, 100,000 x 512": () => ix.search(q, 10),
};
parentPort.on("message", (name) => {
  const t0 = performance.now();
  cases[name]();
  parentPort.postMessage(performance.now() - t0);
});
parentPort.postMessage("ready");
