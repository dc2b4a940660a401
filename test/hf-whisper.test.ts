// WhisperFeatureExtractor against reference/hf_whisper.py (PyTorch 1.13, scripts/fixtures/gen_hf_whisper.py): the
// Slaney mel filter bank, 80 and 128 bins over a 30 s window (the audio zero-padded: its frames exact, every frame
// of the padding the floor), and audio longer than the window cut.  Budget: max |a - ref| <= 2e-4 x max(1, |ref|).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeWav,
  init,
  loadPretrained,
  loadSafetensors,
  melscaleFbanks,
  MultimodalModelOptimizer,
  Tensor,
  Tokenizer,
} from "../src/index.js";
import { WHISPER_FALLBACK } from "../src/pipelines/pipeline.js";
import { WhisperRecognizer } from "../src/pipelines/whisper-recognizer.js";
import { compressionRatio, timestampRules, Xorshift32 } from "../src/pipelines/whisper-generate.js";
import { cuesOf, subtitles } from "../src/cli/subtitles.js";
import type { startService as StartService } from "../src/server/app.js";
import { WhisperFeatureExtractor } from "../src/audio/whisper-features.js";
import { WhisperForConditionalGeneration, WhisperKVCache, whisperConfigFromJSON } from "../src/models/hf-whisper.js";
import * as core from "../src/core/index.js";
import { scoped } from "../src/nn/module.js";
import { proceduralStateDict } from "./harness/procedural.mjs";
import { expectWithinBudget } from "./harness/budget.js";
import { HF_SPEECH_FIXTURES, utterance, whisperTokenizer, writeWhisperFolder } from "./harness/hf-speech.mjs";
import { bf16Bits, f16Bits, halfValue } from "./harness/hf-clip.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const want = () => loadSafetensors(readFileSync(join(HF_SPEECH_FIXTURES, "whisper-features.expected.safetensors")));

beforeAll(async () => {
  await init();
});

describe("WhisperFeatureExtractor", () => {
  it("the Slaney filter bank is the reference's", () => {
    const fb = melscaleFbanks(201, 0, 8000, 80, 16000, "slaney", "slaney");
    expectWithinBudget("filters80", fb.data, want().filters80.data);
  });

  it.each([80, 128])("%i mel bins over a 30 s window: the audio's frames, then the floor", (bins) => {
    const fe = WhisperFeatureExtractor.fromJSON({
      feature_extractor_type: "WhisperFeatureExtractor",
      feature_size: bins,
    });
    const got = fe.extract(utterance("speech.a", 24000));
    expect(got.shape).toEqual([1, bins, 3000]);
    const ref = want()[`mel${bins}`],
      floor = want()[`floor${bins}`].data[0],
      K = ref.shape[1];
    const g = got.data as Float32Array;
    const head = new Float32Array(bins * K),
      tail = new Set<number>();
    for (let b = 0; b < bins; b++) {
      head.set(g.subarray(b * 3000, b * 3000 + K), b * K);
      for (let t = K; t < 3000; t++) tail.add(g[b * 3000 + t]);
    }
    expectWithinBudget(`mel${bins}`, head, ref.data);
    expect(tail.size).toBe(1);
    expectWithinBudget(`floor${bins}`, [...tail], [floor]);
  });

  it("audio longer than the window is cut to it", () => {
    const fe = WhisperFeatureExtractor.fromJSON({ feature_size: 80, chunk_length: 2 });
    const got = fe.extract(utterance("speech.long", 40000));
    expect(got.shape).toEqual([1, 80, 200]);
    expectWithinBudget("mel80_cut", got.data, want().mel80_cut.data);
  });

  it("refuses configs it cannot honour, by field", () => {
    expect(() => WhisperFeatureExtractor.fromJSON({ feature_extractor_type: "Wav2Vec2FeatureExtractor" })).toThrow(
      /is not WhisperFeatureExtractor/,
    );
    expect(() => WhisperFeatureExtractor.fromJSON({ feature_size: 0 })).toThrow(/feature_size must be an integer/);
  });
});

