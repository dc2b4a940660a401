// Video files in Node: .y4m natively, anything else through the system's ffmpeg/ffprobe (Debian: apt-get install
// ffmpeg), asked for exactly the sampled frames as raw RGB.  Node built-ins load on demand, so the library itself
// imports none.
import type { DecodedImage } from "../vision/png.js";
import { decodeY4M } from "./y4m.js";
import { sampleFrameIndices } from "./processor.js";
import { limits } from "../util/limits.js";
import { nodeModules, runFfmpeg, ffprobeFor } from "../io/ffmpeg.js";

export interface ReadVideoOptions {
  /** sample this many frames uniformly (VideoProcessor's rule); omitted: every frame */
  numFrames?: number;
  /** ffmpeg executable (default "ffmpeg" on PATH); ffprobe is looked up beside it */
  ffmpegPath?: string;
  /** resource limits, checked from the stream's header before decoding (each breach names the limit) */
  limits?: VideoLimits;
}

export interface VideoLimits {
  /** most pixels per frame (default 16,777,216 = 4096 x 4096) */
  maxPixels?: number;
  /** most bytes of decoded RGB frames returned (default 1 GiB) */
  maxBytes?: number;
  /** ffmpeg/ffprobe are stopped after this many milliseconds (default 120,000) */
  timeoutMs?: number;
}
/** The current defaults (from the global `limits`). */
export const defaultVideoLimits = (): Required<VideoLimits> => ({ maxPixels: limits.maxVideoPixels, maxBytes: limits.maxVideoBytes, timeoutMs: limits.videoTimeoutMs });

export interface VideoFrames {
  width: number;
  height: number;
  frameCount: number;
  frames: DecodedImage[];
}

async function node(): Promise<{ fs: any; cp: any; path: any }> {
  return nodeModules("readVideoFile", "in a browser decode frames yourself (decodeY4M, or canvas ImageData) and pass them to VideoProcessor");
}

function run(_cp: unknown, exe: string, args: string[], what: string, timeoutMs: number, maxBytes = Infinity): Promise<Uint8Array> {
  return runFfmpeg({ exe, args, what, who: "readVideoFile", timeoutMs, maxBytes, fix: "or use .y4m files" });
}

/**
 * Reads a video file's frames (RGB, HWC).
 * @example
 * const { frames } = await readVideoFile("clip.mp4", { numFrames: 8 });
 * const video = new VideoProcessor({ numFrames: 8 }).process(frames);
 */
export async function readVideoFile(file: string, options: ReadVideoOptions = {}): Promise<VideoFrames> {
  const { fs, cp, path } = await node();
  const lim = { ...defaultVideoLimits(), ...options.limits };
  const head = new Uint8Array(10);
  try {
    const fh = await fs.open(file, "r");
    try { await fh.read(head, 0, 10, 0); } finally { await fh.close(); }
  } catch (e) {
    throw new Error(`readVideoFile: cannot read ${file}: ${(e as Error).message}`);
  }
  const pick = options.numFrames === undefined ? undefined : (n: number): number[] => sampleFrameIndices(n, options.numFrames!);
  if (String.fromCharCode(...head) === "YUV4MPEG2 ") {
    const v = decodeY4M(new Uint8Array(await fs.readFile(file)), pick, { maxPixels: lim.maxPixels });
    return { width: v.width, height: v.height, frameCount: v.frameCount, frames: v.frames };
  }
  const ffmpeg = options.ffmpegPath ?? "ffmpeg";
  const ffprobe = ffprobeFor(ffmpeg, path);
  const probe = JSON.parse(new TextDecoder().decode(await run(cp, ffprobe, ["-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries", "stream=width,height,nb_read_packets", "-of", "json", file], `probing ${file}`, lim.timeoutMs)));
  const s = probe.streams?.[0];
  if (!s || !(s.width > 0) || !(s.height > 0)) throw new Error(`readVideoFile: ${file} has no video stream`);
  const count = Number(s.nb_read_packets); // one packet per video frame; counting packets needs no decoding
  if (!(count > 0)) throw new Error(`readVideoFile: ${file} has no decodable frames`);
  if (s.width * s.height > lim.maxPixels) throw new Error(`readVideoFile: ${file}: frames of ${s.width}x${s.height} exceed the limit of ${lim.maxPixels} pixels (limits.maxPixels)`);
  const want = pick ? pick(count) : Array.from({ length: count }, (_, i) => i);
  const uniq = [...new Set(want)];
  const need = uniq.length * s.width * s.height * 3;
  if (need > lim.maxBytes) throw new Error(`readVideoFile: ${file}: ${uniq.length} frames of ${s.width}x${s.height} need ${need} bytes, more than the limit of ${lim.maxBytes} (limits.maxBytes)`);
  // ask ffmpeg for exactly the sampled frames (every frame: no filter at all)
  const filter = pick ? ["-vf", `select='${uniq.map((i) => `eq(n\\,${i})`).join("+")}'`] : [];
  const raw = await run(cp, ffmpeg, ["-v", "error", "-i", file, ...filter, "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], `decoding ${file}`, lim.timeoutMs, need);
  const n = s.width * s.height * 3;
  if (raw.length !== uniq.length * n) throw new Error(`readVideoFile: ffmpeg returned ${raw.length} bytes for ${uniq.length} frames of ${s.width}x${s.height}`);
  const byIndex = new Map(uniq.map((i, k) => [i, { width: s.width, height: s.height, channels: 3 as const, data: new Uint8Array(raw.subarray(k * n, (k + 1) * n)) }]));
  return { width: s.width, height: s.height, frameCount: count, frames: want.map((i) => byIndex.get(i)!) };
}
