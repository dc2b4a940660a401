// Writes a small sample collection with the repo's generators, as real files: scenes as PNG, sound events as
// WAV, clips as Y4M video, and spoken word sequences (the committed held-out espeak-ng recordings).
// File names carry the ground truth (caption / kind / transcript), so searches can be scored.
//   node scripts/sample-collection.mjs <dir> [scenes] [sounds] [clips]
import { mkdirSync, writeFileSync, copyFileSync, readFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { encodePng, encodeWav, encodeY4M } from "../dist/index.js";
import { makeScene, SIZE } from "./scenes.mjs";
import { makeSound } from "./sounds.mjs";
import { makeClip, CLIP_SIZE } from "./clips.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const slug = (s) => s.replace(/[^a-z0-9]+/g, "-");

/** Seeds from 3,000,000: never used in training (1..40,000) or held-out evaluation (1,000,000..). */
export function writeSampleCollection(dir, { scenes = 120, sounds = 48, clips = 30, speech = 12 } = {}) {
  rmSync(dir, { recursive: true, force: true });
  for (const d of ["images", "sounds", "videos", "speech"]) mkdirSync(join(dir, d), { recursive: true });
  const truth = { images: {}, sounds: {}, videos: {}, speech: {} };
  for (let i = 0; i < scenes; i++) {
    const s = makeScene(3_000_000 + i),
      f = `images/${String(i).padStart(3, "0")}-${slug(s.caption)}.png`;
    writeFileSync(join(dir, f), encodePng({ width: SIZE, height: SIZE, channels: 3, data: s.pixels }));
    truth.images[f] = s.caption;
  }
  for (let i = 0; i < sounds; i++) {
    const s = makeSound(3_000_000 + i),
      f = `sounds/${String(i).padStart(3, "0")}-${slug(s.label)}.wav`;
    writeFileSync(join(dir, f), encodeWav([s.samples], s.sampleRate));
    truth.sounds[f] = s.label;
  }
  for (let i = 0; i < clips; i++) {
    const c = makeClip(3_000_000 + i),
      f = `videos/${String(i).padStart(3, "0")}-${slug(c.caption)}.y4m`;
    writeFileSync(
      join(dir, f),
      encodeY4M(
        c.frames.map((data) => ({ width: CLIP_SIZE, height: CLIP_SIZE, channels: 3, data })),
        { fps: 12 },
      ),
    );
    truth.videos[f] = c.caption;
  }
  const fx = join(root, "test/fixtures/speech");
  const listing = speech > 0 ? JSON.parse(readFileSync(join(fx, "transcripts.json"), "utf8")).slice(0, speech) : [];
  for (const e of listing) {
    const f = `speech/${e.file}`;
    copyFileSync(join(fx, e.file), join(dir, f));
    truth.speech[f] = e.text;
  }
  writeFileSync(join(dir, "ground-truth.json"), JSON.stringify(truth, null, 1));
  return truth;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir = "sample-collection", a, b, c] = process.argv.slice(2);
  const t = writeSampleCollection(dir, { scenes: Number(a ?? 120), sounds: Number(b ?? 48), clips: Number(c ?? 30) });
  console.log(
    `wrote ${Object.keys(t.images).length} images, ${Object.keys(t.sounds).length} ` +
      `sounds, ${Object.keys(t.videos).length} videos, ${Object.keys(t.speech).length} speech recordings to ${dir}`,
  );
}
