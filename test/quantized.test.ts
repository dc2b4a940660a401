// MultimodalModelOptimizer.quantizeModel against torch 1.13's quantize_dynamic (scripts/fixtures/gen_quantized.py):
// the same int8 weight codes and scales, the qnnpack engine's outputs bit for bit where no transcendental sits in
// between (Linear), and whole models within quantisation-aware tolerances under both engines.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  Tensor,
  loadSafetensors,
  nn,
  CLIPModel,
  SpeechRecognitionModel,
  AudioFeatureExtractor,
  MultimodalModelOptimizer,
  MultimodalIndex,
  camelConfig,
} from "../src/index.js";
import type { Module } from "../src/nn/module.js";
import { compare } from "./harness/compare.js";
import { proceduralStateDict } from "./harness/procedural.mjs";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const manifest = JSON.parse(readFileSync(join(dir, "quantized.json"), "utf8"));
const tensors = loadSafetensors(readFileSync(join(dir, "quantized.safetensors")));

interface QCase {
  id: string;
  kind: string;
  config: Record<string, any>;
  inputs: string[];
  outputs: string[];
  keys: Array<[string, number[]]>;
}

function build(c: QCase): Module {
  const cfg = camelConfig(c.config) as Record<string, any>;
  switch (c.kind) {
    case "Linear":
      return new nn.Sequential(new nn.Linear(cfg.inFeatures, cfg.outFeatures));
    case "LSTM":
      return new nn.Sequential(new nn.LSTM(cfg.inputSize, cfg.hiddenSize, cfg));
    case "SpeechRecognitionModel":
      return new SpeechRecognitionModel(cfg);
    case "CLIPModel":
      return new CLIPModel(cfg);
    default:
      throw new Error(`no builder for ${c.kind}`);
  }
}

function run(c: QCase, m: any, t: Record<string, Tensor>): Record<string, Tensor> {
  switch (c.kind) {
    case "Linear":
      return { y: m.forward(t.x) };
    case "LSTM":
      return { y: m.forward(t.x) };
    case "SpeechRecognitionModel":
      return { y: m.forward(t.mel_spec) };
    case "CLIPModel":
      return { image_embeds: m.encodeImage(t.images), text_embeds: m.encodeText(t.input_ids, t.attention_mask) };
    default:
      throw new Error(`no runner for ${c.kind}`);
  }
}

beforeAll(async () => {
  await init();
});

const engines: Array<[string, boolean]> = [
  ["qnnpack", false],
  ["onednn", true],
];
const cases = (manifest.cases as QCase[]).flatMap((c) => engines.map(([e, rr]) => [`${c.id} ${e}`, c, e, rr] as const));

describe("quantizeModel matches torch.quantization.quantize_dynamic", () => {
  it.each(cases)("%s", (_name, c, engine, reduceRange) => {
    const m = build(c);
    m.loadStateDict(proceduralStateDict(c.keys, Tensor));
    const q = MultimodalModelOptimizer.quantizeModel(m, "dynamic", { reduceRange });
    const inputs = Object.fromEntries(c.inputs.map((n) => [n, tensors[`${c.id}.${n}`]]));
    const out = run(c, q, inputs);
    for (const name of c.outputs.filter((n) => n in out)) {
      const a = out[name],
        r = tensors[`${c.id}.${engine}.${name}`];
      expect(a.shape).toEqual(r.shape);
      const e = compare(a.data, r.data);
      const fe = compare(tensors[`${c.id}.float.${name}`].data, r.data); // how far quantisation itself moves torch
      const line =
        `${c.id}.${engine}.${name}: maxAbs ${e.maxAbs.toExponential(2)} ` +
        `nmse ${e.nmse.toExponential(2)} (float vs quantised torch: nmse ${fe.nmse.toExponential(2)})`;
      if (process.env.POLYMODAL_VERBOSE) console.log(line);
      // qnnpack's Linear is reproduced bit for bit; elsewhere float ulps (the engines' epilogues, sigmoid/tanh)
      // remain, far below what quantisation itself changes: the float model would miss by 1e-8..1e-3 NMSE.
      if (c.kind === "Linear" && engine === "qnnpack") expect(e.maxAbs, line).toBe(0);
      expect(e.maxScaled, line).toBeLessThanOrEqual(1e-6);
      expect(e.nmse, line).toBeLessThanOrEqual(1e-12);
      if (fe.nmse > 0) expect(e.nmse * 1e3, line).toBeLessThan(fe.nmse); // (an all-zero input leaves only the bias)
    }
    if (c.kind === "Linear") {
      const w = (q as unknown as nn.Sequential)[0] as unknown as nn.DynamicQuantizedLinear;
      expect(w).toBeInstanceOf(nn.DynamicQuantizedLinear);
      const ww = w.weight();
      expect(Array.from(ww.codes)).toEqual(Array.from(tensors[`${c.id}.${engine}.codes`].data));
      expect(ww.scale).toBe(tensors[`${c.id}.${engine}.scale`].data[0]);
    }
  });
});

