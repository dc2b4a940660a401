// BertModel and sentence-transformers' pooling against reference/hf_bert.py (scripts/fixtures/gen_hf_bert.py): a
// padded batch through an exact-GELU and a tanh-GELU config, the state at every layer boundary, each pooling and its
// normalisation within the model zoo's budget; a padded row gives its unpadded result; strict loading by the
// checkpoint's key names; refused configs name the field.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allValues, init, loadPretrained, loadSafetensors, MultimodalModelOptimizer, Tensor } from "../src/index.js";
import { SentenceEmbedder } from "../src/pipelines/sentence-embedder.js";
import type { startService as StartService } from "../src/server/app.js";
import * as core from "../src/core/index.js";
import { scoped } from "../src/nn/module.js";
import { BertModel, bertActivate, bertConfigFromJSON, bertParameterCount } from "../src/models/hf-bert.js";
import { POOLING_MODES, poolTokens } from "../src/models/sentence-pooling.js";
import { MPNetModel, mpnetConfigFromJSON, mpnetParameterCount, relativeBucket } from "../src/models/hf-mpnet.js";
import { proceduralStateDict } from "./harness/procedural.mjs";
import { expectWithinBudget } from "./harness/budget.js";
import { writeSentenceFolder, type SentenceFolderOptions } from "./harness/sentence-folder.js";
import { relaxedProject } from "./harness/simd.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURES = join(root, "test", "fixtures", "hf-text");
const spec = JSON.parse(readFileSync(join(FIXTURES, "bert.json"), "utf8"));

beforeAll(async () => {
  await init();
});

function model(name: string): BertModel | MPNetModel {
  const { config, keys } = spec.configs[name];
  const mpnet = config.model_type === "mpnet";
  const m = mpnet ? new MPNetModel(mpnetConfigFromJSON(config)) : new BertModel(bertConfigFromJSON(config));
  m.loadStateDict(proceduralStateDict(keys, Tensor));
  expect(Object.keys(m.stateDict())).toEqual(keys.map(([k]: [string]) => k));
  expect(m instanceof MPNetModel ? mpnetParameterCount(m.config) : bertParameterCount((m as BertModel).config)).toBe(
    keys.reduce((a: number, [, s]: [string, number[]]) => a + s.reduce((x, y) => x * y, 1), 0),
  );
  return m;
}

/** Every state of the batch (B, T, H) as tensors. */
function states(m: BertModel | MPNetModel, ids: Tensor, mask: Tensor | null, types: Tensor | null): Tensor[] {
  return scoped(() => {
    const i = core.fromTensor("t", "ids", ids),
      k = mask ? core.fromTensor("t", "mask", mask) : null;
    const out =
      m instanceof MPNetModel
        ? m.run(i, k, true)
        : m.run(i, k, types ? core.fromTensor("t", "types", types) : null, true);
    return out.map((b) => core.toTensor(b));
  });
}

const unit = (x: Float32Array, B: number, H: number): Float32Array => {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let j = 0; j < H; j++) s += x[b * H + j] * x[b * H + j];
    const n = Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < H; j++) out[b * H + j] = x[b * H + j] / n;
  }
  return out;
};

describe.each(Object.keys(spec.configs))("%s", (name) => {
  const want = () => loadSafetensors(readFileSync(join(FIXTURES, `${name}.expected.safetensors`)));

  it("every layer boundary, each pooling and its normalisation match the reference", () => {
    const m = model(name),
      w = want();
    const got = states(m, w.input_ids, w.attention_mask, w.token_type_ids);
    expect(got.length).toBe(m.config.numHiddenLayers + 1);
    got.forEach((s, i) => expectWithinBudget(`state_${i}`, s.data, w[`state_${i}`].data));
    const [B, T, H] = got[got.length - 1].shape;
    const mask = w.attention_mask.data as Int32Array;
    for (const mode of POOLING_MODES) {
      const pooled = poolTokens(got[got.length - 1].data as Float32Array, mask, B, T, H, mode);
      expectWithinBudget(`pooled_${mode}`, pooled, w[`pooled_${mode}`].data);
      expectWithinBudget(`normalized_${mode}`, unit(pooled, B, H), w[`normalized_${mode}`].data);
    }
  });

  it("a padded row gives its unpadded result", () => {
    const m = model(name),
      w = want();
    const batch = states(m, w.input_ids, w.attention_mask, w.token_type_ids).at(-1)!;
    const [, T, H] = batch.shape;
    spec.lengths.forEach((n: number, b: number) => {
      const row = (t: Tensor) => new Tensor((t.data as Int32Array).slice(b * T, b * T + n), [1, n]);
      const alone = states(m, row(w.input_ids), null, row(w.token_type_ids)).at(-1)!;
      expectWithinBudget(
        `row ${b}`,
        (batch.data as Float32Array).slice(b * T * H, (b * T + n) * H),
        alone.data as Float32Array,
      );
    });
  });
});

