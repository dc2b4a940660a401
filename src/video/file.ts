// Video files in Node: .y4m natively, anything else through the system's ffmpeg/ffprobe (Debian: apt-get install
// ffmpeg), asked for exactly the sampled frames as raw RGB.  Node built-ins load on demand, so the library itself
// imports none.
import type { DecodedImage } from "../vision/png.js";
import { decodeY4M } from "./y4m.js";
import { sampleFrameIndices } from "./processor.js";
import { limits } from "../util/limits.js";
import { nodeModules, runFfmpeg, ffprobeFor, readMediaFile } from "../io/ffmpeg.js";

export interface ReadVideoOptions {
  /** sample this many frames uniformly (VideoProcessor's rule); omitted: every frame */
  numFrames?: number;
  /** ffmpeg executable (default "ffmpeg" on PATH); ffprobe is looked up beside it */
  ffmpegPath?: string;
  /** resource limits, checked from the stream's header before decoding (each breach names the limit) */
  limits?: VideoLimits;
  /**
   * How sampled frames are fetched from a non-Y4M file: "auto" (default) seeks to each one in a file longer than
   * 10 s at a constant frame rate and decodes short ones in one pass; "always" / "never" force one way.  Both give
   * the same frames.
   */
  seek?: "auto" | "always" | "never";
}

/** Files at least this long (seconds) are sampled by seeking when seek is "auto". */
export const SEEK_MIN_SECONDS = 10;

export interface VideoLimits {
  /** most pixels per frame (default 16,777,216 = 4096 x 4096) */
  maxPixels?: number;
  /** most bytes of decoded RGB frames returned (default 1 GiB) */
  maxBytes?: number;
  /** ffmpeg/ffprobe are stopped after this many milliseconds (default 120,000) */
  timeoutMs?: number;
}
/** The current defaults (from the global `limits`). */
export const defaultVideoLimits = (): Required<VideoLimits> => ({
  maxPixels: limits.maxVideoPixels,
  maxBytes: limits.maxVideoBytes,
  timeoutMs: limits.videoTimeoutMs,
});

export interface VideoFrames {
  width: number;
  height: number;
  frameCount: number;
  frames: DecodedImage[];
}

async function node(): Promise<{ fs: any; cp: any; path: any }> {
  return nodeModules(
    "readVideoFile",
    "in a browser decode frames yourself (decodeY4M, or canvas ImageData) and pass them to VideoProcessor",
  );
}

function run(
  _cp: unknown,
  exe: string,
  args: string[],
  what: string,
  timeoutMs: number,
  maxBytes = Infinity,
): Promise<Uint8Array> {
  return runFfmpeg({ exe, args, what, who: "readVideoFile", timeoutMs, maxBytes, fix: "or use .y4m files" });
}

/**
 * Reads a video file's frames (RGB, HWC).
 * @example
 * const { frames } = await readVideoFile("clip.mp4", { numFrames: 8 });
 * const video = new VideoProcessor({ numFrames: 8 }).process(frames);
 */
