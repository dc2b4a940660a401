// Video input: Y4M in plain JS (round trip, 4:2:0 against ffmpeg's own conversion), frame sampling, the
// VideoProcessor, and files through ffmpeg (lossless FFV1, so frames must come back exactly) with a clear
// Error when ffmpeg is missing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  decodeY4M,
  encodeY4M,
  VideoProcessor,
  sampleFrameIndices,
  readVideoFile,
  ImageProcessor,
  type DecodedImage,
} from "../src/index.js";
import { makeClip, CLIP_SIZE, CLIP_FRAMES } from "../scripts/clips.mjs";

const hasFfmpeg = (() => {
  try {
    execFileSync("ffmpeg", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const tmp = mkdtempSync(join(tmpdir(), "pm-video-"));
const frames = (seed: number): DecodedImage[] =>
  makeClip(seed).frames.map((data: Uint8Array) => ({
    width: CLIP_SIZE,
    height: CLIP_SIZE,
    channels: 3 as const,
    data,
  }));
const maxDiff = (a: Uint8Array, b: Uint8Array): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

beforeAll(async () => {
  await init();
});

describe("Y4M", () => {
  it("round-trips RGB frames through 4:4:4 full range within 2 levels", () => {
    const f = frames(7);
    const v = decodeY4M(encodeY4M(f, { fps: 12 }));
    expect([v.width, v.height, v.frameCount, v.fps]).toEqual([CLIP_SIZE, CLIP_SIZE, CLIP_FRAMES, 12]);
    for (let i = 0; i < f.length; i++) expect(maxDiff(v.frames[i].data, f[i].data)).toBeLessThanOrEqual(2);
  });
  it("decodes only the requested frames", () => {
    const f = frames(8),
      bytes = encodeY4M(f);
    const all = decodeY4M(bytes),
      some = decodeY4M(bytes, (n) => sampleFrameIndices(n, 4));
    expect(some.frames.length).toBe(4);
    sampleFrameIndices(CLIP_FRAMES, 4).forEach((i, k) => expect(some.frames[k].data).toEqual(all.frames[i].data));
  });
  it("rejects bad files with a clear Error", () => {
    const good = encodeY4M(frames(9));
    expect(() => decodeY4M(new Uint8Array(20))).toThrow(/not a YUV4MPEG2 file/);
    expect(() => decodeY4M(good.subarray(0, good.length - 5))).toThrow(/frame 23 is truncated/);
    const inter = new TextEncoder().encode("YUV4MPEG2 W2 H2 F25:1 It C444\nFRAME\n" + "\0".repeat(12));
    expect(() => decodeY4M(inter)).toThrow(/interlaced/);
    expect(() => decodeY4M(new TextEncoder().encode("YUV4MPEG2 W2 H2 C410\nFRAME\n"))).toThrow(
      /unsupported colour space C410/,
    );
    expect(() => decodeY4M(good, [0, 99])).toThrow(/frame index 99 out of range/);
    expect(() => encodeY4M([])).toThrow(/at least one frame/);
  });
  it.skipIf(!hasFfmpeg)("4:2:0 limited range decodes like ffmpeg converts it (within 3 levels)", () => {
    const src = join(tmp, "src.y4m"),
      yuv = join(tmp, "420.y4m");
    writeFileSync(src, encodeY4M(frames(10)));
    execFileSync("ffmpeg", ["-v", "error", "-y", "-i", src, "-pix_fmt", "yuv420p", "-color_range", "tv", yuv]);
    const ours = decodeY4M(readFileSync(yuv));
    const ref = execFileSync("ffmpeg", ["-v", "error", "-i", yuv, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
    const n = CLIP_SIZE * CLIP_SIZE * 3;
    // swscale interpolates chroma where we repeat the nearest sample: flat regions agree, shape edges may not
    let big = 0;
    ours.frames.forEach((f, i) => {
      for (let k = 0; k < n; k++) if (Math.abs(f.data[k] - ref[i * n + k]) > 3) big++;
    });
    expect(big / (n * ours.frameCount)).toBeLessThan(0.05);
  });
});

describe("frame sampling and VideoProcessor", () => {
  it("samples the centres of equal segments", () => {
    expect(sampleFrameIndices(24, 8)).toEqual([1, 4, 7, 10, 13, 16, 19, 22]);
    expect(sampleFrameIndices(10, 1)).toEqual([5]);
    expect(sampleFrameIndices(3, 6)).toEqual([0, 0, 1, 1, 2, 2]); // short clips repeat frames
    expect(() => sampleFrameIndices(0, 4)).toThrow(/at least one/);
    expect(() => sampleFrameIndices(5, 0)).toThrow(/numFrames/);
  });
  it("stacks the sampled frames, each preprocessed as ImageProcessor does", () => {
    const opts = {
      size: null,
      cropSize: null,
      mean: [0.5, 0.5, 0.5] as [number, number, number],
      std: [0.25, 0.25, 0.25] as [number, number, number],
    };
    const vp = new VideoProcessor({ numFrames: 8, ...opts });
    const a = frames(11),
      b = frames(12);
    const t = vp.process([a, b]);
    expect(t.shape).toEqual([2, 8, 3, CLIP_SIZE, CLIP_SIZE]);
    const one = new ImageProcessor(opts).process(sampleFrameIndices(24, 8).map((i) => b[i]));
    expect(Array.from(t.data.subarray(one.size, 2 * one.size))).toEqual(Array.from(one.data));
    expect(vp.process(a).shape).toEqual([1, 8, 3, CLIP_SIZE, CLIP_SIZE]);
    expect(() => vp.process([])).toThrow(/expected an array/);
    expect(() => vp.process([a, []])).toThrow(/clip 1 has no frames/);
    expect(() => new VideoProcessor({ numFrames: 0 })).toThrow(/numFrames/);
  });
});

describe("readVideoFile", () => {
  it("reads .y4m natively (no ffmpeg), sampling frames", async () => {
    const f = join(tmp, "native.y4m");
    writeFileSync(f, encodeY4M(frames(13)));
    const v = await readVideoFile(f, { numFrames: 8, ffmpegPath: "/nonexistent/ffmpeg" });
    expect([v.frameCount, v.frames.length, v.width]).toEqual([24, 8, CLIP_SIZE]);
  });
  it("names ffmpeg when it is missing, and missing files", async () => {
    const f = join(tmp, "x.mkv");
    writeFileSync(f, new Uint8Array(100));
    await expect(readVideoFile(f, { ffmpegPath: "/nonexistent/ffmpeg" })).rejects.toThrow(
      /ffprobe, which was not found; install ffmpeg \(Debian: apt-get install ffmpeg\)/,
    );
    await expect(readVideoFile(join(tmp, "absent.mp4"))).rejects.toThrow(/cannot read .*absent\.mp4/);
  });
  it.skipIf(!hasFfmpeg)(
    "samples a long file by seeking to each frame: the same frames as one decoding pass (H.264 and VP9, keyframes " +
      "every 2 s)",
    async () => {
      const enc: Record<string, string[]> = {
        mp4: ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        webm: ["-c:v", "libvpx-vp9", "-b:v", "200k"],
      };
      for (const [ext, codec] of Object.entries(enc)) {
        const f = join(tmp, `long.${ext}`);
        execFileSync("ffmpeg", [
          "-v",
          "error",
          "-y",
          "-f",
          "lavfi",
          "-i",
          "testsrc2=size=96x64:rate=25",
          "-t",
          "12",
          "-g",
          "50",
          ...codec,
          f,
        ]);
        const seek = await readVideoFile(f, { numFrames: 8, seek: "always" }),
          pass = await readVideoFile(f, { numFrames: 8, seek: "never" });
        expect([ext, seek.frameCount, seek.frames.length]).toEqual([ext, 300, 8]);
        seek.frames.forEach((fr, k) =>
          expect(`${ext} frame ${k}: ${maxDiff(fr.data, pass.frames[k].data)}`).toBe(`${ext} frame ${k}: 0`),
        );
        // "auto" seeks in a file of 10 s or more, and gives those frames too
        const auto = await readVideoFile(f, { numFrames: 8 });
        auto.frames.forEach((fr, k) => expect(maxDiff(fr.data, pass.frames[k].data)).toBe(0));
      }
    },
    120_000,
  );
  it.skipIf(!hasFfmpeg)("decodes other formats through ffmpeg: lossless FFV1 frames come back exact", async () => {
    const f = frames(14),
      src = join(tmp, "rgb.y4m"),
      mkv = join(tmp, "lossless.mkv");
    // exact pixels through a lossless RGB codec: write raw RGB frames to ffmpeg
    writeFileSync(src, Buffer.concat(f.map((x) => Buffer.from(x.data))));
    execFileSync("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "-s",
      `${CLIP_SIZE}x${CLIP_SIZE}`,
      "-r",
      "12",
      "-i",
      src,
      "-c:v",
      "ffv1",
      "-pix_fmt",
      "bgr0",
      mkv,
    ]);
    const v = await readVideoFile(mkv, { numFrames: 6 });
    expect([v.frameCount, v.frames.length, v.width, v.height]).toEqual([24, 6, CLIP_SIZE, CLIP_SIZE]);
    sampleFrameIndices(24, 6).forEach((i, k) => expect(maxDiff(v.frames[k].data, f[i].data)).toBe(0));
    const all = await readVideoFile(mkv);
    expect(all.frames.length).toBe(24);
    writeFileSync(join(tmp, "corrupt.mp4"), new Uint8Array(3000).fill(7));
    await expect(readVideoFile(join(tmp, "corrupt.mp4"))).rejects.toThrow(
      /probing .*corrupt\.mp4: ffprobe exited with code/,
    );
  });
});

describe("encodePng", () => {
  it("round-trips RGB and RGBA through decodePng", async () => {
    const { encodePng, decodePng } = await import("../src/index.js");
    for (const C of [3, 4] as const) {
      const data = new Uint8Array(7 * 5 * C).map((_, i) => (i * 37) & 255);
      const back = decodePng(encodePng({ width: 7, height: 5, channels: C, data }));
      expect([back.width, back.height, back.channels]).toEqual([7, 5, C]);
      expect(back.data).toEqual(data);
    }
    expect(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) })).toThrow(
      /expected 2x2x3 = 12 bytes/,
    );
  });
});
