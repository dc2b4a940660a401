// `npm run demo`, the main job on shipped defaults: generate a sample collection with the repo's generators
// (scenes as PNG, sound events as WAV, clips as Y4M video, espeak-ng speech), index it with the shipped models
// through the CLI's indexer, then search it by text, by image, by sound and by text for video, transcribe the
// speech (and again with the model quantised to int8), and score everything against the generators' ground
// truth.  `npm run demo -- --threads 2` runs on two threads (same results); `npm run demo -- --core` times the
// kernels.
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { init, loadPretrained, wordErrors, MultimodalModelOptimizer, SpeechRecognizer } from "../dist/index.js";
import { indexFolder } from "../dist/cli/indexer.js";
import { Collection } from "../dist/app/collection.js";
import { Models } from "../dist/app/models.js";
import { writeSampleCollection } from "./sample-collection.mjs";
import { makeScene, SIZE } from "./scenes.mjs";
import { makeSound } from "./sounds.mjs";
import { encodeWav } from "../dist/index.js";

if (process.argv.includes("--core")) {
  await import("./demo-core.mjs");
  process.exit(0);
}
const ti = process.argv.indexOf("--threads");
const threads = ti >= 0 ? Number(process.argv[ti + 1]) : 1;
await init({ threads });
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "demo-data");
const ms = (t0) => `${(performance.now() - t0).toFixed(0)} ms`;
const pct = (a, n) => `${((100 * a) / n).toFixed(1)}% (${a}/${n})`;

let t0 = performance.now();
const truth = writeSampleCollection(dir);
if (threads > 1) console.log(`(running on ${threads} threads: the same results as one, bit for bit)`);
console.log(
  `1. sample collection: ${Object.keys(truth.images).length} scenes (PNG), ${Object.keys(truth.sounds).length} ` +
    `sound events (WAV), ` +
    `${Object.keys(truth.videos).length} clips (Y4M video), ${Object.keys(truth.speech).length} spoken word ` +
    `sequences (WAV) -> demo-data/  [${ms(t0)}]`,
);

t0 = performance.now();
const models = new Models();
const report = await indexFolder(dir, {
  models,
  progress: !!process.stderr.isTTY,
  warn: (m) => console.log(`   warning: ${m}`),
});
console.log(
  `2. indexed with the shipped models (clip-scenes, audio-events, video-text): ${report.counts.image} ` +
    `images, ${report.counts.audio} audio files (sound events and speech), ` +
    `${report.counts.video + 0} videos -> demo-data/.polymodal  [${ms(t0)}]`,
);
// the suggested query is a caption of a scene the collection holds, so it has a match to find
const suggested = Object.values(truth.images)[0];
console.log(
  `   the same from a shell: npx polymodal index demo-data && npx polymodal search "${suggested}" ` +
    `--index demo-data/.polymodal`,
);
const coll = await Collection.open(report.indexDir, null, { readOnly: true }); // read only: no writer lock held
const ix = (space) => coll.stores.get(space).index; // the file stores' in-process MultimodalIndex, searched directly
const [clip, sounds, vt] = await Promise.all([
  loadPretrained("clip-scenes"),
  loadPretrained("audio-events"),
  loadPretrained("video-text"),
]);

// 3. text -> image
console.log("3. text -> image search (top 3; * = caption matches the query):");
const captions = [...new Set(Object.values(truth.images))];
for (const q of captions.slice(0, 4)) {
  t0 = performance.now();
  const hits = ix("image").search(clip.embedTexts([q])[0], 3, "image");
  console.log(`   "${q}"  [${ms(t0)}]`);
  for (const h of hits)
    console.log(`      ${h.score.toFixed(3)} ${truth.images[h.itemId] === q ? "*" : " "} ${h.itemId}`);
}
t0 = performance.now();
let ok = 0;
for (const q of captions)
  if (truth.images[ix("image").search(clip.embedTexts([q])[0], 1, "image")[0].itemId] === q) ok++;
console.log(
  `   top-1 accuracy over all ${captions.length} captions in the collection: ${pct(ok, captions.length)}  [${ms(t0)}]`,
);

// 4. image -> image: the queries are new scenes (not in the collection) whose caption some indexed scene has
t0 = performance.now();
ok = 0;
const NQ = 40,
  inCollection = new Set(Object.values(truth.images));
