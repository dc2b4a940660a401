// Hugging Face Wav2Vec2ForCTC / HubertForCTC from their own files against reference/hf_wav2vec2.py (PyTorch 1.13,
// outputs from scripts/fixtures/gen_hf_wav2vec2.py): folders written as save_pretrained writes them
// (test/harness/hf-speech.mjs, procedural weights by Hugging Face's key names) for the "group" and "layer" feature
// encoders, post-LN and pre-LN encoders, HuBERT; loaded with one loadPretrained(dir) call.  Every intermediate
// state is held to the model zoo's budget: max |a - ref| <= 2e-4 x max(1, |ref|), NMSE <= 1e-7.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init, loadPretrained, loadSafetensors, encodeWav, MultimodalModelOptimizer, Tensor } from "../src/index.js";
import type { startService as StartService } from "../src/server/app.js";
import * as core from "../src/core/index.js";
import { scoped } from "../src/nn/module.js";
import { CTCRecognizer, MAX_FORWARD_BYTES, forwardBytes, windowPlan } from "../src/pipelines/ctc-recognizer.js";
import { CTCTokenizer } from "../src/text/ctc-tokenizer.js";
import { wav2vec2ConfigFromJSON } from "../src/models/hf-wav2vec2.js";
import { expectWithinBudget } from "./harness/budget.js";
import { HF_SPEECH, HF_SPEECH_FIXTURES, utterance, writeCTCFolder } from "./harness/hf-speech.mjs";
import { bf16Bits, f16Bits, halfValue } from "./harness/hf-clip.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const expected = (name: string): Record<string, Tensor> =>
  loadSafetensors(readFileSync(join(HF_SPEECH_FIXTURES, `${name}.expected.safetensors`)));
const [[keyA, nA], [keyB, nB]] = HF_SPEECH.utterances;
const at16k = (w: Float32Array) => ({ waveform: w, sampleRate: 16000 });
let tmp: string;

