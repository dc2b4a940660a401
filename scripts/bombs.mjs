// The hostile inputs of issue 12 (each at most 10 MB), each decoded or loaded in a fresh Node process at the default
// limits, with its wall time and peak resident memory.  Prints a table and the worst case; exits 1 if any input takes
// more than 10 s or 1 GB.  `node scripts/bombs.mjs` (after npm run build); test/hostile.test.ts runs it.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { zlibSync } from "fflate";
import { craftPng } from "./craft-png.mjs";

const self = fileURLToPath(import.meta.url);
const dist = new URL("../dist/index.js", import.meta.url).href;
const MAX_MS = 10_000, MAX_RSS_MB = 1024;

/** name -> async () => void: builds the input, then runs the library on it (an Error is an expected outcome). */
const BOMBS = {
  async "PNG inflating 256x beyond its IHDR"(pm) {
    const idat = zlibSync(new Uint8Array(256 << 20), { level: 9 });
    await expectDecodes(pm, png(64, 64, 2, 8, idat));
  },
  async "PNG claiming 16384x16384 RGBA16"(pm) { await expectDecodes(pm, png(16384, 16384, 6, 16, zlibSync(new Uint8Array(1 << 20)))); },
  async "JPEG whose SOF claims 16000x16000"(pm) {
    const j = new Uint8Array(464); j.set([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0x3e, 0x80, 0x3e, 0x80, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]); j.set([0xff, 0xd9], 462);
    await expectDecodes(pm, j);
  },
  async "WAV header claiming 2 hours"(pm) {
    const w = pm.encodeWav([new Float32Array(16000 * 300)], 16000); // a real 5-minute file, 9.6 MB
    new DataView(w.buffer).setUint32(40, 16000 * 2 * 7200, true);
    try { pm.decodeWav(w); } catch { /* refused: the data chunk runs past the file */ }
    pm.decodeWav(pm.encodeWav([new Float32Array(16000 * 300)], 16000));
  },
  async "WAV at 1 Hz, 4 Hz and 44,101 Hz"(pm) {
    for (const rate of [1, 4]) { try { pm.decodeWav(pm.encodeWav([new Float32Array(1000)], rate)); } catch { /* refused */ } }
    const x = pm.decodeWav(pm.encodeWav([new Float32Array(44101 * 10).map((_, i) => Math.sin(i / 7))], 44101));
    pm.resample(pm.Tensor.from(x.channels[0]), 44101, 16000);
  },
  async "Y4M claiming 8192x8192"(pm) { try { pm.decodeY4M(new TextEncoder().encode("YUV4MPEG2 W8192 H8192 F25:1 C420jpeg\nFRAME\n")); } catch { /* refused */ } },
  async "safetensors with a 9.9 MB header"(pm) {
    const h = new TextEncoder().encode(JSON.stringify({ __metadata__: { x: "y".repeat(9_900_000) } }));
    const b = new Uint8Array(8 + h.length); new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true); b.set(h, 8);
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
    const D = 256, N = 9000, ix = new pm.MultimodalIndex(D, { kind: "hnsw", m: 8, efConstruction: 16 });
    ix.addBatch(Array.from({ length: N }, (_, i) => `v${i}`), Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 0.618 + (i % 7))), "image");
    const bytes = ix.save();
    ix.dispose();
    pm.MultimodalIndex.load(bytes).search(Float32Array.from({ length: D }, (_, i) => Math.cos(i)), 1e8);
  },
  async "polymodal index over a folder of these files"(pm) {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const d = mkdtempSync(join(tmpdir(), "pm-bombs-"));
    writeFileSync(join(d, "inflate.png"), png(64, 64, 2, 8, zlibSync(new Uint8Array(64 << 20), { level: 9 })));
    writeFileSync(join(d, "huge.png"), png(16384, 16384, 6, 16, zlibSync(new Uint8Array(1 << 20))));
    const j = new Uint8Array(464); j.set([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0x3e, 0x80, 0x3e, 0x80, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]); j.set([0xff, 0xd9], 462);
    writeFileSync(join(d, "sof.jpg"), j);
    writeFileSync(join(d, "odd.wav"), pm.encodeWav([new Float32Array(44101 * 5).map((_, i) => Math.sin(i / 9))], 44101));
    writeFileSync(join(d, "slow.wav"), pm.encodeWav([new Float32Array(1000)], 4));
    writeFileSync(join(d, "huge.y4m"), new TextEncoder().encode("YUV4MPEG2 W8192 H8192 F25:1 C420jpeg\nFRAME\n"));
    const { indexFolder } = await import(new URL("../dist/cli/indexer.js", import.meta.url).href);
    await indexFolder(d, { progress: false, warn: () => undefined });
  },
};

function png(w, h, colorType, depth, idat) {
  const out = craftPng(w, h, colorType, depth, idat);
  if (out.length > 10 << 20) throw new Error(`bomb input is ${out.length} bytes, more than 10 MB`);
  return out;
}

async function expectDecodes(pm, bytes) {
  try { pm.decodeImage(bytes); } catch { /* refused */ }
}

if (process.argv[2] === "--one") {
  const pm = await import(dist);
  await pm.init();
  const t0 = performance.now();
  await BOMBS[process.argv[3]](pm);
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, rssMB: process.resourceUsage().maxRSS / 1024 }));
} else {
  let worst = { ms: 0, rssMB: 0 }, failed = false;
  console.log("hostile inputs at the default limits (fresh process each; time includes building the input)");
  for (const name of Object.keys(BOMBS)) {
    const r = JSON.parse(execFileSync(process.execPath, [self, "--one", name], { encoding: "utf8", timeout: 120_000 }));
    const bad = r.ms > MAX_MS || r.rssMB > MAX_RSS_MB;
    failed ||= bad;
    worst = { ms: Math.max(worst.ms, r.ms), rssMB: Math.max(worst.rssMB, r.rssMB) };
    console.log(`  ${name.padEnd(56)} ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.rssMB.toFixed(0).padStart(5)} MB peak RSS${bad ? "  OVER THE BOUND" : ""}`);
  }
  console.log(`worst case: ${(worst.ms / 1000).toFixed(2)} s, ${worst.rssMB.toFixed(0)} MB (bounds ${MAX_MS / 1000} s, ${MAX_RSS_MB} MB)`);
  process.exit(failed ? 1 : 0);
}