describe("quantizeModel semantics", () => {
  const clipCase = (manifest.cases as QCase[]).find((c) => c.kind === "CLIPModel")!;
  const images = () => tensors[`${clipCase.id}.images`];

  it("returns a copy: the float model keeps its weights and outputs; the copy owns its memory", () => {
    const m = build(clipCase) as CLIPModel;
    m.loadStateDict(proceduralStateDict(clipCase.keys, Tensor));
    const before = m.encodeImage(images()).data.slice();
    const q = MultimodalModelOptimizer.quantizeModel(m);
    expect(q).toBeInstanceOf(CLIPModel);
    expect(q).not.toBe(m);
    q.encodeImage(images());
    expect(m.encodeImage(images()).data).toEqual(before);
    q.dispose(); // frees the copy only
    expect(m.encodeImage(images()).data).toEqual(before);
    m.dispose();
  });

  it("swaps Linear and LSTM children but not an attention out_proj or the model itself, as torch does", () => {
    const m = build(clipCase) as any;
    const q = MultimodalModelOptimizer.quantizeModel(m) as any;
    const layer = q.vision_encoder.transformer.layers[0];
    expect(layer.linear1).toBeInstanceOf(nn.DynamicQuantizedLinear);
    expect(layer.linear2).toBeInstanceOf(nn.DynamicQuantizedLinear);
    expect(layer.self_attn.out_proj.constructor).toBe(nn.Linear);
    expect(q.vision_encoder.projection).toBeInstanceOf(nn.DynamicQuantizedLinear);
    const lone = new nn.Linear(4, 3);
    expect(MultimodalModelOptimizer.quantizeModel(lone).constructor).toBe(nn.Linear);
    const asr = MultimodalModelOptimizer.quantizeModel(
      new SpeechRecognitionModel({ vocabSize: 10, nMels: 8, hiddenDim: 8 }),
    ) as any;
    expect(asr.lstm).toBeInstanceOf(nn.DynamicQuantizedLSTM);
    expect(asr.output).toBeInstanceOf(nn.DynamicQuantizedLinear);
    // same parameter count: int8 codes stand for the float weights one for one
    expect(asr.numParameters()).toBe(
      new SpeechRecognitionModel({ vocabSize: 10, nMels: 8, hiddenDim: 8 }).numParameters(),
    );
    q.dispose();
    m.dispose();
    asr.dispose();
  });

  it("a quantised model has no float state_dict, and says so; bad arguments are Errors", () => {
    const q = MultimodalModelOptimizer.quantizeModel(build(clipCase));
    expect(() => q.stateDict()).toThrow(/DynamicQuantizedLinear holds int8 weights.*quantise it again/);
    expect(() => q.loadStateDict({})).toThrow(/int8 weights/);
    const m = new nn.Sequential(new nn.Linear(4, 3));
    expect(MultimodalModelOptimizer.quantizeModel(m, "static")).toBe(m);
    expect(() => MultimodalModelOptimizer.quantizeModel(m, "qat" as never)).toThrow(/"dynamic" or "static", got "qat"/);
    expect(() => MultimodalModelOptimizer.quantizeModel(null as never)).toThrow(/expected a Module, got null/);
    expect(() => MultimodalModelOptimizer.quantizeModel(m, "dynamic", { reduceRange: "yes" as never })).toThrow(
      /reduceRange must be true or false, got "yes"/,
    );
    const ql = MultimodalModelOptimizer.quantizeModel(m);
    expect(() => ql.forward(Tensor.zeros([2, 5]))).toThrow(/input must be \(\.\.\., 4\), got shape \[2, 5\]/);
    expect(() => ql.forward(Tensor.from(new Float32Array([0, NaN, 0, 0]), [1, 4]))).toThrow(/NaN/);
    q.dispose();
  });
});

