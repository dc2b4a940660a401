// The hostile inputs of issues 12 and 24 (each at most 10 MB), each decoded or loaded in a fresh Node process at
// the default
// limits, with its wall time and peak resident memory.  Prints a table and the worst case; exits 1 if any input takes
// more than 10 s or 1 GB.  `node scripts/bombs.mjs` (after npm run build); test/hostile.test.ts runs it.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { zlibSync } from "fflate";
import { craftPng } from "./craft-png.mjs";

const self = fileURLToPath(import.meta.url);
const dist = new URL("../dist/index.js", import.meta.url).href;
const MAX_MS = 10_000,
  MAX_RSS_MB = 1024;

/** name -> async () => void: builds the input, then runs the library on it (an Error is an expected outcome). */
const BOMBS = {
  async "PNG inflating 256x beyond its IHDR"(pm) {
    const idat = zlibSync(new Uint8Array(256 << 20), { level: 9 });
    await expectDecodes(pm, png(64, 64, 2, 8, idat));
  },
  async "PNG claiming 16384x16384 RGBA16"(pm) {
    await expectDecodes(pm, png(16384, 16384, 6, 16, zlibSync(new Uint8Array(1 << 20))));
  },
  async "JPEG whose SOF claims 16000x16000"(pm) {
    const j = new Uint8Array(464);
    j.set([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0x3e, 0x80, 0x3e, 0x80, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    j.set([0xff, 0xd9], 462);
    await expectDecodes(pm, j);
  },
  async "WAV header claiming 2 hours"(pm) {
    const w = pm.encodeWav([new Float32Array(16000 * 300)], 16000); // a real 5-minute file, 9.6 MB
    new DataView(w.buffer).setUint32(40, 16000 * 2 * 7200, true);
    try {
      pm.decodeWav(w);
    } catch {
      /* refused: the data chunk runs past the file */
    }
    pm.decodeWav(pm.encodeWav([new Float32Array(16000 * 300)], 16000));
  },
  async "WAV at 1 Hz, 4 Hz and 44,101 Hz"(pm) {
    for (const rate of [1, 4]) {
      try {
        pm.decodeWav(pm.encodeWav([new Float32Array(1000)], rate));
      } catch {
        /* refused */
      }
    }
    const x = pm.decodeWav(pm.encodeWav([new Float32Array(44101 * 10).map((_, i) => Math.sin(i / 7))], 44101));
    pm.resample(pm.Tensor.from(x.channels[0]), 44101, 16000);
  },
  async "Y4M claiming 8192x8192"(pm) {
    try {
      pm.decodeY4M(new TextEncoder().encode("YUV4MPEG2 W8192 H8192 F25:1 C420jpeg\nFRAME\n"));
    } catch {
      /* refused */
    }
  },
  async "safetensors with a 9.9 MB header"(pm) {
    const h = new TextEncoder().encode(JSON.stringify({ __metadata__: { x: "y".repeat(9_900_000) } }));
    const b = new Uint8Array(8 + h.length);
    new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true);
    b.set(h, 8);
    pm.loadSafetensors(b);
  },
  async "one 1,000,000-character word through BPE and WordPiece"(pm) {
    const { readFileSync } = await import("node:fs");
    const word = "abracadabra".repeat(90_910).slice(0, 1_000_000);
    for (const f of ["bpe", "wordpiece"]) {
      const j = JSON.parse(readFileSync(new URL(`../test/fixtures/text/${f}.tokenizer.json`, import.meta.url), "utf8"));
      if (j.model.max_input_chars_per_word) j.model.max_input_chars_per_word = 2_000_000;
      pm.Tokenizer.fromJSON(j).encode(word);
    }
  },
  async "10 MB HNSW index file, loaded and searched with k = 1e8"(pm) {
    const D = 256,
      N = 9000,
      ix = new pm.MultimodalIndex(D, { kind: "hnsw", m: 8, efConstruction: 16 });
    ix.addBatch(
      Array.from({ length: N }, (_, i) => `v${i}`),
      Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 0.618 + (i % 7))),
      "image",
    );
    const bytes = ix.save();
    ix.dispose();
    pm.MultimodalIndex.load(bytes).search(
      Float32Array.from({ length: D }, (_, i) => Math.cos(i)),
      1e8,
    );
  },
  async "polymodal index over a folder of these files"(pm) {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const d = mkdtempSync(join(tmpdir(), "pm-bombs-"));
    writeFileSync(join(d, "inflate.png"), png(64, 64, 2, 8, zlibSync(new Uint8Array(64 << 20), { level: 9 })));
    writeFileSync(join(d, "huge.png"), png(16384, 16384, 6, 16, zlibSync(new Uint8Array(1 << 20))));
    const j = new Uint8Array(464);
    j.set([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0x3e, 0x80, 0x3e, 0x80, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    j.set([0xff, 0xd9], 462);
    writeFileSync(join(d, "sof.jpg"), j);
    writeFileSync(
      join(d, "odd.wav"),
      pm.encodeWav([new Float32Array(44101 * 5).map((_, i) => Math.sin(i / 9))], 44101),
    );
    writeFileSync(join(d, "slow.wav"), pm.encodeWav([new Float32Array(1000)], 4));
    writeFileSync(join(d, "huge.y4m"), new TextEncoder().encode("YUV4MPEG2 W8192 H8192 F25:1 C420jpeg\nFRAME\n"));
    const { indexFolder } = await import(new URL("../dist/cli/indexer.js", import.meta.url).href);
    await indexFolder(d, { progress: false, warn: () => undefined });
  },
  async "tokenizer.json Split/Replace patterns that backtrack exponentially, on 44 and 10,000 characters"(pm) {
    const base = {
      version: "1.0",
      normalizer: null,
      post_processor: null,
      decoder: null,
      added_tokens: [],
      model: { type: "WordLevel", vocab: { "[UNK]": 0 }, unk_token: "[UNK]" },
    };
    for (const [pattern, c] of [
      ["(a+)+$", "a"],
      ["(\\s*\\w*)*!", "a"],
      ["(x+x+)+y", "x"],
    ]) {
      const split = pm.Tokenizer.fromJSON({
        ...base,
        pre_tokenizer: { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
      });
      const replace = pm.Tokenizer.fromJSON({
        ...base,
        pre_tokenizer: null,
        normalizer: { type: "Replace", pattern: { Regex: pattern }, content: "" },
      });
      for (const text of [c.repeat(43) + "!", c.repeat(10_000) + "!"]) {
        split.encode(text);
        replace.encode(text);
      }
    }
  },
  async "Hugging Face folders: 1e9 projection, 1e6 layers, 16000 crop, 250,000-name weight_map, /dev/zero weights"(pm) {
    const { mkdtempSync, writeFileSync, readFileSync, unlinkSync, symlinkSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { writeHFClipFolder, HF_CLIP_CONFIGS } = await import("../test/harness/hf-clip.mjs");
    const root = mkdtempSync(join(tmpdir(), "pm-bomb-hf-"));
    const cfg = HF_CLIP_CONFIGS.small.config;
    const edits = {
      projection: (d) => writeFileSync(join(d, "config.json"), JSON.stringify({ ...cfg, projection_dim: 1e9 })),
      layers: (d) =>
        writeFileSync(
          join(d, "config.json"),
          JSON.stringify({ ...cfg, text_config: { ...cfg.text_config, num_hidden_layers: 1e6 } }),
        ),
      wide: (d) =>
        writeFileSync(
          join(d, "config.json"),
          JSON.stringify({ ...cfg, text_config: { ...cfg.text_config, hidden_size: 65536, num_attention_heads: 1 } }),
        ),
      crop: (d) => {
        const p = JSON.parse(readFileSync(join(d, "preprocessor_config.json"), "utf8"));
        writeFileSync(
          join(d, "preprocessor_config.json"),
          JSON.stringify({ ...p, crop_size: 16000, size: { shortest_edge: 20000 } }),
        );
      },
      zero: (d) => {
        unlinkSync(join(d, "model.safetensors"));
        symlinkSync("/dev/zero", join(d, "model.safetensors"));
      },
    };
    for (const [name, edit] of Object.entries(edits)) {
      const d = writeHFClipFolder(join(root, name), "small");
      edit(d);
      try {
        await pm.loadPretrained(d);
      } catch {
        /* refused */
      }
    }
    const d = writeHFClipFolder(join(root, "index"), "small", { shards: 2 });
    const idx = JSON.parse(readFileSync(join(d, "model.safetensors.index.json"), "utf8"));
    for (let i = 0; i < 250_000; i++) idx.weight_map[`extra.${i}`] = "model-00001-of-00002.safetensors";
    writeFileSync(join(d, "model.safetensors.index.json"), JSON.stringify(idx));
    try {
      await pm.loadPretrained(d);
    } catch {
      /* refused */
    }
  },
  async "beam 99 over 230 s of speech (a 10 MB WAV), then beam 20"(pm) {
    const { readFileSync } = await import("node:fs");
    const asr = await pm.loadPretrained("asr-words");
    const w = pm.decodeWav(readFileSync(new URL("../test/fixtures/speech/0000.wav", import.meta.url)));
    const n = 230 * w.sampleRate,
      x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = w.channels[0][i % w.channels[0].length];
    const wav = pm.encodeWav([x], w.sampleRate);
    if (wav.length > 10 << 20) throw new Error(`bomb input is ${wav.length} bytes, more than 10 MB`);
    for (const beamWidth of [99, 20]) {
      try {
        asr.transcribe(wav, { beamWidth });
      } catch (e) {
        if (!/more search than one call may ask/.test(e.message)) throw e;
      }
    }
  },
  async "JSON bodies: 10 MB of a million keys, and 10,000 levels deep"(pm) {
    const { checkJsonShape } = await import(new URL("../dist/server/json-shape.js", import.meta.url).href);
    const keys = "{" + Array.from({ length: 900_000 }, (_, i) => `"k${i}":0`).join(",") + "}";
    const deep = `{"m":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`;
    for (const body of [keys, deep]) {
      try {
        checkJsonShape(body);
        JSON.parse(body);
      } catch {
        /* refused before parsing */
      }
    }
    void pm;
  },
  async "file-store logs: a flipped bit mid-log and a huge length field (8 MB each)"(_pm) {
    const { mkdtempSync, readFileSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { FileStore } = await import(new URL("../dist/app/file-store.js", import.meta.url).href);
    for (const damage of ["bit", "length"]) {
      const base = join(mkdtempSync(join(tmpdir(), "pm-bomb-log-")), "image");
      const s = await FileStore.open(base, 512, { compactMinBytes: 1 << 30 });
      for (let i = 0; i < 4000; i++)
        await s.upsert([
          {
            id: `i${i}`,
            modality: "image",
            embedding: Float32Array.from({ length: 512 }, (_, j) => Math.sin(i + j)),
            metadata: {},
          },
        ]);
      await s.close();
      const log = `${base}.1.log`,
        b = readFileSync(log);
      if (damage === "bit") b[b.length >> 1] ^= 4;
      else b.writeUInt32LE(0xfffffff0, 0);
      writeFileSync(log, b);
      try {
        await FileStore.open(base, 512, { readOnly: true });
      } catch {
        /* refused, naming the byte */
      }
      const r = await FileStore.open(base, 512, { salvage: true });
      await r.close();
    }
  },
};

function png(w, h, colorType, depth, idat) {
  const out = craftPng(w, h, colorType, depth, idat);
  if (out.length > 10 << 20) throw new Error(`bomb input is ${out.length} bytes, more than 10 MB`);
  return out;
}

async function expectDecodes(pm, bytes) {
  try {
    pm.decodeImage(bytes);
  } catch {
    /* refused */
  }
}

if (process.argv[2] === "--one") {
  const pm = await import(dist);
  await pm.init();
  const t0 = performance.now();
  await BOMBS[process.argv[3]](pm);
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, rssMB: process.resourceUsage().maxRSS / 1024 }));
} else {
  let worst = { ms: 0, rssMB: 0 },
    failed = false;
  console.log("hostile inputs at the default limits (fresh process each; time includes building the input)");
  for (const name of Object.keys(BOMBS)) {
    const r = JSON.parse(execFileSync(process.execPath, [self, "--one", name], { encoding: "utf8", timeout: 120_000 }));
    const bad = r.ms > MAX_MS || r.rssMB > MAX_RSS_MB;
    failed ||= bad;
    worst = { ms: Math.max(worst.ms, r.ms), rssMB: Math.max(worst.rssMB, r.rssMB) };
    console.log(
      `  ${name.padEnd(56)} ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.rssMB.toFixed(0).padStart(5)} MB peak ` +
        `RSS${bad ? "  OVER THE BOUND" : ""}`,
    );
  }
  console.log(
    `worst case: ${(worst.ms / 1000).toFixed(2)} s, ${worst.rssMB.toFixed(0)} MB (bounds ${MAX_MS / 1000} ` +
      `s, ${MAX_RSS_MB} MB)`,
  );
  process.exit(failed ? 1 : 0);
}
