// Every seed model against PyTorch 1.13 (eval, no_grad) outputs from scripts/fixtures/gen_models.py: weights are
// built from torch's own state_dict key list (procedural values, bit-identical to the Python side) or read from a
// real torch state_dict file, and loaded strictly.  Tolerance: max |a - ref| <= 2e-4 x max(1, |ref|), NMSE <= 1e-7.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  Tensor,
  F,
  loadSafetensors,
  VisionEncoder,
  TextEncoder,
  CLIPModel,
  ModalityFusion,
  MultimodalEmbeddingModel,
  AudioFeatureExtractor,
  SpeechRecognitionModel,
  VideoEncoder,
  VideoTextModel,
} from "../src/index.js";
import type { Module } from "../src/nn/module.js";
import { compare } from "./harness/compare.js";
import { proceduralStateDict } from "./harness/procedural.mjs";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const manifest = JSON.parse(readFileSync(join(dir, "models.json"), "utf8"));
const tensors = loadSafetensors(readFileSync(join(dir, "models.safetensors")));

interface ModelCase {
  id: string;
  model: string;
  config: Record<string, any>;
  method: string;
  inputs: string[];
  outputs: string[];
  keys: Array<[string, number[]]>;
  state_dict_file?: string;
  decoded?: number[][];
}

const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
function camelConfig(c: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(c)) {
    // embed_dims holds modality names: keep its keys as they are
    out[camel(k)] = v && typeof v === "object" && !Array.isArray(v) && k !== "embed_dims" ? camelConfig(v) : v;
  }
  return out;
}

const classes: Record<string, new (c: any) => Module> = {
  VisionEncoder,
  TextEncoder,
  CLIPModel,
  ModalityFusion,
  MultimodalEmbeddingModel,
  AudioFeatureExtractor,
  SpeechRecognitionModel,
  VideoEncoder,
  VideoTextModel,
};

function run(c: ModelCase, m: any, t: Record<string, Tensor>): Record<string, Tensor | number> {
  switch (`${c.model}.${c.method}`) {
    case "VisionEncoder.forward":
      return { y: m.forward(t.images) };
    case "TextEncoder.forward":
      return { y: m.forward(t.input_ids, t.attention_mask) };
    case "TextEncoder.transformer": {
      const T = t.input_ids.shape[1],
        E = c.config.embed_dim;
      const pos = new Tensor((m.pos_embed.toTensor().data as Float32Array).slice(0, T * E), [T, E]);
      const x = F.add(m.token_embed.forward(t.input_ids), pos);
      const kpm = new Tensor(
        Int32Array.from(t.attention_mask.data, (v) => (v === 0 ? 1 : 0)),
        t.attention_mask.shape,
      );
      return { y: m.transformer.forward(x, kpm) };
    }
    case "CLIPModel.forward": {
      const o = m.forward(t.images, t.input_ids, t.attention_mask);
      return {
        image_embeds: o.imageEmbeds,
        text_embeds: o.textEmbeds,
        logits_per_image: o.logitsPerImage,
        logits_per_text: o.logitsPerText,
        logit_scale: new Tensor(new Float32Array([o.logitScale]), [1]),
        loss: new Tensor(new Float32Array([m.computeLoss(o)]), [1]),
      };
    }
    case "ModalityFusion.forward":
      return { y: m.forward(t) };
    case "MultimodalEmbeddingModel.forward":
      return { y: m.forward({ image: t.image, text: t.text, audio: t.audio }) };
    case "AudioFeatureExtractor.forward":
      return { y: m.forward(t.waveform) };
    case "AudioFeatureExtractor.compute_spectrogram":
      return { y: m.computeSpectrogram(t.waveform) };
    case "SpeechRecognitionModel.forward":
      return { y: m.forward(t.mel_spec) };
    case "VideoEncoder.forward": {
      const o = m.forward(t.video);
      return { video_embedding: o.videoEmbedding, frame_embeddings: o.frameEmbeddings };
    }
    case "VideoTextModel.forward": {
      const o = m.forward(t.video, t.input_ids);
      return {
        video_embedding: o.videoEmbedding,
        text_embedding: o.textEmbedding,
        logits: o.logits,
        class_logits: o.classLogits,
      };
    }
    default:
      throw new Error(`no runner for ${c.model}.${c.method}`);
  }
}

beforeAll(async () => {
  await init();
});

describe("models match PyTorch", () => {
  it.each((manifest.cases as ModelCase[]).map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const m = new classes[c.model](camelConfig(c.config));
    try {
      const dict = c.state_dict_file
        ? loadSafetensors(readFileSync(join(dir, c.state_dict_file)))
        : proceduralStateDict(c.keys, Tensor);
      // torch's key list and ours are the same set
      expect(
        m
          .namedParameters()
          .map(([k]) => k)
          .sort(),
      ).toEqual(c.keys.map(([k]) => k).sort());
      m.loadStateDict(dict);
      const inputs = Object.fromEntries(c.inputs.map((n) => [n, tensors[`${c.id}.${n}`]]));
      const out = run(c, m, inputs);
      for (const name of c.outputs) {
        const a = out[name] as Tensor,
          r = tensors[`${c.id}.${name}`];
        expect(a.shape, `${c.id}.${name} shape`).toEqual(r.shape);
        const e = compare(a.data, r.data);
        const line =
          `${c.id}.${name}: maxAbs ${e.maxAbs.toExponential(2)} scaled ${e.maxScaled.toExponential(2)} ` +
          `nmse ${e.nmse.toExponential(2)}`;
        if (process.env.POLYMODAL_VERBOSE) console.log(line);
        expect(e.maxScaled, line).toBeLessThanOrEqual(2e-4);
        expect(e.nmse, line).toBeLessThanOrEqual(1e-7);
      }
      if (c.decoded) expect((m as SpeechRecognitionModel).decodeGreedy(out.y as Tensor)).toEqual(c.decoded);
    } finally {
      m.dispose();
    }
  });
});
