// Hugging Face CLIP from its own files against reference/hf_clip.py (PyTorch 1.13, outputs from
// scripts/fixtures/gen_hf_clip.py): folders written as save_pretrained writes them (test/harness/hf-clip.mjs,
// procedural weights by Hugging Face's key names) at a small size and at the real ViT-B/32 and ViT-B/16 sizes,
// loaded with one loadPretrained(dir) call.  Pixel values (PIL bicubic resize, crop, rescale, normalise) must equal
// the reference's exactly; model outputs are held to the model zoo's budget: max |a - ref| <= 2e-4 x max(1, |ref|),
// NMSE <= 1e-7.
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  renameSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  init,
  loadPretrained,
  loadSafetensors,
  resizePIL,
  encodePng,
  HFCLIPModel,
  CLIPImageProcessor,
  MultimodalModelOptimizer,
  Tensor,
} from "../src/index.js";
import { compare } from "./harness/compare.js";
import { expectWithinBudget } from "./harness/budget.js";
import { HF_CLIP_FIXTURES, HF_CLIP_CONFIGS, PHOTOS, photo, writeHFClipFolder, f16Bits } from "./harness/hf-clip.mjs";
import { relaxedProject } from "./harness/simd.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const expected = (name: string): Record<string, Tensor> =>
  loadSafetensors(readFileSync(join(HF_CLIP_FIXTURES, `${name}.expected.safetensors`)));
const photos = () => PHOTOS.map(([k, w, h, c]) => photo(k, w, h, c));
let tmp: string;

