// The shipped speech, sound and video models (models/*.safetensors + cards, trained by scripts/train/): each
// loads through loadPretrained, reproduces the PyTorch model it came from, and meets its metric measured through
// polymodal on held-out data: WER on WAV files in voices never heard in training, sound-kind accuracy, and
// text->video recall.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  loadPretrained,
  loadSafetensors,
  wordErrors,
  Tensor,
  MultimodalIndex,
  type SpeechRecognizer,
  type AudioEmbedder,
  type VideoTextEmbedder,
} from "../src/index.js";
import { makeSound } from "../scripts/sounds.mjs";
import { makeClip, CLIP_SIZE } from "../scripts/clips.mjs";
import { compare } from "./harness/compare.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const card = (n: string): any => JSON.parse(readFileSync(join(root, `models/${n}.json`), "utf8"));
const ref = (n: string): Record<string, Tensor> =>
  loadSafetensors(readFileSync(join(root, `test/fixtures/${n}-reference.safetensors`)));
let asr: SpeechRecognizer, sounds: AudioEmbedder, vt: VideoTextEmbedder;

beforeAll(async () => {
  await init();
  [sounds, vt] = await Promise.all([loadPretrained("audio-events"), loadPretrained("video-text")]);
  asr = await loadPretrained("asr-words");
});

it("every shipped model is at most 8 MB", () => {
  for (const n of ["asr-words", "audio-events", "video-text", "clip-scenes"])
    expect(readFileSync(join(root, `models/${n}.safetensors`)).length, n).toBeLessThanOrEqual(8e6);
});

describe("asr-words (SpeechRecognitionModel, CTC)", () => {
  it("reproduces PyTorch: features from the 16 kHz wave, log-probs from the features", () => {
    const r = ref("asr");
    const feats = asr.features(r.wave16k.data as Float32Array); // (1, 40, T0)
    const [, M, T0] = feats.shape,
      Tmax = r.features.shape[2];
    // the reference batch is zero-padded to its longest item: compare item 0 away from its last two frames
    const ours: number[] = [],
      theirs: number[] = [];
    for (let m = 0; m < M; m++)
      for (let t = 0; t < T0 - 2; t++) {
        ours.push(feats.data[m * T0 + t]);
        theirs.push(r.features.data[m * Tmax + t]);
      }
    // torchaudio's float32 mel vs ours (<= 1e-4 relative) seen through log and the card's 1/std scaling
    expect(compare(ours, theirs).maxAbs).toBeLessThanOrEqual(2e-3);
    const lp = asr.model.forward(r.features);
    const e = compare(lp.data, r.log_probs.data);
    expect(e.maxScaled).toBeLessThanOrEqual(2e-4);
    expect(e.nmse).toBeLessThanOrEqual(1e-10);
  });

  it("word error rate <= 10% on WAV files in held-out voices, through polymodal", () => {
    const dir = join(root, "test/fixtures/speech");
    const list: Array<{ file: string; text: string }> = JSON.parse(readFileSync(join(dir, "transcripts.json"), "utf8"));
    let errs = 0,
      words = 0;
    for (const { file, text } of list) {
      const hyp = asr.transcribe(readFileSync(join(dir, file))).words;
      errs += wordErrors(text.split(" "), hyp);
      words += text.split(" ").length;
    }
    console.log(
      `asr-words: WER ${(errs / words).toFixed(4)} on ${list.length} held-out-voice WAVs (${words} words); card ` +
        `(PyTorch, ${card("asr-words").metrics_pytorch.held_out_utterances} ` +
        `utterances): ${card("asr-words").metrics_pytorch.held_out_wer.toFixed(4)}`,
    );
    expect(list.length).toBeGreaterThanOrEqual(40);
    expect(errs / words).toBeLessThanOrEqual(0.1);
  });

  it("beam search agrees with greedy decoding on clear speech and errors are clear", () => {
    const wav = readFileSync(join(root, "test/fixtures/speech/0001.wav"));
    expect(asr.transcribe(wav, { beamWidth: 8 }).text).toBe(asr.transcribe(wav).text);
    expect(() => asr.transcribe(new Uint8Array(10))).toThrow(/decodeWav/);
    expect(() => asr.transcribe({ waveform: new Float32Array([0, NaN]), sampleRate: 16000 })).toThrow(
      /sample 1 is NaN/,
    );
    expect(() => asr.transcribe({ waveform: new Float32Array(0), sampleRate: 16000 })).toThrow(/empty/);
  });
});