describe("WhisperForConditionalGeneration", () => {
  const spec = JSON.parse(readFileSync(join(HF_SPEECH_FIXTURES, "whisper-small.json"), "utf8"));
  const ref = () => loadSafetensors(readFileSync(join(HF_SPEECH_FIXTURES, "whisper-small.expected.safetensors")));
  /** The model with the reference's procedural weights, loaded strictly by their Hugging Face key names. */
  function model(): WhisperForConditionalGeneration {
    const m = new WhisperForConditionalGeneration(whisperConfigFromJSON(spec.config));
    m.loadStateDict(proceduralStateDict(spec.keys, Tensor));
    expect(Object.keys(m.stateDict())).toEqual(spec.keys.map(([k]: [string]) => k));
    return m;
  }

  it("encoder states at every layer boundary, and a prompt's logits through the KV cache", () => {
    const m = model(),
      want = ref();
    const cache = new WhisperKVCache(m.config);
    try {
      const { states, logits } = scoped(() => {
        const s = m.model.encoder.run(core.fromTensor("test", "features", want.features), true);
        m.model.decoder.encode(s[s.length - 1], cache);
        return { states: s.map((b) => core.toTensor(b)), logits: m.model.decoder.step(spec.prompt, cache) };
      });
      expect(states.length).toBe(m.config.encoderLayers + 2);
      states.forEach((s, i) => expectWithinBudget(`encoder_${i}`, s.data, want[`encoder_${i}`].data));
      expectWithinBudget("prompt_logits", logits, want.prompt_logits.data);
    } finally {
      cache.dispose();
    }
  });

  it("greedy decoding a token at a time over the cache: every step's logits and the tokens", () => {
    const m = model(),
      want = ref(),
      g = spec.greedy;
    const cache = new WhisperKVCache(m.config);
    try {
      const V = m.config.vocabSize,
        tokens: number[] = [];
      scoped(() =>
        m.model.decoder.encode(m.model.encoder.run(core.fromTensor("t", "f", want.features)).at(-1)!, cache),
      );
      let next: number[] = spec.prompt;
      for (let step = 0; step < g.max_new; step++) {
        const lg = scoped(() => m.model.decoder.step(next, cache));
        expectWithinBudget(
          `step ${step}`,
          lg,
          (want.step_logits.data as Float32Array).subarray(step * V, (step + 1) * V),
        );
        for (const s of g.suppress) lg[s] = -Infinity;
        if (step === 0) for (const s of g.begin_suppress) lg[s] = -Infinity;
        let best = 0;
        for (let v = 1; v < V; v++) if (lg[v] > lg[best]) best = v;
        tokens.push(best);
        if (best === g.eos) break;
        next = [best];
      }
      expect(tokens).toEqual(Array.from(want.greedy.data));
      expect(cache.length).toBe(spec.prompt.length + tokens.length - 1);
      // the cross-attention over keys and values packed once a window: the same bits as packing them each step
      const [a, b] = scoped(() => {
        const layer = [...m.model.decoder.layers][1];
        const x = core.fromTensor("t", "x", new Tensor(want.step_logits.data.slice(0, 3 * 32), [1, 3, 32]));
        const { k, v } = cache.cross[1];
        return [
          core.toTensor(layer.encoder_attn.attend(x, k, v, cache.frames, 0)).data,
          core.toTensor(layer.encoder_attn.attendPacked(x, cache.crossPacked[1], cache.frames)).data,
        ];
      });
      expect(Array.from(b)).toEqual(Array.from(a));
    } finally {
      cache.dispose();
    }
  });

  it("beams step as rows of one batch: each beam's logits the bits of its own step; reorder moves the rows", () => {
    const m = model(),
      want = ref();
    const one = new WhisperKVCache(m.config),
      three = new WhisperKVCache(m.config, 3);
    try {
      const enc = (cache: WhisperKVCache) =>
        scoped(() =>
          m.model.decoder.encode(m.model.encoder.run(core.fromTensor("t", "f", want.features)).at(-1)!, cache),
        );
      enc(one);
      enc(three);
      scoped(() => m.model.decoder.step(spec.prompt, three));
      three.reorder([0, 0, 0]); // every beam starts as the prompt
      const rows = scoped(() => m.model.decoder.stepBeams([5, 9, 5], three));
      three.reorder([1, 1, 0]); // beams 0 and 1 continue beam 1 ([..., 9]), beam 2 beam 0 ([..., 5])
      const next = scoped(() => m.model.decoder.stepBeams([7, 8, 7], three));
      const alone = (ids: number[]) => {
        one.length = 0;
        scoped(() => m.model.decoder.step(spec.prompt, one));
        return ids.map((t) => scoped(() => m.model.decoder.step([t], one)));
      };
      expect(Array.from(rows[0])).toEqual(Array.from(alone([5])[0]));
      expect(Array.from(rows[1])).toEqual(Array.from(alone([9])[0]));
      expect(Array.from(next[0])).toEqual(Array.from(alone([9, 7])[1]));
      expect(Array.from(next[1])).toEqual(Array.from(alone([9, 8])[1]));
      expect(Array.from(next[2])).toEqual(Array.from(alone([5, 7])[1]));
      expect(Array.from(next[2])).not.toEqual(Array.from(next[0]));
      expect(() => three.reorder([0, 3])).toThrow(/parents must be beams below 3/);
    } finally {
      one.dispose();
      three.dispose();
    }
  });
});

