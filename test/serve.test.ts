// `polymodal serve` as a deployer runs it: started on an ephemeral loopback port by the test, every route, every
// error class, auth, the queue bound, deadlines, graceful shutdown with requests in flight, a Redis cache shared by
// two service processes, and embeddings bit-identical to the library's own calls.
import { mkdtempSync, readFileSync, writeFileSync, existsSync, cpSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { request } from "node:http";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  init,
  loadPretrained,
  decodeY4M,
  type ImageTextEmbedder,
  type AudioEmbedder,
  type VideoTextEmbedder,
  type SpeechRecognizer,
  type Transcript,
} from "../src/index.js";
import { startServe, startRedis, hasRedis, type Running } from "./harness/servers.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pm-serve-"));
const coll = join(tmp, "collection");
let truth: Record<string, Record<string, string>>;
let clip: ImageTextEmbedder, sounds: AudioEmbedder, vt: VideoTextEmbedder, asr: SpeechRecognizer;
let main: Running;

const file = (rel: string): Buffer => readFileSync(join(coll, rel));
const b64 = (rel: string): string => file(rel).toString("base64");

/**
 * A POST that announces `bytes` of body and sends only its start: the service must refuse it from the
 * Content-Length alone (413) without reading the body (sending it all races the server's close with EPIPE).
 */
function postAnnounced(base: string, path: string, bytes: number): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      base + path,
      { method: "POST", headers: { "content-type": "application/json", "content-length": bytes } },
      (res) => {
        let text = "";
        res
          .setEncoding("utf8")
          .on("data", (d) => {
            text += d;
          })
          .on("end", () => {
            req.destroy();
            try {
              resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
            } catch (e) {
              reject(e);
            }
          });
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE" && e.code !== "ECONNRESET") reject(e);
    });
    req.write(`{"model":"clip-scenes","inputs":[{"text":"${"x".repeat(1000)}`);
  });
}

async function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const raw = typeof body === "string" || body instanceof Uint8Array;
  const r = await fetch(base + path, {
    method: "POST",
    body: raw ? (body as BodyInit) : JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
  const text = await r.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, json, headers: r.headers };
}

/** post(), with a failure below HTTP (a reset connection) as status 0 and the error's cause in json.message. */
async function postOrError(
  base: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: any; headers: Headers }> {
  try {
    return await post(base, path, body);
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause;
    return { status: 0, json: { message: `${(e as Error).message}: ${cause?.message ?? ""}` }, headers: new Headers() };
  }
}

/** The same float32 bits: a JSON number array read back as float32 against the library's Float32Array. */
function sameBits(json: number[], lib: Float32Array): void {
  expect(json.length).toBe(lib.length);
  const back = Float32Array.from(json);
  expect(Buffer.from(back.buffer).equals(Buffer.from(lib.buffer, lib.byteOffset, lib.byteLength))).toBe(true);
}

const metric = (text: string, name: string, labels = ""): number => {
  const line = text.split("\n").find((l) => l.startsWith(name + (labels ? `{${labels}` : "")) && !l.startsWith("#"));
  return line ? Number(line.split(" ").pop()) : 0;
};

beforeAll(async () => {
  const { writeSampleCollection } = await import("../scripts/sample-collection.mjs");
  truth = writeSampleCollection(coll, { scenes: 12, sounds: 4, clips: 3, speech: 2 });
  await init();
  [clip, sounds, vt, asr] = await Promise.all([
    loadPretrained("clip-scenes"),
    loadPretrained("audio-events"),
    loadPretrained("video-text"),
    loadPretrained("asr-words"),
  ]);
  main = await startServe(["--index", join(tmp, "served-index"), "--workers", "2"]);
}, 120_000);

afterAll(async () => {
  await main?.stop();
});

