// Procedural scenes with captions: shapes, colours, sizes, positions and counts on a noisy background, drawn
// with integer arithmetic only, so every engine and the Python training script (which reads this generator's
// output) see the same pixels.  makeScene(seed) -> { pixels (H, W, 3) uint8, caption, attributes }.
export const SIZE = 48;
export const COUNTS = ["one", "two", "three"];
export const SIZES = ["small", "large"];
export const COLORS = {
  red: [220, 40, 40],
  green: [40, 190, 60],
  blue: [40, 70, 220],
  yellow: [235, 215, 40],
  purple: [150, 50, 190],
  white: [245, 245, 245],
};
export const SHAPES = ["circle", "square", "triangle"];
export const POSITIONS = ["left", "right", "top", "bottom"];

/** xorshift32 seeded by an affine hash of the seed; the generators use different hash constants. */
export function rng(seed, mul = 2654435761, add = 1013904223) {
  let s = (seed * mul + add) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function inside(shape, dx, dy, r) {
  if (shape === "circle") return dx * dx + dy * dy <= r * r;
  if (shape === "square") return Math.abs(dx) <= r && Math.abs(dy) <= r;
  // triangle pointing up: inside when below the two slanted edges and above the base
  return dy <= r && dy >= -r && 2 * Math.abs(dx) <= dy + r;
}

export function captionOf(a) {
  const plural = a.count > 1 ? "s" : "";
  return `${COUNTS[a.count - 1]} ${a.size} ${a.color} ${a.shape}${plural} on the ${a.position}`;
}

export function makeScene(seed) {
  const r = rng(seed);
  const pick = (arr) => arr[r() % arr.length];
  const a = {
    count: 1 + (r() % 3),
    size: pick(SIZES),
    color: pick(Object.keys(COLORS)),
    shape: pick(SHAPES),
    position: pick(POSITIONS),
  };
  const S = SIZE,
    px = new Uint8Array(S * S * 3);
  const bg = [60 + (r() % 40), 60 + (r() % 40), 60 + (r() % 40)];
  for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) px[i * 3 + c] = bg[c] + (r() % 17) - 8;
  const rad = a.size === "small" ? 3 + (r() % 2) : 6 + (r() % 2);
  // the half of the canvas the position names; objects sit on a jittered line inside it
  const [x0, x1, y0, y1] = {
    left: [0, S / 2, 0, S],
    right: [S / 2, S, 0, S],
    top: [0, S, 0, S / 2],
    bottom: [0, S, S / 2, S],
  }[a.position];
  const horizontal = a.position === "top" || a.position === "bottom";
  const col = COLORS[a.color];
  for (let k = 0; k < a.count; k++) {
    const t = (k + 1) / (a.count + 1);
    let cx = horizontal ? Math.round(x0 + (x1 - x0) * t) : Math.round((x0 + x1) / 2);
    let cy = horizontal ? Math.round((y0 + y1) / 2) : Math.round(y0 + (y1 - y0) * t);
    cx += (r() % 5) - 2;
    cy += (r() % 5) - 2;
    cx = Math.min(x1 - rad - 1, Math.max(x0 + rad, cx));
    cy = Math.min(y1 - rad - 1, Math.max(y0 + rad, cy));
    for (let y = cy - rad; y <= cy + rad; y++)
      for (let x = cx - rad; x <= cx + rad; x++) {
        if (x < 0 || y < 0 || x >= S || y >= S || !inside(a.shape, x - cx, y - cy, rad)) continue;
        for (let c = 0; c < 3; c++) px[(y * S + x) * 3 + c] = col[c];
      }
  }
  return { pixels: px, caption: captionOf(a), attributes: a };
}
