// The shipped CLIP (models/clip-scenes.*, trained by scripts/train/train_clip.py): it loads through the public
// API, reproduces PyTorch's embeddings, and its held-out recall measured through polymodal matches the card.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  CLIPModel,
  camelConfig,
  loadSafetensors,
  ImageProcessor,
  ByteTokenizer,
  MultimodalIndex,
  Tensor,
} from "../src/index.js";
import { makeScene, SIZE } from "../scripts/scenes.mjs";
import { compare } from "./harness/compare.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const card = JSON.parse(readFileSync(join(root, "models/clip-scenes.json"), "utf8"));

let clip: CLIPModel;
const proc = new ImageProcessor({ size: null, cropSize: null, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
const tok = new ByteTokenizer();

function embedScenes(first: number, n: number): { img: Tensor; txt: Tensor; caps: string[] } {
  const scenes = Array.from({ length: n }, (_, i) => makeScene(first + i));
  const caps = scenes.map((s) => s.caption);
  const imgs: Float32Array[] = [],
    txts: Float32Array[] = [];
  for (let s = 0; s < n; s += 100) {
    const batch = scenes.slice(s, s + 100);
    imgs.push(
      clip.encodeImage(
        proc.process(batch.map((sc) => ({ width: SIZE, height: SIZE, channels: 3 as const, data: sc.pixels }))),
      ).data as Float32Array,
    );
    const { inputIds, attentionMask } = tok.encodeBatch(
      batch.map((sc) => sc.caption),
      { maxLength: 48, padding: "max_length" },
    );
    txts.push(clip.encodeText(inputIds, attentionMask).data as Float32Array);
  }
  const D = clip.projectionDim;
  const cat = (parts: Float32Array[]): Tensor => {
    const o = new Float32Array(n * D);
    let p = 0;
    for (const a of parts) {
      o.set(a, p);
      p += a.length;
    }
    return new Tensor(o, [n, D]);
  };
  return { img: cat(imgs), txt: cat(txts), caps };
}

beforeAll(async () => {
  await init();
  clip = new CLIPModel(camelConfig(card.config));
  clip.loadStateDict(loadSafetensors(readFileSync(join(root, "models/clip-scenes.safetensors"))));
});

describe("shipped CLIP (procedural scenes)", () => {
  it("is small enough to ship and reproduces PyTorch's embeddings", () => {
    expect(readFileSync(join(root, "models/clip-scenes.safetensors")).length).toBeLessThan(8 * 2 ** 20);
    const ref = loadSafetensors(readFileSync(join(root, "test/fixtures/clip-scenes-reference.safetensors")));
    const { img, txt } = embedScenes(1_000_000, 4);
    for (const [name, a] of [
      ["image_embeds", img],
      ["text_embeds", txt],
    ] as const) {
      const e = compare(a.data, ref[name].data);
      expect(e.maxScaled, name).toBeLessThanOrEqual(2e-4);
      expect(e.nmse, name).toBeLessThanOrEqual(1e-7);
    }
  });

  it("held-out recall@1 through polymodal (1,000 scenes, searched with MultimodalIndex)", () => {
    const { img, txt, caps } = embedScenes(1_000_000, 1000);
    const D = clip.projectionDim;
    const images = new MultimodalIndex(D),
      texts = new MultimodalIndex(D);
    images.addBatch(
      caps.map((_, i) => `img${i}`),
      img,
      "image",
    );
    texts.addBatch(
      caps.map((_, i) => `txt${i}`),
      txt,
      "text",
    );
    let t2i = 0,
      i2t = 0;
    for (let i = 0; i < caps.length; i++) {
      const hi = images.search(txt.data.subarray(i * D, (i + 1) * D) as Float32Array, 1)[0];
      if (caps[Number(hi.itemId.slice(3))] === caps[i]) t2i++;
      const ht = texts.search(img.data.subarray(i * D, (i + 1) * D) as Float32Array, 1)[0];
      if (caps[Number(ht.itemId.slice(3))] === caps[i]) i2t++;
    }
    const r = { t2i: t2i / caps.length, i2t: i2t / caps.length };
    console.log(
      `shipped CLIP held-out recall@1 through polymodal: text->image ${r.t2i.toFixed(3)}, ` +
        `image->text ${r.i2t.toFixed(3)} ` +
        `(PyTorch: ${card.metrics_pytorch.text_to_image_recall_at_1.toFixed(3)}, ` +
        `${card.metrics_pytorch.image_to_text_recall_at_1.toFixed(3)})`,
    );
    // polymodal reproduces the model: its recall equals PyTorch's up to a near-tie or two
    expect(Math.abs(r.t2i - card.metrics_pytorch.text_to_image_recall_at_1)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(r.i2t - card.metrics_pytorch.image_to_text_recall_at_1)).toBeLessThanOrEqual(0.005);
    images.dispose();
    texts.dispose();
  });
});