/** A fixture case's generate() arguments (scripts/fixtures/gen_hf_whisper_model.py) as transcribe() options. */
function optionsOf(c: Record<string, unknown>) {
  return {
    language: c.language as string | undefined,
    timestamps: c.timestamps as boolean | undefined,
    beamWidth: c.num_beams as number | undefined,
    temperatures: c.temperatures as number[] | undefined,
    compressionRatioThreshold: c.compression_ratio_threshold as number | undefined,
    logprobThreshold: c.logprob_threshold as number | undefined,
    noSpeechThreshold: c.no_speech_threshold as number | undefined,
    seed: c.seed as number | undefined,
  };
}

/**
 * transcribe(case) against the reference's generate(): the tokens; in timestamp mode (asked, or forced by audio
 * longer than a window) each segment's times, and the temperature, compression ratio and average log-probability of
 * the window it came from.
 */
function expectCase(w: WhisperRecognizer, spec: Record<string, any>, name: string): void {
  const c = spec.cases[name],
    want = spec.expected[name];
  const timestamps = c.timestamps === true || c.samples > spec.chunk_length * 16000;
  const t = w.transcribe(
    { waveform: utterance("speech.a", c.samples), sampleRate: 16000 },
    { ...optionsOf(c), timestamps },
  );
  expect(t.tokens, name).toEqual(want.tokens);
  if (!timestamps) {
    expect(t.segments).toBeUndefined();
    return;
  }
  const segs = t.segments!;
  expect(segs.length, name).toBe(want.segments.length);
  const windows = want.windows.filter((x: { skipped: boolean }) => !x.skipped);
  segs.forEach((s, i) => {
    expect(s.start, `${name} segment ${i}`).toBeCloseTo(want.segments[i].start, 9);
    expect(s.end, `${name} segment ${i}`).toBeCloseTo(want.segments[i].end, 9);
    const from = windows.filter(
      (x: { temperature: number; compression_ratio: number; avg_logprob: number }) =>
        x.temperature === s.temperature &&
        x.compression_ratio === s.compressionRatio &&
        Math.abs(x.avg_logprob - s.avgLogprob!) < 1e-4,
    );
    expect(from.length, `${name} segment ${i}: its window`).toBeGreaterThan(0);
  });
}

