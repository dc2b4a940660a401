// Larger deterministic workloads (inputs from an integer generator, so both sides build identical bits) for
// the Node <-> browser parity check, on top of the fixture cases.
import { Tensor, F, MultimodalIndex, MultimodalModelOptimizer, nn, CLIPModel } from "../../src/index.js";
import { exportOnnxBytes } from "../../src/onnx/export.js";

export function lcg(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2147483648 - 1) * scale;
  }
  return a;
}

export function workloads(): Record<string, () => Tensor> {
  const t = (n: number[], seed: number, scale = 1): Tensor =>
    Tensor.from(
      lcg(
        n.reduce((a, b) => a * b, 1),
        seed,
        scale,
      ),
      n,
    );
  const wave = t([16000 * 3], 9, 0.5);
  return {
    "linear 197x768x768": () => F.linear(t([197, 768], 1), t([768, 768], 2, 0.05), t([768], 3)),
    "gelu 197x3072": () => F.gelu(t([197, 3072], 4, 4)),
    "attention 2x4x50x32 masked": () =>
      F.scaledDotProductAttention(t([2, 4, 50, 32], 5), t([2, 4, 50, 32], 6), t([2, 4, 50, 32], 7), {
        keyPaddingMask: new Tensor(
          Int32Array.from({ length: 100 }, (_, i) => (i >= 90 ? 1 : 0)),
          [2, 50],
        ),
      }),
    "conv2d 7x7/2 on 64x64": () =>
      F.conv2d(t([1, 3, 64, 64], 8), t([16, 3, 7, 7], 10, 0.1), t([16], 11), { stride: 2, padding: 3 }),
    "log-mel 3 s": () => F.logEps(F.melSpectrogram(wave, { nFft: 400, hopLength: 160, nMels: 80 })),
    "stft prime 401": () => F.stft(wave, { nFft: 401, hopLength: 200 }),
    "lstm 2x20x16->24": () =>
      F.lstmLayer(t([2, 20, 16], 12), {
        weightIh: t([96, 16], 13, 0.3),
        weightHh: t([96, 24], 14, 0.3),
        biasIh: t([96], 15),
        biasHh: t([96], 16),
      }).output,
    "layernorm+softmax 64x500": () => F.softmax(F.layerNorm(t([64, 500], 17, 3), 500)),
    "int8 LSTM+Linear, x86 range": () => quantizedWorkload(true),
    "int8 LSTM+Linear, qnnpack range": () => quantizedWorkload(false),
    "ONNX export bytes of a small CLIP": () => {
      const m = new CLIPModel({
        visionConfig: { imageSize: 8, patchSize: 4, embedDim: 8, numLayers: 1, numHeads: 2 },
        textConfig: { vocabSize: 9, maxSeqLen: 4, embedDim: 8, numLayers: 1, numHeads: 2 },
        projectionDim: 4,
      });
      m.loadStateDict(
        Object.fromEntries(
          m.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 60 + i, 0.3), [...p.shape])]),
        ),
      );
      const bytes = exportOnnxBytes(m, {
        images: t([1, 3, 8, 8], 61),
        input_ids: new Tensor(Int32Array.from([1, 2, 3]), [1, 3]),
      });
      m.dispose();
      return Tensor.from(Float32Array.from(bytes));
    },
    "int8 index scores, partial tile": () => {
      const D = 40,
        N = 37,
        ix = new MultimodalIndex(D, { kind: "int8" });
      ix.addBatch(
        Array.from({ length: N }, (_, i) => `v${i}`),
        lcg(N * D, 21),
        "image",
      );
      return Tensor.from(Float32Array.from(ix.search(lcg(D, 22), N).map((r) => r.score)));
    },
  };
}

/** A deterministic HNSW index (graph, int8-free) whose save() bytes must match across engines. */
export function indexWorkload(): MultimodalIndex {
  const D = 48,
    N = 600;
  const ix = new MultimodalIndex(D, { kind: "hnsw", m: 8, efConstruction: 40 });
  const v = lcg(N * D, 77);
  ix.addBatch(
    Array.from({ length: N }, (_, i) => `n${i}`),
    new Tensor(v, [N, D]),
    "image",
    Array.from({ length: N }, (_, i) => ({ i })),
  );
  ix.remove("n5");
  return ix;
}

/** Search results of an index as one string, for cross-engine comparison. */
export function indexQueries(ix: MultimodalIndex): string {
  const q = lcg(10 * 48, 78);
  return JSON.stringify(
    Array.from({ length: 10 }, (_, i) =>
      ix.search(q.subarray(i * 48, (i + 1) * 48), 5).map((r) => [r.itemId, r.score]),
    ),
  );
}

/** A dynamically quantised BiLSTM + Linear with generated weights: (2, 20, 16) -> (2, 20, 10). */
function quantizedWorkload(reduceRange: boolean): Tensor {
  const m = new nn.Sequential(new nn.LSTM(16, 24, { batchFirst: true, bidirectional: true }), new nn.Linear(48, 10));
  m.loadStateDict(
    Object.fromEntries(
      m.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 100 + i, 0.3), [...p.shape])]),
    ),
  );
  const q = MultimodalModelOptimizer.quantizeModel(m, "dynamic", { reduceRange });
  const y = q.forward(Tensor.from(lcg(2 * 20 * 16, 30), [2, 20, 16]));
  q.dispose();
  m.dispose();
  return y;
}