beforeAll(async () => {
  await init();
  tmp = mkdtempSync(join(tmpdir(), "polymodal-hf-speech-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function load(name: string, options: Parameters<typeof writeCTCFolder>[2] = {}): Promise<CTCRecognizer> {
  const dir = writeCTCFolder(join(tmp, `${name}-${Object.values(options).join("-")}`), name, options);
  const p: unknown = await loadPretrained(dir);
  expect(p).toBeInstanceOf(CTCRecognizer);
  return p as CTCRecognizer;
}

/** Every state the reference wrote, from the loaded model on the reference's own input values. */
function states(r: CTCRecognizer, input: Tensor): Record<string, Tensor> {
  return scoped(() => {
    const s = r.model.run(core.fromTensor("test", "input", input), null, true);
    return {
      extract_features: core.toTensor(s.extractFeatures),
      projected: core.toTensor(s.projected),
      logits: core.toTensor(s.logits),
      ...Object.fromEntries(s.states.map((b, i) => [`state_${i}`, core.toTensor(b)])),
    };
  });
}

describe.each(Object.keys(HF_SPEECH.models))("%s from its folder", (name) => {
  it("feature extractor, every layer boundary and the logits match the reference", async () => {
    const r = await load(name);
    const want = expected(name);
    const a = utterance(keyA, nA);
    expectWithinBudget("input_values", new Tensor(r.features.normalize(a), [1, nA]), want.input_values);
    const got = states(r, want.input_values);
    const names = Object.keys(want).filter((k) => k === "extract_features" || k === "projected" || /^state_/.test(k));
    expect(names.length).toBe(2 + r.model.config.numHiddenLayers + 2);
    for (const k of [...names, "logits"]) expectWithinBudget(k, got[k], want[k]);
    // the pipeline's own path (extractor, model) gives the same logits
    expectWithinBudget("pipeline logits", r.logits([at16k(a)]).logits, want.logits);
  });

  it("exportOnnx, run by onnxruntime-web, gives the model's logits", async () => {
    const r = await load(name);
    const want = expected(name);
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    const { module, inputs } = r.exportSample();
    const s = await ort.InferenceSession.create(await MultimodalModelOptimizer.exportOnnx(module, inputs));
    const x = want.input_values;
    const out = await s.run({ input_values: new ort.Tensor("float32", x.data as Float32Array, [...x.shape]) });
    const got = states(r, x).logits;
    expect([...out.logits.dims]).toEqual(got.shape);
    expectWithinBudget("onnx logits", out.logits.data as Float32Array, got.data);
    await s.release();
  });

  it("greedy decoding gives the reference's transcript", async () => {
    const r = await load(name);
    const want = expected(name);
    const g = HF_SPEECH.greedy[name];
    // the argmax path is compared where the reference's top two logits are apart (else float order decides)
    if (g.min_top2_margin > 1e-3) {
      const t = r.transcribe(at16k(utterance(keyA, nA)));
      expect(t.text).toBe(g.text);
    }
    // and the tokenizer decodes the reference's own argmax path to its text
    const ids = Array.from(want.greedy_ids.data as Int32Array);
    expect(r.tokenizer.text(r.tokenizer.segments(ids))).toBe(g.text);
  });
});

describe("Wav2Vec2 folders", () => {
  it("the newer weight-norm keys (parametrizations.weight.original0/1) load to the same model", async () => {
    const a = await load("w2v-layer"),
      b = await load("w2v-layer", { weightNorm: "parametrizations" });
    const x = [at16k(utterance(keyA, nA))];
    expect(Array.from(b.logits(x).logits.data)).toEqual(Array.from(a.logits(x).logits.data));
  });

  it("float16 and bfloat16 weights load exactly (each value the float32 one rounded) and transcribe", async () => {
    const f32 = (await load("hubert")).model.stateDict();
    for (const [dtype, bits] of [
      ["F16", f16Bits],
      ["BF16", bf16Bits],
    ] as const) {
      const r = await load("hubert", { dtype });
      const sd = r.model.stateDict();
      expect(Object.keys(sd)).toEqual(Object.keys(f32));
      for (const [k, t] of Object.entries(f32))
        expect(Array.from(sd[k].data), `${dtype} ${k}`).toEqual(
          Array.from(t.data as Float32Array, (x) => halfValue(bits(x), dtype)),
        );
      expect(typeof r.transcribe(at16k(utterance(keyA, nA))).text).toBe("string");
    }
  });

  it("a padded batch gives each utterance its own logits (layer-norm model, attention mask)", async () => {
    const r = await load("w2v-layer");
    const want = expected("w2v-layer");
    const { logits, frames } = r.logits([at16k(utterance(keyA, nA)), at16k(utterance(keyB, nB))]);
    expectWithinBudget("batch_logits", logits, want.batch_logits);
    const [, T, V] = logits.shape;
    const rowB = new Tensor((logits.data as Float32Array).slice(T * V, T * V + frames[1] * V), [1, frames[1], V]);
    expectWithinBudget("padded row b vs b alone", rowB, want.b_alone_logits);
  });

  it("decodes per-frame ids as the tokenizer does: specials, repeats, blanks, delimiters", () => {
    const tok = CTCTokenizer.fromFiles(HF_SPEECH.vocab, { word_delimiter_token: "|" }, null);
    for (const d of HF_SPEECH.decodes) expect(tok.text(tok.segments(d.ids)), JSON.stringify(d.ids)).toBe(d.text);
    // words and their frames: "TTE AN" from frames 1..12
    const segs = tok.segments(HF_SPEECH.decodes[0].ids);
    expect(tok.words(segs).map((w) => [w.text, segs[w.first].start, segs[w.last].end])).toEqual([
      ["TTE", 1, 6],
      ["AN", 8, 13],
    ]);
  });

  it("transcripts carry word times, confidences, and beam search runs", async () => {
    const r = await load("hubert");
    const t = r.transcribe(at16k(utterance(keyA, nA)));
    expect(t.words.length).toBe(t.wordConfidences.length);
    expect(t.wordTimes?.length).toBe(t.words.length);
    for (const w of t.wordTimes ?? []) expect(w.end).toBeGreaterThan(w.start);
    for (const c of t.wordConfidences) expect(c).toBeGreaterThan(0);
    const b = r.transcribe(at16k(utterance(keyA, nA)), { beamWidth: 4 });
    expect(typeof b.text).toBe("string");
  });

  it("strict loading names every missing and unexpected key; unsupported configs are refused by name", async () => {
    const keys = HF_SPEECH.models["w2v-group"];
    const bad = writeCTCFolder(join(tmp, "bad-keys"), "w2v-group", {
      drop: ["lm_head.bias"],
      extra: [["wav2vec2.encoder.extra.weight", [2]]],
    });
    await expect(loadPretrained(bad)).rejects.toThrow(/missing 1 key\(s\):\s+lm_head\.bias[\s\S]*unexpected 1 key/);
    const adapter = writeCTCFolder(join(tmp, "adapter"), "w2v-group");
    writeFileSync(join(adapter, "config.json"), JSON.stringify({ ...keys.config, add_adapter: true }));
    await expect(loadPretrained(adapter)).rejects.toThrow(/add_adapter true: adapter layers are not supported/);
    const noVocab = writeCTCFolder(join(tmp, "no-vocab"), "w2v-group");
    rmSync(join(noVocab, "vocab.json"));
    await expect(loadPretrained(noVocab)).rejects.toThrow(/has no vocab\.json/);
    const other = writeCTCFolder(join(tmp, "other"), "w2v-group");
    writeFileSync(join(other, "config.json"), JSON.stringify({ ...keys.config, model_type: "data2vec-audio" }));
    await expect(loadPretrained(other)).rejects.toThrow(/model_type "data2vec-audio"; supported: .*wav2vec2, hubert/);
  });

  it("polymodal transcribe --model DIR and /v1/transcribe with model= give the library's transcript", async () => {
    const dir = writeCTCFolder(join(tmp, "served-hubert"), "hubert");
    const wav = join(tmp, "utt.wav");
    const a = utterance(keyA, 16000);
    writeFileSync(wav, encodeWav([a], 16000));
    const lib = (await load("hubert")).transcribe(at16k(a));
    const cli = spawnSync(
      process.execPath,
      [join(root, "bin/polymodal.js"), "transcribe", wav, "--model", dir, "--json"],
      {
        encoding: "utf8",
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const j = JSON.parse(cli.stdout);
    expect([j.text, j.wordConfidences, j.wordTimes]).toEqual([lib.text, lib.wordConfidences, lib.wordTimes]);
    // the service, with the folder beside the shipped recogniser (in process; its workers are threads)
    const { startService } = (await import(pathToFileURL(join(root, "dist/server/app.js")).href)) as {
      startService: typeof StartService;
    };
    const s = await startService({ modelsDir: join(root, "models"), port: 0, workers: 1, model: dir });
    try {
      const post = (q: string) =>
        fetch(`${s.url}/v1/transcribe${q}`, {
          method: "POST",
          headers: { "content-type": "audio/wav" },
          body: readFileSync(wav),
        });
      const r = await post("?model=served-hubert");
      expect(r.status).toBe(200);
      const t = await r.json();
      expect([t.text, t.wordConfidences, t.wordTimes]).toEqual([lib.text, lib.wordConfidences, lib.wordTimes]);
      const shipped = await (await post("?model=asr-words")).json();
      expect(shipped.wordTimes).toBeUndefined();
      const bad = await post("?model=nope");
      expect(bad.status).toBe(400);
      expect((await bad.json()).message).toMatch(/"nope" is not served here; recognisers: served-hubert, asr-words/);
      const notAsr = await post("?model=clip-scenes");
      expect((await notAsr.json()).message).toMatch(/"clip-scenes" does not transcribe speech/);
    } finally {
      await s.close();
    }
  }, 120_000);

  it("long audio is read in overlapping windows whose kept frames tile it, as the reference's chunk_plan", async () => {
    const r = await load("w2v-group");
    const { samples, chunk, stride } = HF_SPEECH.chunked;
    const long = utterance("speech.long", samples);
    const got = r.frameLogits(long, { chunkSeconds: chunk / 16000, strideSeconds: stride / 16000 });
    expectWithinBudget("chunked_logits", got, expected("w2v-group").chunked_logits);
    expect(windowPlan(14400, 4000, 400, 20)).toEqual([
      { start: 0, end: 4000, first: 0, last: 180 },
      { start: 3200, end: 7200, first: 20, last: 180 },
      { start: 6400, end: 10400, first: 20, last: 180 },
      { start: 9600, end: 13600, first: 20, last: 180 },
      { start: 12800, end: 14400, first: 20, last: null },
    ]);
    // as many frames as one pass over the whole would give
    expect(got.shape[0]).toBe(r.logits([at16k(long)]).frames[0]);
    // and a transcript of it carries word times on the whole recording's clock
    const t = r.transcribe(at16k(long), { chunkSeconds: chunk / 16000, strideSeconds: stride / 16000 });
    for (const w of t.wordTimes ?? []) expect(w.end).toBeLessThanOrEqual(samples / 16000 + 1e-9);
  });

  it("one call over more audio than its memory bound is refused, naming the length that fits", async () => {
    const base = wav2vec2ConfigFromJSON({ model_type: "wav2vec2" }); // wav2vec2-base's shapes
    const bytes = (s: number) => forwardBytes({ config: base } as never, s * 16000);
    expect(bytes(10)).toBeLessThan(MAX_FORWARD_BYTES);
    expect(bytes(60)).toBeGreaterThan(MAX_FORWARD_BYTES);
    // the small model's bound is its attention scores (frames squared)
    const r = await load("w2v-group");
    const fits = r.maxSeconds;
    expect(fits).toBeGreaterThan(1);
    const long = new Float32Array(Math.ceil((fits + 2) * 16000)).fill(0.01);
    expect(() => r.logits([at16k(long)])).toThrow(
      new RegExp(
        `${Math.floor(fits + 2)}\\.\\d s of audio is more than this model reads in one call ` +
          `\\(${fits} s within 512 MiB\\)`,
      ),
    );
    // (transcribe reads such audio in windows that fit: above)
  });
});
