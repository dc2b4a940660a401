// Media files a user brings: video sampling through ffmpeg (a 2-minute 1080p H.264 file, and a 5-second clip) --
// seeking vs one decoding pass, same frames.  The files are generated once into bench/.cache (not committed).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { readFileSync } from "node:fs";
import { readVideoFile, ImageProcessor } from "../dist/index.js";

const CACHE = "bench/.cache";
const hasFfmpeg = (() => {
  try {
    execFileSync("ffmpeg", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

function make(name, args) {
  const f = `${CACHE}/${name}`;
  if (!existsSync(f)) {
    mkdirSync(CACHE, { recursive: true });
    console.log(`generating ${f} ...`);
    execFileSync("ffmpeg", ["-v", "error", "-y", ...args, f]);
  }
  return f;
}

async function timed(fn, rounds = 3) {
  const t = [];
  let out;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    out = await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { ms: t[Math.floor(t.length / 2)], out };
}

export async function benchMedia() {
  const lines = [];
  if (!hasFfmpeg) return ["media: skipped (no ffmpeg; Debian: apt-get install ffmpeg)"];
  lines.push(...cliEmbed()); // first: its children start from a parent that holds no decoded video yet
  const long = make("video-120s-1080p.mp4", [
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=1920x1080:rate=30",
    "-t",
    "120",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
  ]);
  const short = make("video-5s-320x240.mp4", [
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=30",
    "-t",
    "5",
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
  ]);
  const seek = await timed(() => readVideoFile(long, { numFrames: 8 }), 3);
  const pass = await timed(() => readVideoFile(long, { numFrames: 8, seek: "never" }), 1);
  const same = seek.out.frames.every((f, i) => Buffer.from(f.data).equals(Buffer.from(pass.out.frames[i].data)));
  lines.push(
    `video: 8 frames of a 2-minute 1080p H.264 file (3,600 frames, keyframes every ` +
      `250): ${(seek.ms / 1000).toFixed(2)} s by seeking = ${(seek.ms / pass.ms).toFixed(2)}x one decoding ` +
      `pass's ${(pass.ms / 1000).toFixed(2)} s (target <= 3 s); frames ${same ? "identical" : "DIFFER"}`,
  );
  const clip = await timed(() => readVideoFile(short, { numFrames: 8 }), 5);
  const nullDecode = await timed(
    async () => execFileSync("ffmpeg", ["-v", "error", "-threads", "1", "-i", short, "-f", "null", "-"]),
    5,
  );
  lines.push(
    `video: 8 frames of a 5-second 320x240 clip: ${clip.ms.toFixed(0)} ms; ffmpeg decoding the whole clip to ` +
      `nothing takes ${nullDecode.ms.toFixed(0)} ms, so reading frames ` +
      `adds ${(clip.ms - nullDecode.ms).toFixed(0)} ms (ffprobe, one more process, the frames' copy; target <= 200 ms)`,
  );
  // 12-megapixel JPEGs (4:2:0) to CLIP's 224 px input: a test pattern, and the same under heavy per-pixel noise (the
  // hardest case for both the entropy decoding and the reduced scale)
  const on = new ImageProcessor({ size: 224, cropSize: 224 }),
    off = new ImageProcessor({ size: 224, cropSize: 224, jpegScaling: false });
  for (const [name, vf, what] of [
    ["photo-12mp-clean.jpg", "format=yuvj420p", "a clean 12 MP picture"],
    ["photo-12mp.jpg", "noise=alls=24:allf=t,format=yuvj420p", "a 12 MP picture under heavy noise"],
  ]) {
    const jpg = make(name, ["-f", "lavfi", "-i", "testsrc2=size=4000x3000", "-vf", vf, "-frames:v", "1", "-q:v", "3"]);
    const bytes = new Uint8Array(readFileSync(jpg));
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    const scaled = await timed(() => on.process([bytes]), 5);
    const rssScaled = process.memoryUsage().rss - rss0;
    const full = await timed(() => off.process([bytes]), 3);
    let sum = 0,
      max = 0;
    for (let i = 0; i < scaled.out.data.length; i++) {
      const d = Math.abs(scaled.out.data[i] - full.out.data[i]) * 0.27 * 255;
      sum += d;
      max = Math.max(max, d);
    }
    lines.push(
      `large JPEG, ${what} (${(bytes.length / 2 ** 20).toFixed(1)} MB) to 224x224 pixel ` +
        `values: ${scaled.ms.toFixed(0)} ms decoding at 1/8 scale = ${(scaled.ms / full.ms).toFixed(2)}x a full ` +
        `decode + resize's ${full.ms.toFixed(0)} ms (target <= 500 ms); resident memory ` +
        `+${(Math.max(0, rssScaled) / 2 ** 20).toFixed(0)} MB; values ` +
        `within ${(sum / scaled.out.data.length).toFixed(2)} levels on average ` +
        `(max ${max.toFixed(1)}) of the full decode's`,
    );
  }
  for (const l of lines) console.log(l);
  return lines;
}

// `polymodal embed photo.jpg` as a user runs it, one process per call (Node's start, loading the command and the
// model, reading and decoding the file, the forward pass), on 12 MP 4:2:0 JPEGs: a clean picture, one the size of a
// phone photo (~4 MB), and the heavy-noise worst case -- against a bare `node -e ""` start on the same machine
// (target: <= 0.5 s and <= 150 MB for a 12 MP photo).  Each child reports its own time from its start to its exit
// and its peak resident memory (VmHWM: the parent's fork does not count, as getrusage's maxrss would after exec).
function cliEmbed() {
  const report =
    "data:text/javascript,import{readFileSync as r}from'node:fs';process.on('exit',()=>{let k=0;try{k=" +
    "+/VmHWM:\\s*(\\d+)/.exec(r('/proc/self/status','utf8'))[1]}catch{k=process.resourceUsage().maxRSS}" +
    "process.stderr.write(`\\nbench=${performance.now()} ${k}\\n`)})";
  const files = [
    ["photo-12mp-clean.jpg", "format=yuvj420p", "clean"],
    ["photo-12mp-typical.jpg", "noise=alls=14:allf=t,format=yuvj420p", "phone-photo size"],
    ["photo-12mp.jpg", "noise=alls=24:allf=t,format=yuvj420p", "heavy noise"],
  ].map(([name, vf, what]) => ({
    what,
    file: make(name, ["-f", "lavfi", "-i", "testsrc2=size=4000x3000", "-vf", vf, "-frames:v", "1", "-q:v", "3"]),
  }));
  const child = (args) => {
    const r = spawnSync(process.execPath, ["--import", report, ...args], { encoding: "utf8" });
    const m = /bench=([\d.]+) (\d+)/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`bench: node ${args.join(" ")} failed: ${r.stderr}`);
    return { ms: Number(m[1]), kb: Number(m[2]) };
  };
  const rounds = 7,
    bare = [],
    runs = files.map(() => []);
  for (let r = 0; r < rounds; r++) {
    // interleaved, so the machine's load falls on every case alike
    bare.push(child(["-e", ""]).ms);
    files.forEach((f, i) => runs[i].push(child(["bin/polymodal.js", "embed", f.file])));
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const b = med(bare);
  return files.map((f, i) => {
    const ms = med(runs[i].map((x) => x.ms)),
      mb = Math.max(...runs[i].map((x) => x.kb)) / 1024;
    return (
      `polymodal embed, a 12 MP JPEG (${what(f)}): ${(ms / 1000).toFixed(2)} s = ${(ms / b).toFixed(1)}x a bare ` +
      `Node start's ${(b / 1000).toFixed(2)} s; peak ${mb.toFixed(0)} MB (target <= 0.5 s, <= 150 MB)`
    );
  });
}

function what(f) {
  return `${f.what}, ${(readFileSync(f.file).length / 2 ** 20).toFixed(1)} MB`;
}
