// PNG decoding in pure JS: chunk parsing, CRC checks, zlib via fflate, scanline un-filtering, Adam7
// interlacing, every colour type and bit depth.  Output: 8-bit RGB or RGBA, row-major HWC (16-bit samples keep
// their high byte, as PIL and torchvision's decode_png do when converting to uint8).
import { PolymodalError } from "../util/errors.js";
import { crc32 } from "../util/crc32.js";
import { limits } from "../util/limits.js";
import { Unzlib, zlibSync } from "fflate";

export interface DecodedImage {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA) */
  channels: 3 | 4;
  /** row-major (height, width, channels) */
  data: Uint8Array;
}

const SIG = [137, 80, 78, 71, 13, 10, 26, 10];

/** Resource limits of the image decoders (a breach is an Error naming the limit). */
export interface ImageLimits {
  /** most pixels (width x height) decoded; default `limits.maxPixels` (50 million, a 50 MP photo) */
  maxPixels?: number;
}
/** maxPixels from options (else the `limits` default), checked. */
export function maxPixelsOf(who: string, options: ImageLimits | undefined): number {
  const m = options?.maxPixels ?? limits.maxPixels;
  if (!Number.isInteger(m) || m < 1) throw new Error(`${who}: limits.maxPixels must be a positive integer, got ${m}`);
  return m;
}

/**
 * zlib data (in parts) inflated into at most `size` bytes: stops as soon as the image's own size is reached, so a
 * small file that inflates to gigabytes costs no more than the image it claims to be.
 */
function inflateAtMost(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let got = 0,
    full = false;
  const u = new Unzlib((c) => {
    const n = Math.min(c.length, size - got);
    out.set(c.subarray(0, n), got);
    got += n;
    if (got >= size) full = true;
  });
  // <= ~16 MB of output per step at zlib's maximum ratio (1032:1); smaller steps cost more than the inflating
  // itself (fflate grows its buffer afresh per step: 4 KB steps made a 640x480 photo 1.4x slower to decode)
  const STEP = 16384;
  for (let i = 0; i < parts.length && !full; i++) {
    const p = parts[i];
    for (let o = 0; o < p.length && !full; o += STEP)
      u.push(p.subarray(o, Math.min(p.length, o + STEP)), i === parts.length - 1 && o + STEP >= p.length);
  }
  return out.subarray(0, got);
}

function bad(msg: string, code: "bad_input" | "too_large" = "bad_input"): never {
  throw new PolymodalError(code, `decodePng: ${msg}`);
}

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && SIG.every((v, i) => b[i] === v);
}

/**
 * Decodes PNG bytes to 8-bit RGB or RGBA.  The image size is checked against limits.maxPixels before anything is
 * allocated, and the pixel data is inflated only up to the size the header implies.
 */
