// Image decoding: PNG (png.ts) and JPEG (jpeg-js: a pure-JS baseline/progressive decoder with an integer IDCT,
// so the same pixels on every engine), plus ImageData-like RGBA buffers.  Output is 8-bit HWC.
import decodeJpeg from "jpeg-js/lib/decoder.js"; // the decoder only: the package index also bundles the encoder
import { decodePng, isPng, maxPixelsOf, type DecodedImage, type ImageLimits } from "./png.js";

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
    if (m === 0xff) { o++; continue; } // fill byte
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { o += 2; continue; } // markers without a length
    const len = (b[o + 2] << 8) | b[o + 3];
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof) return o + 9 <= b.length ? { height: (b[o + 5] << 8) | b[o + 6], width: (b[o + 7] << 8) | b[o + 8] } : null;
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

function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/**
 * Decodes PNG or JPEG bytes (detected from the content, not a file name).
 * @example
 * const img = decodeImage(new Uint8Array(await (await fetch("cat.jpg")).arrayBuffer())); // { width, height, channels, data }
 */
export function decodeImage(bytes: Uint8Array | ArrayBuffer, limits?: ImageLimits): DecodedImage {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length === 0) throw new Error("decodeImage: the image is empty (0 bytes)");
  if (isPng(b)) return decodePng(b, limits);
  if (isJpeg(b)) {
    const maxPixels = maxPixelsOf("decodeImage", limits);
    const size = jpegSize(b);
    if (size && size.width * size.height > maxPixels) {
      throw new Error(`decodeImage: JPEG of ${size.width}x${size.height} = ${size.width * size.height} pixels exceeds the limit of ${maxPixels} (limits.maxPixels)`);
    }
    try {
      const r = decodeJpeg(b, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 1024 });
      return { width: r.width, height: r.height, channels: 3, data: r.data as Uint8Array };
    } catch (e) {
      throw new Error(`decodeImage: corrupt or unsupported JPEG (${(e as Error).message})`);
    }
  }
  throw new Error(`decodeImage: unsupported image format (expected PNG or JPEG${sniff(b)}; the file starts with bytes ${Array.from(b.subarray(0, 4), (v) => v.toString(16).padStart(2, "0")).join(" ")})`);
}

/** What the bytes look like, when it is a format we can name (", got WebP"). */
function sniff(b: Uint8Array): string {
  const s = (o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n));
  const name = s(0, 4) === "RIFF" && s(8, 4) === "WEBP" ? "WebP" : s(0, 2) === "BM" ? "BMP" : s(0, 4) === "GIF8" ? "GIF"
    : (s(0, 4) === "II*\u0000" || s(0, 4) === "MM\u0000*") ? "TIFF" : s(4, 4) === "ftyp" && /^(heic|heix|mif1|msf1|avif)$/.test(s(8, 4)) ? (s(8, 4) === "avif" ? "AVIF" : "HEIC") : "";
  return name ? `, got ${name}: readImageFile in Node decodes WebP, BMP, TIFF and GIF through ffmpeg` : "";
}

/** An ImageData-like RGBA buffer as a DecodedImage (alpha kept). */
export function fromImageData(img: ImageDataLike): DecodedImage {
  if (!img || !Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) throw new Error("fromImageData: width and height must be positive integers");
  if (!img.data || img.data.length !== img.width * img.height * 4) throw new Error(`fromImageData: data must hold width * height * 4 = ${img.width * img.height * 4} bytes, got ${img.data ? img.data.length : 0}`);
  return { width: img.width, height: img.height, channels: 4, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length) };
}
