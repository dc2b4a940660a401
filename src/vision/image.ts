// Image decoding: PNG (png.ts) and JPEG (jpeg-js: a pure-JS baseline/progressive decoder with an integer IDCT,
// so the same pixels on every engine), plus ImageData-like RGBA buffers.  Output is 8-bit HWC.
import { PolymodalError } from "../util/errors.js";
import decodeJpeg from "jpeg-js/lib/decoder.js"; // the decoder only: the package index also bundles the encoder
import { decodePng, isPng, maxPixelsOf, type DecodedImage, type ImageLimits } from "./png.js";
import { decodeScaledJpeg } from "./jpeg-scaled.js";

export type { DecodedImage, ImageLimits };

/**
 * A JPEG's frame size from its SOF marker (the first one), read before decoding so an oversized claim costs nothing;
 * null when no SOF comes before the scan data.
 */
export function jpegSize(b: Uint8Array): { width: number; height: number } | null {
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return null;
    const m = b[o + 1];
    if (m === 0xff) {
      o++;
      continue;
    } // fill byte
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2;
      continue;
    } // markers without a length
    const len = (b[o + 2] << 8) | b[o + 3];
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof)
      return o + 9 <= b.length ? { height: (b[o + 5] << 8) | b[o + 6], width: (b[o + 7] << 8) | b[o + 8] } : null;
    if (m === 0xda || m === 0xd9) return null; // scan data or end before any frame header
    o += 2 + len;
  }
  return null;
}

/** Anything with width, height and RGBA bytes, such as a canvas ImageData. */
export interface ImageDataLike {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** Whether bytes start as a JPEG does (SOI, then a marker). */
export function isJpegBytes(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}
const isJpeg = isJpegBytes;

/** Throws when a JPEG's header claims more pixels than the limit allows (before any decoding). */
export function checkJpegPixels(size: { width: number; height: number }, limits?: ImageLimits): void {
  const maxPixels = maxPixelsOf("decodeImage", limits);
  if (size.width * size.height > maxPixels) {
    throw new PolymodalError(
      "too_large",
      `decodeImage: JPEG of ${size.width}x${size.height} = ${size.width * size.height} pixels exceeds the limit ` +
        `of ${maxPixels} (limits.maxPixels)`,
    );
  }
}

/**
 * Decodes PNG or JPEG bytes (detected from the content, not a file name).
 * @example
 * const img = decodeImage(new Uint8Array(await (await fetch("cat.jpg")).arrayBuffer())); // { width, height,
 * channels, data }
 */
export function decodeImage(bytes: Uint8Array | ArrayBuffer, limits?: ImageLimits): DecodedImage {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length === 0) throw new PolymodalError("bad_input", "decodeImage: the image is empty (0 bytes)");
  if (isPng(b)) return decodePng(b, limits);
  if (isJpeg(b)) {
    const maxPixels = maxPixelsOf("decodeImage", limits);
    const size = jpegSize(b);
    if (size) checkJpegPixels(size, limits);
    // jpeg-js decodes corrupt entropy data into silent garbage: a baseline file's data is checked first by the strict
    // scaled decoder at 1/8 (DC only: a small fraction of a full decode's time); it throws naming what is wrong
    decodeScaledJpeg(b, 1);
    try {
      const r = decodeJpeg(b, {
        useTArray: true,
        formatAsRGBA: false,
        maxResolutionInMP: maxPixels / 1e6,
        maxMemoryUsageInMB: 1024,
      });
      return { width: r.width, height: r.height, channels: 3, data: r.data as Uint8Array };
    } catch (e) {
      throw new PolymodalError("bad_input", `decodeImage: corrupt or unsupported JPEG (${(e as Error).message})`);
    }
  }
  throw new PolymodalError(
    "unsupported_input",
    `decodeImage: unsupported image format (expected PNG or JPEG${sniff(b)}; the file starts with ` +
      `bytes ${Array.from(b.subarray(0, 4), (v) => v.toString(16).padStart(2, "0")).join(" ")})`,
  );
}

