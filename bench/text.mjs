// `npm run bench -- text`: sentence-transformers encoders at their real sizes (procedural weights: timing does not
// depend on the values), one thread, loaded from folders in sentence-transformers' layout: all-MiniLM-L6-v2's
// (384 wide, 6 layers) and bge-base's (768, 12), at batch 1 x 16 tokens and 32 x 128, against onnxruntime-web in the
// same process on the graph our own exportOnnx writes (input_ids, attention_mask -> last_hidden_state), interleaved
// round by round -> our time / theirs (target <= 0.75); and tokenisation throughput against transformers.js's
// BertTokenizer on the same tokenizer.json and corpus (test/fixtures/tokenizers/corpus.txt), the ids checked equal
// first (target >= 1.0x its throughput).
import { mkdirSync, existsSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPretrained, MultimodalModelOptimizer, Tensor, Tokenizer } from "../dist/index.js";
import { writeSafetensors } from "../test/harness/hf-clip.mjs";

const root = join(tmpdir(), "polymodal-bench-text");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const SIZES = {
  "MiniLM-L6": { hidden_size: 384, num_hidden_layers: 6, num_attention_heads: 12, intermediate_size: 1536 },
  "bge-base": { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
};

function bertKeys(c) {
  const H = c.hidden_size,
    I = c.intermediate_size,
    keys = [
      ["embeddings.word_embeddings.weight", [c.vocab_size, H]],
      ["embeddings.position_embeddings.weight", [c.max_position_embeddings, H]],
      ["embeddings.token_type_embeddings.weight", [c.type_vocab_size, H]],
      ["embeddings.LayerNorm.weight", [H]],
      ["embeddings.LayerNorm.bias", [H]],
    ];
  const lin = (k, o, i) => keys.push([`${k}.weight`, [o, i]], [`${k}.bias`, [o]]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}`;
    for (const n of ["query", "key", "value"]) lin(`${p}.attention.self.${n}`, H, H);
    lin(`${p}.attention.output.dense`, H, H);
    keys.push([`${p}.attention.output.LayerNorm.weight`, [H]], [`${p}.attention.output.LayerNorm.bias`, [H]]);
    lin(`${p}.intermediate.dense`, I, H);
    lin(`${p}.output.dense`, H, I);
    keys.push([`${p}.output.LayerNorm.weight`, [H]], [`${p}.output.LayerNorm.bias`, [H]]);
  }
  lin("pooler.dense", H, H);
  return keys;
}

export function folder(name) {
  const dir = join(root, name);
  const config = {
    model_type: "bert",
    vocab_size: 30522,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    hidden_act: "gelu",
    layer_norm_eps: 1e-12,
    ...SIZES[name],
  };
  if (!existsSync(join(dir, "model.safetensors"))) {
    mkdirSync(join(dir, "1_Pooling"), { recursive: true });
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    writeFileSync(
      join(dir, "tokenizer.json"),
      readFileSync(new URL("../test/fixtures/text/wordpiece.tokenizer.json", import.meta.url)),
    );
    writeFileSync(
      join(dir, "modules.json"),
      JSON.stringify([
        { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
        { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
        { idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" },
      ]),
    );
    writeFileSync(
      join(dir, "1_Pooling", "config.json"),
      JSON.stringify({ word_embedding_dimension: config.hidden_size, pooling_mode_mean_tokens: true }),
    );
    writeSafetensors(
      join(dir, "model.safetensors"),
      bertKeys(config).map(([k, s]) => [k, s, "F32"]),
    );
  }
  return dir;
}

export async function benchText() {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const lines = [];
  for (const name of Object.keys(SIZES)) {
    const st = await loadPretrained(folder(name));
    const { module, inputs } = st.exportSample();
    const sess = await ort.InferenceSession.create(await MultimodalModelOptimizer.exportOnnx(module, inputs));
    for (const [B, T] of [
      [1, 16],
      [32, 128],
    ]) {
      const ids = new Int32Array(B * T).map((_, i) => 1000 + ((i * 7919) % 20000)),
        mask = new Int32Array(B * T).fill(1);
      const a = new Tensor(ids, [B, T]),
        m = new Tensor(mask, [B, T]);
      const feeds = {
        input_ids: new ort.Tensor("int32", ids, [B, T]),
        attention_mask: new ort.Tensor("int32", mask, [B, T]),
      };
      const ours = [],
        theirs = [];
      const rounds = B * T > 1000 ? 4 : 12;
      for (let r = 0; r < rounds; r++) {
        let t0 = performance.now();
        st.encode(a, m);
        const t1 = performance.now() - t0;
        t0 = performance.now();
        await sess.run(feeds);
        const t2 = performance.now() - t0;
        if (r === 0) continue; // warm-up
        ours.push(t1);
        theirs.push(t2);
      }
      lines.push(
        `${name} size, batch ${B} x ${T} tokens, one thread: polymodal ${median(ours).toFixed(1)} ms (pooled and ` +
          `normalised), onnxruntime-web ${median(theirs).toFixed(1)} ms (token states, our exportOnnx graph) -> ` +
          `${(median(ours) / median(theirs)).toFixed(2)}x its time (target <= 0.75)`,
      );
    }
    await sess.release();
  }
  lines.push(await tokenization());
  lines.push(await documents(folder("MiniLM-L6")));
  for (const l of lines) console.log("  " + l);
  return lines;
}

/**
 * A folder of short notes (POLYMODAL_BENCH_DOCS of them, default 10,000; 8 to 40 words each, seeded) indexed end to
 * end by `polymodal index`'s code with a MiniLM-L6-size text model, one thread: files/s.
 */
export async function documents(model) {
  const { indexFolder } = await import("../dist/cli/indexer.js");
  const { Models } = await import("../dist/app/models.js");
  const n = Number(process.env.POLYMODAL_BENCH_DOCS ?? 10_000);
  const dir = join(root, `notes-${n}`);
  const words = (
    "the red blue green circle square triangle star photo picture image of a large small cat dog on top bottom " +
    "left right and two three four five hello world city text emoji mixed spaces newlines inside"
  ).split(" ");
  if (!existsSync(join(dir, "done"))) {
    mkdirSync(join(dir, "notes"), { recursive: true });
    let x = 12345;
    const rnd = (k) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % k;
    };
    for (let i = 0; i < n; i++) {
      const len = 8 + rnd(33),
        text = Array.from({ length: len }, () => words[rnd(words.length)]).join(" ");
      writeFileSync(join(dir, "notes", `${String(i).padStart(5, "0")}.md`), `# note ${i}\n\n${text}\n`);
    }
    writeFileSync(join(dir, "done"), "");
  }
  const idx = join(dir, `index-${Date.now()}`);
  const models = new Models(undefined, undefined, undefined, {}, model);
  const t0 = performance.now();
  const r = await indexFolder(join(dir, "notes"), { indexDir: idx, models, progress: false, warn: () => {} });
  const s = (performance.now() - t0) / 1000;
  if (r.added !== n) throw new Error(`documents bench: indexed ${r.added} of ${n} notes`);
  return (
    `${n} notes (8 to 40 words) indexed end to end by \`polymodal index\`'s code with a MiniLM-L6-size model, one ` +
    `thread, one durable write per file: ${s.toFixed(1)} s = ${(n / s).toFixed(0)} files/s`
  );
}