let example = null,
  n = 0;
for (let seed = 4_000_000; n < NQ; seed++) {
  const s = makeScene(seed);
  if (!inCollection.has(s.caption)) continue;
  n++;
  const hits = ix("image").search(
    clip.embedImages([{ width: SIZE, height: SIZE, channels: 3, data: s.pixels }])[0],
    1,
    "image",
  );
  if (truth.images[hits[0].itemId] === s.caption) ok++;
  example ??= { q: s.caption, hit: hits[0] };
}
console.log(
  `4. image -> image search with ${NQ} new scenes: the nearest indexed image has the query's caption ` +
    `in ${pct(ok, NQ)}  [${ms(t0)}]`,
);
console.log(`   e.g. a new "${example.q}" -> ${example.hit.itemId} (${example.hit.score.toFixed(3)})`);

// 5. sound -> sound, queries are new sound events written as WAV bytes
t0 = performance.now();
ok = 0;
let okCls = 0;
for (let i = 0; i < NQ; i++) {
  const s = makeSound(4_000_000 + i),
    wav = encodeWav([s.samples], s.sampleRate);
  // the audio index also holds the speech recordings: search the sound events, as a metadata filter does
  const hit = ix("audio").search(sounds.embed(wav), 1, "audio", {
    filter: (meta) => String(meta.path).startsWith("sounds/"),
  })[0];
  if (truth.sounds[hit.itemId] === s.label) ok++;
  if (sounds.classify(wav).label === s.label) okCls++;
}
console.log(
  `5. sound -> sound search with ${NQ} new sound events: nearest sound is the same kind in ${pct(ok, NQ)}; kind ` +
    `classified right in ${pct(okCls, NQ)}  [${ms(t0)}]`,
);

// 6. text -> video
t0 = performance.now();
const vcaps = [...new Set(Object.values(truth.videos))];
ok = 0;
for (const q of vcaps) if (truth.videos[ix("video").search(vt.embedTexts([q])[0], 1, "video")[0].itemId] === q) ok++;
const vq = vcaps[0],
  vh = ix("video").search(vt.embedTexts([vq])[0], 2, "video");
console.log(
  `6. text -> video search over ${report.counts.video} clips: "${vq}" ` +
    `-> ${vh.map((h) => `${h.itemId} (${h.score.toFixed(3)})`).join(", ")}`,
);
console.log(`   top-1 accuracy over all ${vcaps.length} captions: ${pct(ok, vcaps.length)}  [${ms(t0)}]`);

// 7. transcription
t0 = performance.now();
const asr = await loadPretrained("asr-words");
let errs = 0,
  words = 0,
  audioSec = 0;
const lines = [];
for (const [f, ref] of Object.entries(truth.speech)) {
  const r = asr.transcribe(readFileSync(join(dir, f)));
  const refW = ref.split(" ");
  errs += wordErrors(refW, r.words);
  words += refW.length;
  audioSec += r.duration;
  lines.push(`      ${r.text === ref ? " " : "x"} ${f}: "${r.text}"${r.text === ref ? "" : `  (said: "${ref}")`}`);
}
const took = performance.now() - t0;
console.log(
  `7. transcription of ${lines.length} recordings in voices never heard in training (${audioSec.toFixed(1)} s of ` +
    `audio in ${took.toFixed(0)} ms, ${((audioSec * 1000) / took).toFixed(0)}x real time):`,
);
for (const l of lines.slice(0, 6)) console.log(l);
console.log(`   word error rate ${((100 * errs) / words).toFixed(1)}% (${errs} errors in ${words} words)`);

// 8. the same recordings through the recogniser quantised to int8 (torch's quantize_dynamic numerics)
t0 = performance.now();
const q = new SpeechRecognizer(MultimodalModelOptimizer.quantizeModel(asr.model), asr.card);
let qErrs = 0;
for (const [f, ref] of Object.entries(truth.speech))
  qErrs += wordErrors(ref.split(" "), q.transcribe(readFileSync(join(dir, f))).words);
console.log(
  `8. the same with the model quantised to int8 (MultimodalModelOptimizer.quantizeModel): word error ` +
    `rate ${((100 * qErrs) / words).toFixed(1)}% (${qErrs} errors)  [${ms(t0)}]`,
);
