// Which space a file's items go to, by extension (then content for images and WAVs): media files are one item
// each; text documents (plain text and the light markup people keep notes in) are chunked into the text space.
import type { Space } from "../pipelines/pipeline.js";

// images and audio other than PNG/JPEG/WAV go through ffmpeg (src/vision/file.ts, src/audio/file.ts); HEIC is an
// image refused by name there, so an index lists it as unreadable with the reason; a GIF is an image (its first frame)
const EXT: Record<string, Space> = {
  ".png": "image",
  ".jpg": "image",
  ".jpeg": "image",
  ".webp": "image",
  ".bmp": "image",
  ".tif": "image",
  ".tiff": "image",
  ".gif": "image",
  ".heic": "image",
  ".heif": "image",
  ".wav": "audio",
  ".wave": "audio",
  ".mp3": "audio",
  ".flac": "audio",
  ".ogg": "audio",
  ".oga": "audio",
  ".opus": "audio",
  ".m4a": "audio",
  ".aac": "audio",
  ".y4m": "video",
  ".mp4": "video",
  ".mkv": "video",
  ".webm": "video",
  ".mov": "video",
  ".avi": "video",
  ".txt": "text",
  ".text": "text",
  ".md": "text",
  ".markdown": "text",
  ".mdx": "text",
  ".rst": "text",
  ".org": "text",
  ".adoc": "text",
  ".asciidoc": "text",
  ".tex": "text",
};

export function modalityOf(file: string): Space | null {
  const dot = file.lastIndexOf(".");
  return dot < 0 ? null : (EXT[file.slice(dot).toLowerCase()] ?? null);
}

export const SUPPORTED = Object.keys(EXT).join(" ");
