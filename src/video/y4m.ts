// YUV4MPEG2 (.y4m): the uncompressed video container ffmpeg reads and writes, decoded here in plain JS so a
// browser (or a machine without ffmpeg) can read video too.  Colour conversion is BT.601 (the Y4M default),
// limited range unless the header says XCOLORRANGE=FULL; arithmetic is +, -, * and Math.round, the same on
// every engine.
import { PolymodalError } from "../util/errors.js";
import type { DecodedImage } from "../vision/png.js";
import { limits } from "../util/limits.js";

export interface Y4MVideo {
  width: number;
  height: number;
  /** frames per second (F num:den) */
  fps: number;
  /** total frames in the file */
  frameCount: number;
  /** RGB frames, 8-bit HWC; only the requested ones when decodeY4M was given indices */
  frames: DecodedImage[];
}

function bad(msg: string): never {
  throw new PolymodalError("bad_input", `decodeY4M: ${msg}`);
}

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

interface Layout {
  cw: number;
  ch: number;
  sx: number;
  sy: number;
  mono: boolean;
}

function layout(cs: string, w: number, h: number): Layout {
  if (cs.startsWith("420")) return { cw: (w + 1) >> 1, ch: (h + 1) >> 1, sx: 1, sy: 1, mono: false };
  if (cs === "422") return { cw: (w + 1) >> 1, ch: h, sx: 1, sy: 0, mono: false };
  if (cs === "444") return { cw: w, ch: h, sx: 0, sy: 0, mono: false };
  if (cs === "mono") return { cw: 0, ch: 0, sx: 0, sy: 0, mono: true };
  return bad(`unsupported colour space C${cs} (supported: 420jpeg, 420mpeg2, 420paldv, 420, 422, 444, mono; 8-bit)`);
}

/**
 * Decodes a .y4m file; `indices` (optional) selects which frames to convert to RGB.
 * @example
 * const { frames, fps } = decodeY4M(new Uint8Array(await (await fetch("clip.y4m")).arrayBuffer()));
 */
export function decodeY4M(
  bytes: Uint8Array | ArrayBuffer,
  indices?: number[] | ((frameCount: number) => number[]),
  options: { maxPixels?: number } = {},
): Y4MVideo {
  const maxPixels = options.maxPixels ?? limits.maxVideoPixels;
  const b =
    bytes instanceof Uint8Array
      ? bytes
      : bytes instanceof ArrayBuffer
        ? new Uint8Array(bytes)
        : bad("expected a Uint8Array or ArrayBuffer");
  const magic = "YUV4MPEG2 ";
  for (let i = 0; i < magic.length; i++)
    if (b[i] !== magic.charCodeAt(i)) bad("not a YUV4MPEG2 file (missing the 'YUV4MPEG2 ' signature)");
  let eol = b.indexOf(10);
  if (eol < 0 || eol > 4096) bad("header line not terminated");
  const header = new TextDecoder().decode(b.subarray(magic.length, eol)).split(" ").filter(Boolean);
  let w = 0,
    h = 0,
    fps = 25,
    cs = "420jpeg",
    full = false;
  for (const t of header) {
    const v = t.slice(1);
    if (t[0] === "W") w = Number(v);
    else if (t[0] === "H") h = Number(v);
    else if (t[0] === "F") {
      const [n, d] = v.split(":").map(Number);
      if (n > 0 && d > 0) fps = n / d;
    } else if (t[0] === "C") cs = v;
    else if (t === "XCOLORRANGE=FULL") full = true;
    else if (t[0] === "I" && v !== "p" && v !== "?") bad(`interlaced video (I${v}) is not supported`);
  }
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) bad(`bad frame size W${w} H${h}`);
  if (w * h > maxPixels) bad(`frames of ${w}x${h} exceed the limit of ${maxPixels} pixels (limits.maxPixels)`);
  const L = layout(cs, w, h);
  const planeBytes = w * h + (L.mono ? 0 : 2 * L.cw * L.ch);
  // frame offsets: each frame is "FRAME[ params]\n" + planes
  const offsets: number[] = [];
  let p = eol + 1;
  while (p < b.length) {
    if (b[p] !== 70 || b[p + 1] !== 82 || b[p + 2] !== 65 || b[p + 3] !== 77 || b[p + 4] !== 69)
      bad(`frame ${offsets.length}: missing FRAME marker at byte ${p}`);
    eol = b.indexOf(10, p);
    if (eol < 0 || eol - p > 1024) bad(`frame ${offsets.length}: FRAME line not terminated`);
    if (eol + 1 + planeBytes > b.length)
      bad(`frame ${offsets.length} is truncated (${b.length - eol - 1} of ${planeBytes} bytes)`);
    offsets.push(eol + 1);
    p = eol + 1 + planeBytes;
  }
  if (offsets.length === 0) bad("the file has no frames");
  const want = typeof indices === "function" ? indices(offsets.length) : (indices ?? offsets.map((_, i) => i));
  for (const i of want)
    if (!Number.isInteger(i) || i < 0 || i >= offsets.length)
      bad(`frame index ${i} out of range [0, ${offsets.length})`);
  const frames = want.map((i) => toRgb(b, offsets[i], w, h, L, full));
  return { width: w, height: h, fps, frameCount: offsets.length, frames };
}

