// The `polymodal` command as a user runs it (node bin/polymodal.js, built dist/): index a folder with a broken
// file in it, resume, search by text / image / audio / video, transcribe, embed, info, and the exit codes of
// bad usage and bad files.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, copyFileSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pm-cli-"));
const coll = join(tmp, "collection");
let truth: Record<string, Record<string, string>>;

function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), ...args], {
    encoding: "utf8",
    cwd: tmp,
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  const { writeSampleCollection } = await import("../scripts/sample-collection.mjs");
  truth = writeSampleCollection(coll, { scenes: 24, sounds: 16, clips: 10, speech: 3 });
  writeFileSync(
    join(coll, "images", "broken.png"),
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 1, 2, 3]),
  );
  writeFileSync(join(coll, "notes.txt"), "not media");
}, 60_000);

describe("polymodal CLI", () => {
  it("indexes a folder, skipping an unreadable file with a warning", () => {
    const r = cli("index", coll, "--quiet");
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: skipped images\/broken\.png: decodePng/);
    expect(r.out).toMatch(/indexed 53 new or changed files \(0 unchanged, 1 skipped as unreadable, 2 not media\)/);
    expect(r.out).toMatch(/24 images, 19 sounds, 10 videos/); // 16 sound events + 3 speech WAVs
    const manifest = JSON.parse(readFileSync(join(coll, ".polymodal", "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({
      version: 2,
      store: "file",
      failed: { "images/broken.png": expect.stringMatching(/decodePng/) },
    });
    // one file store per space: a snapshot and the log of what was added since (src/app/file-store.ts)
    expect(readdirSync(join(coll, ".polymodal")).sort()).toEqual([
      "audio.1.log",
      "audio.1.pmx",
      "image.1.log",
      "image.1.pmx",
      "manifest.json",
      "video.1.log",
      "video.1.pmx",
    ]);
  }, 120_000);

  it("resumes: a second run embeds only new or changed files", () => {
    copyFileSync(join(coll, "images", Object.keys(truth.images)[0].slice(7)), join(coll, "images", "copy.png"));
    const f = join(coll, Object.keys(truth.images)[1]);
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    const r = cli("index", coll, "--quiet");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/indexed 2 new or changed files \(52 unchanged, 1 skipped/);
    expect(r.out).toMatch(/25 images/);
  }, 120_000);

  it("searches by text (images and videos), by image, by sound and by video", () => {
    const idx = ["--index", join(coll, ".polymodal")];
    const caption = Object.values(truth.images)[3];
    const t = JSON.parse(cli("search", caption, ...idx, "-k", "3", "--json").out);
    // one ranked list per space (each its own model's scores), never one merged list
    expect(t.results).toBeUndefined();
    expect(t.groups.map((g: any) => [g.space, g.model, g.results.length])).toEqual([
      ["image", "clip-scenes", 3],
      ["video", "video-text", 3],
    ]);
    expect(truth.images[t.groups[0].results[0].path]).toBe(caption);
    const img = Object.keys(truth.images)[5];
    const i = JSON.parse(cli("search", "--image", join(coll, img), ...idx, "--json").out);
    // the query itself is left out
    expect(i.results.every((r: any) => r.space === "image" && r.path !== img)).toBe(true);
    const snd = Object.keys(truth.sounds)[2];
    const a = JSON.parse(cli("search", "--audio", join(coll, snd), ...idx, "-k", "1", "--json").out);
    expect(a.results).toHaveLength(1);
    expect(a.results[0].space).toBe("audio");
    const vid = Object.keys(truth.videos)[0];
    const v = cli("search", "--video", join(coll, vid), ...idx, "-k", "2");
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^videos:\n {2}[0-9.]+ {2}.*\.y4m\n {2}[0-9.]+ {2}.*\.y4m\n\(\d+ ms; index .*\.polymodal\)/);
  }, 120_000);

  it("transcribes a WAV and embeds files and text as JSON", () => {
    const [wav, text] = Object.entries(truth.speech)[0];
    const t = cli("transcribe", join(coll, wav));
    expect(t.code).toBe(0);
    expect(t.out.trim()).toBe(text);
    const q = cli("transcribe", join(coll, wav), "--int8"); // the int8 model hears the same words here
    expect([q.code, q.out.trim()]).toEqual([0, text]);
    const e = JSON.parse(cli("embed", join(coll, Object.keys(truth.sounds)[0])).out);
    expect([e.modality, e.model, e.dim, e.embedding.length]).toEqual(["audio", "audio-events", 32, 32]);
    const x = JSON.parse(cli("embed", "--text", "a red circle that grows", "--space", "video").out);
    expect([x.model, x.dim]).toEqual(["video-text", 64]);
    expect(Math.hypot(...x.embedding)).toBeCloseTo(1, 5);
  }, 60_000);

  it("embed gives a photo the library's bits for its bytes (a large JPEG decoded at reduced scale, as the service " +
    "does)", async () => {
    const { default: encodeJpeg } = await import("jpeg-js/lib/encoder.js");
    const { init, loadPretrained } = await import("../src/index.js");
    const W = 1600,
      H = 1200,
      data = new Uint8Array(W * H * 4);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 4;
        data[i] = (x * 255) / W;
        data[i + 1] = (y * 255) / H;
        data[i + 2] = (x ^ y) & 64 ? 200 : 40;
        data[i + 3] = 255;
      }
    const bytes = new Uint8Array(encodeJpeg({ data, width: W, height: H }, 90).data);
    const file = join(tmp, "photo-large.jpg");
    writeFileSync(file, bytes);
    const e = JSON.parse(cli("embed", file).out);
    await init();
    const clip = await loadPretrained("clip-scenes");
    const lib = clip.embedImages([bytes])[0];
    expect(
      Buffer.from(Float32Array.from(e.embedding).buffer).equals(
        Buffer.from(lib.buffer, lib.byteOffset, lib.byteLength),
      ),
    ).toBe(true);
  }, 60_000);

  it("exports a shipped model as ONNX that onnxruntime-web runs to the same log-probabilities", async () => {
    const path = join(tmp, "asr.onnx");
    const r = cli("export", "asr-words", path);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*asr\.onnx: asr-words as ONNX; inputs mel_spec \[1, 40, 100\]/);
    const { init, loadPretrained, Tensor } = await import("../src/index.js");
    await init();
    const asr = await loadPretrained("asr-words");
    const mel = Tensor.from(
      Float32Array.from({ length: 2 * 40 * 60 }, (_, i) => Math.sin(i * 0.37)),
      [2, 40, 60],
    );
    const ort: any = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    const s = await ort.InferenceSession.create(new Uint8Array(readFileSync(path)), { executionProviders: ["wasm"] });
    const got = (await s.run({ mel_spec: new ort.Tensor("float32", mel.data, [2, 40, 60]) })).log_probs;
    const ref = asr.model.forward(mel);
    expect([...got.dims]).toEqual(ref.shape);
    let worst = 0;
    for (let i = 0; i < ref.size; i++)
      worst = Math.max(worst, Math.abs(got.data[i] - ref.data[i]) / Math.max(1, Math.abs(ref.data[i])));
    expect(worst).toBeLessThan(2e-5);
    await s.release();
    expect(cli("export", "nope", path).code).toBe(2);
    expect(cli("export", "asr-words").code).toBe(2);
  }, 60_000);

  it("info lists the shipped models and the build", () => {
    const r = cli("info");
    expect(r.code).toBe(0);
    for (const m of ["clip-scenes", "asr-words", "audio-events", "video-text"]) expect(r.out).toContain(m);
    expect(r.out).toMatch(/SIMD128 supported/);
  });

  it("--simd relaxed runs the fused multiply-add build (Node 20: the command sets V8's flag); bad values fail", () => {
    const build = (...a: string[]) => JSON.parse(cli(...a, "info", "--json").out).wasm.build;
    expect([build(), build("--simd", "relaxed"), build("--simd=exact")]).toEqual(["exact", "relaxed", "exact"]);
    const sound = join(coll, Object.keys(truth.sounds)[0]);
    const exact = JSON.parse(cli("embed", sound).out).embedding as number[];
    const relaxed = JSON.parse(cli("--simd", "relaxed", "embed", sound).out).embedding as number[];
    expect(relaxed).not.toEqual(exact); // another build: other bits ...
    const dot = exact.reduce((a, v, i) => a + v * relaxed[i], 0);
    expect(dot).toBeGreaterThan(0.99999); // ... of the same embedding
    const bad = cli("--simd", "fast", "info");
    expect([bad.code, bad.err]).toEqual([2, expect.stringMatching(/--simd must be exact or relaxed, got "fast"/)]);
  });

  it("follows command-line conventions: --version, --help per command, global flags anywhere, --flag=value", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(cli("--version")).toMatchObject({ code: 0, out: `${pkg.version}\n` });
    const h = cli("search", "--help");
    expect([h.code, h.out]).toEqual([
      0,
      expect.stringMatching(/^usage: polymodal search[\s\S]*--index DIR[\s\S]*--threads N/),
    ]);
    for (const c of ["index", "transcribe", "embed", "export", "info"])
      expect(cli(c, "-h").out).toMatch(new RegExp(`^usage: polymodal ${c}`));
    expect(cli("help", "transcribe").out).toMatch(/--beam N/);
    expect(cli("--help").out).toMatch(/commands:\n {2}index +embed every image/);
    for (const args of [
      ["--threads=2", "info", "--json"],
      ["--threads", "2", "info", "--json"],
      ["info", "--json", "--threads=2"],
    ]) {
      const r = cli(...args);
      expect([r.code, JSON.parse(r.out).wasm.threads], args.join(" ")).toEqual([0, 2]);
    }
    const bad = cli("info", "--beam", "3");
    expect([bad.code, bad.err]).toEqual([2, expect.stringMatching(/unknown option --beam for info/)]);
    expect(cli("--threads=0", "info").code).toBe(2);
  });

  it("search finds the index that index wrote, and says where; a closed pipe ends it quietly", () => {
    const s = cli("search", Object.values(truth.images)[3], "-k", "1", "--json"); // cwd holds collection/.polymodal
    expect(s.code).toBe(0);
    expect(JSON.parse(s.out).index).toBe(join(coll, ".polymodal"));
    expect(cli("search", "x", "--index", coll, "--json").code).toBe(0); // the indexed folder works too
    const piped = spawnSync(
      "bash",
      [
        "-c",
        `"${process.execPath}" "${join(root, "bin/polymodal.js")}" search "a red circle" --index "${coll}" | ` +
          `true; echo "\${PIPESTATUS[0]}"`,
      ],
      { encoding: "utf8", cwd: tmp, timeout: 60_000 },
    );
    expect([piped.stdout.trim(), piped.stderr]).toEqual(["0", ""]);
  }, 60_000);

  it("the progress bar fits an 80-column terminal and warnings print on their own line", async () => {
    const { Progress } = await import("../src/cli/progress.js");
    let written = "";
    const tty = {
      isTTY: true,
      columns: 80,
      write: (s: string) => {
        written += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const bar = new Progress(1234, "indexing", tty);
    bar.tick(5, "photos/2024/a very long folder name/that goes on and on/IMG_20240101_123456789.jpg");
    bar.log("warning: skipped x.png: decodePng: bad");
    bar.tick(6, "short.png");
    bar.done();
    const screen = written.split(/\r\x1b\[K|\n/).filter(Boolean);
    expect(
      screen.every((l) => l.length < 80),
      screen.join("|"),
    ).toBe(true);
    expect(written).toContain("\r\x1b[Kwarning: skipped x.png: decodePng: bad\n");
  });

  it("reads a file from standard input where a file is expected (-)", () => {
    const [wav, text] = Object.entries(truth.speech)[0];
    const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "transcribe", "-"], {
      input: readFileSync(join(coll, wav)),
      encoding: "utf8",
      cwd: tmp,
      timeout: 60_000,
    });
    expect([r.status, r.stdout.trim()]).toEqual([0, text]);
    const img = Object.keys(truth.images)[0];
    const e = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "embed", "-"], {
      input: readFileSync(join(coll, img)),
      encoding: "utf8",
      cwd: tmp,
      timeout: 60_000,
    });
    expect(JSON.parse(e.stdout)).toMatchObject({ modality: "image", model: "clip-scenes" });
    const none = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "embed", "-"], {
      input: "",
      encoding: "utf8",
      cwd: tmp,
      timeout: 60_000,
    });
    expect([none.status, none.stderr]).toEqual([3, expect.stringMatching(/standard input is empty/)]);
  }, 60_000);

  it("exit codes: 2 for bad usage, 3 for missing or unsupported files", () => {
    expect(cli().code).toBe(2);
    expect(cli("frobnicate").code).toBe(2);
    const bad = cli("search", "x", "--frob");
    expect([bad.code, bad.err]).toEqual([2, expect.stringMatching(/unknown option --frob/)]);
    expect(cli("search", "--k").code).toBe(2);
    expect(cli("search", "a", "-k", "0", "--index", join(coll, ".polymodal")).code).toBe(2);
    expect(cli("index").code).toBe(2);
    const missing = cli("transcribe", join(tmp, "nope.wav"));
    expect([missing.code, missing.err]).toEqual([3, expect.stringMatching(/nope\.wav: no such file/)]);
    expect(cli("transcribe", join(coll, "notes.txt")).code).toBe(3);
    expect(cli("embed", join(coll, "notes.txt")).err).toMatch(/unsupported file type/);
    expect(cli("index", join(tmp, "nowhere")).code).toBe(3);
    const noIndex = cli("search", "a red circle", "--index", join(tmp, "empty"));
    expect([noIndex.code, noIndex.err]).toEqual([1, expect.stringMatching(/no index at .*empty/)]);
    // an input whose bytes are not what they claim is exit 3 too, whatever stage finds out
    writeFileSync(join(tmp, "corrupt.wav"), new Uint8Array(64).fill(3));
    const corrupt = cli("transcribe", join(tmp, "corrupt.wav"));
    expect([corrupt.code, corrupt.err]).toEqual([3, expect.stringMatching(/decodeWav: not a RIFF\/WAVE file/)]);
    const wav = readFileSync(join(coll, Object.keys(truth.sounds)[0]));
    const png = readFileSync(join(coll, Object.keys(truth.images)[0]));
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["truncated.wav", wav.subarray(0, 1000), /decodeWav/],
      ["header-only.wav", wav.subarray(0, 44), /decodeWav|too short/],
      ["three-samples.wav", wav.subarray(0, 50), /decodeWav|too short/],
      ["corrupt.jpg", Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, ...new Uint8Array(200).fill(7)]), /decodeImage/],
      ["corrupt.png", png.subarray(0, 100), /decodePng/],
    ];
    for (const [name, bytes, why] of cases) {
      writeFileSync(join(tmp, name), bytes);
      const r = cli("embed", join(tmp, name));
      expect([name, r.code, r.err]).toEqual([name, 3, expect.stringMatching(why)]);
    }
  });
});

