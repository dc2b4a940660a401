// Strict state_dict loading and model input checks: clear Errors, nothing half-loaded.
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  init,
  Tensor,
  nn,
  F,
  VisionEncoder,
  TextEncoder,
  CLIPModel,
  ModalityFusion,
  VideoEncoder,
  SpeechRecognitionModel,
  AudioFeatureExtractor,
  MultimodalEmbeddingModel,
} from "../src/index.js";

beforeAll(async () => {
  await init();
});

const small = { imageSize: 32, patchSize: 8, embedDim: 32, numHeads: 4, numLayers: 1, projectionDim: 16 };

describe("loadStateDict", () => {
  it("keys are PyTorch's, from field names", () => {
    const m = new nn.TransformerEncoder(
      () => new nn.TransformerEncoderLayer(16, 2, { dimFeedforward: 32, batchFirst: true }),
      2,
    );
    expect(Object.keys(m.stateDict())).toEqual([
      "layers.0.self_attn.in_proj_weight",
      "layers.0.self_attn.in_proj_bias",
      "layers.0.self_attn.out_proj.weight",
      "layers.0.self_attn.out_proj.bias",
      "layers.0.linear1.weight",
      "layers.0.linear1.bias",
      "layers.0.linear2.weight",
      "layers.0.linear2.bias",
      "layers.0.norm1.weight",
      "layers.0.norm1.bias",
      "layers.0.norm2.weight",
      "layers.0.norm2.bias",
      ...[
        "self_attn.in_proj_weight",
        "self_attn.in_proj_bias",
        "self_attn.out_proj.weight",
        "self_attn.out_proj.bias",
        "linear1.weight",
        "linear1.bias",
        "linear2.weight",
        "linear2.bias",
        "norm1.weight",
        "norm1.bias",
        "norm2.weight",
        "norm2.bias",
      ].map((k) => `layers.1.${k}`),
    ]);
    const lstm = new nn.LSTM(4, 3, { numLayers: 2, bidirectional: true });
    expect(Object.keys(lstm.stateDict())).toContain("weight_hh_l1_reverse");
    expect(Object.keys(new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1)).stateDict())).toEqual(
      ["0.weight", "0.bias", "2.weight", "2.bias"],
    );
    m.dispose();
    lstm.dispose();
  });

  it("stateDict() -> loadStateDict() round-trips exactly (including packed GEMM weights)", () => {
    const a = new VisionEncoder(small),
      b = new VisionEncoder(small);
    const sd = a.stateDict();
    b.loadStateDict(sd);
    const sd2 = b.stateDict();
    for (const k of Object.keys(sd)) expect(Array.from(sd2[k].data), k).toEqual(Array.from(sd[k].data));
    const x = Tensor.from(
      new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i)),
      [2, 3, 32, 32],
    );
    expect(Array.from(b.forward(x).data)).toEqual(Array.from(a.forward(x).data));
    a.dispose();
    b.dispose();
  });

  it("withoutInit builds a model of zeros to load into; models made later start from the same values", async () => {
    // each run in a fresh copy of the library (its own seed counter and runtime)
    const run = async (skipFirst: boolean) => {
      vi.resetModules();
      const p = await import("../src/index.js");
      await p.init();
      const first = skipFirst ? p.nn.withoutInit(() => new p.nn.Linear(4, 3)) : new p.nn.Linear(4, 3);
      const next = new p.nn.Linear(4, 3);
      return { first: Array.from(first.weight.toTensor().data), next: Array.from(next.weight.toTensor().data) };
    };
    const skipped = await run(true),
      initialised = await run(false);
    expect(skipped.first).toEqual(new Array(12).fill(0));
    expect(initialised.first).not.toEqual(new Array(12).fill(0));
    expect(skipped.next).toEqual(initialised.next);
  });

  it("one Error names every missing, unexpected and mis-shaped key, and nothing is written", () => {
    const m = new VisionEncoder(small);
    const sd = m.stateDict();
    const before = m.stateDict()["ln.weight"].data.slice();
    delete sd["projection.bias"];
    sd["transformer.layers.0.extra"] = Tensor.zeros([3]);
    sd.pos_embed = Tensor.zeros([1, 10, 32]);
    sd["ln.weight"] = Tensor.from(new Float32Array(32).fill(7), [32]);
    let msg = "";
    try {
      m.loadStateDict(sd);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/pos_embed: expected \[1, 17, 32\], got \[1, 10, 32\]/);
    expect(msg).toMatch(/missing 1 key\(s\):\s+projection\.bias/);
    expect(msg).toMatch(/unexpected 1 key\(s\):\s+transformer\.layers\.0\.extra/);
    expect(Array.from(m.stateDict()["ln.weight"].data)).toEqual(Array.from(before));
    // strict: false tolerates missing/unexpected, never a wrong shape
    delete sd.pos_embed;
    m.loadStateDict(sd, { strict: false });
    expect(m.stateDict()["ln.weight"].data[0]).toBe(7);
    sd["ln.bias"] = Tensor.zeros([31]);
    expect(() => m.loadStateDict(sd, { strict: false })).toThrow(/ln\.bias: expected \[32\], got \[31\]/);
    m.dispose();
  });

  it("rejects int tensors and NaN weights", () => {
    const m = new nn.Linear(3, 2);
    expect(() => m.loadStateDict({ weight: Tensor.zeros([2, 3], "int32"), bias: Tensor.zeros([2]) })).toThrow(
      /weight: expected float32, got int32/,
    );
    expect(() =>
      m.loadStateDict({ weight: Tensor.from(new Float32Array(6).fill(NaN), [2, 3]), bias: Tensor.zeros([2]) }),
    ).toThrow(/weight holds 6 NaN or infinite values/);
    expect(() => m.loadStateDict(null as unknown as Record<string, Tensor>)).toThrow(
      /expected an object of name -> Tensor/,
    );
    m.dispose();
  });
});

