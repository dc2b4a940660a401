// Which shipped model handles a file, by extension (then content for images and WAVs).
export type Modality = "image" | "audio" | "video";

const EXT: Record<string, Modality> = {
  ".png": "image", ".jpg": "image", ".jpeg": "image",
  ".wav": "audio", ".wave": "audio",
  ".y4m": "video", ".mp4": "video", ".mkv": "video", ".webm": "video", ".mov": "video", ".avi": "video", ".gif": "video",
};

export function modalityOf(file: string): Modality | null {
  const dot = file.lastIndexOf(".");
  return dot < 0 ? null : EXT[file.slice(dot).toLowerCase()] ?? null;
}

export const MODEL_FOR: Record<Modality, "clip-scenes" | "audio-events" | "video-text"> = {
  image: "clip-scenes", audio: "audio-events", video: "video-text",
};

export const SUPPORTED = Object.keys(EXT).join(" ");
