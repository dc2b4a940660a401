// The shipped speech recogniser per listening condition, through polymodal on WAV bytes: the test utterances
// (test/fixtures/speech: espeak-ng voices held out of training) clean at 16 kHz, through 8 kHz, in white and pink
// noise at 10, 5 and 0 dB SNR; with espeak-ng, the same words and voices again at 80 to 400 words per minute and
// read by German, Dutch and Spanish voices (languages held out of training); 200 clips of silence or noise alone
// (empty transcripts expected) and 60 of tones, mains hum and clicks.
// A folder of WAVs + transcripts.json may be given instead of the committed 40 (train_asr.py writes all 500
// held-out utterances to /tmp/pm_asr_test).
//   npm run build && node scripts/eval/asr-conditions.mjs [dir]
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { init, loadPretrained, decodeWav, downmix, resample, encodeWav, wordErrors, Tensor } from "../../dist/index.js";
import { lcg, white, pink, atSnr } from "../../test/harness/noise.mjs";
import { HAVE_ESPEAK, espeakWav, withArg, withLanguage } from "../../test/harness/espeak.mjs";

await init();
const asr = await loadPretrained("asr-words");
const dir = process.argv[2]
  ? pathToFileURL(`${resolve(process.argv[2])}/`)
  : new URL("../../test/fixtures/speech/", import.meta.url);
const list = JSON.parse(readFileSync(new URL("transcripts.json", dir), "utf8"));
const rnd = lcg(7);
const rs = (w, a, b) => resample(new Tensor(w, [w.length]), a, b).data;
const mix = (w, kind, snr) => atSnr(w, (kind === "white" ? white : pink)(w.length, rnd), snr);
const conditions = {
  "clean, 16 kHz": (w) => [w, 16000],
  "8 kHz (telephone band)": (w) => [rs(w, 16000, 8000), 8000],
  ...Object.fromEntries(
    ["white", "pink"].flatMap((k) =>
      [10, 5, 0].map((snr) => [`${k} noise, ${snr} dB SNR`, (w) => [mix(w, k, snr), 16000]]),
    ),
  ),
};
const rows = [];
const row = (name, wavs) => {
  let errs = 0,
    words = 0,
    warned = 0;
  for (const [wav, text] of wavs) {
    const r = asr.transcribe(wav);
    errs += wordErrors(text.split(" "), r.words);
    words += text.split(" ").length;
    if (r.warnings.length) warned++;
  }
  rows.push(`| ${name} | ${((100 * errs) / words).toFixed(1)}% | ${warned} of ${wavs.length} |`);
};
for (const [name, make] of Object.entries(conditions)) {
  row(
    name,
    list.map(({ file, text }) => {
      const a = decodeWav(readFileSync(new URL(file, dir)));
      const w16 = a.sampleRate === 16000 ? downmix(a.channels) : rs(downmix(a.channels), a.sampleRate, 16000);
      const [w, sr] = make(w16);
      return [encodeWav([w], sr, { format: "float32" }), text];
    }),
  );
}
if (HAVE_ESPEAK) {
  for (const wpm of [80, 160, 240, 320, 400])
    row(
      `${wpm} words per minute`,
      list.map(({ text, espeak }) => [espeakWav(withArg(espeak, "-s", wpm), text), text]),
    );
  for (const lang of ["de", "nl", "es"])
    row(
      `read by a ${{ de: "German", nl: "Dutch", es: "Spanish" }[lang]} voice`,
      list.map(({ text, espeak }) => [espeakWav(withLanguage(espeak, lang), text), text]),
    );
} else console.error("espeak-ng not found: the speed and accent rows are left out (apt-get install espeak-ng)");
let empty = 0;
for (let i = 0; i < 200; i++) {
  const n = Math.round([0.1, 0.5, 1, 3, 10][i % 5] * 16000),
    amp = [0, 1e-4, 1e-3, 0.01, 0.1, 0.5][Math.floor(i / 5) % 6];
  const kind = ["silence", "white", "pink"][Math.floor(i / 30) % 3];
  const w = kind === "silence" ? new Float32Array(n) : (kind === "white" ? white : pink)(n, rnd, amp);
  if (asr.transcribe(encodeWav([w], 16000, { format: "float32" })).text === "") empty++;
}
let quiet = 0;
for (let i = 0; i < 60; i++) {
  const n = 16000 * [0.5, 1, 3][i % 3],
    amp = [0.01, 0.1, 0.5][Math.floor(i / 3) % 3],
    kind = ["tone", "hum", "clicks"][Math.floor(i / 9) % 3];
  const f0 = 150 + 97 * i;
  const w = new Float32Array(n).map((_, t) =>
    kind === "tone"
      ? amp * Math.sin((2 * Math.PI * f0 * t) / 16000)
      : kind === "hum"
        ? [1, 2, 3, 4, 5].reduce((s, k) => s + (amp / k) * Math.sin((2 * Math.PI * 50 * k * t) / 16000), 0)
        : t % (1600 + 40 * i) === 0
          ? amp
          : 0,
  );
  if (asr.transcribe(encodeWav([w], 16000, { format: "float32" })).text === "") quiet++;
}
console.log(
  `asr-words through polymodal, ${list.length} held-out utterances ` +
    `(${list.reduce((s, x) => s + x.text.split(" ").length, 0)} words) per condition:\n`,
);
console.log("| condition | WER | warned |\n|---|---|---|");
for (const r of rows) console.log(r);
console.log(
  `\nsilence and white/pink noise alone (200 clips, 0.1-10 s, up to -6 dBFS): ${empty} of 200 empty transcripts`,
);
console.log(`tones, mains hum and clicks (60 clips, 0.5-3 s): ${quiet} of 60 empty transcripts`);