describe("model inputs", () => {
  it.each([
    [
      "VisionEncoder channels",
      () => new VisionEncoder(small).forward(Tensor.zeros([1, 1, 32, 32])),
      /images must be \(B, 3, 32, 32\) for 16 patches of 8, got \[1, 1, 32, 32\]/,
    ],
    [
      "VisionEncoder size",
      () => new VisionEncoder(small).forward(Tensor.zeros([1, 3, 40, 40])),
      /images must be \(B, 3, 32, 32\)/,
    ],
    [
      "VisionEncoder rank",
      () => new VisionEncoder(small).forward(Tensor.zeros([3, 32, 32])),
      /images must be 4-D \(batch, channels, height, width\), got shape \[3, 32, 32\]/,
    ],
    [
      "TextEncoder too long",
      () =>
        new TextEncoder({ vocabSize: 50, maxSeqLen: 8, embedDim: 16, numHeads: 2, numLayers: 1 }).forward(
          Tensor.zeros([1, 9], "int32"),
        ),
      /sequence length 9 exceeds max_seq_len 8/,
    ],
    [
      "TextEncoder vocab",
      () =>
        new TextEncoder({ vocabSize: 50, maxSeqLen: 8, embedDim: 16, numHeads: 2, numLayers: 1 }).forward(
          new Tensor(new Int32Array([3, 50]), [1, 2]),
        ),
      /id 50 at position 1 is outside the vocabulary \[0, 50\)/,
    ],
    [
      "TextEncoder float ids",
      () =>
        new TextEncoder({ vocabSize: 50, maxSeqLen: 8, embedDim: 16, numHeads: 2, numLayers: 1 }).forward(
          Tensor.zeros([1, 2]),
        ),
      /inputIds must be int32, got float32/,
    ],
    [
      "TextEncoder mask",
      () =>
        new TextEncoder({ vocabSize: 50, maxSeqLen: 8, embedDim: 16, numHeads: 2, numLayers: 1 }).forward(
          Tensor.zeros([2, 3], "int32"),
          Tensor.zeros([2, 4]),
        ),
      /attentionMask must have shape \[2, 3\]/,
    ],
    [
      "CLIP NaN image",
      () =>
        new CLIPModel({
          visionConfig: { imageSize: 16, patchSize: 8, embedDim: 16, numHeads: 2, numLayers: 1 },
          textConfig: { vocabSize: 20, maxSeqLen: 4, embedDim: 16, numHeads: 2, numLayers: 1 },
          projectionDim: 8,
        }).encodeImage(Tensor.from(new Float32Array(3 * 256).fill(NaN), [1, 3, 16, 16])),
      /images holds 768 NaN or infinite values/,
    ],
    [
      "VideoEncoder frames",
      () =>
        new VideoEncoder({ frameDim: 16, numFrames: 4, temporalDim: 16, numTemporalLayers: 1 }).forward(
          Tensor.zeros([1, 5, 3, 8, 8]),
        ),
      /video has 5 frames, more than num_frames \(4\)/,
    ],
    [
      "Fusion unknown",
      () => new ModalityFusion({ embedDims: { image: 4 }, fusionDim: 8 }).forward({ video: Tensor.zeros([1, 4]) }),
      /unknown modality "video" \(expected image\)/,
    ],
    [
      "Fusion none",
      () => new ModalityFusion({ embedDims: { image: 4 }, fusionDim: 8 }).forward({}),
      /at least one modality must be provided/,
    ],
    [
      "Fusion dim",
      () => new ModalityFusion({ embedDims: { image: 4 }, fusionDim: 8 }).forward({ image: Tensor.zeros([2, 5]) }),
      /image embedding must have shape \[2, 4\], got \[2, 5\]/,
    ],
    [
      "Fusion type",
      () => new ModalityFusion({ embedDims: { image: 4 }, fusionType: "sum" as never }),
      /unknown fusion type "sum"/,
    ],
    [
      "ASR mels",
      () => new SpeechRecognitionModel({ vocabSize: 10, nMels: 8, hiddenDim: 8 }).forward(Tensor.zeros([1, 7, 5])),
      /melSpec must be \(batch, 8, frames\), got \[1, 7, 5\]/,
    ],
    [
      "ASR lengths",
      () =>
        new SpeechRecognitionModel({ vocabSize: 10, nMels: 8, hiddenDim: 8 }).forward(
          Tensor.zeros([1, 8, 5]),
          Tensor.from([6]),
        ),
      /inputLengths must be integers in \[1, 5\], got 6/,
    ],
    [
      "Audio short",
      () => new AudioFeatureExtractor({ embedDim: 8 }).forward(Tensor.zeros([1, 100])),
      /reflect padding of 200 needs more than 200 samples/,
    ],
    [
      "Multimodal none",
      () => new MultimodalEmbeddingModel({ fusionDim: 16 }).forward({}),
      /at least one modality must be provided \(image, text, audio\)/,
    ],
  ])("%s", (_n, fn, msg) => {
    expect(fn).toThrow(msg);
  });
});

