// `npm run bench -- speech`: the speech checkpoints at their real sizes (procedural weights: timing does not depend
// on the values), one thread, loaded from Hugging Face-layout folders the way users load them:
//   - Whisper base (d 512, 6 + 6 layers, 51,865 tokens): 30 s of audio -> features, encoder, then 100 greedy decoder
//     steps over the KV cache (a typical 30 s transcript's length) -> real-time factor (target >= 10x);
//   - Wav2Vec2 base (95 M parameters): 30 s of audio transcribed (in its 20 s windows) -> real-time factor.
//   - against onnxruntime-web (1 thread, same process, same weights exported by our own exportOnnx): Whisper base's
//     encoder on one 30 s window, and one decoder step after 100 cached tokens (Optimum's decoder-with-past
//     layout: the past keys and values as inputs), and Wav2Vec2 base's forward on 10 s -> our time / theirs
//     (target <= 0.75).
import { mkdirSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPretrained, memoryStats, MultimodalModelOptimizer } from "../dist/index.js";
import { writeSafetensors } from "../test/harness/hf-clip.mjs";
import { ctcKeys, whisperKeys, whisperTokenizer } from "../test/harness/hf-speech.mjs";

const root = join(tmpdir(), "polymodal-bench-speech");

/** 30 s of noise-like audio at 16 kHz. */
function audio(seconds) {
  const w = new Float32Array(seconds * 16000);
  let s = 7;
  for (let i = 0; i < w.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    w[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return w;
}

function whisperBase() {
  const dir = join(root, "whisper-base");
  const config = {
    model_type: "whisper",
    vocab_size: 51865,
    num_mel_bins: 80,
    d_model: 512,
    encoder_layers: 6,
    encoder_attention_heads: 8,
    decoder_layers: 6,
    decoder_attention_heads: 8,
    encoder_ffn_dim: 2048,
    decoder_ffn_dim: 2048,
    max_source_positions: 1500,
    max_target_positions: 448,
  };
  if (!existsSync(join(dir, "model.safetensors"))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    writeFileSync(
      join(dir, "generation_config.json"),
      JSON.stringify({
        decoder_start_token_id: 50258,
        eos_token_id: 50257,
        no_timestamps_token_id: 50363,
        lang_to_id: { "<|en|>": 50259 },
        task_to_id: { transcribe: 50359, translate: 50358 },
        max_length: 448,
      }),
    );
    writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify({ feature_size: 80 }));
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(whisperTokenizer()));
    writeSafetensors(
      join(dir, "model.safetensors"),
      whisperKeys(config).map(([k, s]) => [k, s, "F32"]),
    );
  }
  return dir;
}

function wav2vec2Base() {
  const dir = join(root, "wav2vec2-base");
  const config = { model_type: "wav2vec2", vocab_size: 32 };
  if (!existsSync(join(dir, "model.safetensors"))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify({ sampling_rate: 16000, do_normalize: true }));
    const tokens = ["<pad>", "<s>", "</s>", "<unk>", "|", ..."ETAONIHSRDLUMWCFGYPBVK'XJQZ"];
    writeFileSync(join(dir, "vocab.json"), JSON.stringify(Object.fromEntries(tokens.map((t, i) => [t, i]))));
    writeSafetensors(
      join(dir, "model.safetensors"),
      ctcKeys(config).map(([k, s]) => [k, s, "F32"]),
    );
  }
  return dir;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Whisper base's encoder and one decoder step, ours against onnxruntime-web's on our exported graphs. */
async function whisperVsOrt(w, wave) {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const c = w.model.config,
    H = c.decoderAttentionHeads,
    D = c.dModel / H,
    P = 100;
  const feats = w.features.extract(wave);
  const enc = w.exportSample(),
    step = w.exportStepSample(P);
  const es = await ort.InferenceSession.create(await MultimodalModelOptimizer.exportOnnx(enc.module, enc.inputs));
  const ds = await ort.InferenceSession.create(await MultimodalModelOptimizer.exportOnnx(step.module, step.inputs));
  const x = new ort.Tensor("float32", feats.data, [...feats.shape]);
  const feeds = { input_ids: new ort.Tensor("int32", Int32Array.of(11), [1, 1]) };
  let s = 1;
  const noise = (n) =>
    Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.1);
  for (let i = 0; i < c.decoderLayers; i++)
    for (const [part, n] of [
      ["decoder", P],
      ["encoder", c.maxSourcePositions],
    ])
      for (const kv of ["key", "value"])
        feeds[`past_key_values.${i}.${part}.${kv}`] = new ort.Tensor("float32", noise(H * n * D), [1, H, n, D]);
  const cache = w.cacheFor();
  const ours = { encoder: [], step: [] },
    theirs = { encoder: [], step: [] };
  const time = async (f) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  for (let round = 0; round < 4; round++) {
    // interleaved, the first round a warm-up
    const e1 = await time(() => w.encodeWindow(feats, cache)),
      e2 = await time(() => es.run({ input_features: x }));
    cache.length = 0;
    w.decodeStep(
      Array.from({ length: P }, (_, i) => 11 + (i % 50)),
      cache,
    );
    const s1 = [],
      s2 = [];
    for (let k = 0; k < 5; k++) {
      cache.length = P;
      s1.push(await time(() => w.decodeStep([11], cache)));
      s2.push(await time(() => ds.run(feeds)));
    }
    if (round === 0) continue;
    ours.encoder.push(e1);
    theirs.encoder.push(e2);
    ours.step.push(median(s1));
    theirs.step.push(median(s2));
  }
  await es.release();
  await ds.release();
  const row = (what, a, b) =>
    `Whisper base ${what}, one thread: polymodal ${median(a).toFixed(1)} ms, onnxruntime-web ` +
    `${median(b).toFixed(1)} ms (our exportOnnx graph) -> ${(median(a) / median(b)).toFixed(2)}x its time ` +
    "(target <= 0.75)";
  return [
    row("encoder (30 s window)", ours.encoder, theirs.encoder),
    row("decoder step after 100 tokens", ours.step, theirs.step),
  ];
}

