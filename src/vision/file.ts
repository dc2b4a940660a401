// Image files in Node: PNG and JPEG natively (decodeImage), and WebP, BMP, TIFF and GIF (its first frame) through the
// system's ffmpeg, which re-encodes the first frame as PNG for decodeImage (lossless, so the pixels are ffmpeg's
// decode).  HEIC/HEIF is refused by name: ffmpeg here does not read it.
import { PolymodalError } from "../util/errors.js";
import { decodeImage, isJpegBytes, type ImageLimits } from "./image.js";
import { isPng, type DecodedImage } from "./png.js";
import { nodeModules, runFfmpeg, readMediaFile, extensionOf } from "../io/ffmpeg.js";
import { limits } from "../util/limits.js";

/** The image formats read through ffmpeg, by extension (their names for messages). */
export const FFMPEG_IMAGE: Record<string, string> = {
  ".webp": "WebP",
  ".bmp": "BMP",
  ".tif": "TIFF",
  ".tiff": "TIFF",
  ".gif": "GIF",
};
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

/**
 * Reads an image file: PNG and JPEG by polymodal's decoders, WebP/BMP/TIFF/GIF through ffmpeg.
 * @example
 * const img = await readImageFile("scan.tiff");
 * const [embedding] = clip.embedImages([img]);
 */
export async function readImageFile(file: string, options: ReadImageOptions = {}): Promise<DecodedImage> {
  const input = await readImageInput(file, options);
  return input instanceof Uint8Array ? decodeImage(input, options) : input;
}

/**
 * An image file as an image processor's input: a PNG or JPEG file's own bytes (so the processor decodes it as it does
 * bytes from anywhere else: a large JPEG at reduced scale in the DCT domain where its resize allows, and the same
 * bits as the library and the service give for those bytes), any other format decoded through ffmpeg.
 */
export async function readImageInput(file: string, options: ReadImageOptions = {}): Promise<Uint8Array | DecodedImage> {
  await nodeModules("readImageFile", "in a browser pass the bytes to decodeImage, or canvas ImageData");
  const e = extensionOf(file);
  if (REFUSED_IMAGE[e]) throw new PolymodalError("unsupported_input", `readImageFile: ${file}: ${REFUSED_IMAGE[e]}`);
  // no image file within maxPixels needs more than 8 bytes a pixel (16-bit RGBA, stored), and 1 MiB of metadata
  const bytes = await readMediaFile(
    "readImageFile",
    file,
    () => (options.maxPixels ?? limits.maxPixels) * 8 + (1 << 20),
  );
  if (isPng(bytes) || isJpegBytes(bytes) || !FFMPEG_IMAGE[e]) return bytes;
  const format = FFMPEG_IMAGE[e];
  const maxPixels = options.maxPixels ?? limits.maxPixels;
  const out = await runFfmpeg({
    exe: options.ffmpegPath ?? "ffmpeg",
    args: ["-v", "error", "-i", file, "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"],
    what: `decoding ${format} (${file})`,
    who: "readImageFile",
    timeoutMs: options.timeoutMs ?? limits.videoTimeoutMs,
    maxBytes: maxPixels * 8 + (1 << 20),
    fix: "or convert it to PNG or JPEG",
  });
  if (out.length === 0)
    throw new PolymodalError("bad_input", `readImageFile: ${file}: ffmpeg decoded no frame (${format})`);
  return decodeImage(out, options);
}