describe("MPNet's relative position buckets", () => {
  it("are torch's from -600 to 600", () => {
    const w = loadSafetensors(readFileSync(join(FIXTURES, "mpnet-buckets.expected.safetensors")));
    const rel = Array.from(w.relative.data as Int32Array);
    expect(rel.map((r) => relativeBucket(r, 32))).toEqual(Array.from(w.buckets.data as Int32Array));
  });
});

describe("BertModel config and loading", () => {
  it("each hidden_act is torch's: exact GELU, tanh GELU (gelu_new / gelu_pytorch_tanh), ReLU", () => {
    const w = loadSafetensors(readFileSync(join(FIXTURES, "bert-activations.expected.safetensors")));
    for (const [name, act] of [
      ["gelu", "gelu"],
      ["gelu_new", "gelu_tanh"],
      ["relu", "relu"],
    ] as const) {
      const y = scoped(() => core.toTensor(bertActivate(core.fromTensor("t", "x", w.x), act)));
      expectWithinBudget(name, y.data, w[name].data);
    }
  });

  it("refuses what it cannot honour, by field; strict loading names bad keys", () => {
    const base = spec.configs["bert-gelu"].config;
    expect(() => bertConfigFromJSON({ ...base, hidden_act: "swish" })).toThrow(/hidden_act "swish" is not supported/);
    expect(() => bertConfigFromJSON({ ...base, num_attention_heads: 5 })).toThrow(/must be divisible/);
    expect(() => bertConfigFromJSON({ ...base, layer_norm_eps: 0 })).toThrow(/layer_norm_eps must be/);
    const m = new BertModel(bertConfigFromJSON(base));
    const keys = spec.configs["bert-gelu"].keys.filter(([k]: [string]) => k !== "pooler.dense.bias");
    expect(() => m.loadStateDict(proceduralStateDict([...keys, ["extra.weight", [2]]], Tensor))).toThrow(
      /pooler\.dense\.bias[\s\S]*extra\.weight|extra\.weight[\s\S]*pooler\.dense\.bias/,
    );
  });
});