export function decodePng(bytes: Uint8Array, limits?: ImageLimits): DecodedImage {
  if (!isPng(bytes)) bad("not a PNG file (bad signature)");
  const maxPixels = maxPixelsOf("decodePng", limits);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let ihdr: { w: number; h: number; depth: number; type: number; interlace: number } | null = null;
  let palette: Uint8Array | null = null,
    trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (off + 12 <= bytes.length) {
    const len = dv.getUint32(off);
    const type = String.fromCharCode(bytes[off + 4], bytes[off + 5], bytes[off + 6], bytes[off + 7]);
    if (len > bytes.length - off - 12)
      bad(`chunk ${JSON.stringify(type)} of ${len} bytes runs past the end of the file (truncated?)`);
    const body = bytes.subarray(off + 8, off + 8 + len);
    if (crc32(bytes, off + 4, off + 8 + len) !== dv.getUint32(off + 8 + len))
      bad(`CRC mismatch in chunk ${JSON.stringify(type)} (corrupt file)`);
    if (type === "IHDR") {
      if (len !== 13) bad("IHDR must be 13 bytes");
      const b = new DataView(body.buffer, body.byteOffset, 13);
      ihdr = { w: b.getUint32(0), h: b.getUint32(4), depth: body[8], type: body[9], interlace: body[12] };
    } else if (type === "PLTE") palette = body;
    else if (type === "tRNS") trns = body;
    else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") {
      ended = true;
      break;
    }
    off += 12 + len;
  }
  if (!ihdr) bad("no IHDR chunk");
  if (!ended) bad("no IEND chunk (truncated file)");
  const { w, h, depth, type, interlace } = ihdr;
  if (w < 1 || h < 1) bad(`image size ${w}x${h} is empty`);
  if (w * h > maxPixels)
    bad(`image of ${w}x${h} = ${w * h} pixels exceeds the limit of ${maxPixels} (limits.maxPixels)`, "too_large");
  const okDepth: Record<number, number[]> = {
    0: [1, 2, 4, 8, 16],
    2: [8, 16],
    3: [1, 2, 4, 8],
    4: [8, 16],
    6: [8, 16],
  };
  if (!okDepth[type]?.includes(depth)) bad(`invalid colour type ${type} with bit depth ${depth}`);
  if (interlace > 1) bad(`unknown interlace method ${interlace}`);
  if (type === 3 && !palette) bad("palette image without PLTE");
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[type]!;
  const bpp = Math.max(1, (samples * depth) >> 3); // bytes per complete pixel, for filtering
  const passes = interlace
    ? [
        [0, 0, 8, 8],
        [4, 0, 8, 8],
        [0, 4, 4, 8],
        [2, 0, 4, 4],
        [0, 2, 2, 4],
        [1, 0, 2, 2],
        [0, 1, 1, 2],
      ]
    : [[0, 0, 1, 1]];
  let rawSize = 0; // filter byte + packed samples per row, over every pass
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((w - x0) / dx),
      ph = Math.ceil((h - y0) / dy);
    if (pw > 0 && ph > 0) rawSize += ph * (1 + Math.ceil((pw * samples * depth) / 8));
  }
  let raw: Uint8Array;
  try {
    raw = inflateAtMost(idat, rawSize);
  } catch (e) {
    bad(`image data does not inflate (${(e as Error).message})`);
  }
  const alpha = type === 4 || type === 6 || trns !== null;
  const C = alpha ? 4 : 3;
  const out = new Uint8Array(w * h * C);
  let rp = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((w - x0) / dx),
      ph = Math.ceil((h - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const stride = Math.ceil((pw * samples * depth) / 8);
    // 8-bit RGB or RGBA rows, not interlaced, are the output rows as they are
    const direct = depth === 8 && dx === 1 && ((type === 2 && C === 3) || type === 6);
    let prev: Uint8Array = new Uint8Array(stride);
    for (let y = 0; y < ph; y++) {
      if (rp + 1 + stride > raw.length) bad("image data is shorter than the image (truncated)");
      const f = raw[rp];
      const line = raw.subarray(rp + 1, rp + 1 + stride); // un-filtered in place: the row above already is
      rp += 1 + stride;
      unfilter(f, line, prev, bpp);
      if (direct) out.set(line, (y0 + y * dy) * w * C);
      else
        for (let x = 0; x < pw; x++)
          writePixel(line, x, depth, type, palette, trns, out, ((y0 + y * dy) * w + x0 + x * dx) * C, C);
      prev = line;
    }
  }
  return { width: w, height: h, channels: C as 3 | 4, data: out };
}

