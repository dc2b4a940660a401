// A transcript's timed pieces as subtitles: SRT (HH:MM:SS,mmm) or WebVTT (HH:MM:SS.mmm).  Whisper's segments in
// timestamp mode; a CTC model's words (each its own cue) otherwise.
import type { Transcript } from "../pipelines/pipeline.js";

export type SubtitleFormat = "srt" | "vtt";

/** The cues a transcript times, or null when it times nothing. */
export function cuesOf(t: Transcript): Array<{ start: number; end: number; text: string }> | null {
  if (t.segments) return t.segments;
  if (t.wordTimes && t.wordTimes.length === t.words.length)
    return t.words.map((text, i) => ({ ...t.wordTimes![i], text }));
  return null;
}

function clock(seconds: number, sep: string): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
  const [h, m, s] = [Math.floor(ms / 3600000), Math.floor(ms / 60000) % 60, Math.floor(ms / 1000) % 60];
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

export function subtitles(cues: Array<{ start: number; end: number; text: string }>, format: SubtitleFormat): string {
  const sep = format === "srt" ? "," : ".";
  const body = cues
    .map(
      (c, i) => `${format === "srt" ? `${i + 1}\n` : ""}${clock(c.start, sep)} --> ${clock(c.end, sep)}\n${c.text}\n`,
    )
    .join("\n");
  return format === "vtt" ? `WEBVTT\n\n${body}` : body;
}
