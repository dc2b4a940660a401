// The demo's real job: index generated scenes with the shipped CLIP and search them by text and by image.
import { readFileSync } from "node:fs";
import { CLIPModel, loadSafetensors, ImageProcessor, ByteTokenizer, MultimodalIndex } from "../dist/index.js";
import { makeScene, SIZE } from "./scenes.mjs";

export async function demoSearch() {
  const card = JSON.parse(readFileSync(new URL("../models/clip-scenes.json", import.meta.url), "utf8"));
  const camel = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), v && typeof v === "object" ? camel(v) : v]));
  const clip = new CLIPModel(camel(card.config));
  clip.loadStateDict(loadSafetensors(readFileSync(new URL("../models/clip-scenes.safetensors", import.meta.url))));
  const proc = new ImageProcessor({ size: null, cropSize: null, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  const tok = new ByteTokenizer();
  const N = 500;
  const scenes = Array.from({ length: N }, (_, i) => makeScene(2_000_000 + i)); // never seen in training
  const index = new MultimodalIndex(clip.projectionDim, { kind: "hnsw" });
  let t0 = performance.now();
  for (let s = 0; s < N; s += 100) {
    const batch = scenes.slice(s, s + 100);
    const emb = clip.encodeImage(proc.process(batch.map((sc) => ({ width: SIZE, height: SIZE, channels: 3, data: sc.pixels }))));
    index.addBatch(batch.map((_, i) => `scene_${s + i}`), emb, "image", batch.map((sc) => ({ caption: sc.caption })));
  }
  console.log(`\nsearch: ${N} generated scenes embedded by the shipped CLIP and indexed (HNSW) in ${(performance.now() - t0).toFixed(0)} ms`);
  const queries = ["two small red circles on the left", "one large blue square on the top", "three small yellow triangles on the bottom", "one large white circle on the right"];
  for (const q of queries) {
    t0 = performance.now();
    const { inputIds, attentionMask } = tok.encodeBatch([q], { maxLength: 48, padding: "max_length" });
    const hits = index.search(clip.encodeText(inputIds, attentionMask).data, 3, "image");
    console.log(`  "${q}" (${(performance.now() - t0).toFixed(1)} ms)`);
    for (const h of hits) console.log(`     ${h.score.toFixed(3)}  ${h.metadata.caption}${h.metadata.caption === q ? "   <- exact match" : ""}`);
  }
  // accuracy over all scenes: does the top image for each caption carry that caption?
  let hitsText = 0, hitsImage = 0;
  for (let i = 0; i < N; i++) {
    const { inputIds, attentionMask } = tok.encodeBatch([scenes[i].caption], { maxLength: 48, padding: "max_length" });
    const top = index.search(clip.encodeText(inputIds, attentionMask).data, 1, "image")[0];
    if (top.metadata.caption === scenes[i].caption) hitsText++;
    const self = index.get(`scene_${i}`);
    const sim = index.search(self.embedding, 2, "image").find((h) => h.itemId !== `scene_${i}`);
    if (sim && sim.metadata.caption === scenes[i].caption) hitsImage++;
  }
  console.log(`  text->image top-1 caption match over ${N} scenes: ${(100 * hitsText / N).toFixed(1)}%;  image->image (nearest other scene has the same caption): ${(100 * hitsImage / N).toFixed(1)}%`);
  console.log(`  (the shipped model's card: ${JSON.stringify(card.metrics_pytorch)})`);
  index.dispose();
  clip.dispose();
}