export async function readVideoFile(file: string, options: ReadVideoOptions = {}): Promise<VideoFrames> {
  const { cp, path } = await node();
  const lim = { ...defaultVideoLimits(), ...options.limits };
  const head = await readMediaFile("readVideoFile", file, undefined, 10); // a regular file, never a FIFO
  const pick =
    options.numFrames === undefined ? undefined : (n: number): number[] => sampleFrameIndices(n, options.numFrames!);
  if (String.fromCharCode(...head) === "YUV4MPEG2 ") {
    const v = decodeY4M(await readMediaFile("readVideoFile", file), pick, { maxPixels: lim.maxPixels });
    return { width: v.width, height: v.height, frameCount: v.frameCount, frames: v.frames };
  }
  const ffmpeg = options.ffmpegPath ?? "ffmpeg";
  const ffprobe = ffprobeFor(ffmpeg, path);
  const probeArgs = (count: boolean): string[] => [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    ...(count ? ["-count_packets"] : []),
    "-show_entries",
    `stream=width,height,nb_frames,avg_frame_rate,r_frame_rate,duration` +
      `${count ? ",nb_read_packets" : ""}:format=duration`,
    "-of",
    "json",
    file,
  ];
  const probe = JSON.parse(
    new TextDecoder().decode(await run(cp, ffprobe, probeArgs(false), `probing ${file}`, lim.timeoutMs)),
  );
  const s = probe.streams?.[0];
  if (!s || !(s.width > 0) || !(s.height > 0)) throw new Error(`readVideoFile: ${file} has no video stream`);
  // the container's frame count when it records one (MP4, MOV); else count packets (one per frame: no decoding)
  let count = Number(s.nb_frames);
  if (!(count > 0))
    count = Number(
      JSON.parse(new TextDecoder().decode(await run(cp, ffprobe, probeArgs(true), `probing ${file}`, lim.timeoutMs)))
        .streams?.[0]?.nb_read_packets,
    );
  if (!(count > 0)) throw new Error(`readVideoFile: ${file} has no decodable frames`);
  if (s.width * s.height > lim.maxPixels)
    throw new Error(
      `readVideoFile: ${file}: frames of ${s.width}x${s.height} exceed the limit of ${lim.maxPixels} pixels ` +
        `(limits.maxPixels)`,
    );
  const want = pick ? pick(count) : Array.from({ length: count }, (_, i) => i);
  const uniq = [...new Set(want)];
  const n = s.width * s.height * 3;
  const need = uniq.length * n;
  if (need > lim.maxBytes)
    throw new Error(
      `readVideoFile: ${file}: ${uniq.length} frames of ${s.width}x${s.height} need ${need} bytes, more than the ` +
        `limit of ${lim.maxBytes} (limits.maxVideoBytes)`,
    );
  const rate = (r: unknown): number => {
    const [a, b] = String(r).split("/").map(Number);
    return a > 0 && b > 0 ? a / b : 0;
  };
  const fps = rate(s.avg_frame_rate),
    seconds = Number(s.duration ?? probe.format?.duration);
  const constantRate = fps > 0 && s.avg_frame_rate === s.r_frame_rate;
  const mode = options.seek ?? "auto";
  const seek = !!pick && constantRate && (mode === "always" || (mode === "auto" && seconds >= SEEK_MIN_SECONDS));
  let raw: Uint8Array;
  if (seek) {
    // frame i of a constant-rate stream is shown at i / fps after the start: ask for the first frame at or after a
    // quarter frame before it (rounding in the container's time base cannot then skip or repeat one); ffmpeg decodes
    // from the keyframe before it, so each costs one group of pictures instead of the whole file
    const one = (i: number): Promise<Uint8Array> =>
      run(
        cp,
        ffmpeg,
        [
          "-v",
          "error",
          "-ss",
          Math.max(0, (i - 0.25) / fps).toFixed(6),
          "-i",
          file,
          "-frames:v",
          "1",
          "-f",
          "rawvideo",
          "-pix_fmt",
          "rgb24",
          "-",
        ],
        `decoding frame ${i} of ${file}`,
        lim.timeoutMs,
        n,
      );
    const parts: Uint8Array[] = new Array(uniq.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < uniq.length) {
        const k = next++;
        parts[k] = await one(uniq[k]);
      }
    };
    await Promise.all([worker(), worker()]); // two at a time: ffmpeg's own decoding threads share the cores too
    const bad = parts.findIndex((p) => p.length !== n);
    if (bad >= 0)
      throw new Error(
        `readVideoFile: ${file}: seeking to frame ${uniq[bad]} gave ${parts[bad].length} bytes, not ` +
          `one ${s.width}x${s.height} frame`,
      );
    raw = new Uint8Array(need);
    parts.forEach((p, k) => raw.set(p, k * n));
  } else {
    // one pass: ask ffmpeg for exactly the sampled frames (every frame: no filter at all)
    const filter = pick ? ["-vf", `select='${uniq.map((i) => `eq(n\\,${i})`).join("+")}'`] : [];
    raw = await run(
      cp,
      ffmpeg,
      ["-v", "error", "-i", file, ...filter, "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
      `decoding ${file}`,
      lim.timeoutMs,
      need,
    );
  }
  if (raw.length !== uniq.length * n)
    throw new Error(
      `readVideoFile: ffmpeg returned ${raw.length} bytes for ${uniq.length} frames of ${s.width}x${s.height}`,
    );
  const byIndex = new Map(
    uniq.map((i, k) => [
      i,
      {
        width: s.width,
        height: s.height,
        channels: 3 as const,
        data: new Uint8Array(raw.subarray(k * n, (k + 1) * n)),
      },
    ]),
  );
  return { width: s.width, height: s.height, frameCount: count, frames: want.map((i) => byIndex.get(i)!) };
}
