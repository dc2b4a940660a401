// `npm run demo -- --core`: the compute core on real-sized inputs:
// a ViT-B/16 block's GEMMs, the seed's convolutions, attention, an LSTM step and a log-mel front end,
// each timed, with a checksum that is the same on every engine.
import { init, Tensor, F, memoryStats } from "../dist/index.js";

await init();

function rand(n, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}
function fnv(t) {
  const u8 = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < u8.length; i++) {
    h ^= u8[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
function time(label, flops, fn) {
  fn();
  const runs = [];
  let out;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    out = fn();
    runs.push(performance.now() - t0);
  }
  const ms = Math.min(...runs);
  const rate = flops ? `${(flops / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s` : "".padStart(14);
  console.log(
    `${label.padEnd(52)} ${ms.toFixed(2).padStart(8)} ms ${rate}  shape ${JSON.stringify(out.shape).padEnd(16)} ` +
      `bits ${fnv(out)}`,
  );
  return out;
}

console.log("polymodal compute core — single thread, WASM SIMD (best of 5)\n");
const tokens = Tensor.from(rand(197 * 768, 1), [197, 768]);
const wQkv = Tensor.from(
  rand(3 * 768 * 768, 2).map((v) => v * 0.03),
  [3 * 768, 768],
);
const wFc1 = Tensor.from(
  rand(3072 * 768, 3).map((v) => v * 0.03),
  [3072, 768],
);
const bFc1 = Tensor.from(rand(3072, 4), [3072]);
time("linear 197x768 -> 2304 (ViT-B/16 qkv projection)", 2 * 197 * 768 * 2304, () => F.linear(tokens, wQkv));
const h = time("linear 197x768 -> 3072 (ViT-B/16 MLP up)", 2 * 197 * 768 * 3072, () => F.linear(tokens, wFc1, bFc1));
time("gelu over 197x3072", 0, () => F.gelu(h));
time("layer norm 197x768", 0, () => F.layerNorm(tokens, 768, null, null, 1e-5));
const q = Tensor.from(rand(12 * 197 * 64, 5), [1, 12, 197, 64]);
time("attention 12 heads x 197 tokens x 64", 4 * 12 * 197 * 197 * 64, () => F.scaledDotProductAttention(q, q, q));
const img = Tensor.from(rand(3 * 224 * 224, 6), [1, 3, 224, 224]);
const wPatch = Tensor.from(
  rand(768 * 768, 7).map((v) => v * 0.05),
  [768, 3, 16, 16],
);
time("conv2d 3->768 k16 s16 (ViT patch embedding)", 2 * 768 * 196 * 768, () =>
  F.conv2d(img, wPatch, null, { stride: 16 }),
);
time("conv2d 3->64 k7 s2 p3 on 224x224 (seed image encoder)", 2 * 64 * 112 * 112 * 147, () =>
  F.conv2d(img, Tensor.from(rand(64 * 147, 8), [64, 3, 7, 7]), null, { stride: 2, padding: 3 }),
);
const mel = Tensor.from(rand(80 * 1000, 9), [1, 80, 1000]);
time("conv1d 80->256 k3 p1 over 1000 frames (seed ASR)", 2 * 256 * 1000 * 240, () =>
  F.conv1d(
    mel,
    Tensor.from(
      rand(256 * 240, 10).map((v) => v * 0.1),
      [256, 80, 3],
    ),
    null,
    { padding: 1 },
  ),
);
const seq = Tensor.from(rand(1 * 100 * 512, 11), [1, 100, 512]);
const H = 256;
time(
  "LSTM 512 -> 256 over 100 steps",
  2 * 100 * 4 * H * (512 + H),
  () =>
    F.lstmLayer(seq, {
      weightIh: Tensor.from(
        rand(4 * H * 512, 12).map((v) => v * 0.05),
        [4 * H, 512],
      ),
      weightHh: Tensor.from(
        rand(4 * H * H, 13).map((v) => v * 0.05),
        [4 * H, H],
      ),
    }).output,
);
const t = new Float32Array(16000 * 60);
for (let i = 0; i < t.length; i++)
  t[i] =
    0.5 * Math.sin(2 * Math.PI * 440 * (i / 16000)) * (1 + 0.5 * Math.sin(i / 8000)) + 0.01 * (((i * 7919) % 13) - 6);
const wave = Tensor.from(t);
const m = time("log-mel: STFT 400/160 + 80 mels on 60 s at 16 kHz", 0, () =>
  F.logEps(F.melSpectrogram(wave, { nFft: 400, hopLength: 160, nMels: 80 })),
);
const db = Tensor.from(rand(100000 * 64, 14), [100000, 64]);
const qv = Tensor.from(rand(64, 15), [64]);
const s = time("similarity scan 100,000 x 64 + top-10", 2 * 100000 * 64, () => F.similarityScan(qv, db));
const top = F.topk(s, 10);
const T = m.shape[1];
let best = 0;
for (let b = 1; b < 80; b++) if (m.data[b * T + 3000] > m.data[best * T + 3000]) best = b;
console.log(
  `\nlog-mel at 30 s: the 440 Hz tone peaks in mel bin ${best} (log power ${m.data[best * T + 3000].toFixed(3)})`,
);
console.log(
  `top-3 rows of the scan: ${Array.from(top.indices.subarray(0, 3)).join(", ")} ` +
    `(scores ${Array.from(top.values.subarray(0, 3), (v) => v.toFixed(3)).join(", ")})`,
);
const ms = memoryStats();
console.log(
  `WASM memory: ${(ms.wasmBytes / 2 ** 20).toFixed(0)} MiB reserved; the bits column is identical in Node and ` +
    `browsers.`,
);