beforeAll(async () => {
  await init();
  tmp = mkdtempSync(join(tmpdir(), "polymodal-hf-clip-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every output the reference wrote, from the loaded embedder's model on the reference's inputs. */
function expectMatches(
  clip: Awaited<ReturnType<typeof loadPretrained>> & { model: HFCLIPModel },
  want: Record<string, Tensor>,
  tag: string,
): void {
  const pixels = clip.processor.process(photos());
  if (want.pixel_values) expect(Array.from(pixels.data)).toEqual(Array.from(want.pixel_values.data)); // exact
  const ids = want.input_ids,
    mask = want.attention_mask;
  expectWithinBudget(`${tag} image_features`, clip.model.getImageFeatures(pixels), want.image_features);
  expectWithinBudget(`${tag} text_features`, clip.model.getTextFeatures(ids, mask), want.text_features);
  const img = clip.model.encodeImage(pixels),
    txt = clip.model.encodeText(ids, mask);
  expectWithinBudget(`${tag} image_embeds`, img, want.image_embeds);
  expectWithinBudget(`${tag} text_embeds`, txt, want.text_embeds);
  // logits_per_image = exp(logit_scale) * image_embeds @ text_embeds^T
  const s = clip.model.logitScaleExp,
    [Bi, P] = img.shape,
    Bt = txt.shape[0];
  const lpi = new Float32Array(Bi * Bt);
  for (let i = 0; i < Bi; i++)
    for (let j = 0; j < Bt; j++) {
      let d = 0;
      for (let k = 0; k < P; k++) d += img.data[i * P + k] * txt.data[j * P + k];
      lpi[i * Bt + j] = d * s;
    }
  expectWithinBudget(`${tag} logits_per_image`, new Tensor(lpi, [Bi, Bt]), want.logits_per_image);
}

describe("PIL's resize, bit for bit (Pillow's Resample.c: 22-bit fixed point, horizontal pass first)", () => {
  const cases = loadSafetensors(readFileSync(join(HF_CLIP_FIXTURES, "pil-resize.expected.safetensors")));
  const bytes = readFileSync(join(HF_CLIP_FIXTURES, "pil-resize.expected.safetensors"));
  const meta = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8")).__metadata__;
  const list: Array<[string, number, number, number, number, number, number]> = JSON.parse(meta.cases);
  it("covers down, up, mixed, one-axis, bilinear, box and large-ratio cases", () => expect(list.length).toBe(8));
  for (const [name, h, w, c, oh, ow, rs] of list) {
    it(`${name}: ${w}x${h} -> ${ow}x${oh}, resample ${rs}, every byte equal`, () => {
      const src = photo(`resize.${name}`, w, h, c);
      const got = resizePIL(src.data, h, w, c, oh, ow, rs);
      expect(Array.from(got)).toEqual(Array.from(cases[name].data));
    });
  }
  it("refuses filters it cannot compute identically everywhere, naming them", () => {
    expect(() => resizePIL(new Uint8Array(12), 2, 2, 3, 1, 1, 1)).toThrow(
      /resample 1 \(LANCZOS\) is not supported; supported: 2 \(BILINEAR\), 3 \(BICUBIC\), 4 \(BOX\)/,
    );
  });
});

describe("a Hugging Face CLIP folder, small", () => {
  it(
    "loads with one call and matches the reference: pixel values exactly, features, embeddings and logits within " +
      "budget",
    async () => {
      const dir = writeHFClipFolder(join(tmp, "small"), "small");
      const clip = await loadPretrained(dir);
      expect(clip.model).toBeInstanceOf(HFCLIPModel);
      expect(clip.dim).toBe(32);
      expectMatches(clip, expected("small"), "small");
      // the pipeline's own path: bytes-free decoded images and strings
      const [a] = clip.embedImages([photos()[0]]);
      expect(Array.from(a)).toEqual(Array.from(clip.model.encodeImage(clip.processor.process([photos()[0]])).data));
    },
  );

  it("float16 weights load (and match the reference run on the same float16-rounded weights)", async () => {
    const clip = await loadPretrained(writeHFClipFolder(join(tmp, "small-f16"), "small", { dtype: "F16" }));
    expectMatches(clip, expected("small-f16"), "small f16");
  });

  it(
    "sharded weights with an index file (and the position_ids buffers older transformers saved) give the single " +
      "file's bits",
    async () => {
      const one = await loadPretrained(join(tmp, "small"));
      const dir = writeHFClipFolder(join(tmp, "small-sharded"), "small", { shards: 3, positionIds: true });
      const clip = await loadPretrained(dir);
      const w = expected("small");
      const px = clip.processor.process(photos());
      expect(Array.from(clip.model.encodeImage(px).data)).toEqual(Array.from(one.model.encodeImage(px).data));
      expect(Array.from(clip.model.encodeText(w.input_ids, w.attention_mask).data)).toEqual(
        Array.from(one.model.encodeText(w.input_ids, w.attention_mask).data),
      );
    },
  );

  it(
    "tokenizes with the folder's tokenizer.json: <|startoftext|> ... <|endoftext|>, pooled at the end of " + "text",
    async () => {
      const clip = await loadPretrained(join(tmp, "small"));
      const tok = clip.tokenizer as unknown as { encode(t: string): { ids: number[] } };
      const ids = tok.encode("a photo of a cat").ids;
      expect(ids[0]).toBe(49406);
      expect(ids[ids.length - 1]).toBe(49407);
      // padding to the batch's longest changes nothing for a causal text model
      const [alone] = clip.embedTexts(["a photo of a cat"]);
      const [batched] = clip.embedTexts([
        "a photo of a cat",
        "a much longer caption about a small red circle on the left of the frame",
      ]);
      expect(Array.from(batched)).toEqual(Array.from(alone));
    },
  );

  it("float16 rounding in the fixture writer is numpy's (round half to even, subnormals, overflow)", () => {
    expect(f16Bits(1)).toBe(0x3c00);
    expect(f16Bits(65504)).toBe(0x7bff);
    expect(f16Bits(65520)).toBe(0x7c00);
    expect(f16Bits(2 ** -24)).toBe(1);
    expect(f16Bits(-(2 ** -25))).toBe(0x8000); // a tie rounds to the even 0
    expect(f16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });
});

describe("a Hugging Face CLIP folder that is not right is refused, naming what is wrong", () => {
  const broken = (name: string, edit: (dir: string) => void): string => {
    const dir = writeHFClipFolder(join(tmp, name), "small");
    edit(dir);
    return dir;
  };
  it("missing files, pickle-only weights, unknown architectures and activations", async () => {
    await expect(loadPretrained(broken("no-tok", (d) => unlinkSync(join(d, "tokenizer.json"))))).rejects.toThrow(
      /has no tokenizer\.json/,
    );
    await expect(
      loadPretrained(broken("pickle", (d) => renameSync(join(d, "model.safetensors"), join(d, "pytorch_model.bin")))),
    ).rejects.toThrow(/only pytorch_model\.bin: pickle files are not read/);
    const cfg = HF_CLIP_CONFIGS.small.config;
    await expect(
      loadPretrained(
        broken("siglip", (d) =>
          writeFileSync(join(d, "config.json"), JSON.stringify({ ...cfg, model_type: "siglip" })),
        ),
      ),
    ).rejects.toThrow(/model_type "siglip"; supported: .*\bclip\b.*whisper/);
    await expect(
      loadPretrained(
        broken("silu", (d) =>
          writeFileSync(
            join(d, "config.json"),
            JSON.stringify({ ...cfg, vision_config: { ...cfg.vision_config, hidden_act: "silu" } }),
          ),
        ),
      ),
    ).rejects.toThrow(/vision_config\.hidden_act "silu" is not supported \(supported: quick_gelu, gelu\)/);
    await expect(loadPretrained(join(tmp, "nothing-here"))).rejects.toThrow(
      /unknown model .*nothing-here.*shipped: clip-scenes/,
    );
  });
  it("weights of another size or with other key names: every bad key named", async () => {
    const cfg = HF_CLIP_CONFIGS.small.config;
    const dir = broken("wider", (d) =>
      writeFileSync(join(d, "config.json"), JSON.stringify({ ...cfg, projection_dim: 48 })),
    );
    await expect(loadPretrained(dir)).rejects.toThrow(
      /visual_projection\.weight: expected \[48, 64\], got \[32, 64\][\s\S]*text_projection\.weight/,
    );
  });
  it("a sharded checkpoint whose index disagrees with its shards", async () => {
    const dir = writeHFClipFolder(join(tmp, "bad-index"), "small", { shards: 2 });
    const idx = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
    idx.weight_map.logit_scale = "model-00001-of-00002.safetensors";
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(idx));
    await expect(loadPretrained(dir)).rejects.toThrow(
      /logit_scale is in model-00002-of-00002\.safetensors but the index says model-00001-of-00002\.safetensors/,
    );
    idx.weight_map["../../etc/passwd"] = "../x.safetensors";
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(idx));
    await expect(loadPretrained(dir)).rejects.toThrow(
      /names shard\(s\) that are not safetensors files in the folder: "\.\.\/x\.safetensors"/,
    );
  });
  it(
    "sizes that would cost gigabytes or hang are refused before anything is allocated; only regular files are " +
      "read",
    async () => {
      const cfg = HF_CLIP_CONFIGS.small.config,
        pre = JSON.parse(
          readFileSync(join(writeHFClipFolder(join(tmp, "pre"), "small"), "preprocessor_config.json"), "utf8"),
        );
      const big: Array<[string, object, RegExp]> = [
        [
          "projection",
          { ...cfg, projection_dim: 1e9 },
          /describes \d+ parameters, more than limits\.maxParameters \(1000000000\)/,
        ],
        [
          "hidden",
          { ...cfg, text_config: { ...cfg.text_config, hidden_size: 65536, num_attention_heads: 1 } },
          new RegExp(
            String.raw`describes \d+ parameters, more than limits\.maxParameters|` +
              String.raw`and the weights hold \d+ values: they are not this model's`,
          ),
        ],
        [
          "layers",
          { ...cfg, text_config: { ...cfg.text_config, num_hidden_layers: 1e6 } },
          /num_hidden_layers 1000000 is more than 1000/,
        ],
        [
          "5000 layers",
          { ...cfg, text_config: { ...cfg.text_config, num_hidden_layers: 900 } },
          /describes \d+ parameters, and the weights hold \d+ values/,
        ],
      ];
      for (const [name, c, want] of big)
        await expect(
          loadPretrained(broken(name, (d) => writeFileSync(join(d, "config.json"), JSON.stringify(c)))),
          name,
        ).rejects.toThrow(want);
      const crops: Array<[string, object, RegExp]> = [
        [
          "crop",
          { ...pre, crop_size: 16000 },
          /makes 16000x16000 images, and config\.json's vision_config\.image_size is \d+/,
        ],
        [
          "edge",
          { ...pre, size: { shortest_edge: 20000 } },
          /resizes images to 20000 pixels, more than 4 times the model's image_size/,
        ],
        ["proto", { ...pre, resample: "__proto__" }, /resample "__proto__" is not supported/],
      ];
      for (const [name, p, want] of crops)
        await expect(
          loadPretrained(broken(name, (d) => writeFileSync(join(d, "preprocessor_config.json"), JSON.stringify(p)))),
          name,
        ).rejects.toThrow(want);
      // a strict-loading error names at most 50 keys of a kind, then how many more
      const many = broken("many-keys", (d) =>
        writeFileSync(
          join(d, "config.json"),
          JSON.stringify({ ...cfg, text_config: { ...cfg.text_config, num_hidden_layers: 40 } }),
        ),
      );
      const e = await loadPretrained(many).catch((x: Error) => x);
      expect((e as Error).message).toMatch(/missing \d+ key\(s\):[\s\S]*\.\.\. and \d+ more/);
      expect((e as Error).message.length).toBeLessThan(20_000);
      // a symlink to /dev/zero, a FIFO, a folder: refused at once, never read
      await expect(
        loadPretrained(
          broken("zero", (d) => {
            unlinkSync(join(d, "model.safetensors"));
            symlinkSync("/dev/zero", join(d, "model.safetensors"));
          }),
        ),
      ).rejects.toThrow(/model\.safetensors is not a regular file/);
      await expect(
        loadPretrained(
          broken("fifo", (d) => {
            unlinkSync(join(d, "config.json"));
            execFileSync("mkfifo", [join(d, "config.json")]);
          }),
        ),
      ).rejects.toThrow(/config\.json is not a regular file/);
      await expect(
        loadPretrained(
          broken("dir", (d) => {
            unlinkSync(join(d, "tokenizer.json"));
            mkdirSync(join(d, "tokenizer.json"));
          }),
        ),
      ).rejects.toThrow(/tokenizer\.json is not a regular file/);
    },
  );
  it("a weight_map with a million extra names is refused at once (the consistency check is linear)", async () => {
    const dir = writeHFClipFolder(join(tmp, "huge-index"), "small", { shards: 2 });
    const idx = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
    for (let i = 0; i < 1_000_000; i++) idx.weight_map[`extra.${i}`] = "model-00001-of-00002.safetensors";
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(idx));
    await expect(loadPretrained(dir)).rejects.toThrow(/names 1000\d{3} tensors; at most 200000 are read/);
    for (let i = 0; i < 1_000_000 - 50_000; i++) delete idx.weight_map[`extra.${i}`];
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(idx));
    await expect(loadPretrained(dir)).rejects.toThrow(/extra\.\d+ is in no shard[\s\S]*\.\.\. 49980 more/);
  });
  it("a preprocessor config it cannot follow", () => {
    expect(() => CLIPImageProcessor.fromJSON({ resample: 1 })).toThrow(/resample 1 is not supported/);
    expect(() => CLIPImageProcessor.fromJSON({ image_processor_type: "SiglipImageProcessor" })).toThrow(
      /"SiglipImageProcessor" is not supported/,
    );
    expect(() => CLIPImageProcessor.fromJSON({ size: { longest_edge: 3 } })).toThrow(/size must be/);
  });
});

// The real sizes: 151 M parameters (a 600 MB folder each), written, loaded and run here
describe.each(["b32", "b16"])("a Hugging Face CLIP folder at the real %s size", (name) => {
  it("loads with one call and matches the reference", async () => {
    const dir = writeHFClipFolder(join(tmp, name), name);
    try {
      const clip = await loadPretrained(dir);
      expect(clip.dim).toBe(512);
      expectMatches(clip, expected(name), name);
      clip.model.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

// children run the default build (test/harness/simd.ts)
describe.skipIf(relaxedProject)("polymodal index / search --model <Hugging Face folder>", () => {
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), ...args], {
      encoding: "utf8",
      cwd: tmp,
      timeout: 120_000,
    });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  it("indexes a folder with the checkpoint, searches it by text and by image, and refuses the index to other " +
    "models", async () => {
    const model = join(tmp, "small");
    if (!existsSync(join(model, "model.safetensors"))) writeHFClipFolder(model, "small");
    const coll = join(tmp, "photos");
    mkdirSync(coll, { recursive: true });
    const imgs = Array.from({ length: 5 }, (_, i) => photo(`cli.photo.${i}`, 40 + 7 * i, 36 + 3 * i, 3));
    imgs.forEach((im, i) => writeFileSync(join(coll, `p${i}.png`), encodePng(im)));
    const idx = cli("index", coll, "--model", model, "--quiet");
    expect(idx.err).toBe("");
    expect(idx.code).toBe(0);
    expect(idx.out).toMatch(/indexed 5 new or changed files/);
    const t = JSON.parse(
      cli("search", "a photo of a cat", "--model", model, "--index", join(coll, ".polymodal"), "-k", "5", "--json").out,
    );
    expect(t.results).toHaveLength(5);
    // the scores are the library's: the embedder's text embedding against its image embeddings
    const clip = await loadPretrained(model);
    const [q] = clip.embedTexts(["a photo of a cat"]);
    const want = imgs
      .map((im, i) => ({ path: `p${i}.png`, score: clip.embedImages([im])[0].reduce((s, v, k) => s + v * q[k], 0) }))
      .sort((a, b) => b.score - a.score);
    expect(t.results.map((r: { path: string }) => r.path)).toEqual(want.map((w) => w.path));
    t.results.forEach((r: { score: number }, i: number) => expect(r.score).toBeCloseTo(want[i].score, 5));
    // by image: a copy of p3 outside the collection finds p3 first, at cosine 1
    writeFileSync(join(tmp, "query.png"), encodePng(imgs[3]));
    const byImage = JSON.parse(
      cli(
        "search",
        "--image",
        join(tmp, "query.png"),
        "--model",
        model,
        "--index",
        join(coll, ".polymodal"),
        "-k",
        "1",
        "--json",
      ).out,
    );
    expect(byImage.results[0].path).toBe("p3.png");
    expect(byImage.results[0].score).toBeCloseTo(1, 5);
    // embed labels its output with the model that made it: the folder, not the shipped model it stands in for
    const e = JSON.parse(cli("embed", "--text", "a photo of a cat", "--model", model).out);
    expect([e.model, e.embedding]).toEqual(["small", Array.from(q)]);
    // the shipped clip-scenes made none of these embeddings: searching with it is refused, not mixed
    const other = cli("search", "a photo of a cat", "--index", join(coll, ".polymodal"));
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/small@[0-9a-f]{16}.*clip-scenes@|clip-scenes@.*small@[0-9a-f]{16}/);
    // a model folder that cannot load stops the run (exit 1, naming why) and writes no index
    const broken = join(tmp, "broken-model");
    writeHFClipFolder(broken, "small");
    unlinkSync(join(broken, "tokenizer.json"));
    const fresh = join(tmp, "photos-2");
    mkdirSync(fresh, { recursive: true });
    writeFileSync(join(fresh, "p.png"), encodePng(imgs[0]));
    const bad = cli("index", fresh, "--model", broken, "--quiet");
    expect([bad.code, bad.err]).toEqual([
      1,
      expect.stringMatching(/cannot load the broken-model model for the image files: .*has no tokenizer\.json/),
    ]);
    expect(existsSync(join(fresh, ".polymodal", "manifest.json"))).toBe(false);
    // and --dry-run refuses it alike; against an index of the other model, it names both versions as the run does
    const dry = cli("index", fresh, "--model", broken, "--dry-run", "--quiet");
    expect([dry.code, dry.err]).toEqual([1, expect.stringMatching(/cannot load the broken-model model/)]);
    writeFileSync(join(coll, "new.png"), encodePng(imgs[1]));
    const dryOther = cli("index", coll, "--dry-run", "--quiet");
    expect([dryOther.code, dryOther.err]).toEqual([1, expect.stringMatching(/built by small@.*are clip-scenes@/)]);
  }, 120_000);
});

describe("exportOnnx of a Hugging Face CLIP, run by onnxruntime-web", () => {
  it("gives the model's embeddings and logits (and the reference's), for another batch and length too", async () => {
    const model = join(tmp, "small");
    if (!existsSync(join(model, "model.safetensors"))) writeHFClipFolder(model, "small");
    const clip = await loadPretrained(model);
    const w = expected("small");
    const pixels = clip.processor.process(photos());
    const bytes = await MultimodalModelOptimizer.exportOnnx(clip.model, {
      pixel_values: pixels,
      input_ids: w.input_ids,
      attention_mask: w.attention_mask,
    });
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    const run = async (px: Tensor, ids: Tensor, mask: Tensor) =>
      s.run({
        pixel_values: new ort.Tensor("float32", px.data as Float32Array, [...px.shape]),
        input_ids: new ort.Tensor("int32", ids.data as Int32Array, [...ids.shape]),
        attention_mask: new ort.Tensor("int32", mask.data as Int32Array, [...mask.shape]),
      });
    const close = (got: { data: unknown; dims: readonly number[] }, want: Tensor, what: string) => {
      expect([...got.dims], what).toEqual(want.shape);
      const e = compare(got.data as Float32Array, want.data);
      expect(e.maxScaled, `${what}: ${e.maxScaled}`).toBeLessThanOrEqual(2e-5);
    };
    const out = await run(pixels, w.input_ids, w.attention_mask);
    close(out.image_embeds, clip.model.encodeImage(pixels), "image_embeds");
    close(out.text_embeds, clip.model.encodeText(w.input_ids, w.attention_mask), "text_embeds");
    const ref = compare(out.text_embeds.data as Float32Array, w.text_embeds.data);
    expect(ref.maxScaled).toBeLessThanOrEqual(2e-4); // and PyTorch's, within the parity budget
    // one image, three captions of another length
    const tok = clip.tokenizer.encodeBatch(["a cat", "two small red circles on the left", "x"], {
      maxLength: 77,
      padding: "longest",
    });
    const one = clip.processor.process([photos()[1]]);
    const o2 = await run(one, tok.inputIds, tok.attentionMask);
    close(o2.image_embeds, clip.model.encodeImage(one), "image_embeds (batch 1)");
    close(
      o2.text_embeds,
      clip.model.encodeText(tok.inputIds, tok.attentionMask),
      `text_embeds (3 x ${tok.inputIds.shape[1]} tokens)`,
    );
    expect([...o2.logits_per_image.dims]).toEqual([1, 3]);
    await s.release();
  }, 60_000);
});

describe.skipIf(relaxedProject)("polymodal serve --model <Hugging Face folder>", () => {
  it("serves the folder in the image-text slot: /v1/embed gives the library's exact values and the folder's " +
    "stamp", async () => {
    const { startServe } = await import("./harness/servers.js");
    const model = join(tmp, "small");
    if (!existsSync(join(model, "model.safetensors"))) writeHFClipFolder(model, "small");
    const clip = await loadPretrained(model);
    const s = await startServe(["--model", model, "--workers", "1"]);
    try {
      const im = photo("serve.photo", 50, 41, 3);
      const png = Buffer.from(encodePng(im)).toString("base64");
      const r = await fetch(`${s.url}/v1/embed`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "clip-scenes", inputs: [{ text: "a photo of a cat" }, { image: png }] }),
      });
      const j = await r.json();
      expect(r.status).toBe(200);
      expect(j.dim).toBe(32);
      expect(j.version).toMatch(/^small@[0-9a-f]{16}$/);
      expect(j.embeddings[0]).toEqual(Array.from(clip.embedTexts(["a photo of a cat"])[0]));
      expect(j.embeddings[1]).toEqual(Array.from(clip.embedImages([im])[0]));
    } finally {
      expect(await s.stop()).toBe(0);
    }
  }, 120_000);
});