function unfilter(f: number, line: Uint8Array, prev: Uint8Array, bpp: number): void {
  const n = line.length;
  switch (f) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) line[i] = (line[i] + line[i - bpp]) & 255;
      return;
    case 2:
      for (let i = 0; i < n; i++) line[i] = (line[i] + prev[i]) & 255;
      return;
    case 3:
      for (let i = 0; i < n; i++) line[i] = (line[i] + (((i >= bpp ? line[i - bpp] : 0) + prev[i]) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? line[i - bpp] : 0,
          b = prev[i],
          c = i >= bpp ? prev[i - bpp] : 0;
        const p = a + b - c,
          pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        line[i] = (line[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
      return;
    default:
      bad(`unknown scanline filter ${f}`);
  }
}

function sample(line: Uint8Array, i: number, depth: number): number {
  if (depth === 8) return line[i];
  if (depth === 16) return line[2 * i]; // high byte
  const per = 8 / depth,
    byte = line[Math.floor(i / per)];
  const shift = 8 - depth * ((i % per) + 1);
  return (byte >> shift) & ((1 << depth) - 1);
}

function writePixel(
  line: Uint8Array,
  x: number,
  depth: number,
  type: number,
  palette: Uint8Array | null,
  trns: Uint8Array | null,
  out: Uint8Array,
  o: number,
  C: number,
): void {
  const scale = depth < 8 ? 255 / ((1 << depth) - 1) : 1;
  let r: number,
    g: number,
    b: number,
    a = 255;
  if (type === 3) {
    const idx = sample(line, x, depth);
    if (!palette || 3 * idx + 2 >= palette.length) bad(`palette index ${idx} is outside the palette`);
    r = palette[3 * idx];
    g = palette[3 * idx + 1];
    b = palette[3 * idx + 2];
    if (trns && idx < trns.length) a = trns[idx];
  } else if (type === 0 || type === 4) {
    const raw = depth === 16 ? (line[2 * x * (type === 4 ? 2 : 1)] << 8) | line[2 * x * (type === 4 ? 2 : 1) + 1] : 0;
    const v = type === 4 ? sample(line, 2 * x, depth) : sample(line, x, depth);
    r = g = b = Math.round(v * scale);
    if (type === 4) a = sample(line, 2 * x + 1, depth);
    else if (trns && trns.length >= 2 && (depth === 16 ? raw : v) === ((trns[0] << 8) | trns[1])) a = 0;
  } else {
    const s = type === 6 ? 4 : 3;
    r = sample(line, s * x, depth);
    g = sample(line, s * x + 1, depth);
    b = sample(line, s * x + 2, depth);
    if (type === 6) a = sample(line, s * x + 3, depth);
    else if (trns && trns.length >= 6 && depth === 8 && r === trns[1] && g === trns[3] && b === trns[5]) a = 0;
  }
  out[o] = r;
  out[o + 1] = g;
  out[o + 2] = b;
  if (C === 4) out[o + 3] = a;
}

/**
 * Encodes 8-bit RGB or RGBA pixels (HWC) as a PNG (no filtering, zlib level 6).
 * @example
 * writeFileSync("scene.png", encodePng({ width: 48, height: 48, channels: 3, data: pixels }));
 */
export function encodePng(img: DecodedImage): Uint8Array {
  const { width: w, height: h, channels: C, data } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1)
    throw new Error(`encodePng: width and height must be positive integers, got ${w}x${h}`);
  if ((C !== 3 && C !== 4) || !(data instanceof Uint8Array) || data.length !== w * h * C) {
    throw new Error(
      `encodePng: expected ${w}x${h}x${C === 4 ? 4 : 3} = ${w * h * (C === 4 ? 4 : 3)} bytes of RGB/RGBA, ` +
        `got ${data?.length} bytes with channels ${C}`,
    );
  }
  const raw = new Uint8Array(h * (1 + w * C));
  for (let y = 0; y < h; y++) raw.set(data.subarray(y * w * C, (y + 1) * w * C), y * (1 + w * C) + 1);
  const idat = zlibSync(raw, { level: 6 });
  const chunks: [string, Uint8Array][] = [
    ["IHDR", new Uint8Array(13)],
    ["IDAT", idat],
    ["IEND", new Uint8Array(0)],
  ];
  const ihdr = new DataView(chunks[0][1].buffer);
  ihdr.setUint32(0, w);
  ihdr.setUint32(4, h);
  chunks[0][1].set([8, C === 4 ? 6 : 2, 0, 0, 0], 8);
  const out = new Uint8Array(8 + chunks.reduce((n, [, d]) => n + 12 + d.length, 0));
  out.set(SIG);
  let p = 8;
  const dv = new DataView(out.buffer);
  for (const [type, d] of chunks) {
    dv.setUint32(p, d.length);
    for (let i = 0; i < 4; i++) out[p + 4 + i] = type.charCodeAt(i);
    out.set(d, p + 8);
    dv.setUint32(p + 8 + d.length, crc32(out, p + 4, p + 8 + d.length));
    p += 12 + d.length;
  }
  return out;
}