describe("sentence-transformers folders", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "polymodal-st-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const folder = (name: string, o: SentenceFolderOptions = {}): string => writeSentenceFolder(join(tmp, name), o);

  const TEXTS = ["a red circle on the left", "two", "the quick brown fox jumps over the lazy dog again and again"];

  it("embeds as the model, the pooling and the normalisation compose; truncation, prompts, batches", async () => {
    const st = (await loadPretrained(folder("mean"))) as unknown as SentenceEmbedder;
    expect(st).toBeInstanceOf(SentenceEmbedder);
    expect(st.tasks.embed).toEqual({
      space: "text",
      kinds: ["text"],
      prompts: { query: "query: ", document: "passage: " },
    });
    const got = st.embedTexts(TEXTS);
    const toks = allValues(st.tokenizeBatch(TEXTS));
    expect(Math.max(...toks.map((t) => t.ids.length))).toBe(12); // max_seq_length, [CLS] and [SEP] kept
    TEXTS.forEach((t, i) => {
      const ids = new Tensor(Int32Array.from(toks[i].ids), [1, toks[i].ids.length]);
      const h = states(st.model as BertModel, ids, null, null).at(-1)!;
      const pooled = poolTokens(h.data as Float32Array, null, 1, ids.shape[1], 32, "mean");
      expectWithinBudget(`text ${i}`, got[i], unit(pooled, 1, 32));
      let n = 0;
      for (const v of got[i]) n += v * v;
      expect(Math.sqrt(n)).toBeCloseTo(1, 5);
      // alone, in a batch of one: the same embedding
      expectWithinBudget(`text ${i} alone`, st.embedTexts([t])[0], got[i]);
    });
    // prompts: by name, as sentence-transformers prepends them
    expect(Array.from(st.embedTexts(["two"], { promptName: "query" })[0])).toEqual(
      Array.from(st.embedTexts(["query: two"])[0]),
    );
    expect(() => st.embedTexts(["x"], { promptName: "title" })).toThrow(
      /no prompt named "title"; this model has query, passage/,
    );
    // a bad input fails alone
    const [ok, bad] = st.embedBatch("text", ["fine", 7 as unknown as string]);
    expect("value" in ok && "error" in bad).toBe(true);
  });

  it("an MPNet folder (all-mpnet-base-v2's layout) embeds as its model and pooling compose", async () => {
    const st = (await loadPretrained(folder("mpnet", { encoder: "mpnet" }))) as unknown as SentenceEmbedder;
    expect(st.model).toBeInstanceOf(MPNetModel);
    const [got] = st.embedTexts(["two small red circles"]);
    const ids = allValues(st.tokenizeBatch(["two small red circles"]))[0].ids;
    expect(ids).not.toContain(1); // (MPNet's padding id: a real token there would shift the positions)
    const h = states(st.model as MPNetModel, new Tensor(Int32Array.from(ids), [1, ids.length]), null, null).at(-1)!;
    expectWithinBudget("mpnet", got, unit(poolTokens(h.data as Float32Array, null, 1, ids.length, 32, "mean"), 1, 32));
  });

  it("exportOnnx of a BERT and an XLM-R encoder, run by onnxruntime-web, gives the padded batch's states", async () => {
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    for (const name of ["bert-tanh", "xlmr"]) {
      const st = (await loadPretrained(folder(`onnx-${name}`, { encoder: name }))) as unknown as SentenceEmbedder;
      const w = loadSafetensors(readFileSync(join(FIXTURES, `${name}.expected.safetensors`)));
      const { module, inputs } = st.exportSample();
      const sess = await ort.InferenceSession.create(await MultimodalModelOptimizer.exportOnnx(module, inputs));
      const t = (x: Tensor) => new ort.Tensor("int32", x.data as Int32Array, [...x.shape]);
      const out = await sess.run({ input_ids: t(w.input_ids), attention_mask: t(w.attention_mask) });
      const want = states(st.model as BertModel, w.input_ids, w.attention_mask, null).at(-1)!;
      // the real tokens' states (a padded position's state is not defined to match)
      const [B, T, H] = want.shape,
        m = w.attention_mask.data as Int32Array;
      const pick = (x: Float32Array) => x.filter((_, i) => m[Math.floor(i / H)] === 1);
      expect([...out.last_hidden_state.dims]).toEqual([B, T, H]);
      expectWithinBudget(name, pick(out.last_hidden_state.data as Float32Array), pick(want.data as Float32Array));
      await sess.release();
    }
  });

  // the service runs the default build (test/harness/simd.ts)
  it.skipIf(relaxedProject)(
    "the service answers OpenAI's /v1/embeddings with the folder's embeddings",
    async () => {
      const dir = folder("served");
      const lib = (await loadPretrained(dir)) as unknown as SentenceEmbedder;
      const { startService } = (await import(pathToFileURL(join(root, "dist/server/app.js")).href)) as {
        startService: typeof StartService;
      };
      const s = await startService({ modelsDir: join(root, "models"), port: 0, workers: 1, model: dir });
      try {
        const r = await fetch(`${s.url}/v1/embeddings`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "served", input: ["two", "a red circle"] }),
        });
        expect(r.status).toBe(200);
        const j = await r.json();
        const want = lib.embedTexts(["two", "a red circle"]);
        j.data.forEach((d: { embedding: number[] }, i: number) =>
          expect(Float32Array.from(d.embedding)).toEqual(want[i]),
        );
        // and the CLI: embed --text with --model a sentence-transformers folder uses its "text" space
        const cli = spawnSync(
          process.execPath,
          [join(root, "bin/polymodal.js"), "embed", "--text", "two", "--model", dir],
          {
            encoding: "utf8",
          },
        );
        expect(cli.status, cli.stderr).toBe(0);
        expect(JSON.parse(cli.stdout)).toMatchObject({ space: "text", model: "served", dim: 32 });
        expect(Float32Array.from(JSON.parse(cli.stdout).embedding)).toEqual(want[0]);
      } finally {
        await s.close();
      }
    },
    60_000,
  );

  it("CLS pooling without Normalize; a plain encoder folder: mean, normalised; refusals by name", async () => {
    const cls = (await loadPretrained(
      folder("cls", { pooling: { pooling_mode_mean_tokens: false, pooling_mode_cls_token: true }, normalize: false }),
    )) as unknown as SentenceEmbedder;
    const toks = allValues(cls.tokenizeBatch(["two"]))[0].ids;
    const h = states(cls.model as BertModel, new Tensor(Int32Array.from(toks), [1, toks.length]), null, null).at(-1)!;
    expect(Array.from(cls.embedTexts(["two"])[0])).toEqual(Array.from((h.data as Float32Array).slice(0, 32)));
    const plain = (await loadPretrained(folder("plain", { modules: false }))) as unknown as SentenceEmbedder;
    expect(plain.settings).toMatchObject({ pooling: "mean", normalize: true, maxSeqLength: 40 });
    // a plain folder pools as asked (then normalises); a sentence-transformers folder refuses another mode
    const plainCls = (await loadPretrained(folder("plain-cls", { modules: false }), {
      pooling: "cls",
    })) as unknown as SentenceEmbedder;
    expectWithinBudget(
      "plain cls",
      plainCls.embedTexts(["two"])[0],
      unit((h.data as Float32Array).slice(0, 32), 1, 32),
    );
    await expect(loadPretrained(folder("mean-asked-max"), { pooling: "max" })).rejects.toThrow(
      /pools by mean \(its 1_Pooling\/config\.json\); pooling max is for plain encoder folders/,
    );
    await expect(loadPretrained(folder("two-modes", { pooling: { pooling_mode_max_tokens: true } }))).rejects.toThrow(
      /exactly one of pooling_mode_mean_tokens.*got pooling_mode_mean_tokens, pooling_mode_max_tokens/,
    );
    const dense = folder("dense");
    writeFileSync(
      join(dense, "modules.json"),
      JSON.stringify([
        { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
        { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
        { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" },
      ]),
    );
    await expect(loadPretrained(dense)).rejects.toThrow(/modules not supported: sentence_transformers\.models\.Dense/);
  });
});