describe("polymodal serve", () => {
  it("binds loopback, answers /healthz and /readyz, and documents its routes in OpenAPI", async () => {
    expect(main.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${main.url}/healthz`)).json()).toEqual({ status: "ok" });
    const ready = await (await fetch(`${main.url}/readyz`)).json();
    expect(ready.ready).toBe(true);
    expect(Object.keys(ready.models).sort()).toEqual(["asr-words", "audio-events", "clip-scenes", "video-text"]);
    expect(ready.models["clip-scenes"]).toMatch(/^clip-scenes@[0-9a-f]{16}$/);
    const api = await (await fetch(`${main.url}/openapi.json`)).json();
    expect(api.openapi).toMatch(/^3\./);
    expect(Object.keys(api.paths).sort()).toEqual([
      "/healthz",
      "/metrics",
      "/readyz",
      "/tokenize",
      "/v1/embed",
      "/v1/embeddings",
      "/v1/index",
      "/v1/models",
      "/v1/models/{model}",
      "/v1/search",
      "/v1/transcribe",
    ]);
    expect(api.paths["/v1/embed"].post.requestBody.content["application/json"].schema.required).toEqual([
      "model",
      "inputs",
    ]);
  });

  it("/v1/embed returns exactly the library's values for text, images (batched), audio and video", async () => {
    const imgs = Object.keys(truth.images).slice(0, 5);
    const r = await post(main.url, "/v1/embed", {
      model: "clip-scenes",
      inputs: [{ text: "two small red circles" }, ...imgs.map((f) => ({ image: b64(f) }))],
    });
    expect(r.status).toBe(200);
    expect(r.json.model).toBe("clip-scenes");
    expect(r.json.dim).toBe(64);
    sameBits(r.json.embeddings[0], clip.embedTexts(["two small red circles"])[0]);
    imgs.forEach((f, i) => sameBits(r.json.embeddings[i + 1], clip.embedImages([file(f)])[0]));

    const snd = Object.keys(truth.sounds)[0];
    const a = await post(main.url, "/v1/embed", { model: "audio-events", inputs: [{ audio: b64(snd) }] });
    sameBits(a.json.embeddings[0], sounds.embed(file(snd)));

    const vid = Object.keys(truth.videos)[0];
    const v = await post(main.url, "/v1/embed", {
      model: "video-text",
      inputs: [{ video: b64(vid) }, { text: "a red circle" }],
    });
    sameBits(v.json.embeddings[0], vt.embedVideos([decodeY4M(file(vid)).frames])[0]);
    sameBits(v.json.embeddings[1], vt.embedTexts(["a red circle"])[0]);
  });

  it(
    "takes raw uploads: an image/png body with ?model=, a text/plain body, an audio/wav body to " + "transcribe",
    async () => {
      const f = Object.keys(truth.images)[2];
      const r = await post(main.url, "/v1/embed?model=clip-scenes", new Uint8Array(file(f)), {
        "content-type": "image/png",
      });
      expect(r.status).toBe(200);
      sameBits(r.json.embeddings[0], clip.embedImages([file(f)])[0]);
      const t = await post(main.url, "/v1/embed?model=clip-scenes", "a blue square", { "content-type": "text/plain" });
      sameBits(t.json.embeddings[0], clip.embedTexts(["a blue square"])[0]);
      const sp = Object.keys(truth.speech)[0];
      const tr = await post(main.url, "/v1/transcribe", new Uint8Array(file(sp)), { "content-type": "audio/wav" });
      expect(tr.status).toBe(200);
      // text, words, speech, per-word confidences and warnings: the library's values
      const served = (t: Transcript) => ({
        text: t.text,
        words: t.words,
        speech: t.speech,
        wordConfidences: t.wordConfidences,
        confidence: t.confidence,
        warnings: t.warnings,
      });
      expect(tr.json).toEqual(served(asr.transcribe(file(sp))));
      const j = await post(main.url, "/v1/transcribe", { audio: b64(sp), beam: 4 });
      expect(j.json).toEqual(served(asr.transcribe(file(sp), { beamWidth: 4 })));
      expect(j.json.text).toBe(truth.speech[sp]);
    },
  );

  it("every bad request is a 4xx JSON error naming the field, and never affects the others", async () => {
    const png = b64(Object.keys(truth.images)[0]);
    const cases: Array<[string, unknown, number, RegExp, Record<string, string>?]> = [
      ["/v1/embed", '{"model": ', 400, /not valid JSON/],
      ["/v1/embed", { model: "clip-scenes", inputs: "x" }, 400, /body\.inputs must be array/],
      ["/v1/embed", { model: "clip-scenes", inputs: [{ text: 5 }] }, 400, /body\.inputs\[0\]\.text must be string/],
      [
        "/v1/embed",
        { model: "clip-scenes", inputs: [{ image: "not base64!" }] },
        400,
        /body\.inputs\[0\]\.image is not valid base64/,
      ],
      [
        "/v1/embed",
        {
          model: "clip-scenes",
          inputs: [{ image: png }, { image: Buffer.from("corrupt PNG bytes").toString("base64") }],
        },
        400,
        /body\.inputs\[1\]\.image: decodeImage/,
      ],
      ["/v1/embed", { model: "clip-scenes", inputs: [{ audio: png }] }, 400, /clip-scenes does not embed audio/],
      [
        "/v1/embed",
        { model: "gpt-9", inputs: [{ text: "x" }] },
        400,
        /body\.model must be equal to one of the allowed values/,
      ],
      ["/v1/embed", { model: "clip-scenes", inputs: [] }, 400, /body\.inputs must NOT have fewer than 1 items/],
      [
        "/v1/embed",
        { model: "clip-scenes", inputs: Array.from({ length: 65 }, () => ({ text: "x" })) },
        400,
        /body\.inputs must NOT have more than 64 items/,
      ],
      [
        "/v1/embed",
        { model: "clip-scenes", inputs: [{ text: "x".repeat(10_001) }] },
        400,
        /body\.inputs\[0\]\.text must NOT have more than 10000 characters/,
      ],
      [
        "/v1/embed",
        { model: "clip-scenes", inputs: [{ text: "x", image: png }] },
        400,
        /must NOT have more than 1 properties/,
      ],
      [
        "/v1/embed",
        { model: "clip-scenes", inputs: [{ text: "x" }], extra: 1 },
        400,
        /must NOT have additional properties \("extra"\)/,
      ],
      [
        "/v1/embed",
        "x",
        415,
        /^POST \/v1\/embed takes application\/json, multipart\/form-data, image\/png, .*; got "application\/x-nope"$/,
        { "content-type": "application/x-nope" },
      ],
      [
        "/v1/embed",
        new Uint8Array(file(Object.keys(truth.images)[0])),
        400,
        /needs \?model=/,
        { "content-type": "image/png" },
      ],
      ["/v1/search", { query: { text: "x" }, k: 0 }, 400, /body\.k must be >= 1/],
      ["/v1/search", { query: { text: "x" }, k: "5" }, 400, /body\.k must be integer/],
      ["/v1/search", { query: { text: "x" }, k: 100_000 }, 400, /body\.k must be <= 1000/],
      ["/v1/search", { query: { text: "x" }, modality: "audio" }, 400, /a text query cannot search audio/],
      // a passage needs a text model (serve --text-model)
      ["/v1/index", { items: [{ id: "a", text: "caption" }] }, 400, /no model here embeds text items/],
      [
        "/v1/index",
        {
          items: [
            { id: "a", image: png },
            { id: "a", image: png },
          ],
        },
        400,
        /appears twice/,
      ],
      ["/v1/transcribe", { audio: png }, 400, /body\.audio: decodeWav/],
      ["/v1/transcribe", { audio: b64(Object.keys(truth.speech)[0]), beam: 0 }, 400, /body\.beam must be >= 1/],
    ];
    const results = await Promise.all(cases.map(([path, body, , , h]) => post(main.url, path, body, h)));
    results.forEach((r, i) => {
      const [path, , status, re] = cases[i];
      expect(r.status, `case ${i} ${path}: ${JSON.stringify(r.json).slice(0, 300)}`).toBe(status);
      expect(r.json.message, `case ${i}`).toMatch(re);
      expect(r.json.statusCode).toBe(status);
    });
    const big = await postAnnounced(main.url, "/v1/embed", 17 * 1024 * 1024);
    expect(big.status).toBe(413);
    expect(big.json.message).toMatch(/too large/i);
    // the service is fine afterwards and still gives the library's values
    const ok = await post(main.url, "/v1/embed", { model: "clip-scenes", inputs: [{ text: "still fine" }] });
    sameBits(ok.json.embeddings[0], clip.embedTexts(["still fine"])[0]);
  }, 60_000);

  it("/v1/index adds items and saves them; /v1/search finds them by text, image, sound and video, with " +
    "filters", async () => {
    const imgs = Object.keys(truth.images);
    const items = [
      ...imgs.map((f, i) => ({ id: f, image: b64(f), metadata: { caption: truth.images[f], even: i % 2 === 0 } })),
      ...Object.keys(truth.sounds).map((f) => ({ id: f, audio: b64(f), metadata: { label: truth.sounds[f] } })),
      ...Object.keys(truth.videos).map((f) => ({ id: f, video: b64(f) })),
    ];
    const r = await post(main.url, "/v1/index", { items });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ added: items.length, counts: { image: 12, audio: 4, video: 3 } });
    const dir = join(tmp, "served-index");
    expect(existsSync(join(dir, "image.1.log")) && existsSync(join(dir, "manifest.json"))).toBe(true);
    // the space's stamp
    expect(readFileSync(join(dir, "image.1.log")).toString("latin1")).toMatch(/"version":"clip-scenes@[0-9a-f]{16}"/);

    const caption = truth.images[imgs[3]];
    const t = await post(main.url, "/v1/search", { query: { text: caption }, k: 3, modality: "image" });
    expect(t.status).toBe(200);
    expect(t.json.results).toHaveLength(3);
    expect(t.json.results[0].metadata.caption).toBe(caption);
    expect(t.json.results[0].modality).toBe("image");
    // the library's own search over the same vectors gives the same order and scores
    const q = clip.embedTexts([caption])[0];
    const lib = imgs
      .map((f) => {
        const e = clip.embedImages([file(f)])[0];
        let s = 0;
        for (let i = 0; i < 64; i++) s += e[i] * q[i];
        return { f, s };
      })
      .sort((a, b) => b.s - a.s);
    expect(t.json.results.map((x: any) => x.id)).toEqual(lib.slice(0, 3).map((x) => x.f));

    // a text query without a modality: one ranked list per space, each its own model's, never merged
    const both = await post(main.url, "/v1/search", { query: { text: caption }, k: 2 });
    expect(both.json.results).toBeUndefined();
    expect(both.json.groups.map((g: any) => [g.space, g.model, g.results.length])).toEqual([
      ["image", "clip-scenes", 2],
      ["video", "video-text", 2],
    ]);
    for (const g of both.json.groups)
      expect(g.results.every((h: any) => h.space === g.space && h.model === g.model)).toBe(true);
    expect(both.json.groups[0].results.map((x: any) => x.id)).toEqual(lib.slice(0, 2).map((x) => x.f));
    expect(t.json.groups).toEqual([{ space: "image", model: "clip-scenes", results: t.json.results }]);
    const filtered = await post(main.url, "/v1/search", {
      query: { text: caption },
      k: 30,
      modality: "image",
      filter: { even: true },
    });
    expect(filtered.json.results).toHaveLength(6);
    expect(filtered.json.results.every((x: any) => x.metadata.even === true)).toBe(true);
    const byImage = await post(main.url, "/v1/search", { query: { image: b64(imgs[5]) }, k: 1 });
    expect(byImage.json.results[0].id).toBe(imgs[5]);
    const snd = Object.keys(truth.sounds)[1];
    expect((await post(main.url, "/v1/search", { query: { audio: b64(snd) }, k: 1 })).json.results[0].id).toBe(snd);
    const vid = Object.keys(truth.videos)[2];
    expect((await post(main.url, "/v1/search", { query: { video: b64(vid) }, k: 1 })).json.results[0]).toMatchObject({
      id: vid,
      modality: "video",
    });
    // upsert: the same id again replaces, it does not duplicate
    const again = await post(main.url, "/v1/index", {
      items: [{ id: imgs[0], image: b64(imgs[1]), metadata: { replaced: true } }],
    });
    expect(again.json.counts.image).toBe(12);
  }, 60_000);

  it(
    "/metrics: Prometheus counters by route and status, latency and batch-size histograms, queue depth, cache " +
      "hits",
    async () => {
      const q = { model: "clip-scenes", inputs: [{ text: "cached text" }] };
      await post(main.url, "/v1/embed", q);
      await post(main.url, "/v1/embed", q);
      const text = await (await fetch(`${main.url}/metrics`)).text();
      expect(
        metric(text, "polymodal_http_requests_total", 'route="/v1/embed",method="POST",status="200"'),
      ).toBeGreaterThan(3);
      expect(
        metric(text, "polymodal_http_requests_total", 'route="/v1/embed",method="POST",status="400"'),
      ).toBeGreaterThan(3);
      expect(text).toMatch(/polymodal_http_request_duration_seconds_bucket\{le="0\.005",route="\/v1\/embed"\}/);
      expect(metric(text, "polymodal_batch_size_count", 'model="clip-scenes",kind="image"')).toBeGreaterThan(0);
      expect(text).toMatch(/^polymodal_queue_depth 0$/m);
      expect(metric(text, "polymodal_cache_hits_total", 'layer="lru"')).toBeGreaterThan(0);
      expect(metric(text, "polymodal_worker_busy_seconds_total", 'worker="0"')).toBeGreaterThan(0);
      expect(metric(text, "polymodal_process_resident_memory_bytes")).toBeGreaterThan(0);
    },
  );

  it("refuses to search or add to an index built by another model version (409)", async () => {
    const dir = join(tmp, "other-version");
    const s = await startServe(["--index", dir, "--workers", "1"]);
    try {
      const f = Object.keys(truth.images)[0];
      expect((await post(s.url, "/v1/index", { items: [{ id: "x", image: b64(f) }] })).status).toBe(200);
    } finally {
      expect(await s.stop()).toBe(0);
    }
    // other models: the same weights with an edited card are another version
    const other = join(tmp, "other-models");
    cpSync(join(root, "models"), other, { recursive: true });
    const card = JSON.parse(readFileSync(join(other, "clip-scenes.json"), "utf8"));
    writeFileSync(join(other, "clip-scenes.json"), JSON.stringify({ ...card, note: "retrained" }));
    const s2 = await startServe(["--index", dir, "--workers", "1", "--models", other]);
    try {
      const r = await post(s2.url, "/v1/search", { query: { text: "x" } });
      expect(r.status).toBe(409);
      expect(r.json.message).toMatch(
        /built by clip-scenes@[0-9a-f]{16}, and the models here are clip-scenes@[0-9a-f]{16}.*not comparable/,
      );
      expect(
        (await post(s2.url, "/v1/index", { items: [{ id: "y", image: b64(Object.keys(truth.images)[1]) }] })).status,
      ).toBe(409);
    } finally {
      await s2.stop();
    }
    // the command refuses the same index
    const cli = spawnSync(
      process.execPath,
      [join(root, "bin/polymodal.js"), "search", "a red circle", "--index", dir, "--models", other],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(
      /the image index in .* was built by clip-scenes@[0-9a-f]{16}, and the models here are clip-scenes@[0-9a-f]{16}/,
    );
  }, 120_000);

  it("one writer per folder: a service holds the lock from start (an index run is refused), serves read-only " +
    "while another process writes, follows it and takes over; CORS only for the origins given", async () => {
    const dir = join(tmp, "locked");
    // another writer: a live process (sleep) named in the lock, as `polymodal index` would be
    const built = spawnSync(
      process.execPath,
      [join(root, "bin/polymodal.js"), "index", coll, "--index", dir, "--quiet"],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(built.status, built.stderr).toBe(0);
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    const stat = readFileSync(`/proc/${holder.pid}/stat`, "utf8");
    const lock = {
      pid: holder.pid,
      host: hostname(),
      boot: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
      start: stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19],
      token: "holder0",
      since: new Date().toISOString(),
    };
    writeFileSync(join(dir, "index.lock"), JSON.stringify(lock));
    const s = await startServe(["--index", dir, "--workers", "1", "--cors", "http://app.example"]);
    try {
      const ready = await (await fetch(`${s.url}/readyz`)).json();
      expect(ready.index).toEqual({ name: "locked", mode: "reader", counts: { image: 12, audio: 6, video: 3 } });
      const imgs = Object.keys(truth.images);
      const item = { items: [{ id: "x", image: b64(imgs[0]) }] };
      const r = await post(s.url, "/v1/index", item);
      expect(r.status).toBe(409);
      expect(r.json.message).toMatch(
        new RegExp(`cannot write its index: .* is being written by pid ${holder.pid} on this host`),
      );
      // the writer appends (here: the test, as the lock holder): the service's searches follow its log
      const { FileStore } = await import("../src/app/file-store.js");
      const w = await FileStore.open(join(dir, "image"), 0);
      let first: any = null;
      for await (const e of w.entries()) {
        first = e;
        break;
      }
      await w.upsert([{ ...first, id: "copy-by-holder", metadata: { by: "holder" } }]);
      await w.close();
      const seen = await post(s.url, "/v1/search", { query: { image: b64(imgs[0]) }, k: 3, filter: { by: "holder" } });
      expect(seen.json.results.map((x: any) => x.id)).toEqual(["copy-by-holder"]);
      // the holder stops: the next write takes the lock, and the service is the writer from then on
      holder.kill("SIGKILL");
      await new Promise((res) => holder.once("exit", res));
      expect((await post(s.url, "/v1/index", item)).status).toBe(200);
      expect((await (await fetch(`${s.url}/readyz`)).json()).index).toMatchObject({
        mode: "writer",
        counts: { image: 14 },
      });
      // ... so an index run on its folder is refused, naming the service, instead of writing under it
      const run = spawnSync(
        process.execPath,
        [join(root, "bin/polymodal.js"), "index", coll, "--index", dir, "--quiet"],
        { encoding: "utf8", timeout: 60_000 },
      );
      expect([run.status, run.stderr]).toEqual([
        1,
        expect.stringMatching(new RegExp(`is being written by pid ${s.proc.pid} on this host`)),
      ]);
      const allowed = await fetch(`${s.url}/healthz`, { headers: { origin: "http://app.example" } });
      expect(allowed.headers.get("access-control-allow-origin")).toBe("http://app.example");
      const other = await fetch(`${s.url}/healthz`, { headers: { origin: "http://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      holder.kill("SIGKILL");
      expect(await s.stop()).toBe(0);
    }
    expect(existsSync(join(dir, "index.lock"))).toBe(false); // released on shutdown
    // every acknowledged write is there after the restart, and --read-only never writes
    const ro = await startServe(["--index", dir, "--workers", "1", "--read-only"]);
    try {
      expect((await (await fetch(`${ro.url}/readyz`)).json()).index).toMatchObject({
        mode: "reader",
        counts: { image: 14 },
      });
      const r = await post(ro.url, "/v1/index", { items: [{ id: "y", image: b64(Object.keys(truth.images)[1]) }] });
      expect([r.status, r.json.message]).toEqual([409, expect.stringMatching(/started with --read-only/)]);
      expect(existsSync(join(dir, "index.lock"))).toBe(false);
    } finally {
      expect(await ro.stop()).toBe(0);
    }
  }, 180_000);

  it("cheap denial of service is closed: a 10 MB body of a million keys or nested 10,000 deep is a quick 400; " +
    "connections past --max-connections are dropped", async () => {
    const keys = "{" + Array.from({ length: 1_000_000 }, (_, i) => `"k${i}":0`).join(",") + "}";
    expect(keys.length).toBeGreaterThan(10_000_000 - 2_000_000);
    const deep = `{"items":[{"id":"x","image":"AA==","metadata":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}]}`;
    for (const [what, body, path, want] of [
      ["a million keys", keys, "/v1/embed", /holds more than 100000 values/],
      ["10,000 deep", deep, "/v1/index", /nests deeper than 32 levels/],
    ] as const) {
      // (the time this costs is a ratio in npm run bench -- limits, not a bound here)
      const r = await post(main.url, path, body);
      expect([what, r.status, r.json.message]).toEqual([what, 400, expect.stringMatching(want)]);
    }
    // a JPEG whose header claims 7000 x 7000: the service's own pixel budget (16 MP) refuses it from the header
    const jpg = new Uint8Array(readFileSync(join(root, "test/fixtures/images/photo420.jpg")));
    const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
    new DataView(jpg.buffer).setUint16(sof + 5, 7000);
    new DataView(jpg.buffer).setUint16(sof + 7, 7000);
    const big = await post(main.url, "/v1/embed", {
      model: "clip-scenes",
      inputs: [{ image: Buffer.from(jpg).toString("base64") }],
    });
    expect([big.status, big.json.message]).toEqual([
      400,
      expect.stringMatching(/7000x7000 = 49000000 pixels exceeds the limit of 16000000 \(limits\.maxPixels\)/),
    ]);
    // a body within the limits still parses as before, and __proto__ keys are refused as fastify does
    expect(
      (await post(main.url, "/v1/embed", '{"model":"clip-scenes","inputs":[{"text":"x"}],"__proto__":{"a":1}}')).status,
    ).toBe(400);
    const s = await startServe(["--workers", "1", "--max-connections", "6"]);
    const { connect } = await import("node:net");
    const port = Number(new URL(s.url).port);
    try {
      const socks = Array.from({ length: 20 }, () => connect(port, "127.0.0.1"));
      const closed = await Promise.all(
        socks.map(
          (c) =>
            new Promise<boolean>((res) => {
              c.on("error", () => res(true)).on("close", () => res(true));
              c.on("connect", () =>
                c.write(
                  "POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                    "100\r\n\r\n{",
                ),
              );
              setTimeout(() => res(false), 1500);
            }),
        ),
      );
      expect(closed.filter((x) => !x).length).toBeLessThanOrEqual(6); // the rest were dropped at once
      for (const c of socks) c.destroy();
    } finally {
      await s.stop();
    }
  }, 120_000);

  it("needs the bearer token on every route but /healthz when started with one; no index: 404", async () => {
    const s = await startServe(["--workers", "1"], { POLYMODAL_TOKEN: "s3cret-token" });
    try {
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      for (const path of ["/readyz", "/metrics", "/openapi.json"]) expect((await fetch(s.url + path)).status).toBe(401);
      const r = await post(s.url, "/v1/embed", { model: "clip-scenes", inputs: [{ text: "x" }] });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(
        (
          await post(
            s.url,
            "/v1/embed",
            { model: "clip-scenes", inputs: [{ text: "x" }] },
            { authorization: "Bearer wrong-token" },
          )
        ).status,
      ).toBe(401);
      const auth = { authorization: "Bearer s3cret-token" };
      expect((await post(s.url, "/v1/embed", { model: "clip-scenes", inputs: [{ text: "x" }] }, auth)).status).toBe(
        200,
      );
      // the scheme is case-insensitive (RFC 7235)
      expect(
        (
          await post(
            s.url,
            "/v1/embed",
            { model: "clip-scenes", inputs: [{ text: "x" }] },
            { authorization: "bearer s3cret-token" },
          )
        ).status,
      ).toBe(200);
      const noIndex = await post(s.url, "/v1/search", { query: { text: "x" } }, auth);
      expect(noIndex.status).toBe(404);
      expect(noIndex.json.message).toMatch(/--index/);
      // no CORS headers unless asked
      expect(
        (await fetch(`${s.url}/healthz`, { headers: { origin: "http://evil.example" } })).headers.get(
          "access-control-allow-origin",
        ),
      ).toBeNull();
    } finally {
      await s.stop();
    }
  }, 120_000);

  it("bounds the queue: under overload only 200 and 429 (with Retry-After), and /healthz answers while every " +
    "worker is busy", async () => {
    const s = await startServe(["--workers", "1", "--max-queue", "4", "--cache-size", "0"]);
    // a request that fails below HTTP (a reset connection) is a status 0 naming why, so a failure says what happened
    const post = (base: string, path: string, body: unknown) => postOrError(base, path, body);
    try {
      const imgs = Object.keys(truth.images),
        vids = Object.keys(truth.videos);
      // one long batch (64 clips) keeps the only worker busy while the overload arrives
      let heavyDone = Infinity;
      const heavy = post(s.url, "/v1/embed", {
        model: "video-text",
        inputs: Array.from({ length: 64 }, (_, j) => ({ video: b64(vids[j % vids.length]) })),
      }).then((r) => {
        heavyDone = performance.now();
        return r;
      });
      // the overload starts once the worker has the long batch (not before: arriving behind the flood, it would be
      // refused too)
      for (
        let i = 0;
        i < 1000 && metric(await (await fetch(`${s.url}/metrics`)).text(), "polymodal_workers_busy") < 1;
        i++
      )
        await new Promise((r) => setTimeout(r, 10));
      const bodies = Array.from({ length: 40 }, (_, i) => ({
        model: "clip-scenes",
        inputs: Array.from({ length: 2 }, (_, j) => ({ image: b64(imgs[(i + j) % imgs.length]) })),
      }));
      const all = bodies.map((b) => post(s.url, "/v1/embed", b));
      const h = await fetch(`${s.url}/healthz`);
      const healthzAt = performance.now();
      expect(h.status).toBe(200);
      expect(healthzAt).toBeLessThan(heavyDone); // answered while the worker was busy
      const hv = await heavy;
      expect(hv.status, JSON.stringify(hv.json).slice(0, 500)).toBe(200);
      const rs = await Promise.all(all);
      const statuses = rs.map((r) => r.status);
      expect(
        statuses.every((x) => x === 200 || x === 429),
        JSON.stringify(rs.filter((r) => r.status !== 200 && r.status !== 429).map((r) => [r.status, r.json])),
      ).toBe(true);
      expect(statuses.filter((x) => x === 429).length).toBeGreaterThan(0);
      expect(statuses.filter((x) => x === 200).length).toBeGreaterThan(0);
      const limited = rs.find((r) => r.status === 429)!;
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(limited.json.message).toMatch(/queue is full/);
      const m = await (await fetch(`${s.url}/metrics`)).text();
      expect(metric(m, "polymodal_rejected_total", 'reason="queue_full"')).toBe(
        statuses.filter((x) => x === 429).length,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\nserver stderr: ${s.err().slice(-3000)}`);
    } finally {
      await s.stop();
    }
  }, 120_000);

  it("gives every request a deadline: past it 504 and queued work is dropped; the service goes on", async () => {
    const s = await startServe(["--workers", "1", "--timeout-ms", "150", "--cache-size", "0", "--max-queue", "10000"]);
    try {
      const imgs = Object.keys(truth.images);
      const bodies = Array.from({ length: 12 }, (_, i) => ({
        model: "clip-scenes",
        inputs: Array.from({ length: 64 }, (_, j) => ({ image: b64(imgs[(i * 7 + j) % imgs.length]) })),
      }));
      const rs = await Promise.all(bodies.map((b) => post(s.url, "/v1/embed", b)));
      const statuses = rs.map((r) => r.status);
      expect(statuses.every((x) => x === 200 || x === 504)).toBe(true);
      expect(statuses.filter((x) => x === 504).length).toBeGreaterThan(0);
      expect(rs.find((r) => r.status === 504)!.json.message).toMatch(/deadline/);
      const m = await (await fetch(`${s.url}/metrics`)).text();
      // dropped work never ran: fewer inputs ran than were asked for
      expect(metric(m, "polymodal_batch_size_sum", 'model="clip-scenes",kind="image"')).toBeLessThan(12 * 64);
      // the service goes on: once the batch the worker had started is done (its answer was dropped), a request
      // within its deadline is answered
      // (a batch past every deadline by more than a second has its worker stopped and replaced: wait for that too)
      for (let i = 0; i < 1000; i++) {
        const mm = await (await fetch(`${s.url}/metrics`)).text();
        const ready = await (await fetch(`${s.url}/readyz`)).json();
        if (
          metric(mm, "polymodal_workers_busy") === 0 &&
          metric(mm, "polymodal_queue_depth") === 0 &&
          ready.restarting === 0 &&
          ready.workers === 1
        )
          break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const ok = await post(s.url, "/v1/embed", { model: "clip-scenes", inputs: [{ text: "after" }] });
      expect(ok.status).toBe(200);
    } finally {
      await s.stop();
    }
  }, 120_000);

  it("a deadline stops the work: a long transcription past it frees its worker (stopped and replaced); beam " +
    "search is linear and bounded per request", async () => {
    const { decodeWav, encodeWav } = await import("../src/index.js");
    const w = decodeWav(readFileSync(join(root, "test/fixtures/speech/0000.wav")));
    const long = (seconds: number): Uint8Array => {
      const n = Math.round(seconds * w.sampleRate),
        out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = w.channels[0][i % w.channels[0].length];
      return encodeWav([out], w.sampleRate);
    };
    const s = await startServe(["--workers", "1", "--timeout-ms", "500", "--max-body-mb", "32"]);
    const raw = (body: Uint8Array, beam: number) =>
      fetch(`${s.url}/v1/transcribe?beam=${beam}`, {
        method: "POST",
        body: body as BodyInit,
        headers: { "content-type": "audio/wav" },
      });
    try {
      // about 5 s of search at beam 40 on 240 s of speech: 504 at 0.5 s, and the worker is stopped a second later
      const t0 = performance.now();
      const r = await raw(long(240), 40);
      expect(r.status).toBe(504);
      for (let i = 0; i < 500; i++) {
        if (metric(await (await fetch(`${s.url}/metrics`)).text(), "polymodal_workers_stopped_total") === 1) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(metric(await (await fetch(`${s.url}/metrics`)).text(), "polymodal_workers_stopped_total")).toBe(1);
      expect(performance.now() - t0).toBeLessThan(4000); // not the 5+ s the search would have taken
      // the replacement loads its models, then answers
      for (let i = 0; i < 1000 && (await (await fetch(`${s.url}/readyz`)).json()).restarting !== 0; i++)
        await new Promise((res) => setTimeout(res, 20));
      expect(await (await fetch(`${s.url}/readyz`)).json()).toMatchObject({ ready: true, workers: 1, restarting: 0 });
      expect((await raw(readFileSync(join(root, "test/fixtures/speech/0000.wav")), 1)).status).toBe(200);
      // SIGTERM while such work runs: the service exits 0 within its deadline and the second's grace, not when the
      // search would have ended
      const pending = raw(long(240), 40).then(
        (x) => x.status,
        () => 0,
      );
      await new Promise((res) => setTimeout(res, 200));
      const t1 = performance.now();
      expect(await s.stop()).toBe(0);
      expect(performance.now() - t1).toBeLessThan(4000);
      expect(await pending).toBe(504);
    } finally {
      await s.stop();
    }
    // beam 99 over a 15 MB WAV (340 s): refused at once with the beam that would fit (it took 335 s for 240 s before)
    const s2 = await startServe(["--workers", "1", "--max-body-mb", "32"]);
    try {
      const r = await fetch(`${s2.url}/v1/transcribe?beam=99`, {
        method: "POST",
        body: long(340) as BodyInit,
        headers: { "content-type": "audio/wav" },
      });
      const j = await r.json();
      expect([r.status, j.message]).toEqual([
        400,
        expect.stringMatching(
          new RegExp(
            String.raw`beam 99 on 340\.0 s of audio is more search than one call may ask \(\d` +
              String.raw`+ steps, limit 16000000: options\.maxBeamWork\); use beam \d+ or less`,
          ),
        ),
      ]);
    } finally {
      await s2.stop();
    }
  }, 180_000);

  it("SIGTERM: stops accepting, answers every accepted request, exits 0", async () => {
    const s = await startServe(["--workers", "1", "--cache-size", "0"]);
    const imgs = Object.keys(truth.images);
    const inflight = Array.from({ length: 6 }, (_, i) =>
      post(s.url, "/v1/embed", {
        model: "clip-scenes",
        inputs: Array.from({ length: 32 }, (_, j) => ({ image: b64(imgs[(i + j) % imgs.length]) })),
      }),
    );
    // accepted = received: all six are in flight (a request that arrives after SIGTERM gets 503, as it should)
    for (let i = 0; i < 500; i++) {
      const m = await (await fetch(`${s.url}/metrics`)).text();
      if (
        metric(m, "polymodal_http_requests_in_flight", 'route="/v1/embed"') +
          metric(m, "polymodal_http_requests_total", 'route="/v1/embed",method="POST",status="200"') ===
        6
      )
        break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const code = s.stop();
    const rs = await Promise.all(inflight);
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await code).toBe(0);
    expect(s.err()).toMatch(/SIGTERM: finishing accepted requests[\s\S]*stopped/);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  }, 120_000);

  it("a worker that dies fails only its own batch (500) and is replaced; the pool goes on", async () => {
    const { WorkerPool } = await import(pathToFileURL(join(root, "dist/server/pool.js")).href);
    const { limits } = await import("../src/index.js");
    const { shippedRef } = await import(pathToFileURL(join(root, "dist/pipelines/registry.js")).href);
    const pool = await WorkerPool.start({
      workers: 1,
      threads: 1,
      modelsDir: join(root, "models"),
      models: [shippedRef("clip-scenes")],
      maxQueue: 100,
      maxBatch: 64,
      limits: { ...limits },
    });
    try {
      const imgs = Object.keys(truth.images).map((f) => new Uint8Array(file(f)));
      const job = {
        model: "clip-scenes",
        op: "embed",
        kind: "image",
        inputs: Array.from({ length: 64 }, (_, i) => imgs[i % imgs.length]),
      };
      const running = pool.run(job, performance.now() + 60_000);
      await new Promise((r) => setTimeout(r, 5));
      await (pool as any).slots[0].worker.terminate(); // the worker dies mid-batch
      await expect(running).rejects.toMatchObject({
        statusCode: 500,
        message: expect.stringMatching(/the worker running this request failed/),
      });
      for (let i = 0; i < 200 && pool.size === 0; i++) await new Promise((r) => setTimeout(r, 50));
      const [r] = await pool.run(
        { model: "clip-scenes", op: "embed", kind: "text", inputs: ["after the crash"] },
        performance.now() + 60_000,
      );
      expect(Array.from(r.embedding)).toEqual(Array.from(clip.embedTexts(["after the crash"])[0]));
    } finally {
      await pool.close();
    }
  }, 120_000);

  it("replicas on one LanceDB store (--store lancedb:DIR) see each other's writes", async () => {
    const store = `lancedb:${join(tmp, "replicas-lance")}`;
    const [a, b] = await Promise.all([
      startServe(["--store", store, "--workers", "1"]),
      startServe(["--store", store, "--workers", "1"]),
    ]);
    try {
      const imgs = Object.keys(truth.images);
      expect(
        (
          await post(a.url, "/v1/index", {
            items: imgs.slice(0, 6).map((f) => ({ id: f, image: b64(f), metadata: { by: "a" } })),
          })
        ).status,
      ).toBe(200);
      const onB = await post(b.url, "/v1/search", { query: { image: b64(imgs[2]) }, k: 1 });
      expect(onB.json.results[0]).toMatchObject({ id: imgs[2], metadata: { by: "a" } });
      expect(
        (await post(b.url, "/v1/index", { items: [{ id: imgs[7], image: b64(imgs[7]), metadata: { by: "b" } }] })).json
          .counts.image,
      ).toBe(7);
      const onA = await post(a.url, "/v1/search", {
        query: { text: truth.images[imgs[7]] },
        k: 7,
        filter: { by: "b" },
      });
      expect(onA.json.results.map((r: any) => r.id)).toEqual([imgs[7]]);
      expect((await (await fetch(`${a.url}/readyz`)).json()).index).toEqual({
        name: "lancedb",
        mode: "writer",
        counts: { image: 7 },
      }); // no path or URI
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);

  it.skipIf(!hasRedis())(
    "shares one Redis embedding cache between two service processes",
    async () => {
      const redis = await startRedis();
      const a = await startServe(["--workers", "1", "--redis", redis.url, "--cache-size", "0"]);
      const b = await startServe(["--workers", "1", "--redis", redis.url, "--cache-size", "0"]);
      try {
        const f = Object.keys(truth.images)[4];
        const body = { model: "clip-scenes", inputs: [{ image: b64(f) }, { text: "shared" }] };
        const ra = await post(a.url, "/v1/embed", body);
        const rb = await post(b.url, "/v1/embed", body);
        expect(rb.json.embeddings).toEqual(ra.json.embeddings);
        sameBits(rb.json.embeddings[0], clip.embedImages([file(f)])[0]);
        const ma = await (await fetch(`${a.url}/metrics`)).text(),
          mb = await (await fetch(`${b.url}/metrics`)).text();
        expect(metric(ma, "polymodal_cache_misses_total")).toBe(2);
        expect(metric(mb, "polymodal_cache_hits_total", 'layer="redis"')).toBe(2);
        expect(metric(mb, "polymodal_cache_misses_total")).toBe(0);
        expect((await (await fetch(`${b.url}/readyz`)).json()).redis).toBe("ready");
        // entries someone else wrote into the shared cache (another width, Inf, a million floats) are misses,
        // never answers
        const { cacheKey } = await import("../src/server/cache.js");
        const { Redis } = await import("ioredis");
        const r = new Redis(redis.url);
        const version = rb.json.version,
          poison = ["poison one", "poison two", "poison three"];
        const bad = [
          new Float32Array(7).fill(0.1),
          new Float32Array(64).fill(Infinity),
          new Float32Array(1_000_000).fill(1e-3),
        ];
        for (const [i, t] of poison.entries())
          await r.set(`polymodal:emb:${cacheKey(version, "text", t)}`, Buffer.from(bad[i].buffer));
        r.disconnect();
        const rp = await post(b.url, "/v1/embed", { model: "clip-scenes", inputs: poison.map((text) => ({ text })) });
        expect(rp.status).toBe(200);
        poison.forEach((t, i) => sameBits(rp.json.embeddings[i], clip.embedTexts([t])[0]));
        expect(metric(await (await fetch(`${b.url}/metrics`)).text(), "polymodal_cache_errors_total")).toBe(3);
        // Redis going away turns the cache into misses, never into failed requests
        await redis.stop();
        const after = await post(b.url, "/v1/embed", { model: "clip-scenes", inputs: [{ text: "redis is gone" }] });
        expect(after.status).toBe(200);
        sameBits(after.json.embeddings[0], clip.embedTexts(["redis is gone"])[0]);
      } finally {
        await Promise.all([a.stop(), b.stop(), redis.stop()]);
      }
    },
    120_000,
  );
});
