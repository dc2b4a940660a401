// Procedural video clips with captions: one shape of one colour that grows, shrinks, blinks, fades in or fades
// out over the clip, on a noisy background that changes every frame.  Integer arithmetic only, so every engine
// and the Python training script (which reads this generator's output) see the same pixels.
// makeClip(seed) -> { frames: Uint8Array[] (H, W, 3), caption, attributes }.
import { COLORS, SHAPES, rng as seeded, inside } from "./scenes.mjs";

export const CLIP_SIZE = 32;
export const CLIP_FRAMES = 24;
export const ACTIONS = ["grows", "shrinks", "blinks", "fades in", "fades out"];

const rng = (seed) => seeded(seed, 2246822519, 3266489917);

export function clipCaption(a) {
  return `a ${a.color} ${a.shape} that ${a.action}`;
}

export function makeClip(seed) {
  const r = rng(seed);
  const pick = (arr) => arr[r() % arr.length];
  const a = { color: pick(Object.keys(COLORS)), shape: pick(SHAPES), action: pick(ACTIONS) };
  const S = CLIP_SIZE,
    N = CLIP_FRAMES;
  const bg = [50 + (r() % 50), 50 + (r() % 50), 50 + (r() % 50)];
  const col = COLORS[a.color];
  const cx = 11 + (r() % 11),
    cy = 11 + (r() % 11);
  const period = 4 + (r() % 4);
  const frames = [];
  for (let f = 0; f < N; f++) {
    const px = new Uint8Array(S * S * 3);
    for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) px[i * 3 + c] = bg[c] + (r() % 13) - 6;
    // radius in [3, 10] and opacity in [0, 16] over the clip, by integer steps
    let rad = 7,
      alpha = 16;
    if (a.action === "grows") rad = 3 + Math.floor((7 * f) / (N - 1));
    else if (a.action === "shrinks") rad = 10 - Math.floor((7 * f) / (N - 1));
    else if (a.action === "blinks") alpha = Math.floor(f / period) % 2 === 0 ? 16 : 0;
    else if (a.action === "fades in") alpha = Math.floor((16 * f) / (N - 1));
    else alpha = 16 - Math.floor((16 * f) / (N - 1));
    for (let y = cy - rad; y <= cy + rad; y++)
      for (let x = cx - rad; x <= cx + rad; x++) {
        if (x < 0 || y < 0 || x >= S || y >= S || !inside(a.shape, x - cx, y - cy, rad)) continue;
        const o = (y * S + x) * 3;
        for (let c = 0; c < 3; c++) px[o + c] = (px[o + c] * (16 - alpha) + col[c] * alpha) >> 4;
      }
    frames.push(px);
  }
  return { frames, caption: clipCaption(a), attributes: a };
}
