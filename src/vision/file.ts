// Image files in Node: PNG and JPEG natively (decodeImage), and WebP, BMP, TIFF and GIF (its first frame) through the
// system's ffmpeg, which re-encodes the first frame as PNG for decodeImage (lossless, so the pixels are ffmpeg's
// decode).  HEIC/HEIF is refused by name: ffmpeg here does not read it.
import { decodeImage, type ImageLimits } from "./image.js";
import type { DecodedImage } from "./png.js";
import { nodeModules, runFfmpeg } from "../io/ffmpeg.js";
import { limits } from "../util/limits.js";

/** The image formats read through ffmpeg, by extension (their names for messages). */
export const FFMPEG_IMAGE: Record<string, string> = { ".webp": "WebP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".gif": "GIF" };
/** Image formats refused by name, with what to do instead. */
export const REFUSED_IMAGE: Record<string, string> = {
  ".heic": "HEIC images are not supported; convert them to JPEG or PNG (e.g. heif-convert, or export from Photos)",
  ".heif": "HEIF images are not supported; convert them to JPEG or PNG (e.g. heif-convert)",
};

export interface ReadImageOptions extends ImageLimits {
  /** ffmpeg executable (default "ffmpeg" on PATH) */
  ffmpegPath?: string;
  timeoutMs?: number;
}

const ext = (f: string): string => { const d = f.lastIndexOf("."); return d < 0 ? "" : f.slice(d).toLowerCase(); };

/**
 * Reads an image file: PNG and JPEG by polymodal's decoders, WebP/BMP/TIFF/GIF through ffmpeg.
 * @example
 * const img = await readImageFile("scan.tiff");
 * const [embedding] = clip.embedImages([img]);
 */
export async function readImageFile(file: string, options: ReadImageOptions = {}): Promise<DecodedImage> {
  const { fs } = await nodeModules("readImageFile", "in a browser pass the bytes to decodeImage, or canvas ImageData");
  const e = ext(file);
  if (REFUSED_IMAGE[e]) throw Object.assign(new Error(`readImageFile: ${file}: ${REFUSED_IMAGE[e]}`), { exitCode: 3 });
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(file));
  } catch (err) {
    throw Object.assign(new Error(`readImageFile: cannot read ${file}: ${(err as Error).message}`), { exitCode: 3 });
  }
  if (bytes.length === 0) throw Object.assign(new Error(`readImageFile: ${file} is empty (0 bytes)`), { exitCode: 3 });
  const png = bytes[0] === 0x89 && bytes[1] === 0x50, jpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  if (png || jpeg || !FFMPEG_IMAGE[e]) return decodeImage(bytes, options);
  const format = FFMPEG_IMAGE[e];
  const maxPixels = options.maxPixels ?? limits.maxPixels;
  const out = await runFfmpeg({
    exe: options.ffmpegPath ?? "ffmpeg", args: ["-v", "error", "-i", file, "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"],
    what: `decoding ${format} (${file})`, who: "readImageFile", timeoutMs: options.timeoutMs ?? limits.videoTimeoutMs,
    maxBytes: maxPixels * 8 + (1 << 20), fix: "or convert it to PNG or JPEG",
  });
  if (out.length === 0) throw Object.assign(new Error(`readImageFile: ${file}: ffmpeg decoded no frame (${format})`), { exitCode: 3 });
  return decodeImage(out, options);
}