/** Wav2Vec2 base's forward (10 s, normalised samples -> logits), ours against onnxruntime-web's on our export. */
async function wav2vec2VsOrt(a, wave) {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const { module, inputs } = a.exportSample();
  const s = await ort.InferenceSession.create(await MultimodalModelOptimizer.exportOnnx(module, inputs));
  const x = new ort.Tensor("float32", a.features.normalize(wave), [1, wave.length]);
  const ours = [],
    theirs = [];
  for (let round = 0; round < 4; round++) {
    let t0 = performance.now();
    a.logits([{ waveform: wave, sampleRate: 16000 }]);
    const t1 = performance.now() - t0;
    t0 = performance.now();
    await s.run({ input_values: x });
    const t2 = performance.now() - t0;
    if (round === 0) continue; // warm-up
    ours.push(t1);
    theirs.push(t2);
  }
  await s.release();
  return (
    `Wav2Vec2 base forward (10 s -> logits), one thread: polymodal ${median(ours).toFixed(0)} ms, onnxruntime-web ` +
    `${median(theirs).toFixed(0)} ms (our exportOnnx graph) -> ${(median(ours) / median(theirs)).toFixed(2)}x its ` +
    "time (target <= 0.75)"
  );
}

export async function benchSpeech() {
  const lines = [];
  const wave = audio(30);
  {
    const w = await loadPretrained(whisperBase());
    const run = () => {
      const t0 = performance.now();
      const feats = w.features.extract(wave);
      const t1 = performance.now();
      const cache = w.cacheFor();
      w.encodeWindow(feats, cache);
      const t2 = performance.now();
      let next = [50258, 50259, 50359, 50363];
      for (let i = 0; i < 100; i++) {
        const lg = w.decodeStep(next, cache);
        let best = 0;
        for (let v = 1; v < lg.length; v++) if (lg[v] > lg[best]) best = v;
        next = [best === 50257 ? 11 : best]; // (always 100 steps: random weights may end at once)
      }
      const t3 = performance.now();
      return { features: t1 - t0, encoder: t2 - t1, decoder: t3 - t2, total: t3 - t0 };
    };
    run();
    const r = [run(), run(), run()].sort((a, b) => a.total - b.total)[1];
    lines.push(...(await whisperVsOrt(w, wave)));
    lines.push(
      `Whisper base, 30 s of audio, one thread: features ${r.features.toFixed(0)} ms, ` +
        `encoder ${r.encoder.toFixed(0)} ms, 100 decoder steps ${r.decoder.toFixed(0)} ms ` +
        `(${(r.decoder / 100).toFixed(1)} ms a token); total ` +
        `${r.total.toFixed(0)} ms = real-time factor ${(30000 / r.total).toFixed(1)}x (target >= 10x); KV cache ` +
        `allocated once (WASM memory ${(memoryStats().wasmBytes / 2 ** 20).toFixed(0)} MiB)`,
    );
    w.dispose();
  }
  {
    const a = await loadPretrained(wav2vec2Base());
    const run = () => {
      const t0 = performance.now();
      a.transcribe({ waveform: wave, sampleRate: 16000 });
      return performance.now() - t0;
    };
    run();
    const ms = [run(), run(), run()].sort((x, y) => x - y)[1];
    lines.push(
      `Wav2Vec2 base, 30 s of audio (in 20 s windows), one thread: ${ms.toFixed(0)} ms = real-time factor ` +
        `${(30000 / ms).toFixed(1)}x`,
    );
    lines.push(await wav2vec2VsOrt(a, wave.subarray(0, 10 * 16000)));
  }
  for (const l of lines) console.log("  " + l);
  return lines;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) await benchSpeech();
