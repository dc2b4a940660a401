// `polymodal serve` speaks OpenAI's embeddings API: the official `openai` client (which asks for base64 and decodes
// it), plain HTTP with floats, token ids from POST /tokenize, images and sounds as data: URLs or with a modality, and
// OpenAI's error shape -- each embedding bit-identical to the library's own call.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init, loadPretrained, type AudioEmbedder, type ImageTextEmbedder } from "../src/index.js";
import { startServe, type Running } from "./harness/servers.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const jpeg = readFileSync(join(root, "test/fixtures/images/photo420.jpg"));
const wav = readFileSync(join(root, "test/fixtures/audio/fmt_pcm_s16.wav"));
const TOKEN = "s3cret-token";
let svc: Running, clip: ImageTextEmbedder, sounds: AudioEmbedder, client: OpenAI;

const post = async (path: string, body: unknown, auth = true): Promise<{ status: number; json: any }> => {
  const r = await fetch(svc.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
};
const same = (got: ArrayLike<number>, want: Float32Array): void =>
  expect(Array.from(Float32Array.from(got))).toEqual(Array.from(want));

beforeAll(async () => {
  await init();
  [clip, sounds] = await Promise.all([loadPretrained("clip-scenes"), loadPretrained("audio-events")]);
  svc = await startServe(["--workers", "1", "--token", TOKEN]);
  client = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: TOKEN, maxRetries: 0, timeout: 30_000 });
}, 90_000);
afterAll(async () => {
  await svc?.stop();
});

describe("OpenAI's embeddings API", () => {
  it("the official client gets the library's exact text embeddings (base64 on the wire), usage counted", async () => {
    const texts = ["a red circle", "two small blue squares on the left"];
    const r = await client.embeddings.create({ model: "clip-scenes", input: texts });
    expect(r.object).toBe("list");
    expect(r.model).toBe("clip-scenes");
    expect(r.data.map((d) => d.index)).toEqual([0, 1]);
    const want = clip.embedTexts(texts);
    r.data.forEach((d, i) => same(d.embedding, want[i]));
    const ids = clip.tokenizeBatch(texts).map((o) => ("value" in o ? o.value.ids.length : -1));
    expect(r.usage).toEqual({ prompt_tokens: ids[0] + ids[1], total_tokens: ids[0] + ids[1] });
    // one string, floats asked for
    const one = await client.embeddings.create({ model: "clip-scenes", input: texts[0], encoding_format: "float" });
    same(one.data[0].embedding, want[0]);
  });

  it("GET /v1/models lists the served models; an unknown model is a NotFoundError (model_not_found)", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(expect.arrayContaining(["clip-scenes", "audio-events", "video-text"]));
    expect((await client.models.retrieve("clip-scenes")).owned_by).toBe("polymodal");
    const e = await client.embeddings.create({ model: "text-embedding-3-small", input: "x" }).catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e.code).toBe("model_not_found");
    expect(e.param).toBe("model");
    expect(e.message).toMatch(/served: .*clip-scenes/);
  });

  it("token ids from POST /tokenize (with curl) embed to the text's own embedding", async () => {
    const body = JSON.stringify({ model: "clip-scenes", inputs: ["a red circle", "three green triangles"] });
    const headers = ["-H", "content-type: application/json", "-H", `authorization: Bearer ${TOKEN}`];
    const curl = spawnSync("curl", ["-sS", "-w", "\n%{http_code}", ...headers, "-d", body, `${svc.url}/tokenize`], {
      encoding: "utf8",
      timeout: 30_000,
    });
    // (plain HTTP when the machine has no curl)
    const t =
      curl.status === 0
        ? { status: Number(curl.stdout.split("\n").at(-1)), json: JSON.parse(curl.stdout.split("\n")[0]) }
        : await post("/tokenize", JSON.parse(body));
    expect(t.status).toBe(200);
    const ids: number[][] = t.json.tokens.map((x: { ids: number[] }) => x.ids);
    expect(ids[0].length).toBe(t.json.tokens[0].tokens.length);
    const r = await post("/v1/embeddings", { model: "clip-scenes", input: ids, encoding_format: "float" });
    expect(r.status).toBe(200);
    const want = clip.embedTexts(["a red circle", "three green triangles"]);
    r.json.data.forEach((d: { embedding: number[] }, i: number) => same(d.embedding, want[i]));
    expect(r.json.usage.prompt_tokens).toBe(ids[0].length + ids[1].length);
    // one id list alone is one input
    const single = await post("/v1/embeddings", { model: "clip-scenes", input: ids[0], encoding_format: "float" });
    expect(single.json.data.length).toBe(1);
    same(single.json.data[0].embedding, want[0]);
  });

  it("images and sounds as data: URLs, or base64 with a modality, as Infinity takes them", async () => {
    const url = `data:image/jpeg;base64,${jpeg.toString("base64")}`;
    const mixed = await client.embeddings.create({ model: "clip-scenes", input: ["a red circle", url] });
    same(mixed.data[1].embedding, clip.embedImages([new Uint8Array(jpeg)])[0]);
    same(mixed.data[0].embedding, clip.embedTexts(["a red circle"])[0]);
    expect(mixed.usage.prompt_tokens).toBe(
      clip.tokenizeBatch(["a red circle"]).map((o) => ("value" in o ? o.value.ids.length : -1))[0],
    );
    const audio = await post("/v1/embeddings", {
      model: "audio-events",
      input: [wav.toString("base64")],
      modality: "audio",
      encoding_format: "float",
    });
    expect(audio.status).toBe(200);
    same(audio.json.data[0].embedding, sounds.embed(new Uint8Array(wav)));
    expect(audio.json.usage.prompt_tokens).toBe(0);
  });

  it("errors come in OpenAI's shape, naming the parameter", async () => {
    const cases: Array<[unknown, number, string | null, RegExp]> = [
      [{ model: "clip-scenes", input: "x", dimensions: 8 }, 400, "dimensions", /64-dimensional .* cannot shorten/],
      [{ model: "audio-events", input: "a beep" }, 400, "input", /audio-events does not embed text/],
      [{ model: "clip-scenes", input: ["ok", "data:image/png;base64,!!"] }, 400, "input[1]", /not valid base64/],
      [{ model: "clip-scenes", input: ["data:application/pdf;base64,AAAA"] }, 415, "input[0]", /image\/png/],
      [{ model: "clip-scenes", input: "https://example.com/cat.jpg", modality: "image" }, 400, "input", /base64/],
      [{ model: "clip-scenes", input: [[1, 2, 99999]] }, 400, "input[0]", /not an id of this model's vocabulary/],
      [{ model: "clip-scenes", input: 5 }, 400, "input", /must/],
      [{ model: "clip-scenes" }, 400, null, /input/],
    ];
    for (const [body, status, param, message] of cases) {
      const r = await post("/v1/embeddings", body);
      expect([r.status, r.json.error?.param ?? null], JSON.stringify(body)).toEqual([status, param]);
      expect(r.json.error.type).toBe("invalid_request_error");
      expect(r.json.error.message).toMatch(message);
    }
    // without the token: OpenAI's AuthenticationError
    const anon = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect(anon.embeddings.create({ model: "clip-scenes", input: "x" })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    const r = await post("/v1/embeddings", { model: "clip-scenes", input: "x" }, false);
    expect([r.status, r.json.error.type]).toEqual([401, "authentication_error"]);
  });
});