describe("MultiheadAttention cross-attention", () => {
  it("query != key works for any embed dim (E % 8 != 0 packs in scratch) and matches the self-attention path", () => {
    for (const E of [12, 16]) {
      const mha = new nn.MultiheadAttention(E, 2, { batchFirst: true });
      const x = Tensor.from(
        new Float32Array(2 * 5 * E).map((_, i) => Math.sin(i * 0.37)),
        [2, 5, E],
      );
      const self = mha.forward(x, x, x);
      const cross = mha.forward(x, x.clone(), x.clone()); // separate projections
      expect(Array.from(cross.data)).toEqual(Array.from(self.data));
      const kv = Tensor.from(
        new Float32Array(2 * 3 * E).map((_, i) => Math.cos(i * 0.11)),
        [2, 3, E],
      );
      expect(mha.forward(x, kv, kv).shape).toEqual([2, 5, E]);
      mha.dispose();
    }
  });
});

describe("LSTM paths agree", () => {
  it("nn.LSTM (GEMV or strided GEMM on h in place) equals F.lstmLayer bit for bit at batch 1, 3, 5 and 9", () => {
    const I = 12,
      H = 20,
      T = 7;
    const lstm = new nn.LSTM(I, H, { batchFirst: true });
    const sd = lstm.stateDict();
    for (const B of [1, 3, 5, 9]) {
      const x = Tensor.from(
        new Float32Array(B * T * I).map((_, i) => Math.sin(i * 0.13)),
        [B, T, I],
      );
      const a = lstm.forward(x);
      const b = F.lstmLayer(x, {
        weightIh: sd.weight_ih_l0,
        weightHh: sd.weight_hh_l0,
        biasIh: sd.bias_ih_l0,
        biasHh: sd.bias_hh_l0,
      });
      expect(Array.from(a.output.data), `B=${B}`).toEqual(Array.from(b.output.data));
      expect(Array.from(a.h.data)).toEqual(Array.from(b.h.data));
      expect(Array.from(a.c.data)).toEqual(Array.from(b.c.data));
    }
    lstm.dispose();
  });
});
