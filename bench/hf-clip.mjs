// Hugging Face CLIP at the real ViT-B/32 size (151 M parameters, procedural weights by its own key names), one
// thread: polymodal vs onnxruntime-web's WASM backend on the same weights and inputs.  The ONNX graphs come from
// polymodal's exportOnnx (image-only and text-only, so each peer runs exactly one tower); the outputs are compared.
import { Tensor, HFCLIPModel, MultimodalModelOptimizer, memoryStats } from "../dist/index.js";
import { fillProcedural } from "../test/harness/procedural.mjs";
import { HF_CLIP_CONFIGS, PHOTOS, photo } from "../test/harness/hf-clip.mjs";
import { CLIPImageProcessor } from "../dist/index.js";
import { measure, report } from "./measure.mjs";
import { loadOrt, session } from "./peers/ort.mjs";

const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
function maxDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return `max |polymodal - onnxruntime-web| ${m.toExponential(1)}`;
}

export async function benchHfClip(name = "b32") {
  const ort = await loadOrt();
  const { config, preprocessor } = HF_CLIP_CONFIGS[name];
  const model = HFCLIPModel.fromConfig(config);
  fillProcedural(model);
  const proc = CLIPImageProcessor.fromJSON(preprocessor);
  const [k, w, h, c] = PHOTOS[0];
  const pixels = proc.process([photo(k, w, h, c)]);
  // "a photo of a cat" as CLIP tokenizes it: <|startoftext|> 4 words <|endoftext|>; and a 20-token caption
  const ids = (n) =>
    new Tensor(
      Int32Array.from({ length: n }, (_, i) => (i === 0 ? 49406 : i === n - 1 ? 49407 : 320 + i * 37)),
      [1, n],
    );
  const mask = (n) => new Tensor(new Int32Array(n).fill(1), [1, n]);
  const out = [];
  const cases = [
    {
      title: `Hugging Face CLIP ${name === "b32" ? "ViT-B/32" : "ViT-B/16"} image embedding (224x224, batch 1)`,
      sample: { pixel_values: pixels },
      run: () => model.encodeImage(pixels),
      output: "image_embeds",
    },
    ...[6, 20].map((n) => ({
      title: `Hugging Face CLIP ${name === "b32" ? "ViT-B/32" : "ViT-B/16"} text embedding (${n} tokens, batch 1)`,
      sample: { input_ids: ids(n), attention_mask: mask(n) },
      run: () => model.encodeText(ids(n), mask(n)),
      output: "text_embeds",
    })),
  ];
  for (const cs of cases) {
    const bytes = await MultimodalModelOptimizer.exportOnnx(model, cs.sample);
    const sess = await session(bytes);
    const feeds = Object.fromEntries(
      Object.entries(cs.sample).map(([n, t]) => [n, new ort.Tensor(t.dtype, t.data, [...t.shape])]),
    );
    const check = maxDiff(cs.run().data, (await sess.run(feeds))[cs.output].data);
    const res = await measure(
      { polymodal: () => cs.run(), "onnxruntime-web": async () => (await sess.run(feeds))[cs.output].data },
      { rounds: 7 },
    );
    report(`${cs.title}  [outputs: ${check}]`, res);
    await sess.release();
    out.push({
      title: cs.title,
      ms: res.polymodal.median,
      ratio: res.polymodal.median / res["onnxruntime-web"].median,
    });
  }
  console.log(`  polymodal WASM memory ${mib(memoryStats().wasmBytes)}; process RSS ${mib(process.memoryUsage().rss)}`);
  model.dispose();
  return out;
}
