// Bundled by test/threads.test.ts and run as `node entry.mjs <threads> <repo root>`: every kernel case, every
// workload and the models (built here and shipped), hashed, printed as JSON, so runs at different thread counts (and
// engines: the relaxed build's committed hashes) can be compared.  POLYMODAL_SIMD=relaxed runs the relaxed build.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  init,
  F,
  loadSafetensors,
  Tensor,
  CLIPModel,
  SpeechRecognitionModel,
  MultimodalIndex,
  MultimodalModelOptimizer,
  type SimdBuild,
} from "../../src/index.js";
import { rt } from "../../src/bindings/module.js";
import { runCase, type Case } from "./cases.js";
import { hashBits } from "./compare.js";
import { shippedOutputs } from "./shipped.js";
import { workloads, lcg } from "./workloads.js";

const threads = Number(process.argv[2]),
  root = process.argv[3];
const simd = (process.env.POLYMODAL_SIMD ?? "exact") as SimdBuild;
await init({ threads, simd });
if (process.argv[4] === "kill-worker") {
  // a worker that dies must surface as an Error on the next parallel op, not as a hang
  const w = (rt().pool as unknown as { workers: Array<{ terminate(): Promise<number> }> }).workers[0];
  await w.terminate();
  await new Promise((r) => setTimeout(r, 100));
  try {
    F.linear(Tensor.from(lcg(256 * 512, 1), [256, 512]), Tensor.from(lcg(512 * 512, 2), [512, 512]));
    process.stdout.write("no error");
  } catch (e) {
    process.stdout.write(String((e as Error).message));
  }
  process.exit(0);
}
const out: Record<string, string> = {};
const manifest = JSON.parse(readFileSync(join(root, "test/fixtures/kernels.json"), "utf8"));
const tensors = loadSafetensors(readFileSync(join(root, "test/fixtures/kernels.safetensors")));
for (const c of manifest.cases as Case[]) {
  const res = runCase(c, Object.fromEntries(c.inputs.map((n) => [n, tensors[`${c.id}.${n}`]])));
  out[c.id] = c.outputs.map((n) => hashBits(res[n].data)).join(",");
}
for (const [name, fn] of Object.entries(workloads())) out[name] = hashBits(fn().data);
const clip = new CLIPModel({ visionConfig: { numLayers: 2 }, textConfig: { numLayers: 2, vocabSize: 1000 } });
out["CLIP ViT-B/16 (2 layers) image embeddings, batch 2"] = hashBits(
  clip.encodeImage(Tensor.from(lcg(2 * 3 * 224 * 224, 5), [2, 3, 224, 224])).data,
);
out["CLIP text embeddings, batch 3"] = hashBits(
  clip.encodeText(
    new Tensor(
      Int32Array.from(lcg(3 * 20, 6), (v) => Math.floor((v + 1) * 499)),
      [3, 20],
    ),
  ).data,
);
out["CLIP image embeddings, dynamically quantised"] = hashBits(
  MultimodalModelOptimizer.quantizeModel(clip).encodeImage(Tensor.from(lcg(2 * 3 * 224 * 224, 5), [2, 3, 224, 224]))
    .data,
);
const asr = new SpeechRecognitionModel({ vocabSize: 40, nMels: 40, hiddenDim: 128 });
out["SpeechRecognitionModel 300 frames, batch 4"] = hashBits(
  asr.forward(Tensor.from(lcg(4 * 40 * 300, 7), [4, 40, 300])).data,
);
// batch 1: the two directions of each BiLSTM layer run on two threads at once
out["SpeechRecognitionModel 300 frames, batch 1"] = hashBits(
  asr.forward(Tensor.from(lcg(40 * 300, 10), [1, 40, 300])).data,
);
out["SpeechRecognitionModel, batch 2, dynamically quantised"] = hashBits(
  MultimodalModelOptimizer.quantizeModel(asr).forward(Tensor.from(lcg(2 * 40 * 50, 11), [2, 40, 50])).data,
);
// scans large enough to be split over the threads (flat f32 and int8 tiles, N not a multiple of 4)
for (const kind of ["flat", "int8"] as const) {
  const N = 9001,
    D = 64,
    ix = new MultimodalIndex(D, { kind });
  ix.addBatch(
    Array.from({ length: N }, (_, i) => `v${i}`),
    lcg(N * D, 8),
    "image",
  );
  out[`${kind} index search over ${N} rows`] = JSON.stringify(ix.search(lcg(D, 9), N).map((r) => [r.itemId, r.score]));
}
const wav = new Uint8Array(readFileSync(join(root, "test/fixtures/speech/0000.wav")));
Object.assign(out, await shippedOutputs({ modelsDir: join(root, "models") }, wav));
process.stdout.write(JSON.stringify({ threads: rt().pool?.size ?? 1, simd: rt().simd, hashes: out }));
