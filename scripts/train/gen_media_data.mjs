// Writes sound-event or video-clip datasets for the training scripts.
//   node gen_media_data.mjs sounds <out> <n> <first>  -> <out>.f32 (N, 16000) samples, <out>.json labels
//   node gen_media_data.mjs clips  <out> <n> <first>  -> <out>.u8 (N, 24, 32, 32, 3) frames, <out>.json captions
// Train seeds 1..N, held-out seeds from 1,000,000 on, so the sets never overlap.
import { writeFileSync } from "node:fs";
import { makeSound, SOUND_RATE } from "../sounds.mjs";
import { makeClip, CLIP_SIZE, CLIP_FRAMES } from "../clips.mjs";

const [kind, out, n, first] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5] ?? 1)];
const labels = [];
if (kind === "sounds") {
  const x = new Float32Array(n * SOUND_RATE);
  for (let i = 0; i < n; i++) {
    const s = makeSound(first + i);
    x.set(s.samples, i * SOUND_RATE);
    labels.push(s.label);
  }
  writeFileSync(out + ".f32", new Uint8Array(x.buffer));
} else if (kind === "clips") {
  const per = CLIP_FRAMES * CLIP_SIZE * CLIP_SIZE * 3,
    x = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) {
    const c = makeClip(first + i);
    c.frames.forEach((f, j) => x.set(f, i * per + j * f.length));
    labels.push(c.caption);
  }
  writeFileSync(out + ".u8", x);
} else throw new Error(`unknown kind ${kind}: sounds | clips`);
writeFileSync(out + ".json", JSON.stringify(labels));
console.log(`${n} ${kind} -> ${out}`);
