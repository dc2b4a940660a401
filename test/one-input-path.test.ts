// One input path for every entry point (pipelines/media-input.ts): the same file's bytes give the same embedding
// bits through the library, the CLI, the service and a worker thread, for the formats the pipelines decode (JPEG,
// PNG, WAV) and those ffmpeg decodes (WebP, MP3).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { beforeAll, describe, expect, it } from "vitest";
import { allValues, init, loadPretrained, mediaInput, wrapWorker, type PipelineHost } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const hasFfmpeg = spawnSync("ffmpeg", ["-version"]).status === 0;
const tmp = mkdtempSync(join(tmpdir(), "polymodal-input-"));

/** name -> [file, kind, model] */
const files: Record<string, [string, "image" | "audio", string]> = {};

function ffmpeg(...args: string[]): void {
  const r = spawnSync("ffmpeg", ["-v", "error", "-y", ...args]);
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(" ")}: ${r.stderr}`);
}

/** The JPEG with an APP1 Exif segment saying `orientation` right after its SOI. */
function withOrientation(b: Uint8Array, orientation: number): Uint8Array {
  // a little-endian TIFF header and one IFD entry: tag 0x0112 (orientation), type SHORT, count 1
  const tiff = [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0, 0, 0, 0, 0];
  const body = [...Array.from("Exif\u0000\u0000", (ch) => ch.charCodeAt(0)), ...tiff];
  const seg = [0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
  return Uint8Array.from([0xff, 0xd8, ...seg, ...b.subarray(2)]);
}

/** A service on the shipped models (in process; its workers are threads), stopped after `f`. */
async function withService<T>(options: object, f: (url: string) => Promise<T>): Promise<T> {
  const { startService } = await import(pathToFileURL(join(root, "dist/server/app.js")).href);
  const service = await startService({ modelsDir: join(root, "models"), port: 0, workers: 1, ...options });
  try {
    return await f(service.url);
  } finally {
    await service.close();
  }
}

/** polymodal/worker in a worker thread, its runtime started, terminated after `f`. */
async function withHost<T>(f: (host: ReturnType<typeof wrapWorker<PipelineHost>>) => Promise<T>): Promise<T> {
  const w = new Worker(join(root, "dist/worker.js"));
  try {
    const host = wrapWorker<PipelineHost>(w);
    await host.init();
    return await f(host);
  } finally {
    await w.terminate();
  }
}

/** POST a JSON body; the status and the parsed answer. */
async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

const bits = (v: Float32Array | number[]): string => Buffer.from(Float32Array.from(v).buffer).toString("hex");

beforeAll(async () => {
  const images = join(root, "test/fixtures/images");
  const speech = join(root, "test/fixtures/speech");
  const wav = join(speech, readdirSync(speech).find((f) => f.endsWith(".wav"))!);
  files.JPEG = [join(images, "photo420.jpg"), "image", "clip-scenes"];
  files.PNG = [join(images, "rgb.png"), "image", "clip-scenes"];
  files.WAV = [wav, "audio", "audio-events"];
  if (hasFfmpeg) {
    ffmpeg("-i", files.PNG[0], "-c:v", "libwebp", "-quality", "80", join(tmp, "rgb.webp"));
    ffmpeg("-i", wav, "-c:a", "libmp3lame", "-b:a", "64k", join(tmp, "speech.mp3"));
    files.WebP = [join(tmp, "rgb.webp"), "image", "clip-scenes"];
    files.MP3 = [join(tmp, "speech.mp3"), "audio", "audio-events"];
  }
  await init();
}, 60_000);

describe.skipIf(!hasFfmpeg)("one input path", () => {
  it("the library, the CLI, the service and a worker give the same bits for JPEG, PNG, WebP, MP3 and WAV", async () => {
    // the library: a file's bytes through mediaInput, then the pipeline
    const lib: Record<string, string> = {};
    for (const [name, [file, kind, model]] of Object.entries(files)) {
      const p = await loadPretrained(model as "clip-scenes");
      const fromBytes = await mediaInput(kind, new Uint8Array(readFileSync(file)));
      const fromPath = await mediaInput(kind, file);
      lib[name] = bits(allValues(p.embedBatch(kind, [fromBytes as never]))[0]);
      expect(bits(allValues(p.embedBatch(kind, [fromPath as never]))[0]), `${name}: path vs bytes`).toBe(lib[name]);
    }
    // the WebP and MP3 are real decodes, not a format the pipeline refused
    expect(lib.WebP).not.toBe(lib.PNG);
    expect(lib.MP3).not.toBe(lib.WAV);

    // the CLI
    for (const [name, [file]] of Object.entries(files)) {
      const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "embed", file], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(bits(JSON.parse(r.stdout).embedding), `CLI ${name}`).toBe(lib[name]);
    }

    // the service (in process; its workers are threads)
    await withService({}, async (url) => {
      for (const [name, [file, kind, model]] of Object.entries(files)) {
        const r = await postJson(`${url}/v1/embed`, {
          model,
          inputs: [{ [kind]: readFileSync(file).toString("base64") }],
        });
        expect(r.status, JSON.stringify(r.json)).toBe(200);
        expect(bits(r.json.embeddings[0]), `service ${name}`).toBe(lib[name]);
      }
      // a raw WebP body, by its Content-Type
      const raw = await fetch(`${url}/v1/embed?model=clip-scenes`, {
        method: "POST",
        headers: { "content-type": "image/webp" },
        body: readFileSync(files.WebP[0]),
      });
      expect(bits((await raw.json()).embeddings[0])).toBe(lib.WebP);
    });

    // a worker thread hosting the pipelines (polymodal/worker)
    await withHost(async (host) => {
      await host.load("clip-scenes");
      await host.load("audio-events");
      for (const [name, [file, kind, model]] of Object.entries(files)) {
        const b = new Uint8Array(readFileSync(file));
        const e = kind === "image" ? (await host.embedImages(model, [b]))[0] : await host.embedAudio(model, b);
        expect(bits(e), `worker ${name}`).toBe(lib[name]);
      }
    });
  }, 180_000);

  it("EXIF orientation is one option, honoured alike by the library, the CLI, the service and a worker", async () => {
    const turned = withOrientation(new Uint8Array(readFileSync(files.JPEG[0])), 6);
    const file = join(tmp, "turned.jpg");
    writeFileSync(file, turned);
    const lib = bits((await loadPretrained("clip-scenes", { exifTranspose: true })).embedImages([turned])[0]);
    const asStored = bits((await loadPretrained("clip-scenes")).embedImages([turned])[0]);
    expect(lib).not.toBe(asStored); // a quarter turn is another picture
    const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "embed", file, "--exif"], {
      encoding: "utf8",
    });
    expect(bits(JSON.parse(r.stdout).embedding)).toBe(lib);
    const turnedB64 = Buffer.from(turned).toString("base64");
    await withService({ exifTranspose: true }, async (url) => {
      const r = await postJson(`${url}/v1/embed`, { model: "clip-scenes", inputs: [{ image: turnedB64 }] });
      expect(bits(r.json.embeddings[0])).toBe(lib);
      expect(r.json.version).toMatch(/^clip-scenes@[0-9a-f]{16}\+exif$/); // another stamp: indexes do not mix the two
    });
    await withHost(async (host) => {
      await host.load("clip-scenes", { exifTranspose: true });
      expect(bits((await host.embedImages("clip-scenes", [turned]))[0])).toBe(lib);
    });
  }, 120_000);

  it("a format nothing reads is refused by name, per input, with the rest of the request answered", async () => {
    const heic = new Uint8Array(64);
    heic.set(new TextEncoder().encode("\u0000\u0000\u0000\u0018ftypheic"), 0);
    await expect(mediaInput("image", heic)).rejects.toThrow(/HEIC images are not supported/);
    // a corrupt MP3's error names it, not the temporary copy it was read from
    const bad = new Uint8Array(512).fill(7);
    bad.set(new TextEncoder().encode("ID3"), 0);
    const err = await mediaInput("audio", bad).catch((e) => e);
    expect([err.code, err.message]).toEqual(["bad_input", expect.stringMatching(/the MP3 audio/)]);
    expect(err.message).not.toMatch(/polymodal-media-/);
    // bytes of another kind go to the pipeline, whose decoder says what they are
    const png = new Uint8Array(readFileSync(files.PNG[0]));
    expect(await mediaInput("audio", png)).toBe(png);
    await withService({}, async (url) => {
      const inputs = [
        { image: readFileSync(files.PNG[0]).toString("base64") },
        { image: Buffer.from(heic).toString("base64") },
      ];
      const r = await postJson(`${url}/v1/embed`, { model: "clip-scenes", inputs });
      expect([r.status, r.json.field, r.json.message]).toEqual([
        400,
        "body.inputs[1].image",
        expect.stringMatching(/HEIC/),
      ]);
    });
  }, 60_000);
});
