// WhisperFeatureExtractor against reference/hf_whisper.py (PyTorch 1.13, scripts/fixtures/gen_hf_whisper.py): the
// Slaney mel filter bank, 80 and 128 bins over a 30 s window (the audio zero-padded: its frames exact, every frame
// of the padding the floor), and audio longer than the window cut.  Budget: max |a - ref| <= 2e-4 x max(1, |ref|).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { init, loadSafetensors, melscaleFbanks, Tensor } from "../src/index.js";
import { WhisperFeatureExtractor } from "../src/audio/whisper-features.js";
import { compare } from "./harness/compare.js";
import { HF_SPEECH_FIXTURES, utterance } from "./harness/hf-speech.mjs";

const want = () => loadSafetensors(readFileSync(join(HF_SPEECH_FIXTURES, "whisper-features.expected.safetensors")));

beforeAll(async () => {
  await init();
});

function expectClose(name: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  const e = compare(got, ref);
  expect(
    e.maxScaled,
    `${name}: maxAbs ${e.maxAbs.toExponential(2)} scaled ${e.maxScaled.toExponential(2)}`,
  ).toBeLessThanOrEqual(2e-4);
}

describe("WhisperFeatureExtractor", () => {
  it("the Slaney filter bank is the reference's", () => {
    const fb = melscaleFbanks(201, 0, 8000, 80, 16000, "slaney", "slaney");
    expectClose("filters80", fb.data, want().filters80.data);
  });

  it.each([80, 128])("%i mel bins over a 30 s window: the audio's frames, then the floor", (bins) => {
    const fe = WhisperFeatureExtractor.fromJSON({
      feature_extractor_type: "WhisperFeatureExtractor",
      feature_size: bins,
    });
    const got = fe.extract(utterance("speech.a", 24000));
    expect(got.shape).toEqual([1, bins, 3000]);
    const ref = want()[`mel${bins}`],
      floor = want()[`floor${bins}`].data[0],
      K = ref.shape[1];
    const g = got.data as Float32Array;
    const head = new Float32Array(bins * K),
      tail = new Set<number>();
    for (let b = 0; b < bins; b++) {
      head.set(g.subarray(b * 3000, b * 3000 + K), b * K);
      for (let t = K; t < 3000; t++) tail.add(g[b * 3000 + t]);
    }
    expectClose(`mel${bins}`, head, ref.data);
    expect(tail.size).toBe(1);
    expectClose(`floor${bins}`, [...tail], [floor]);
  });

  it("audio longer than the window is cut to it", () => {
    const fe = WhisperFeatureExtractor.fromJSON({ feature_size: 80, chunk_length: 2 });
    const got = fe.extract(utterance("speech.long", 40000));
    expect(got.shape).toEqual([1, 80, 200]);
    expectClose("mel80_cut", got.data, want().mel80_cut.data);
  });

  it("refuses configs it cannot honour, by field", () => {
    expect(() => WhisperFeatureExtractor.fromJSON({ feature_extractor_type: "Wav2Vec2FeatureExtractor" })).toThrow(
      /is not WhisperFeatureExtractor/,
    );
    expect(() => WhisperFeatureExtractor.fromJSON({ feature_size: 0 })).toThrow(/feature_size must be an integer/);
  });
});
