// The shipped speech recogniser per listening condition, through polymodal on WAV bytes: the test utterances
// (test/fixtures/speech: espeak-ng voices held out of training) clean at 16 kHz, through 8 kHz, in white and pink
// noise at 10, 5 and 0 dB SNR, and 200 clips of silence or noise alone (empty transcripts expected).
//   npm run build && node scripts/eval/asr-conditions.mjs
import { readFileSync } from "node:fs";
import { init, loadPretrained, decodeWav, downmix, resample, encodeWav, wordErrors, Tensor } from "../../dist/index.js";

await init();
const asr = await loadPretrained("asr-words");
const dir = new URL("../../test/fixtures/speech/", import.meta.url);
const list = JSON.parse(readFileSync(new URL("transcripts.json", dir), "utf8"));
let seed = 7;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
function pink(n) {
  let b0 = 0, b1 = 0, b2 = 0;
  return new Float32Array(n).map(() => { const w = rnd(); b0 = 0.99765 * b0 + w * 0.099046; b1 = 0.963 * b1 + w * 0.2965164; b2 = 0.57 * b2 + w * 1.0526913; return (b0 + b1 + b2 + w * 0.1848) / 3; });
}
const rs = (w, a, b) => resample(new Tensor(w, [w.length]), a, b).data;
function mix(w, kind, snr) {
  const n = kind === "white" ? new Float32Array(w.length).map(() => rnd()) : pink(w.length);
  let ps = 0, pn = 0;
  for (let i = 0; i < w.length; i++) { ps += w[i] * w[i]; pn += n[i] * n[i]; }
  const g = Math.sqrt(ps / pn / 10 ** (snr / 10));
  return w.map((v, i) => v + g * n[i]);
}
const conditions = {
  "clean, 16 kHz": (w) => [w, 16000],
  "8 kHz (telephone band)": (w) => [rs(w, 16000, 8000), 8000],
  ...Object.fromEntries(["white", "pink"].flatMap((k) => [10, 5, 0].map((snr) => [`${k} noise, ${snr} dB SNR`, (w) => [mix(w, k, snr), 16000]]))),
};
const rows = [];
for (const [name, make] of Object.entries(conditions)) {
  let errs = 0, words = 0, warned = 0;
  for (const { file, text } of list) {
    const a = decodeWav(readFileSync(new URL(file, dir)));
    const w16 = a.sampleRate === 16000 ? downmix(a.channels) : rs(downmix(a.channels), a.sampleRate, 16000);
    const [w, sr] = make(w16);
    const r = asr.transcribe(encodeWav([w], sr, { format: "float32" }));
    errs += wordErrors(text.split(" "), r.words);
    words += text.split(" ").length;
    if (r.warnings.length) warned++;
  }
  rows.push(`| ${name} | ${((100 * errs) / words).toFixed(1)}% | ${warned} of ${list.length} |`);
}
let empty = 0;
for (let i = 0; i < 200; i++) {
  const n = Math.round([0.1, 0.5, 1, 3, 10][i % 5] * 16000), amp = [0, 1e-4, 1e-3, 0.01, 0.1, 0.5][Math.floor(i / 5) % 6];
  const kind = ["silence", "white", "pink"][Math.floor(i / 30) % 3];
  const w = kind === "silence" ? new Float32Array(n) : kind === "white" ? new Float32Array(n).map(() => amp * rnd()) : pink(n).map((v) => v * amp);
  if (asr.transcribe(encodeWav([w], 16000, { format: "float32" })).text === "") empty++;
}
console.log(`asr-words through polymodal, ${list.length} held-out utterances (${list.reduce((s, x) => s + x.text.split(" ").length, 0)} words) per condition:\n`);
console.log("| condition | WER | warned |\n|---|---|---|");
for (const r of rows) console.log(r);
console.log(`\nsilence and white/pink noise alone (200 clips, 0.1-10 s, up to -6 dBFS): ${empty} of 200 empty transcripts`);
