// The documented path from a WAV file to an embedding and to a transcript, end to end through the public API.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  Tensor,
  decodeWav,
  downmix,
  resample,
  AudioFeatureExtractor,
  SpeechRecognitionModel,
  CTCVocabulary,
  ctcBeamSearch,
  MelSpectrogram,
  F,
} from "../src/index.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "audio");

beforeAll(async () => {
  await init();
});

describe("WAV -> features -> models", () => {
  it("a 44.1 kHz recording becomes a 16 kHz log-mel, an embedding and a decoded string", () => {
    const wav = decodeWav(readFileSync(join(dir, "speech_44k.wav")));
    expect(wav.sampleRate).toBe(44100);
    const mono = Tensor.from(downmix(wav.channels));
    const x16 = resample(mono, wav.sampleRate, 16000);
    expect(x16.shape[0]).toBe(Math.ceil((mono.size * 160) / 441));
    const audio = new AudioFeatureExtractor({ embedDim: 64 });
    const logMel = audio.computeSpectrogram(x16.reshape([1, -1]));
    expect(logMel.shape).toEqual([1, 80, 1 + Math.floor(x16.size / 160)]);
    // the log-mel equals log(MelSpectrogram + 1e-6) of the transform class
    const mel = new MelSpectrogram({ sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80 }).forward(x16);
    expect(Array.from(logMel.data.subarray(0, 100))).toEqual(Array.from(F.logEps(mel).data.subarray(0, 100)));
    const emb = audio.encodeMel(logMel);
    expect(emb.shape).toEqual([1, 64]);
    expect(Array.from(emb.data).every(Number.isFinite)).toBe(true);

    const vocab = new CTCVocabulary(["<blank>", "|", ..."abcdefghijklmnopqrstuvwxyz'"], { wordDelimiter: "|" });
    const asr = new SpeechRecognitionModel({ vocabSize: vocab.size, nMels: 80, hiddenDim: 64 });
    const logProbs = asr.forward(logMel);
    expect(logProbs.shape).toEqual([1, logMel.shape[2], vocab.size]);
    const greedy = vocab.decode(asr.decodeGreedy(logProbs)[0]);
    const [best] = ctcBeamSearch(logProbs, { beamWidth: 8 })[0];
    expect(typeof greedy).toBe("string");
    expect(typeof vocab.decode(best.tokens)).toBe("string");
    expect(best.logProb).toBeLessThanOrEqual(0);
    audio.dispose();
    asr.dispose();
  });
});
