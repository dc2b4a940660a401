// `polymodal export <model> <out.onnx>`: a shipped model as ONNX, with sample inputs shaped from its card.
import { Tensor } from "../tensor.js";
import { MultimodalModelOptimizer } from "../optimize/optimizer.js";
import type { Module } from "../nn/module.js";
import { UsageError } from "./args.js";
import type { Models } from "../app/models.js";
import { HFCLIPModel } from "../models/hf-clip.js";
import type { CLIPModel } from "../models/clip.js";

export const EXPORTABLE = ["clip-scenes", "asr-words", "audio-events", "video-text"] as const;

/** Writes the ONNX file; returns a one-line description of its inputs. */
export async function exportShipped(name: string, path: string, models: Models): Promise<string> {
  if (!(EXPORTABLE as readonly string[]).includes(name)) throw new UsageError(`export: unknown model ${JSON.stringify(name)} (shipped: ${EXPORTABLE.join(", ")})`);
  const ids = (T: number): Tensor => new Tensor(new Int32Array(T).fill(1), [1, T]);
  let model: Module, sample: Record<string, Tensor>;
  if (name === "clip-scenes") {
    const c = await models.clip();
    const s = c.model instanceof HFCLIPModel ? c.model.config.visionConfig.imageSize : (c.model as CLIPModel).vision_encoder.config.imageSize;
    model = c.model as CLIPModel | HFCLIPModel;
    sample = { images: Tensor.zeros([1, 3, s, s]), input_ids: ids(c.maxLength), attention_mask: new Tensor(new Int32Array(c.maxLength).fill(1), [1, c.maxLength]) };
  } else if (name === "asr-words") {
    const a = await models.asr();
    model = a.model;
    sample = { mel_spec: Tensor.zeros([1, a.model.config.nMels, 100]) };
  } else if (name === "audio-events") {
    const a = await models.audio();
    model = a.model;
    sample = { waveform: Tensor.zeros([1, a.model.config.sampleRate]) };
  } else {
    const v = await models.video(), crop = v.processor.image.options.cropSize ?? v.processor.image.options.size;
    if (crop === null) throw new Error("export: the video-text card's processor has no fixed frame size");
    const [h, w] = Array.isArray(crop) ? crop : [crop, crop];
    model = v.model;
    sample = { video: Tensor.zeros([1, v.processor.numFrames, 3, h, w]), input_ids: ids(v.maxLength) };
  }
  await MultimodalModelOptimizer.exportOnnx(model, sample, path);
  return Object.entries(sample).map(([k, t]) => `${k} [${t.shape.join(", ")}]`).join(", ");
}
