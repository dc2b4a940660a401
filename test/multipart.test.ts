// Uploads as clients send them: multipart/form-data (`curl -F file=@photo.jpg`) on /v1/embed, /v1/embeddings,
// /v1/index and /v1/transcribe -- the library's exact values, any format the CLI reads, bounded (file size, file
// count, fields), and a 415 that says what a route takes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init, loadPretrained, type ImageTextEmbedder, type SpeechRecognizer } from "../src/index.js";
import { startServe, type Running } from "./harness/servers.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pm-form-"));
const jpegPath = join(root, "test/fixtures/images/photo420.jpg");
const wavPath = join(root, "test/fixtures/speech/0000.wav");
const jpeg = readFileSync(jpegPath);
const hasFfmpeg = spawnSync("ffmpeg", ["-version"], { stdio: "ignore" }).status === 0;
let svc: Running, clip: ImageTextEmbedder, asr: SpeechRecognizer;

const send = async (path: string, form: FormData): Promise<{ status: number; json: any }> => {
  const r = await fetch(svc.url + path, { method: "POST", body: form });
  return { status: r.status, json: await r.json() };
};
const file = (bytes: Uint8Array, type: string): Blob => new Blob([new Uint8Array(bytes)], { type });
const same = (got: ArrayLike<number>, want: Float32Array): void =>
  expect(Array.from(Float32Array.from(got))).toEqual(Array.from(want));

beforeAll(async () => {
  await init();
  [clip, asr] = await Promise.all([loadPretrained("clip-scenes"), loadPretrained("asr-words")]);
  svc = await startServe(["--workers", "1", "--index", join(tmp, "index"), "--max-body-mb", "1", "--max-batch", "4"]);
}, 90_000);
afterAll(async () => {
  await svc?.stop();
});

describe("multipart/form-data uploads", () => {
  it("curl -F on /v1/embed: texts and files in order, the library's exact values", () => {
    const r = spawnSync(
      "curl",
      ["-sS", "-F", "model=clip-scenes", "-F", "text=a red circle", "-F", `file=@${jpegPath}`, `${svc.url}/v1/embed`],
      { encoding: "utf8", timeout: 30_000 },
    );
    if (r.error) throw r.error;
    const j = JSON.parse(r.stdout);
    expect(j.embeddings).toHaveLength(2);
    same(j.embeddings[0], clip.embedTexts(["a red circle"])[0]);
    same(j.embeddings[1], clip.embedImages([new Uint8Array(jpeg)])[0]);
  });

  it("/v1/embeddings, /v1/transcribe and /v1/index take forms too", async () => {
    const f = new FormData();
    f.append("model", "clip-scenes");
    f.append("input", "two blue squares");
    f.append("file", file(jpeg, "application/octet-stream"), "photo"); // its kind from its bytes
    f.append("encoding_format", "float");
    const e = await send("/v1/embeddings", f);
    expect(e.status).toBe(200);
    same(e.json.data[0].embedding, clip.embedTexts(["two blue squares"])[0]);
    same(e.json.data[1].embedding, clip.embedImages([new Uint8Array(jpeg)])[0]);

    const wav = readFileSync(wavPath);
    const t = new FormData();
    t.append("audio", file(wav, "audio/wav"), "0000.wav");
    t.append("beam", "4");
    const got = await send("/v1/transcribe", t);
    expect(got.status).toBe(200);
    expect(got.json.text).toBe(asr.transcribe(new Uint8Array(wav), { beamWidth: 4 }).text);

    const ix = new FormData();
    ix.append("id", "upload/photo");
    ix.append("metadata", JSON.stringify({ user: "ana" }));
    ix.append("image", file(jpeg, "image/jpeg"), "photo.jpg");
    const added = await send("/v1/index", ix);
    expect([added.status, added.json.added]).toEqual([200, 1]);
    const s = await fetch(`${svc.url}/v1/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: { image: jpeg.toString("base64") }, k: 1 }),
    });
    expect((await s.json()).results[0]).toMatchObject({ id: "upload/photo", metadata: { user: "ana" } });
  });

  it.skipIf(!hasFfmpeg)("any format the CLI reads: a WebP through ffmpeg", async () => {
    const webp = join(tmp, "photo.webp");
    spawnSync("ffmpeg", ["-v", "error", "-y", "-i", jpegPath, "-c:v", "libwebp", "-lossless", "1", webp]);
    const f = new FormData();
    f.append("model", "clip-scenes");
    f.append("file", file(readFileSync(webp), "image/webp"), "photo.webp");
    const r = await send("/v1/embed", f);
    expect(r.status).toBe(200);
    expect(r.json.embeddings[0]).toHaveLength(64);
  });

  it("bounded and explicit: unknown fields, unreadable files, too large or too many files, wrong types", async () => {
    const extra = new FormData();
    extra.append("model", "clip-scenes");
    extra.append("colour", "red");
    const a = await send("/v1/embed", extra);
    expect([a.status, a.json.message]).toEqual([
      400,
      expect.stringMatching(/"colour" is not taken here .*model, text/),
    ]);

    const pdf = new FormData();
    pdf.append("model", "clip-scenes");
    pdf.append("file", file(new TextEncoder().encode("%PDF-1.4 not media"), "application/pdf"), "x.pdf");
    const b = await send("/v1/embed", pdf);
    expect([b.status, b.json.message]).toEqual([
      415,
      expect.stringMatching(/not a file this service reads \(PNG, JPEG/),
    ]);

    const none = new FormData();
    none.append("model", "clip-scenes");
    const n = await send("/v1/embeddings", none);
    expect([n.status, n.json.error.param]).toEqual([400, "input"]);

    const big = new FormData();
    big.append("model", "clip-scenes");
    big.append("file", file(new Uint8Array(1024 * 1024 + 10), "image/png"), "big.png");
    expect((await send("/v1/embed", big)).status).toBe(413);

    const many = new FormData();
    many.append("model", "clip-scenes");
    for (let i = 0; i < 5; i++) many.append("file", file(jpeg, "image/jpeg"), `p${i}.jpg`);
    expect((await send("/v1/embed", many)).status).toBe(413);

    // a route that takes no forms, and a type no route takes: a 415 naming what it takes
    const s = await send("/v1/search", extra);
    expect([s.status, s.json.message]).toEqual([415, expect.stringMatching(/takes application\/json/)]);
    const xml = await fetch(`${svc.url}/v1/embed`, {
      method: "POST",
      headers: { "content-type": "application/xml" },
      body: "<x/>",
    });
    expect(xml.status).toBe(415);
    expect((await xml.json()).message).toMatch(
      /POST \/v1\/embed takes application\/json, multipart\/form-data, image\/png/,
    );
  });
});