describe("Whisper folders", () => {
  const pipe = JSON.parse(readFileSync(join(HF_SPEECH_FIXTURES, "whisper-pipe.json"), "utf8"));
  const audio = () => ({ waveform: utterance("speech.a", 24000), sampleRate: 16000 });
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "polymodal-whisper-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const load = async (name: string, options = {}): Promise<WhisperRecognizer> => {
    const p: unknown = await loadPretrained(writeWhisperFolder(join(tmp, name), pipe, options));
    expect(p).toBeInstanceOf(WhisperRecognizer);
    return p as WhisperRecognizer;
  };
  const tokenizer = Tokenizer.fromJSON(whisperTokenizer());
  const text = (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true }).trim();

  it("loads by its own files; short-form greedy, the language detected or given, as the reference", async () => {
    const w = await load("pipe");
    const short = { waveform: utterance("speech.a", pipe.cases.detected.samples), sampleRate: 16000 };
    const t = w.transcribe(short);
    expect(t.tokens).toEqual(pipe.expected.detected.tokens);
    expect(t.text).toBe(text(t.tokens));
    expect(t.words.length).toBe(t.wordConfidences.length);
    for (const c of t.wordConfidences) expect(c).toBeGreaterThan(0);
    expect(w.transcribe(short, { language: "fr" }).tokens).toEqual(pipe.expected.fr.tokens);
    w.dispose();
  });

  it.each(["timestamps", "beam", "beam_timestamps", "fallback", "long", "skip"])(
    "%s: the reference's tokens, segments and temperatures",
    async (name) => {
      const w = await load(`case-${name}`);
      expectCase(w, pipe, name);
      w.dispose();
    },
  );

  it("polymodal transcribe --model DIR --language gives the library's transcript", async () => {
    const dir = writeWhisperFolder(join(tmp, "cli"), pipe);
    const wav = join(tmp, "a.wav");
    writeFileSync(wav, encodeWav([utterance("speech.a", 24000)], 16000));
    const lib = (await load("cli-lib")).transcribe(audio(), { language: "fr" });
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "transcribe", wav, ...args], { encoding: "utf8" });
    const r = run("--model", dir, "--language", "fr", "--json");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tokens).toEqual(lib.tokens);
    const srt = run("--model", dir, "--timestamps", "--format", "srt");
    expect(srt.status, srt.stderr).toBe(0);
    const timed = (await load("cli-ts")).transcribe(audio(), { timestamps: true });
    expect(srt.stdout).toBe(subtitles(timed.segments!, "srt"));
    expect(srt.stdout).toMatch(/^1\n00:00:00,000 --> /);
    // beam search and the fallback preset from the command line, as the library runs them
    const fb = run("--model", dir, "--beam", "2", "--fallback", "--seed", "4", "--json");
    expect(fb.status, fb.stderr).toBe(0);
    const libFb = (await load("cli-fb")).transcribe(audio(), { beamWidth: 2, ...WHISPER_FALLBACK, seed: 4 });
    expect(JSON.parse(fb.stdout).tokens).toEqual(libFb.tokens);
    expect(run("--model", dir, "--temperatures", "0,x").stderr).toMatch(/--temperatures must be numbers/);
    // the shipped recogniser has no languages: said, not ignored
    const shipped = run("--language", "fr");
    expect(shipped.status).not.toBe(0);
    expect(shipped.stderr).toMatch(/takes no language/);
    // the service: ?language= (raw body) and the JSON field
    const { startService } = (await import(pathToFileURL(join(root, "dist/server/app.js")).href)) as {
      startService: typeof StartService;
    };
    const s = await startService({ modelsDir: join(root, "models"), port: 0, workers: 1, model: dir });
    try {
      const raw = await fetch(`${s.url}/v1/transcribe?language=fr`, {
        method: "POST",
        headers: { "content-type": "audio/wav" },
        body: readFileSync(wav),
      });
      expect(raw.status).toBe(200);
      expect((await raw.json()).text).toBe(lib.text);
      const timedRaw = await fetch(`${s.url}/v1/transcribe?timestamps=true`, {
        method: "POST",
        headers: { "content-type": "audio/wav" },
        body: readFileSync(wav),
      });
      expect(timedRaw.status).toBe(200);
      // (the WAV's 16-bit samples: the same segments, log-probabilities a few 1e-8 apart)
      const cue = ({ start, end, text }: { start: number; end: number; text: string }) => ({ start, end, text });
      expect((await timedRaw.json()).segments.map(cue)).toEqual(timed.segments!.map(cue));
      const asJson = await fetch(`${s.url}/v1/transcribe`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ audio: readFileSync(wav).toString("base64"), language: "xx", task: "translate" }),
      });
      expect(asJson.status).toBe(400);
      expect((await asJson.json()).message).toMatch(/unknown language "xx"/);
    } finally {
      await s.close();
    }
  }, 90_000);

  it("float16 and bfloat16 weights load exactly (each value the float32 one rounded) and transcribe", async () => {
    const f32 = (await load("f32")).model.stateDict();
    for (const [dtype, bits] of [
      ["F16", f16Bits],
      ["BF16", bf16Bits],
    ] as const) {
      const w = (await loadPretrained(
        writeWhisperFolder(join(tmp, dtype), pipe, { dtype }),
      )) as unknown as WhisperRecognizer;
      const sd = w.model.stateDict();
      expect(Object.keys(sd)).toEqual(Object.keys(f32));
      for (const [k, t] of Object.entries(f32))
        expect(Array.from(sd[k].data), `${dtype} ${k}`).toEqual(
          Array.from(t.data as Float32Array, (x) => halfValue(bits(x), dtype)),
        );
      expect(w.transcribe(audio()).tokens.length).toBeGreaterThan(0);
      w.dispose();
    }
  });

  it("a saved proj_out.weight equal to the embedding loads (tied); refusals name the field", async () => {
    const w = await load("tied", { projOut: true });
    expect(w.transcribe(audio()).tokens.length).toBeGreaterThan(0);
    expect(() => w.transcribe(audio(), { language: "xx" })).toThrow(
      /unknown language "xx"; this checkpoint knows en, de, fr/,
    );
    expect(() => w.transcribe(audio(), { beamWidth: 0 })).toThrow(/beamWidth must be an integer 1-16, got 0/);
    expect(() => w.transcribe(audio(), { temperatures: [0, -1] })).toThrow(/temperatures must be 1-16 numbers/);
    const [bad] = w.transcribeBatch([audio()], { logprobThreshold: Number.NaN });
    expect("error" in bad && bad.error.message).toMatch(/logprobThreshold must be a number/);
    w.dispose();
    const dir = writeWhisperFolder(join(tmp, "gelu-new"), {
      ...pipe,
      config: { ...pipe.config, activation_function: "relu" },
    });
    await expect(loadPretrained(dir)).rejects.toThrow(/activation_function "relu" is not supported/);
  });
});