describe("polymodal index on hostile folders", () => {
  it("skips unreadable folders, symlink loops and odd names with a warning, escapes names, and refuses a " +
    "concurrent run", async () => {
    const {
      mkdirSync,
      symlinkSync,
      chmodSync,
      writeFileSync: wf,
      readFileSync: rf,
      existsSync,
    } = await import("node:fs");
    const dir = join(tmp, "hostile");
    mkdirSync(join(dir, "ok"), { recursive: true });
    copyFileSync(join(coll, Object.keys(truth.images)[0]), join(dir, "ok", "a.png"));
    copyFileSync(join(coll, Object.keys(truth.images)[1]), join(dir, "ok", "line\nbreak.png"));
    mkdirSync(join(dir, "locked"));
    copyFileSync(join(coll, Object.keys(truth.images)[2]), join(dir, "locked", "b.png"));
    chmodSync(join(dir, "locked"), 0o000);
    symlinkSync("loop2", join(dir, "loop1"));
    symlinkSync("loop1", join(dir, "loop2"));
    symlinkSync(".", join(dir, "ok", "self")); // a link back up the tree
    const asRoot = process.getuid?.() === 0; // root reads a 000 folder anyway
    const r = cli("index", dir, "--quiet");
    chmodSync(join(dir, "locked"), 0o755);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: skipped loop1: symbolic link loop/);
    if (!asRoot) expect(r.err).toMatch(/warning: skipped locked: cannot read the folder \(EACCES\)/);
    expect(r.out).toMatch(
      asRoot
        ? /indexed 3 new or changed files \(0 unchanged, 2 skipped as unreadable/
        : /indexed 2 new or changed files \(0 unchanged, 3 skipped as unreadable/,
    );
    const s = cli("search", "x", "--index", dir, "-k", "5");
    expect(s.out).toContain(JSON.stringify(join(dir, "ok", "line\nbreak.png")));
    // a live lock (this test process's pid) makes a second run refuse; a stale one is taken over
    wf(join(dir, ".polymodal", "index.lock"), String(process.pid));
    const busy = cli("index", dir, "--quiet");
    expect([busy.code, busy.err]).toEqual([1, expect.stringMatching(/is being written by pid \d+ on this host/)]);
    wf(join(dir, ".polymodal", "index.lock"), "999999999");
    expect(cli("index", dir, "--quiet").code).toBe(0);
    expect(existsSync(join(dir, ".polymodal", "index.lock"))).toBe(false);
    expect(rf(join(dir, ".polymodal", "image.1.log")).toString("latin1")).toContain("ok/a.png");
  }, 120_000);
});

describe("files: nothing left behind, nothing dropped silently", () => {
  it("an atomic save that fails removes its temporary file; a non-UTF-8 file name is reported", async () => {
    const { mkdirSync, readdirSync: rd, writeFileSync: wf } = await import("node:fs");
    const { nodeFs } = await import("../src/io/node-fs.js");
    const dir = join(tmp, "atomic");
    mkdirSync(join(dir, "target.bin"), { recursive: true }); // renaming a file over a folder fails after the write
    const fsx = await nodeFs("no fs");
    await expect(fsx.saveBytesAtomic(join(dir, "target.bin"), new Uint8Array(10))).rejects.toThrow();
    expect(rd(dir)).toEqual(["target.bin"]); // no *.tmp left
    // a file whose name is not valid UTF-8
    const odd = join(tmp, "oddnames");
    mkdirSync(odd);
    copyFileSync(join(coll, Object.keys(truth.images)[0]), join(odd, "ok.png"));
    wf(Buffer.concat([Buffer.from(odd + "/"), Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x70, 0x6e, 0x67])]), "x");
    const r = cli("index", odd, "--quiet");
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: skipped .*: the name is not valid UTF-8/);
    expect(r.out).toMatch(/indexed 1 new or changed files \(0 unchanged, 1 skipped as unreadable/);
    // the input limits are the user's to set from the command line
    const img = join(odd, "ok.png");
    const tight = cli("embed", img, "--max-pixels", "100");
    expect([tight.code, tight.err]).toEqual([
      1,
      expect.stringMatching(/exceeds the limit of 100 \(limits\.maxPixels\)/),
    ]);
    expect(cli("embed", img, "--max-pixels=100000000").code).toBe(0);
    const wav = join(root, "test/fixtures/audio/speech_44k.wav"); // 1.5 s
    expect(cli("transcribe", wav, "--max-seconds", "1").err).toMatch(
      /exceeds the limit of 1 s \(limits\.maxAudioSeconds, or the maxSeconds option\)/,
    );
  }, 60_000);
});