describe("audio-events (AudioFeatureExtractor)", () => {
  it("reproduces PyTorch's embeddings from the waveform", () => {
    const r = ref("audio-events");
    const e = compare(sounds.model.forward(r.waveform).data, r.embeds.data);
    expect(e.maxScaled).toBeLessThanOrEqual(2e-4);
    expect(e.nmse).toBeLessThanOrEqual(1e-9);
  });

  it("classifies and retrieves held-out sounds through polymodal as the card says", () => {
    const N = 400,
      c = card("audio-events").metrics_pytorch;
    const index = new MultimodalIndex(sounds.dim);
    const labels: string[] = [];
    let correct = 0;
    for (let i = 0; i < N; i++) {
      const s = makeSound(1_000_000 + i);
      labels.push(s.label);
      const emb = sounds.embed({ waveform: s.samples, sampleRate: s.sampleRate });
      index.add(`s${i}`, emb, "audio");
      const p = sounds.prototypes.map((q) => q.reduce((a, v, k) => a + v * emb[k], 0));
      if (sounds.kinds[p.indexOf(Math.max(...p))] === s.label) correct++;
    }
    let r1 = 0;
    for (let i = 0; i < N; i++) {
      const hit = index.search(index.get(`s${i}`)!.embedding, 2).find((h) => h.itemId !== `s${i}`)!;
      if (labels[Number(hit.itemId.slice(1))] === labels[i]) r1++;
    }
    console.log(
      `audio-events through polymodal (${N} held-out): accuracy ${(correct / N).toFixed(3)}, ` +
        `recall@1 ${(r1 / N).toFixed(3)}; card (PyTorch, ` +
        `1000): ${c.prototype_accuracy.toFixed(3)}, ${c.audio_to_audio_recall_at_1.toFixed(3)}`,
    );
    expect(correct / N).toBeGreaterThanOrEqual(Math.min(0.95, c.prototype_accuracy - 0.02));
    expect(r1 / N).toBeGreaterThanOrEqual(Math.min(0.95, c.audio_to_audio_recall_at_1 - 0.02));
    index.dispose();
  });
});

describe("video-text (VideoTextModel)", () => {
  it("reproduces PyTorch's video and text embeddings", () => {
    const r = ref("video-text");
    for (const [a, b] of [
      [vt.model.encodeVideo(r.video), r.video_embeds],
      [vt.model.encodeText(new Tensor(Int32Array.from(r.input_ids.data, Number), r.input_ids.shape)), r.text_embeds],
    ] as const) {
      const e = compare(a.data, b.data);
      expect(e.maxScaled).toBeLessThanOrEqual(2e-4);
      expect(e.nmse).toBeLessThanOrEqual(1e-9);
    }
  });

  it("text -> video recall@1 on held-out clips through polymodal matches the card", () => {
    const N = 1000,
      c = card("video-text").metrics_pytorch;
    const clips = Array.from({ length: N }, (_, i) => makeClip(1_000_000 + i));
    const index = new MultimodalIndex(vt.dim);
    for (let s = 0; s < N; s += 100) {
      const batch = clips.slice(s, s + 100);
      const emb = vt.embedVideos(
        batch.map((c) =>
          c.frames.map((data: Uint8Array) => ({ width: CLIP_SIZE, height: CLIP_SIZE, channels: 3 as const, data })),
        ),
      );
      index.addBatch(
        batch.map((_, i) => `v${s + i}`),
        emb,
        "video",
      );
    }
    let hits = 0;
    const caps = clips.map((c) => c.caption);
    const texts = vt.embedTexts(caps);
    for (let i = 0; i < N; i++) if (caps[Number(index.search(texts[i], 1)[0].itemId.slice(1))] === caps[i]) hits++;
    console.log(
      `video-text text->video recall@1 through polymodal: ${(hits / N).toFixed(3)} ` +
        `(PyTorch: ${c.text_to_video_recall_at_1.toFixed(3)})`,
    );
    expect(Math.abs(hits / N - c.text_to_video_recall_at_1)).toBeLessThanOrEqual(0.005);
    index.dispose();
  });
});

describe("pipeline errors", () => {
  it("a wrong card, wrong weights or an unknown model name gives a clear Error", async () => {
    const { SpeechRecognizer, AudioEmbedder, ImageTextEmbedder } = await import("../src/index.js");
    const c = card("asr-words"),
      w = readFileSync(join(root, "models/asr-words.safetensors"));
    expect(() => SpeechRecognizer.fromCard(null as any, w)).toThrow(/model card must be an object/);
    expect(() => SpeechRecognizer.fromCard({ ...c, vocabulary: undefined }, w)).toThrow(/card has no "vocabulary"/);
    expect(() => SpeechRecognizer.fromCard({ ...c, vocabulary: c.vocabulary.slice(1) }, w)).toThrow(
      /card has 20 words, the model 21 outputs/,
    );
    expect(() => SpeechRecognizer.fromCard(c, readFileSync(join(root, "models/audio-events.safetensors")))).toThrow(
      /missing|unexpected/,
    );
    expect(() =>
      AudioEmbedder.fromCard(
        { ...card("audio-events"), prototypes: [[1, 2]] },
        readFileSync(join(root, "models/audio-events.safetensors")),
      ),
    ).toThrow(/one 32-d prototype per kind/);
    expect(() => ImageTextEmbedder.fromCard(card("clip-scenes"), new Uint8Array(12))).toThrow(/safetensors/i);
    await expect(loadPretrained("nope" as any)).rejects.toThrow(
      /unknown model "nope"; shipped: clip-scenes, asr-words, audio-events, video-text/,
    );
    await expect(loadPretrained("asr-words", { modelsDir: "/nonexistent" })).rejects.toThrow(
      /cannot read asr-words from \/nonexistent/,
    );
  });
});