describe("exportOnnx of Whisper, run by onnxruntime-web", () => {
  const pipe = JSON.parse(readFileSync(join(HF_SPEECH_FIXTURES, "whisper-pipe.json"), "utf8"));
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "polymodal-whisper-onnx-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("the encoder and one decoder step with its past give the recogniser's states and logits", async () => {
    const w = (await loadPretrained(writeWhisperFolder(join(tmp, "w"), pipe))) as unknown as WhisperRecognizer;
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    const c = w.model.config,
      d = c.dModel,
      H = c.decoderAttentionHeads,
      D = d / H;
    const feats = w.features.extract(utterance("speech.a", 12800));
    // the encoder
    const enc = w.exportSample();
    const es = await ort.InferenceSession.create(await MultimodalModelOptimizer.exportOnnx(enc.module, enc.inputs));
    const eo = await es.run({
      input_features: new ort.Tensor("float32", feats.data as Float32Array, [...feats.shape]),
    });
    const states = scoped(() => core.toTensor(w.model.model.encoder.run(core.fromTensor("t", "f", feats)).at(-1)!));
    expect([...eo.last_hidden_state.dims]).toEqual(states.shape);
    expectWithinBudget("last_hidden_state", eo.last_hidden_state.data as Float32Array, states.data);
    // one step after a 3-token prompt: the past as (1, H, P, D) from the cache's rows
    const cache = w.cacheFor();
    w.encodeWindow(feats, cache);
    w.decodeStep([51, 54, 56], cache);
    const heads = (ptr: number, rows: number) => {
      const r = core.heap().f32(ptr, rows * d),
        out = new Float32Array(rows * d);
      for (let h = 0; h < H; h++)
        for (let t = 0; t < rows; t++) for (let j = 0; j < D; j++) out[(h * rows + t) * D + j] = r[t * d + h * D + j];
      return new ort.Tensor("float32", out, [1, H, rows, D]);
    };
    const feeds: Record<string, unknown> = { input_ids: new ort.Tensor("int32", Int32Array.of(9), [1, 1]) };
    for (let i = 0; i < c.decoderLayers; i++) {
      feeds[`past_key_values.${i}.decoder.key`] = heads(cache.self[i].k, 3);
      feeds[`past_key_values.${i}.decoder.value`] = heads(cache.self[i].v, 3);
      feeds[`past_key_values.${i}.encoder.key`] = heads(cache.cross[i].k, cache.frames);
      feeds[`past_key_values.${i}.encoder.value`] = heads(cache.cross[i].v, cache.frames);
    }
    const step = w.exportStepSample();
    const ds = await ort.InferenceSession.create(await MultimodalModelOptimizer.exportOnnx(step.module, step.inputs));
    const out = await ds.run(feeds as never);
    const logits = w.decodeStep([9], cache);
    expect([...out.logits.dims]).toEqual([1, 1, c.vocabSize]);
    expectWithinBudget("logits", out.logits.data as Float32Array, logits);
    expect([...out["present.1.decoder.value"].dims]).toEqual([1, H, 4, D]);
    expectWithinBudget(
      "present key",
      (out["present.0.decoder.key"].data as Float32Array).subarray(3 * D, 4 * D),
      (heads(cache.self[0].k, 4).data as Float32Array).subarray(3 * D, 4 * D),
    );
    await expect(MultimodalModelOptimizer.exportOnnx(w.model, { input_ids: step.inputs.input_ids })).rejects.toThrow(
      /exports its encoder \(input_features\) or one decoder step/,
    );
    w.dispose();
  });
});

