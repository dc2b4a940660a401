// Speech that knows silence: voice activity on the recogniser's own mel spectrogram
// (src/pipelines/voice-activity.ts) turns silence and noise into an empty transcript, keeps every test utterance
// (also at 0 dB SNR in white noise), and telephone-band audio gets a warning; transcripts carry per-word
// confidences.  All through polymodal on WAV bytes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lcg, white as whiteNoise, pink as pinkNoise } from "./harness/noise.mjs";
import {
  init,
  loadPretrained,
  encodeWav,
  decodeWav,
  downmix,
  resample,
  Tensor,
  type SpeechRecognizer,
} from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const speechDir = join(root, "test/fixtures/speech");
const list = JSON.parse(readFileSync(join(speechDir, "transcripts.json"), "utf8")) as Array<{
  file: string;
  text: string;
}>;
const tmp = mkdtempSync(join(tmpdir(), "pm-vad-"));
let asr: SpeechRecognizer;
beforeAll(async () => {
  await init();
  asr = await loadPretrained("asr-words");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const rnd = lcg(2024);
const white = (n: number, amp: number): Float32Array => whiteNoise(n, rnd, amp);
const pink = (n: number, amp: number): Float32Array => pinkNoise(n, rnd, amp);
const speech16k = (file: string): Float32Array => {
  const a = decodeWav(readFileSync(join(speechDir, file)));
  const w = downmix(a.channels);
  return a.sampleRate === 16000 ? w : (resample(new Tensor(w, [w.length]), a.sampleRate, 16000).data as Float32Array);
};

describe("voice activity: no speech, no words", () => {
  it("200 clips of silence and of white or pink noise (0.1 to 10 s, -80 to -6 dBFS) all transcribe to empty " +
    "text", () => {
    let empty = 0;
    const wrong: string[] = [];
    for (let i = 0; i < 200; i++) {
      const seconds = [0.1, 0.5, 1, 3, 10][i % 5],
        n = Math.round(seconds * 16000);
      const amp = [0, 1e-4, 1e-3, 0.01, 0.1, 0.5][Math.floor(i / 5) % 6];
      const kind = ["silence", "white", "pink"][Math.floor(i / 30) % 3];
      const wave = kind === "silence" ? new Float32Array(n) : kind === "white" ? white(n, amp) : pink(n, amp);
      const r = asr.transcribe(encodeWav([wave], 16000, { format: "float32" }));
      if (r.text === "" && !r.speech) empty++;
      else wrong.push(`${kind} ${amp} ${seconds}s: "${r.text}"`);
    }
    expect(wrong).toEqual([]);
    expect(empty).toBe(200);
    // { vad: false } skips the judgement and the model alone decides (it, too, says nothing: speech-conditions.test.ts)
    expect(asr.transcribe(encodeWav([new Float32Array(16000)], 16000), { vad: false }).speech).toBe(true);
  }, 120_000);

  it("keeps every test utterance, clean and at 0 dB SNR in white noise; words carry confidences, greedy or " +
    "beam", () => {
    for (const it of list) {
      const w = speech16k(it.file);
      const r = asr.transcribe({ waveform: w, sampleRate: 16000 });
      expect([it.file, r.speech, r.text]).toEqual([
        it.file,
        true,
        asr.transcribe({ waveform: w, sampleRate: 16000 }, { vad: false }).text,
      ]);
      expect(r.wordConfidences).toHaveLength(r.words.length);
      for (const c of r.wordConfidences) expect(c > 0 && c <= 1).toBe(true);
      expect(r.confidence).toBe(Math.min(1, ...r.wordConfidences));
      // beam search's words carry confidences from the best alignment of its words: the greedy path's when they agree
      const b = asr.transcribe({ waveform: w, sampleRate: 16000 }, { beamWidth: 8 });
      expect(b.wordConfidences).toHaveLength(b.words.length);
      if (b.text === r.text) expect(b.wordConfidences).toEqual(r.wordConfidences);
      let ps = 0;
      for (const v of w) ps += v * v;
      const noise = white(w.length, Math.sqrt((3 * ps) / w.length)); // uniform noise of the speech's power: 0 dB
      expect([it.file, asr.transcribe({ waveform: w.map((v, i) => v + noise[i]), sampleRate: 16000 }).speech]).toEqual([
        it.file,
        true,
      ]);
    }
  }, 120_000);
});

describe("bandwidth", () => {
  it("8 kHz audio, and 16 kHz audio without its upper band, are transcribed with a warning; full-band audio has " +
    "none", () => {
    const w = speech16k(list[0].file);
    expect(asr.transcribe({ waveform: w, sampleRate: 16000 }).warnings).toEqual([]);
    const w8 = resample(new Tensor(w, [w.length]), 16000, 8000).data as Float32Array;
    expect(asr.transcribe(encodeWav([w8], 8000)).warnings[0]).toMatch(
      /recorded at 8000 Hz; the model was trained on 16000 Hz audio, so nothing above 4000 Hz is there/,
    );
    const back = resample(new Tensor(w8, [w8.length]), 8000, 16000).data as Float32Array;
    expect(asr.transcribe({ waveform: back, sampleRate: 16000 }).warnings[0]).toMatch(
      /almost nothing above 4000 Hz \(telephone-band audio/,
    );
    for (const it of list)
      expect([it.file, asr.transcribe({ waveform: speech16k(it.file), sampleRate: 16000 }).warnings]).toEqual([
        it.file,
        [],
      ]);
  }, 60_000);

  it("the CLI prints the warning on stderr, and (no speech) for silence", () => {
    const sil = join(tmp, "silence.wav"),
      phone = join(tmp, "phone.wav");
    writeFileSync(sil, encodeWav([new Float32Array(32000)], 16000));
    const w = speech16k(list[0].file);
    writeFileSync(phone, encodeWav([resample(new Tensor(w, [w.length]), 16000, 8000).data as Float32Array], 8000));
    const run = (f: string) =>
      spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "transcribe", f], {
        encoding: "utf8",
        timeout: 60_000,
      });
    expect(run(sil).stdout.trim()).toBe("(no speech)");
    const p = run(phone);
    expect(p.status).toBe(0);
    expect(p.stderr).toMatch(/warning: the audio was recorded at 8000 Hz/);
  }, 60_000);
});
