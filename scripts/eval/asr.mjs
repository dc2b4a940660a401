// Word error rate of a speech model through polymodal on a folder of WAVs + transcripts.json (train_asr.py writes
// all its held-out utterances to /tmp/pm_asr_test).  Prints the WER and, with --write-card, stores it in the card.
// --quantize runs the model dynamically quantised to int8 (MultimodalModelOptimizer.quantizeModel), --qnnpack with
// qnnpack's full activation range.
//   node scripts/eval/asr.mjs [dir] [--write-card] [--quantize [--qnnpack]]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { init, loadPretrained, wordErrors, MultimodalModelOptimizer, SpeechRecognizer } from "../../dist/index.js";

const dir = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "/tmp/pm_asr_test";
await init();
const float = await loadPretrained("asr-words");
const quantize = process.argv.includes("--quantize");
const asr = quantize
  ? new SpeechRecognizer(
      MultimodalModelOptimizer.quantizeModel(float.model, "dynamic", {
        reduceRange: !process.argv.includes("--qnnpack"),
      }),
      float.card,
    )
  : float;
const list = JSON.parse(readFileSync(join(dir, "transcripts.json"), "utf8"));
let errs = 0,
  words = 0,
  sec = 0;
const t0 = performance.now();
for (const { file, text } of list) {
  const r = asr.transcribe(readFileSync(join(dir, file)));
  errs += wordErrors(text.split(" "), r.words);
  words += text.split(" ").length;
  sec += r.duration;
}
const ms = performance.now() - t0;
const wer = errs / words;
console.log(
  `WER ${wer.toFixed(4)} (${errs} errors / ${words} words, ${list.length} utterances, ${sec.toFixed(0)} s of ` +
    `audio in ${(ms / 1000).toFixed(1)} s)`,
);
if (process.argv.includes("--write-card")) {
  const p = new URL("../../models/asr-words.json", import.meta.url);
  const card = JSON.parse(readFileSync(p, "utf8"));
  const flags = [quantize ? " --quantize" : "", process.argv.includes("--qnnpack") ? " --qnnpack" : ""];
  const by = `node scripts/eval/asr.mjs${flags.join("")}`;
  card[quantize ? "metrics_polymodal_int8" : "metrics_polymodal"] = {
    held_out_wer: wer,
    held_out_utterances: list.length,
    words,
    measured_by: by,
  };
  writeFileSync(p, JSON.stringify(card, null, 1));
}