describe("Whisper long-form (30 s windows)", () => {
  const long = JSON.parse(readFileSync(join(HF_SPEECH_FIXTURES, "whisper-long.json"), "utf8"));
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "polymodal-whisper-long-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("a recording's features are computed whole (its own maximum), as the processor does without truncation", () => {
    const fe = WhisperFeatureExtractor.fromJSON({ feature_size: 8, chunk_length: 1 });
    const got = fe.extractAll(utterance("speech.a", 24000));
    const ref = loadSafetensors(readFileSync(join(HF_SPEECH_FIXTURES, "whisper-pipe.expected.safetensors"))).whole;
    expect(got.shape).toEqual([1, ...ref.shape]);
    expectWithinBudget("whole", got.data, ref.data);
    expect(fe.extractAll(utterance("speech.a", 8000)).shape).toEqual([1, 8, 100]); // shorter: one padded window
  });

  it.each(["greedy", "beam", "fallback"])(
    "%s: 40-75 s read in seeking windows, the fallback per window, as the reference",
    async (name) => {
      const w = (await loadPretrained(writeWhisperFolder(join(tmp, name), long))) as unknown as WhisperRecognizer;
      expect(long.expected[name].windows.length).toBeGreaterThan(1);
      // the windows seek by the last complete segment, not by 30 s
      expect(long.expected[name].windows.some((x: { seek: number }) => x.seek % 3000 !== 0)).toBe(true);
      expectCase(w, long, name);
      w.dispose();
    },
    60_000,
  );
});