/** What the bytes look like, when it is a format we can name (", got WebP"). */
function sniff(b: Uint8Array): string {
  const s = (o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n));
  const name =
    s(0, 4) === "RIFF" && s(8, 4) === "WEBP"
      ? "WebP"
      : s(0, 2) === "BM"
        ? "BMP"
        : s(0, 4) === "GIF8"
          ? "GIF"
          : s(0, 4) === "II*\u0000" || s(0, 4) === "MM\u0000*"
            ? "TIFF"
            : s(4, 4) === "ftyp" && /^(heic|heix|mif1|msf1|avif)$/.test(s(8, 4))
              ? s(8, 4) === "avif"
                ? "AVIF"
                : "HEIC"
              : "";
  return name ? `, got ${name}: readImageFile in Node decodes WebP, BMP, TIFF and GIF through ffmpeg` : "";
}

/** An ImageData-like RGBA buffer as a DecodedImage (alpha kept). */
export function fromImageData(img: ImageDataLike): DecodedImage {
  if (!img || !Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1)
    throw new Error("fromImageData: width and height must be positive integers");
  if (!img.data || img.data.length !== img.width * img.height * 4)
    throw new Error(
      `fromImageData: data must hold width * height * 4 = ${img.width * img.height * 4} bytes, ` +
        `got ${img.data ? img.data.length : 0}`,
    );
  return {
    width: img.width,
    height: img.height,
    channels: 4,
    data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length),
  };
}

/**
 * A JPEG's EXIF orientation (1..8, the TIFF tag 0x0112 in its APP1 "Exif" segment), or 1 when it has none.
 * @example
 * const o = jpegOrientation(bytes); // 6: the camera was turned 90 degrees clockwise
 */
export function jpegOrientation(b: Uint8Array): number {
  if (!isJpegBytes(b)) return 1;
  let o = 2;
  while (o + 4 <= b.length && b[o] === 0xff) {
    const m = b[o + 1],
      len = (b[o + 2] << 8) | b[o + 3];
    if (m === 0xda || m === 0xd9) return 1;
    if (m === 0xe1 && len >= 16 && String.fromCharCode(...b.subarray(o + 4, o + 10)) === "Exif\u0000\u0000") {
      const t = o + 10; // TIFF header
      if (t + 8 > b.length) return 1;
      const le = b[t] === 0x49;
      const u16 = (p: number): number =>
        p + 1 < b.length ? (le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1]) : 0;
      const u32 = (p: number): number => (le ? u16(p) + u16(p + 2) * 65536 : u16(p) * 65536 + u16(p + 2));
      const ifd = t + u32(t + 4),
        n = u16(ifd);
      for (let i = 0; i < n && ifd + 2 + 12 * (i + 1) <= o + 2 + len; i++) {
        const e = ifd + 2 + 12 * i;
        if (u16(e) === 0x0112) {
          const v = u16(e + 8);
          return v >= 1 && v <= 8 ? v : 1;
        }
      }
      return 1;
    }
    o += 2 + len;
  }
  return 1;
}

/** The image as EXIF orientation `o` says to show it (PIL's ImageOps.exif_transpose): flips and quarter turns. */
export function applyOrientation(img: DecodedImage, o: number): DecodedImage {
  if (o <= 1 || o > 8) return img;
  const { width: W, height: H, channels: C, data } = img;
  const swap = o >= 5;
  const w = swap ? H : W,
    h = swap ? W : H;
  const out = new Uint8Array(w * h * C);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      // source pixel of output (x, y) for each orientation
      let sx: number, sy: number;
      switch (o) {
        case 2:
          sx = W - 1 - x;
          sy = y;
          break; // mirrored
        case 3:
          sx = W - 1 - x;
          sy = H - 1 - y;
          break; // 180
        case 4:
          sx = x;
          sy = H - 1 - y;
          break; // flipped vertically
        case 5:
          sx = y;
          sy = x;
          break; // transposed
        case 6:
          sx = y;
          sy = H - 1 - x;
          break; // turned 90 clockwise to show
        case 7:
          sx = W - 1 - y;
          sy = H - 1 - x;
          break; // transversed
        default:
          sx = W - 1 - y;
          sy = x; // 8: turned 90 counter-clockwise to show
      }
      const si = (sy * W + sx) * C,
        di = (y * w + x) * C;
      for (let c = 0; c < C; c++) out[di + c] = data[si + c];
    }
  return { width: w, height: h, channels: C, data: out };
}
