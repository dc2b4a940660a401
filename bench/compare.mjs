// `node --expose-gc bench/compare.mjs <other build's dist/>`: this checkout's build against another (say a clone at the
// commit before a refactor), both loaded into one process and timed in interleaved rounds, alternating which goes
// first, so machine noise hits both alike.  Prints new/old time per workload and checks that both give the same bits.
// A full `npm run bench` per build, one after the other, is at the mercy of whatever else the machine does meanwhile.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const other = process.argv[2];
if (!other) {
  console.error("usage: node --expose-gc bench/compare.mjs <path to another build's dist/>");
  process.exit(2);
}
const A = await import(pathToFileURL(resolve(other, "index.js")).href);
const B = await import(new URL("../dist/index.js", import.meta.url).href);
await A.init();
await B.init();

function lcg(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const bits = (t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** name, (pm) => (() => result Tensor | unknown): a setup per build returning the timed call. */
const WORKLOADS = [
  [
    "F.linear 197x768 -> 3072",
    (pm) => {
      const x = pm.Tensor.from(lcg(197 * 768, 1), [197, 768]),
        w = pm.Tensor.from(lcg(3072 * 768, 2), [3072, 768]);
      return () => pm.F.linear(x, w);
    },
  ],
  [
    "F.conv2d ViT patch 16/16",
    (pm) => {
      const x = pm.Tensor.from(lcg(3 * 224 * 224, 3), [1, 3, 224, 224]),
        w = pm.Tensor.from(lcg(768 * 768, 4), [768, 3, 16, 16]);
      return () => pm.F.conv2d(x, w, null, { stride: 16 });
    },
  ],
  [
    "F.melSpectrogram 60 s",
    (pm) => {
      const x = pm.Tensor.from(lcg(16000 * 60, 5));
      return () => pm.F.melSpectrogram(x, { nFft: 400, hopLength: 160, nMels: 80 });
    },
  ],
  [
    "resample 44.1 -> 16 kHz, 20 s",
    (pm) => {
      const x = pm.Tensor.from(lcg(44100 * 20, 6));
      return () => pm.resample(x, 44100, 16000);
    },
  ],
  [
    "SpeechRecognitionModel 1,000 frames",
    (pm) => {
      const m = new pm.SpeechRecognitionModel({}),
        x = pm.Tensor.from(lcg(80 * 1000, 7), [1, 80, 1000]);
      return () => m.forward(x);
    },
  ],
  [
    "CLIP 4-layer encodeImage",
    (pm) => {
      const m = new pm.CLIPModel({ visionConfig: { numLayers: 4 } }),
        x = pm.Tensor.from(lcg(3 * 224 * 224, 8), [1, 3, 224, 224]);
      return () => m.encodeImage(x);
    },
  ],
  ...["flat", "int8", "hnsw"].map((kind) => [
    `MultimodalIndex ${kind} search, 20 queries`,
    (pm) => {
      const D = 512,
        N = kind === "hnsw" ? 10_000 : 100_000;
      const ix = new pm.MultimodalIndex(D, { kind, rerank: kind === "int8" ? 50 : 0, efConstruction: 64 });
      ix.addBatch(
        Array.from({ length: N }, (_, i) => String(i)),
        lcg(N * D, 9),
        "image",
      );
      const q = lcg(20 * D, 10);
      return () => Array.from({ length: 20 }, (_, i) => ix.search(q.subarray(i * D, (i + 1) * D), 10));
    },
  ]),
  [
    "AudioFeatureExtractor 10 s (front end + model)",
    (pm) => {
      const m = new pm.AudioFeatureExtractor({ embedDim: 128, convChannels: [64, 128, 128], numLayers: 2, nhead: 4 }),
        x = pm.Tensor.from(lcg(16000 * 10, 11), [1, 16000 * 10]);
      return () => m.forward(x);
    },
  ],
  [
    "MultimodalServingPipeline 16 requests, batches of 8",
    (pm) => {
      const m = new pm.CLIPModel({ visionConfig: { numLayers: 2 } }),
        x = lcg(16 * 3 * 224 * 224, 12);
      const serving = new pm.MultimodalServingPipeline(m, { batchSize: 8, maxWaitMs: 1000 });
      const image = (i) => pm.Tensor.from(x.slice(i * 3 * 224 * 224, (i + 1) * 3 * 224 * 224), [3, 224, 224]);
      return async () => {
        const rs = Array.from({ length: 16 }, (_, i) =>
          serving.submit({ requestId: String(i), modalities: { image: image(i) }, task: "embedding" }),
        );
        return (await Promise.all(rs)).map((r) => r.results.embedding);
      };
    },
  ],
];

/** Whether two builds' results are the same: tensors by their bytes, anything else (search hits) as JSON. */
const sameResult = (a, b) =>
  a?.data && b?.data ? bits(a).equals(bits(b)) : a === undefined ? null : JSON.stringify(a) === JSON.stringify(b);

// rounds per workload (odd: the median is a measurement); POLYMODAL_COMPARE_ROUNDS=21 on a noisy machine
const ROUNDS = Number(process.env.POLYMODAL_COMPARE_ROUNDS ?? 9) | 1;
console.log(`new: this checkout's dist/; old: ${other}; ${ROUNDS} interleaved rounds, medians`);
for (const [name, setup] of WORKLOADS) {
  const fa = setup(A),
    fb = setup(B);
  const ra = await fa(),
    rb = await fb();
  const same = sameResult(ra, rb);
  const ta = [],
    tb = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [f, t] of r % 2
      ? [
          [fa, ta],
          [fb, tb],
        ]
      : [
          [fb, tb],
          [fa, ta],
        ]) {
      globalThis.gc?.();
      const t0 = performance.now();
      await f();
      t.push(performance.now() - t0);
    }
  }
  console.log(
    `  ${name.padEnd(40)} old ${med(ta).toFixed(1).padStart(8)} ms  new ${med(tb).toFixed(1).padStart(8)} ms  ` +
      `new/old ${(med(tb) / med(ta)).toFixed(3)}` +
      (same === null ? "" : same ? "  same bits" : "  DIFFERENT BITS"),
  );
}