describe("Whisper generation's pieces", () => {
  it("the compression ratio is zlib's (the reference's, zlib 1.2.13) on every sequence", () => {
    const cases: Array<[number[], number]> = JSON.parse(
      readFileSync(join(HF_SPEECH_FIXTURES, "whisper-compression.json"), "utf8"),
    );
    for (const [tokens, ratio] of cases) expect(compressionRatio(tokens, 51865)).toBe(ratio);
    expect(compressionRatio([1, 2, 1, 2, 1, 2, 1, 2], 64)).toBe(8 / 12); // one byte a token below 256 ids
  });

  it("the sampler's draws are fixed by its seed", () => {
    const r = new Xorshift32(7),
      draws = Array.from({ length: 4 }, () => r.uniform());
    expect(draws).toEqual(
      Array.from(
        { length: 4 },
        (
          (q) => () =>
            q.uniform()
        )(new Xorshift32(7)),
      ),
    );
    for (const u of draws) expect(u >= 0 && u < 1).toBe(true);
    expect(new Xorshift32(8).uniform()).not.toBe(draws[0]);
  });
});

describe("Whisper timestamp rules", () => {
  it("the rules: pairs, never backwards, a first timestamp no later than allowed, probability mass", () => {
    const V = 16,
      ts = 10,
      eos = 8,
      nots = 9;
    const run = (generated: number[], init: (l: Float32Array) => void, maxInitial: number | null = null) => {
      const lg = new Float32Array(V);
      init(lg);
      timestampRules(lg, generated, ts, eos, nots, maxInitial);
      return Array.from(lg, (v) => (v === -Infinity ? "x" : "."))
        .join("")
        .replace(/(.{10})/, "$1|");
    };
    const text = (l: Float32Array) => l.fill(5, 0, ts); // text likelier than any timestamp (logit 0)
    expect(run([], text, 2)).toBe("xxxxxxxxxx|...xxx"); // first: a timestamp, at most 2 steps in
    expect(run([11, 12], text)).toBe(".........x|xxxxxx"); // after a pair: text or the end
    expect(run([11, 3], text)).toBe(".........x|xx...."); // never back to or before the last timestamp
    expect(run([11, 3, 13], text)).toBe("xxxxxxxx.x|xxx..."); // after a lone timestamp: the pair's end, or the end
    // the timestamps' total probability beats the best text token's: a timestamp
    expect(run([11, 3], (l) => l.fill(0).fill(2, 12))).toBe("xxxxxxxxxx|xx....");
  });
});

describe("transcribe --format", () => {
  it("srt and vtt subtitles from Whisper's segments and a CTC model's words; txt/json refuse nothing", () => {
    expect(
      subtitles(
        [
          { start: 0, end: 1.5, text: "hello" },
          { start: 3661.25, end: 3662, text: "world" },
        ],
        "srt",
      ),
    ).toBe("1\n00:00:00,000 --> 00:00:01,500\nhello\n\n2\n01:01:01,250 --> 01:01:02,000\nworld\n");
    expect(subtitles([{ start: 0.02, end: 0.08, text: "a" }], "vtt")).toBe(
      "WEBVTT\n\n00:00:00.020 --> 00:00:00.080\na\n",
    );
    const base = { text: "a b", words: ["a", "b"], tokens: [], duration: 1, speech: true, confidence: 1, warnings: [] };
    const w = {
      ...base,
      wordConfidences: [1, 1],
      wordTimes: [
        { start: 0, end: 0.5 },
        { start: 0.5, end: 1 },
      ],
    };
    expect(cuesOf(w)).toEqual([
      { start: 0, end: 0.5, text: "a" },
      { start: 0.5, end: 1, text: "b" },
    ]);
    expect(cuesOf({ ...base, wordConfidences: [1, 1] })).toBeNull();
  });
});
