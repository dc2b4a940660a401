// MultimodalModelOptimizer.exportOnnx: the exported graph, run by onnxruntime-web, gives the module's own outputs
// on the sample and on other batch sizes / lengths (the dynamic axes); unsupported modules are named in an Error.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { init, Tensor, nn, SpeechRecognitionModel, CLIPModel, VisionEncoder, MultimodalModelOptimizer } from "../src/index.js";
import { compare } from "./harness/compare.js";
import { lcg } from "./harness/workloads.js";

let ort: any;
beforeAll(async () => {
  await init();
  ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
});

async function runOnnx(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<{ data: Float32Array; dims: number[] }> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor("float32", t.data as Float32Array, [...t.shape])]));
  const out = await s.run(inputs);
  const y = out[s.outputNames[0]];
  await s.release();
  return { data: y.data as Float32Array, dims: [...y.dims] };
}

function expectClose(got: { data: Float32Array; dims: number[] }, ref: Tensor, what: string): void {
  expect(got.dims, what).toEqual(ref.shape);
  const e = compare(got.data, ref.data);
  expect(e.maxScaled, `${what}: max scaled error ${e.maxScaled}`).toBeLessThanOrEqual(2e-5);
  expect(e.nmse, `${what}: nmse ${e.nmse}`).toBeLessThanOrEqual(1e-10);
}

describe("exportOnnx", () => {
  it("SpeechRecognitionModel: ONNX Runtime reproduces forward, for other batch sizes and lengths too", async () => {
    const m = new SpeechRecognitionModel({ vocabSize: 12, nMels: 16, hiddenDim: 24 });
    m.loadStateDict(Object.fromEntries(m.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 40 + i, 0.3), [...p.shape])])));
    const sample = Tensor.from(lcg(2 * 16 * 30, 1), [2, 16, 30]);
    const bytes = await MultimodalModelOptimizer.exportOnnx(m, { mel_spec: sample });
    expectClose(await runOnnx(bytes, { mel_spec: sample }), m.forward(sample), "sample");
    const other = Tensor.from(lcg(3 * 16 * 11, 2), [3, 16, 11]);
    expectClose(await runOnnx(bytes, { mel_spec: other }), m.forward(other), "batch 3, 11 frames");
    const dir = mkdtempSync(join(tmpdir(), "pm-onnx-"));
    try {
      const path = join(dir, "asr.onnx");
      await MultimodalModelOptimizer.exportOnnx(m, { mel_spec: sample }, path);
      expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    m.dispose();
  });

  it("VisionEncoder (ViT: patches, cls token, post-norm and pre-norm layers): ONNX Runtime reproduces forward", async () => {
    const m = new VisionEncoder({ imageSize: 16, patchSize: 4, embedDim: 24, numHeads: 3, numLayers: 2, projectionDim: 10 });
    m.loadStateDict(Object.fromEntries(m.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 70 + i, 0.3), [...p.shape])])));
    const x = Tensor.from(lcg(2 * 3 * 16 * 16, 5), [2, 3, 16, 16]);
    const bytes = await MultimodalModelOptimizer.exportOnnx(m, { images: x });
    expectClose(await runOnnx(bytes, { images: x }), m.forward(x), "vision");
    const x3 = Tensor.from(lcg(3 * 3 * 16 * 16, 6), [3, 3, 16, 16]);
    expectClose(await runOnnx(bytes, { images: x3 }), m.forward(x3), "vision, batch 3");
    const pre = new nn.Sequential(new nn.TransformerEncoderLayer(16, 4, { batchFirst: true, normFirst: true, activation: "gelu", dimFeedforward: 32 }));
    pre.loadStateDict(Object.fromEntries(pre.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 90 + i, 0.3), [...p.shape])])));
    const t = Tensor.from(lcg(2 * 5 * 16, 7), [2, 5, 16]);
    expectClose(await runOnnx(await MultimodalModelOptimizer.exportOnnx(pre, { t }), { t }), pre.forward(t), "pre-norm gelu layer");
    m.dispose(); pre.dispose();
  });

  it("a layer stack (Linear, LayerNorm, GELU, ReLU, Conv1d-free MLP) and a unidirectional 2-layer LSTM", async () => {
    const mlp = new nn.Sequential(new nn.Linear(10, 32), new nn.LayerNorm(32), new nn.GELU(), new nn.Dropout(0.1), new nn.Linear(32, 8), new nn.ReLU(), new nn.Linear(8, 3), new nn.Tanh());
    const x = Tensor.from(lcg(5 * 10, 3, 2), [5, 10]);
    expectClose(await runOnnx(await MultimodalModelOptimizer.exportOnnx(mlp, { x }), { x }), mlp.forward(x), "mlp");
    const lstm = new nn.Sequential(new nn.LSTM(6, 5, { numLayers: 2 }), new nn.Sigmoid());
    const s = Tensor.from(lcg(2 * 7 * 6, 4), [2, 7, 6]); // inside a Sequential an LSTM reads (B, T, I), as its run() does
    expectClose(await runOnnx(await MultimodalModelOptimizer.exportOnnx(lstm, { s }), { s }), lstm.forward(s), "lstm");
    mlp.dispose(); lstm.dispose();
  });

  it("names what it cannot export and checks the sample first", async () => {
    const clip = new CLIPModel({ visionConfig: { imageSize: 16, patchSize: 8, embedDim: 16, numLayers: 1, numHeads: 2 }, textConfig: { vocabSize: 10, maxSeqLen: 4, embedDim: 16, numLayers: 1, numHeads: 2 }, projectionDim: 8 });
    await expect(MultimodalModelOptimizer.exportOnnx(clip, { images: Tensor.zeros([1, 3, 16, 16]) })).rejects.toThrow(/cannot export CLIPModel; supported: SpeechRecognitionModel, VisionEncoder, or a Sequential/);
    await expect(MultimodalModelOptimizer.exportOnnx(new nn.Sequential(new nn.Linear(2, 2), new nn.Flatten()), { x: Tensor.zeros([1, 2]) })).rejects.toThrow(/cannot export Sequential/);
    await expect(MultimodalModelOptimizer.exportOnnx(new nn.TransformerEncoderLayer(4, 2), { x: Tensor.zeros([3, 1, 4]) })).rejects.toThrow(/cannot export TransformerEncoderLayer/);
    const m = new SpeechRecognitionModel({ vocabSize: 5, nMels: 8, hiddenDim: 8 });
    await expect(MultimodalModelOptimizer.exportOnnx(m, { mel: Tensor.zeros([1, 9, 4]) })).rejects.toThrow(/melSpec must be \(batch, 8, frames\), got \[1, 9, 4\]/);
    await expect(MultimodalModelOptimizer.exportOnnx(m, { a: Tensor.zeros([1, 8, 4]), b: Tensor.zeros([1]) })).rejects.toThrow(/takes one input, got 2 \(a, b\)/);
    const q = MultimodalModelOptimizer.quantizeModel(m);
    await expect(MultimodalModelOptimizer.exportOnnx(q, { mel: Tensor.zeros([1, 8, 4]) })).rejects.toThrow(/dynamically quantised; export the float model/);
    clip.dispose(); m.dispose(); q.dispose();
  });
});