describe("cacheEmbeddings", () => {
  const clipCase = (manifest.cases as QCase[]).find((c) => c.kind === "CLIPModel")!;

  it("encodes every batch into a saved index that searches like the model's own embeddings", async () => {
    const m = build(clipCase) as CLIPModel;
    m.loadStateDict(proceduralStateDict(clipCase.keys, Tensor));
    const imgs = tensors[`${clipCase.id}.images`]; // (3, 3, 32, 32)
    const one = (i: number) => new Tensor((imgs.data as Float32Array).slice(i * 3072, (i + 1) * 3072), [1, 3, 32, 32]);
    async function* loader() {
      yield {
        ids: ["a", "b"],
        inputs: new Tensor((imgs.data as Float32Array).slice(0, 2 * 3072), [2, 3, 32, 32]),
        metadata: [{ n: 0 }, { n: 1 }],
      };
      yield { ids: ["c"], inputs: one(2), metadata: [{ n: 2 }] };
    }
    const dirPath = mkdtempSync(join(tmpdir(), "pm-cache-"));
    try {
      const path = join(dirPath, "images.pmidx");
      const index = await MultimodalModelOptimizer.cacheEmbeddings(m, loader(), "image", path);
      expect(index.size).toBe(3);
      const loaded = await MultimodalIndex.loadFromFile(path);
      for (let i = 0; i < 3; i++) {
        const hit = loaded.search(m.encodeImage(one(i)), 1)[0];
        expect(hit.itemId).toBe("abc"[i]);
        expect(hit.metadata).toEqual({ n: i });
        expect(hit.modality).toBe("image");
        expect(hit.score).toBeCloseTo(1, 5);
      }
      // text batches go through encodeText with their attention mask
      const ids = tensors[`${clipCase.id}.input_ids`],
        mask = tensors[`${clipCase.id}.attention_mask`];
      const t = await MultimodalModelOptimizer.cacheEmbeddings(
        m,
        [{ ids: ["x", "y", "z"], inputs: ids, attentionMask: mask }],
        "text",
      );
      expect(t.get("x")!.embedding.length).toBe(32);
      expect(t.search((m.encodeText(ids, mask).data as Float32Array).slice(0, 32), 1)[0].itemId).toBe("x");
    } finally {
      rmSync(dirPath, { recursive: true, force: true });
      m.dispose();
    }
  });

  it("caches sound embeddings through an AudioFeatureExtractor's forward", async () => {
    const a = new AudioFeatureExtractor({
      convChannels: [8, 8, 8],
      nhead: 2,
      numLayers: 1,
      dimFeedforward: 16,
      embedDim: 6,
    });
    const w = Tensor.from(
      Float32Array.from({ length: 2 * 3200 }, (_, i) => Math.sin(i * (i < 3200 ? 0.05 : 0.31))),
      [2, 3200],
    );
    const ix = await MultimodalModelOptimizer.cacheEmbeddings(a, [{ ids: ["low", "high"], inputs: w }], "audio");
    const ref = a.forward(w);
    expect(ix.search((ref.data as Float32Array).slice(6, 12), 1)[0].itemId).toBe("high");
    expect(ix.get("low")!.modality).toBe("audio");
    a.dispose();
  });

  it("rejects what it cannot cache, naming the problem", async () => {
    const m = build(clipCase) as CLIPModel;
    const x = Tensor.zeros([2, 3, 32, 32]);
    await expect(MultimodalModelOptimizer.cacheEmbeddings(m, [], "image")).rejects.toThrow(/yielded no batches/);
    await expect(MultimodalModelOptimizer.cacheEmbeddings(m, [{ ids: ["a"], inputs: x }], "image")).rejects.toThrow(
      /1 ids but inputs of batch size 2/,
    );
    await expect(
      MultimodalModelOptimizer.cacheEmbeddings(m, [{ ids: ["a", "b"], inputs: x }], "audio"),
    ).rejects.toThrow(/CLIPModel has no encoder for modality "audio"/);
    await expect(MultimodalModelOptimizer.cacheEmbeddings(m, [{ ids: "a" } as never], "image")).rejects.toThrow(
      /batch 0 must be/,
    );
    m.dispose();
  });
});
