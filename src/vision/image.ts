// Image decoding: PNG (png.ts) and JPEG (jpeg-js: a pure-JS baseline/progressive decoder with an integer IDCT,
// so the same pixels on every engine), plus ImageData-like RGBA buffers.  Output is 8-bit HWC.
import decodeJpeg from "jpeg-js/lib/decoder.js"; // the decoder only: the package index also bundles the encoder
import { decodePng, isPng, type DecodedImage } from "./png.js";

export type { DecodedImage };

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
export function decodeImage(bytes: Uint8Array | ArrayBuffer): DecodedImage {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (isPng(b)) return decodePng(b);
  if (isJpeg(b)) {
    try {
      const r = decodeJpeg(b, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 256, maxMemoryUsageInMB: 1024 });
      return { width: r.width, height: r.height, channels: 3, data: r.data as Uint8Array };
    } catch (e) {
      throw new Error(`decodeImage: corrupt or unsupported JPEG (${(e as Error).message})`);
    }
  }
  throw new Error(`decodeImage: unsupported image format (expected PNG or JPEG; the file starts with ${Array.from(b.subarray(0, 4), (v) => v.toString(16).padStart(2, "0")).join(" ")})`);
}

/** An ImageData-like RGBA buffer as a DecodedImage (alpha kept). */
export function fromImageData(img: ImageDataLike): DecodedImage {
  if (!img || !Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) throw new Error("fromImageData: width and height must be positive integers");
  if (!img.data || img.data.length !== img.width * img.height * 4) throw new Error(`fromImageData: data must hold width * height * 4 = ${img.width * img.height * 4} bytes, got ${img.data ? img.data.length : 0}`);
  return { width: img.width, height: img.height, channels: 4, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length) };
}
