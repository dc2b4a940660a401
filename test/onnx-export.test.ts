// MultimodalModelOptimizer.exportOnnx: the exported graph, run by onnxruntime-web, gives the module's own outputs
// on the sample and on other batch sizes / lengths (the dynamic axes); unsupported modules are named in an Error.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  Tensor,
  nn,
  SpeechRecognitionModel,
  CLIPModel,
  VisionEncoder,
  AudioFeatureExtractor,
  VideoEncoder,
  VideoTextModel,
  ModalityFusion,
  MultimodalEmbeddingModel,
  MultimodalModelOptimizer,
} from "../src/index.js";
import { compare } from "./harness/compare.js";
import { lcg } from "./harness/workloads.js";

let ort: any;
beforeAll(async () => {
  await init();
  ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
});

type Out = { data: Float32Array; dims: number[] };
async function runAll(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Out>> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  const inputs = Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [
      k,
      new ort.Tensor(t.dtype === "int32" ? "int32" : "float32", t.data, [...t.shape]),
    ]),
  );
  const out = await s.run(inputs);
  const res = Object.fromEntries(
    s.outputNames.map((n: string) => [n, { data: out[n].data as Float32Array, dims: [...out[n].dims] }]),
  );
  await s.release();
  return res;
}
async function runOnnx(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<Out> {
  return Object.values(await runAll(bytes, feeds))[0];
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
    m.loadStateDict(
      Object.fromEntries(
        m.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 40 + i, 0.3), [...p.shape])]),
      ),
    );
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

  it(
    "VisionEncoder (ViT: patches, cls token, post-norm and pre-norm layers): ONNX Runtime reproduces " + "forward",
    async () => {
      const m = new VisionEncoder({
        imageSize: 16,
        patchSize: 4,
        embedDim: 24,
        numHeads: 3,
        numLayers: 2,
        projectionDim: 10,
      });
      m.loadStateDict(
        Object.fromEntries(
          m.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 70 + i, 0.3), [...p.shape])]),
        ),
      );
      const x = Tensor.from(lcg(2 * 3 * 16 * 16, 5), [2, 3, 16, 16]);
      const bytes = await MultimodalModelOptimizer.exportOnnx(m, { images: x });
      expectClose(await runOnnx(bytes, { images: x }), m.forward(x), "vision");
      const x3 = Tensor.from(lcg(3 * 3 * 16 * 16, 6), [3, 3, 16, 16]);
      expectClose(await runOnnx(bytes, { images: x3 }), m.forward(x3), "vision, batch 3");
      const pre = new nn.Sequential(
        new nn.TransformerEncoderLayer(16, 4, {
          batchFirst: true,
          normFirst: true,
          activation: "gelu",
          dimFeedforward: 32,
        }),
      );
      pre.loadStateDict(
        Object.fromEntries(
          pre.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 90 + i, 0.3), [...p.shape])]),
        ),
      );
      const t = Tensor.from(lcg(2 * 5 * 16, 7), [2, 5, 16]);
      expectClose(
        await runOnnx(await MultimodalModelOptimizer.exportOnnx(pre, { t }), { t }),
        pre.forward(t),
        "pre-norm gelu layer",
      );
      m.dispose();
      pre.dispose();
    },
  );

  it(
    "CLIPModel: both towers, the attention mask, logits and logit scale, at other batch sizes and " + "lengths",
    async () => {
      const m = new CLIPModel({
        visionConfig: { imageSize: 16, patchSize: 8, embedDim: 16, numLayers: 2, numHeads: 2 },
        textConfig: { vocabSize: 30, maxSeqLen: 10, embedDim: 16, numLayers: 2, numHeads: 2 },
        projectionDim: 8,
      });
      m.loadStateDict(
        Object.fromEntries(
          m
            .namedParameters()
            .map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 120 + i, k === "logit_scale" ? 2 : 0.3), [...p.shape])]),
        ),
      );
      const ids = (B: number, T: number, seed: number) =>
        new Tensor(
          Int32Array.from(lcg(B * T, seed), (v) => Math.floor((v + 1) * 14.99)),
          [B, T],
        );
      const mask = (rows: number[][]) => new Tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);
      const images = Tensor.from(lcg(3 * 3 * 16 * 16, 8), [3, 3, 16, 16]);
      const sample = {
        images,
        input_ids: ids(3, 6, 9),
        attention_mask: mask([
          [1, 1, 1, 1, 1, 1],
          [1, 1, 1, 0, 0, 0],
          [1, 1, 1, 1, 1, 0],
        ]),
      };
      const bytes = await MultimodalModelOptimizer.exportOnnx(m, sample);
      for (const feeds of [
        sample,
        {
          images: Tensor.from(lcg(2 * 3 * 16 * 16, 10), [2, 3, 16, 16]),
          input_ids: ids(2, 9, 11),
          attention_mask: mask([
            [1, 1, 0, 0, 0, 0, 0, 0, 0],
            [1, 1, 1, 1, 1, 1, 1, 1, 1],
          ]),
        },
      ]) {
        const got = await runAll(bytes, feeds);
        const ref = m.forward(feeds.images, feeds.input_ids, feeds.attention_mask);
        expectClose(got.image_embeds, ref.imageEmbeds, "image_embeds");
        expectClose(got.text_embeds, ref.textEmbeds, "text_embeds");
        expectClose(got.logits_per_image, ref.logitsPerImage, "logits_per_image");
        expectClose(got.logits_per_text, ref.logitsPerText, "logits_per_text");
        expect(Math.abs(got.logit_scale.data[0] - ref.logitScale) / ref.logitScale).toBeLessThanOrEqual(2e-7);
      }
      // a row of only padding in a left-aligned batch (torch's nested path zeroes it: finite), a right-padded
      // unaligned batch, and a row of only padding in an unaligned batch (NaN in torch's regular path, and here)
      for (const rows of [
        [
          [0, 0, 0, 0, 0],
          [1, 1, 1, 0, 0],
        ],
        [
          [0, 1, 1, 1, 1],
          [1, 1, 1, 1, 1],
        ],
        [
          [0, 0, 0, 0, 0],
          [0, 1, 1, 1, 1],
        ],
      ]) {
        const feeds = {
          images: Tensor.from(lcg(2 * 3 * 16 * 16, 30), [2, 3, 16, 16]),
          input_ids: ids(2, 5, 31),
          attention_mask: mask(rows),
        };
        const ref = m.forward(feeds.images, feeds.input_ids, feeds.attention_mask);
        expect(Array.from(ref.textEmbeds.data).some(Number.isNaN), JSON.stringify(rows)).toBe(rows[1][0] === 0);
        expectClose(
          (await runAll(bytes, feeds)).text_embeds,
          ref.textEmbeds,
          `text_embeds, mask ${JSON.stringify(rows)}`,
        );
      }
      // the text tower alone, without a mask
      const t = ids(2, 7, 12);
      expectClose(
        await runOnnx(await MultimodalModelOptimizer.exportOnnx(m.text_encoder, { input_ids: t }), { input_ids: t }),
        m.text_encoder.forward(t),
        "text tower, no mask",
      );
      m.dispose();
    },
  );

  it("AudioFeatureExtractor: the mel spectrogram as ONNX STFT, then the encoder, for other lengths too", async () => {
    const m = new AudioFeatureExtractor({
      convChannels: [16, 16, 32],
      nhead: 4,
      numLayers: 2,
      dimFeedforward: 64,
      embedDim: 12,
    });
    m.loadStateDict(
      Object.fromEntries(
        m.namedParameters().map(([k, p], i) => [k, Tensor.from(lcg(p.numel, 150 + i, 0.3), [...p.shape])]),
      ),
    );
    const wave = (B: number, n: number, seed: number) => Tensor.from(lcg(B * n, seed, 0.5), [B, n]);
    const sample = wave(2, 4000, 13);
    const bytes = await MultimodalModelOptimizer.exportOnnx(m, { waveform: sample });
    for (const w of [sample, wave(1, 6400, 14)])
      expectClose(await runOnnx(bytes, { waveform: w }), m.forward(w), `audio ${w.shape}`);
    m.dispose();
  });

  it("VideoEncoder and VideoTextModel (frame CNN, temporal transformer, BiLSTM text, logits, classifier)", async () => {
    const fill = (m: any, seed: number) =>
      m.loadStateDict(
        Object.fromEntries(
          m
            .namedParameters()
            .map(([k, p]: [string, any], i: number) => [k, Tensor.from(lcg(p.numel, seed + i, 0.3), [...p.shape])]),
        ),
      );
    const video = (B: number, T: number, seed: number) =>
      Tensor.from(lcg(B * T * 3 * 12 * 12, seed), [B, T, 3, 12, 12]);
    const enc = new VideoEncoder({ frameDim: 24, numFrames: 6, temporalDim: 16, numTemporalLayers: 2 });
    fill(enc, 200);
    const eb = await MultimodalModelOptimizer.exportOnnx(enc, { video: video(2, 5, 15) });
    for (const v of [video(2, 5, 15), video(1, 3, 16)]) {
      const got = await runAll(eb, { video: v }),
        ref = enc.forward(v);
      expectClose(got.video_embedding, ref.videoEmbedding, "video_embedding");
      expectClose(got.frame_embeddings, ref.frameEmbeddings, "frame_embeddings");
    }
    const vt = new VideoTextModel({ videoDim: 16, textDim: 12, projectionDim: 8, numClasses: 5, vocabSize: 40 });
    fill(vt, 300);
    const ids = (B: number, T: number, seed: number) =>
      new Tensor(
        Int32Array.from(lcg(B * T, seed), (v) => Math.floor((v + 1) * 19.99)),
        [B, T],
      );
    const vb = await MultimodalModelOptimizer.exportOnnx(vt, { video: video(2, 4, 17), input_ids: ids(2, 7, 18) });
    for (const [v, t] of [
      [video(2, 4, 17), ids(2, 7, 18)],
      [video(3, 2, 19), ids(3, 4, 20)],
    ] as const) {
      const got = await runAll(vb, { video: v, input_ids: t }),
        ref = vt.forward(v, t);
      expectClose(got.video_embedding, ref.videoEmbedding, "video");
      expectClose(got.text_embedding, ref.textEmbedding!, "text");
      expectClose(got.logits, ref.logits!, "logits");
      expectClose(got.class_logits, ref.classLogits!, "class_logits");
    }
    enc.dispose();
    vt.dispose();
  });

  it("ModalityFusion (concat with a missing modality, attention, gated) and MultimodalEmbeddingModel", async () => {
    const fill = (m: any, seed: number) =>
      m.loadStateDict(
        Object.fromEntries(
          m
            .namedParameters()
            .map(([k, p]: [string, any], i: number) => [k, Tensor.from(lcg(p.numel, seed + i, 0.3), [...p.shape])]),
        ),
      );
    for (const fusionType of ["concat", "attention", "gated"] as const) {
      const f = new ModalityFusion({ embedDims: { image: 6, text: 5, audio: 4 }, fusionDim: 16, fusionType });
      fill(f, 400);
      // text missing
      const sample = { image: Tensor.from(lcg(3 * 6, 21), [3, 6]), audio: Tensor.from(lcg(3 * 4, 22), [3, 4]) };
      const bytes = await MultimodalModelOptimizer.exportOnnx(f, sample);
      expectClose(await runOnnx(bytes, sample), f.forward(sample), `fusion ${fusionType}`);
      f.dispose();
    }
    const mm = new MultimodalEmbeddingModel({ fusionDim: 16, fusionType: "attention" });
    fill(mm, 500);
    const sample = {
      image: Tensor.from(lcg(2 * 3 * 16 * 16, 23), [2, 3, 16, 16]),
      text: new Tensor(
        Int32Array.from(lcg(2 * 6, 24), (v) => Math.floor((v + 1) * 4999)),
        [2, 6],
      ),
      audio: Tensor.from(lcg(2 * 1 * 400, 25), [2, 1, 400]),
    };
    const bytes = await MultimodalModelOptimizer.exportOnnx(mm, sample);
    expectClose(await runOnnx(bytes, sample), mm.forward(sample), "multimodal");
    mm.dispose();
  });

  it("a layer stack (Linear, LayerNorm, GELU, ReLU, Conv1d-free MLP) and a unidirectional 2-layer LSTM", async () => {
    const mlp = new nn.Sequential(
      new nn.Linear(10, 32),
      new nn.LayerNorm(32),
      new nn.GELU(),
      new nn.Dropout(0.1),
      new nn.Linear(32, 8),
      new nn.ReLU(),
      new nn.Linear(8, 3),
      new nn.Tanh(),
    );
    const x = Tensor.from(lcg(5 * 10, 3, 2), [5, 10]);
    expectClose(await runOnnx(await MultimodalModelOptimizer.exportOnnx(mlp, { x }), { x }), mlp.forward(x), "mlp");
    const lstm = new nn.Sequential(new nn.LSTM(6, 5, { numLayers: 2 }), new nn.Sigmoid());
    // inside a Sequential an LSTM reads (B, T, I), as its run() does
    const s = Tensor.from(lcg(2 * 7 * 6, 4), [2, 7, 6]);
    expectClose(await runOnnx(await MultimodalModelOptimizer.exportOnnx(lstm, { s }), { s }), lstm.forward(s), "lstm");
    mlp.dispose();
    lstm.dispose();
  });

  it("nn.SiLU (added by following CONTRIBUTING.md) exports as x / (1 + exp(-x))", async () => {
    const m = new nn.Sequential(new nn.Linear(6, 9), new nn.SiLU(), new nn.Linear(9, 2));
    const x = Tensor.from(lcg(4 * 6, 31, 3), [4, 6]);
    expectClose(await runOnnx(await MultimodalModelOptimizer.exportOnnx(m, { x }), { x }), m.forward(x), "silu");
    m.dispose();
  });

  it("names what it cannot export and checks the sample first", async () => {
    const audio = new AudioFeatureExtractor({
      convChannels: [8, 8, 8],
      nhead: 2,
      numLayers: 1,
      dimFeedforward: 16,
      embedDim: 4,
    });
    await expect(MultimodalModelOptimizer.exportOnnx(audio, { waveform: Tensor.zeros([1600]) })).rejects.toThrow(
      /waveform sample must be \(batch, samples\), got \[1600\]/,
    );
    await expect(
      MultimodalModelOptimizer.exportOnnx(new nn.Sequential(new nn.Linear(2, 2), new nn.AdaptiveAvgPool1d(2)), {
        x: Tensor.zeros([1, 2, 2]),
      }),
    ).rejects.toThrow(
      new RegExp(
        String.raw`cannot export Sequential.1 \(AdaptiveAvgPool1d\); supported: SpeechRecognitionModel, ` +
          `VisionEncoder, TextEncoder, CLIPModel, AudioFeatureExtractor, VideoEncoder, VideoTextModel, ` +
          `ModalityFusion, MultimodalEmbeddingModel, HFCLIPModel, or a Sequential`,
      ),
    );
    const clip = new CLIPModel({
      visionConfig: { imageSize: 16, patchSize: 8, embedDim: 16, numLayers: 1, numHeads: 2 },
      textConfig: { vocabSize: 10, maxSeqLen: 4, embedDim: 16, numLayers: 1, numHeads: 2 },
      projectionDim: 8,
    });
    await expect(MultimodalModelOptimizer.exportOnnx(clip, { images: Tensor.zeros([1, 3, 16, 16]) })).rejects.toThrow(
      /CLIPModel takes images, inputIds and optionally attentionMask, got 1 sample input\(s\) \(images\)/,
    );
    await expect(
      MultimodalModelOptimizer.exportOnnx(new nn.Sequential(new nn.Linear(2, 2), new nn.Flatten(0)), {
        x: Tensor.zeros([1, 2]),
      }),
    ).rejects.toThrow(/cannot export Sequential.1 \(Flatten\)/);
    await expect(
      MultimodalModelOptimizer.exportOnnx(new nn.TransformerEncoderLayer(4, 2), { x: Tensor.zeros([3, 1, 4]) }),
    ).rejects.toThrow(/cannot export TransformerEncoderLayer/);
    const m = new SpeechRecognitionModel({ vocabSize: 5, nMels: 8, hiddenDim: 8 });
    await expect(MultimodalModelOptimizer.exportOnnx(m, { mel: Tensor.zeros([1, 9, 4]) })).rejects.toThrow(
      /melSpec must be \(batch, 8, frames\), got \[1, 9, 4\]/,
    );
    await expect(
      MultimodalModelOptimizer.exportOnnx(m, { a: Tensor.zeros([1, 8, 4]), b: Tensor.zeros([1]) }),
    ).rejects.toThrow(/takes one input \(melSpec\), got 2 sample input\(s\) \(a, b\)/);
    const f = new ModalityFusion({ embedDims: { image: 2, text: 2 }, fusionDim: 8 });
    await expect(MultimodalModelOptimizer.exportOnnx(f, { video: Tensor.zeros([1, 2]) })).rejects.toThrow(
      /ModalityFusion takes inputs named by its modalities \(image, text\), got video/,
    );
    f.dispose();
    const q = MultimodalModelOptimizer.quantizeModel(m);
    await expect(MultimodalModelOptimizer.exportOnnx(q, { mel: Tensor.zeros([1, 8, 4]) })).rejects.toThrow(
      /dynamically quantised; export the float model/,
    );
    clip.dispose();
    m.dispose();
    q.dispose();
    audio.dispose();
  });
});