/** WordPiece tokenisation, ours against transformers.js's, on the corpus's lines (the same ids first). */
export async function tokenization() {
  const { BertTokenizer } = await import("@huggingface/transformers");
  const text = readFileSync(new URL("../test/fixtures/text/wordpiece.tokenizer.json", import.meta.url), "utf8");
  const theirs = new BertTokenizer(JSON.parse(text), { do_lower_case: true, model_max_length: 512 }),
    ours = Tokenizer.fromJSON(text);
  const corpus = readFileSync(new URL("../test/fixtures/tokenizers/corpus.txt", import.meta.url), "utf8")
    .split("\n")
    .filter(Boolean);
  for (const l of corpus)
    if (JSON.stringify(theirs.encode(l)) !== JSON.stringify(ours.encode(l).ids))
      throw new Error(`tokenization bench: transformers.js and polymodal disagree on ${JSON.stringify(l)}`);
  const time = (f) => {
    const t0 = performance.now();
    for (let k = 0; k < 100; k++) for (const l of corpus) f(l);
    return performance.now() - t0;
  };
  const a = [],
    b = [];
  for (let r = 0; r < 6; r++) {
    const x = time((l) => ours.encode(l)),
      y = time((l) => theirs.encode(l));
    if (r === 0) continue; // warm-up
    a.push(x);
    b.push(y);
  }
  const chars = 100 * corpus.reduce((n, l) => n + l.length, 0),
    rate = (ms) => ((chars / ms) * 1e3) / 1e6;
  return (
    `WordPiece tokenisation (BERT's tokenizer.json, the corpus's ${corpus.length} lines, the same ids): polymodal ` +
    `${rate(median(a)).toFixed(2)} M chars/s, transformers.js ${rate(median(b)).toFixed(2)} M chars/s -> ` +
    `${(median(b) / median(a)).toFixed(2)}x its throughput (target >= 1.0)`
  );
}
