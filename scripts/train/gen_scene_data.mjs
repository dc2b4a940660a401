// Writes scene datasets for the training script: <out>.u8 (N, 48, 48, 3) pixels and <out>.json captions.
// Train seeds 1..N, held-out seeds from 1,000,000 on, so the sets never overlap.
import { writeFileSync } from "node:fs";
import { makeScene, SIZE } from "../scenes.mjs";

const [out, n, first] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1)];
const px = new Uint8Array(n * SIZE * SIZE * 3),
  caps = [];
for (let i = 0; i < n; i++) {
  const s = makeScene(first + i);
  px.set(s.pixels, i * SIZE * SIZE * 3);
  caps.push(s.caption);
}
writeFileSync(out + ".u8", px);
writeFileSync(out + ".json", JSON.stringify(caps));
console.log(`${n} scenes -> ${out}.u8 / .json`);