function toRgb(b: Uint8Array, o: number, w: number, h: number, L: Layout, full: boolean): DecodedImage {
  const out = new Uint8Array(w * h * 3);
  const uo = o + w * h,
    vo = uo + L.cw * L.ch;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const Y = b[o + y * w + x];
      let r: number, g: number, bl: number;
      if (L.mono) {
        r = g = bl = full ? Y : clamp8(1.164383 * (Y - 16));
      } else {
        const ci = (y >> L.sy) * L.cw + (x >> L.sx);
        const U = b[uo + ci] - 128,
          V = b[vo + ci] - 128;
        if (full) {
          r = clamp8(Y + 1.402 * V);
          g = clamp8(Y - 0.344136 * U - 0.714136 * V);
          bl = clamp8(Y + 1.772 * U);
        } else {
          const yy = 1.164383 * (Y - 16);
          r = clamp8(yy + 1.596027 * V);
          g = clamp8(yy - 0.391762 * U - 0.812968 * V);
          bl = clamp8(yy + 2.017232 * U);
        }
      }
      const q = (y * w + x) * 3;
      out[q] = r;
      out[q + 1] = g;
      out[q + 2] = bl;
    }
  return { width: w, height: h, channels: 3, data: out };
}

/**
 * Encodes RGB(A) frames as .y4m, 4:4:4 full-range BT.601 (so a round trip changes a pixel by at most 1-2 levels).
 * @example
 * writeFileSync("clip.y4m", encodeY4M(frames, { fps: 12 }));
 */
export function encodeY4M(frames: DecodedImage[], options: { fps?: number } = {}): Uint8Array {
  if (!Array.isArray(frames) || frames.length === 0) throw new Error("encodeY4M: need at least one frame");
  const { width: w, height: h } = frames[0];
  const fps = options.fps ?? 25;
  if (!(fps > 0)) throw new Error(`encodeY4M: fps must be positive, got ${fps}`);
  const head = new TextEncoder().encode(
    `YUV4MPEG2 W${w} H${h} F${Math.round(fps * 1000)}:1000 Ip A1:1 C444 XCOLORRANGE=FULL\n`,
  );
  const fh = new TextEncoder().encode("FRAME\n");
  const n = w * h,
    out = new Uint8Array(head.length + frames.length * (fh.length + 3 * n));
  out.set(head);
  let p = head.length;
  frames.forEach((f, i) => {
    if (f.width !== w || f.height !== h)
      throw new Error(`encodeY4M: frame ${i} is ${f.width}x${f.height}, frame 0 is ${w}x${h}`);
    if (f.data.length !== n * f.channels || (f.channels !== 3 && f.channels !== 4))
      throw new Error(`encodeY4M: frame ${i} must be RGB or RGBA bytes (${n * 3} or ${n * 4}), got ${f.data.length}`);
    out.set(fh, p);
    p += fh.length;
    const C = f.channels,
      d = f.data;
    for (let k = 0; k < n; k++) {
      const r = d[k * C],
        g = d[k * C + 1],
        bl = d[k * C + 2];
      out[p + k] = clamp8(0.299 * r + 0.587 * g + 0.114 * bl);
      out[p + n + k] = clamp8(128 - 0.168736 * r - 0.331264 * g + 0.5 * bl);
      out[p + 2 * n + k] = clamp8(128 + 0.5 * r - 0.418688 * g - 0.081312 * bl);
    }
    p += 3 * n;
  });
  return out;
}
