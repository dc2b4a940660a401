// The shipped models end to end on the same inputs in Node and in the browser: a WAV transcribed, a sound, a
// Y4M clip, a PNG scene and captions embedded.  Returns output hashes (and the transcript) to compare.
import { loadPretrained, encodeY4M, decodeY4M, encodePng, encodeWav, type PretrainedName } from "../../src/index.js";
import { makeScene, SIZE } from "../../scripts/scenes.mjs";
import { makeSound } from "../../scripts/sounds.mjs";
import { makeClip, CLIP_SIZE } from "../../scripts/clips.mjs";
import { hashBits } from "./compare.js";

export async function shippedOutputs(
  options: { baseUrl?: string; modelsDir?: string },
  speechWav: Uint8Array,
): Promise<Record<string, string>> {
  const load = <N extends PretrainedName>(n: N) =>
    loadPretrained(n, options.baseUrl ? { baseUrl: options.baseUrl } : { modelsDir: options.modelsDir });
  const [asr, sounds, vt, clip] = [
    await load("asr-words"),
    await load("audio-events"),
    await load("video-text"),
    await load("clip-scenes"),
  ];
  const out: Record<string, string> = {};
  out["asr logProbs"] = hashBits(asr.logProbs(speechWav).data);
  out["asr text"] = asr.transcribe(speechWav).text;
  const s = makeSound(77);
  out["audio-events embed"] = hashBits(sounds.embed(encodeWav([s.samples], s.sampleRate)));
  const c = makeClip(77);
  const y4m = encodeY4M(
    c.frames.map((data: Uint8Array) => ({ width: CLIP_SIZE, height: CLIP_SIZE, channels: 3 as const, data })),
  );
  out["video-text video"] = hashBits(vt.embedVideos([decodeY4M(y4m).frames])[0]);
  out["video-text text"] = hashBits(vt.embedTexts([c.caption])[0]);
  const sc = makeScene(77);
  out["clip image"] = hashBits(
    clip.embedImages([encodePng({ width: SIZE, height: SIZE, channels: 3, data: sc.pixels })])[0],
  );
  out["clip text"] = hashBits(clip.embedTexts([sc.caption])[0]);
  return out;
}
