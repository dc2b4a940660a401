// BertModel and sentence-transformers' pooling against reference/hf_bert.py (scripts/fixtures/gen_hf_bert.py): a
// padded batch through an exact-GELU and a tanh-GELU config, the state at every layer boundary, each pooling and its
// normalisation within the model zoo's budget; a padded row gives its unpadded result; strict loading by the
// checkpoint's key names; refused configs name the field.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { init, loadSafetensors, Tensor } from "../src/index.js";
import * as core from "../src/core/index.js";
import { scoped } from "../src/nn/module.js";
import { BertModel, bertActivate, bertConfigFromJSON, bertParameterCount } from "../src/models/hf-bert.js";
import { POOLING_MODES, poolTokens } from "../src/models/sentence-pooling.js";
import { proceduralStateDict } from "./harness/procedural.mjs";
import { expectWithinBudget } from "./harness/budget.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "hf-text");
const spec = JSON.parse(readFileSync(join(FIXTURES, "bert.json"), "utf8"));

beforeAll(async () => {
  await init();
});

function model(name: string): BertModel {
  const { config, keys } = spec.configs[name];
  const m = new BertModel(bertConfigFromJSON(config));
  m.loadStateDict(proceduralStateDict(keys, Tensor));
  expect(Object.keys(m.stateDict())).toEqual(keys.map(([k]: [string]) => k));
  expect(bertParameterCount(m.config)).toBe(
    keys.reduce((a: number, [, s]: [string, number[]]) => a + s.reduce((x, y) => x * y, 1), 0),
  );
  return m;
}

/** Every state of the batch (B, T, H) as tensors. */
function states(m: BertModel, ids: Tensor, mask: Tensor | null, types: Tensor | null): Tensor[] {
  return scoped(() =>
    m
      .run(
        core.fromTensor("t", "ids", ids),
        mask ? core.fromTensor("t", "mask", mask) : null,
        types ? core.fromTensor("t", "types", types) : null,
        true,
      )
      .map((b) => core.toTensor(b)),
  );
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
