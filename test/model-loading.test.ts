// loadPretrained over HTTP as a page or a service loads models: byte progress, cancellation, a cache so the second
// load makes no request, and the SHA-256 in each card checked before weights are used.  The server is a node:http
// server on a free loopback port serving models/, counting requests; it can serve a damaged weights file.
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { init, loadPretrained, env, type LoadProgress } from "../src/index.js";

const models = join(dirname(fileURLToPath(import.meta.url)), "..", "models");
const tmp = mkdtempSync(join(tmpdir(), "pm-load-"));
let server: Server, base: string;
let requests: string[] = [];
let damage = false,
  slowMs = 0;

beforeAll(async () => {
  await init();
  server = createServer((req, res) => {
    requests.push(req.url!);
    const f = join(models, decodeURIComponent(req.url!.replace(/^\/models\//, "")));
    let body: Buffer;
    try {
      body = readFileSync(f);
    } catch {
      res.writeHead(404).end();
      return;
    }
    if (damage && f.endsWith(".safetensors")) {
      body = Buffer.from(body);
      body[body.length - 1] ^= 1;
    }
    res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
    // in 64 KB pieces, so progress has steps (and a slow server can be cancelled midway)
    let at = 0;
    const next = (): void => {
      if (at >= body.length || res.destroyed) {
        res.end();
        return;
      }
      res.write(body.subarray(at, at + 65536));
      at += 65536;
      setTimeout(next, slowMs);
    };
    next();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/models/`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

let n = 0;
beforeEach(() => {
  requests = [];
  damage = false;
  slowMs = 0;
  env.cacheDir = join(tmp, `cache-${n++}`); // a fresh cache per test
  env.useCache = true;
});

describe("loadPretrained over HTTP", () => {
  it("reports byte progress up to the weights' size, and gives the same model as the disk", async () => {
    const seen: LoadProgress[] = [];
    const clip = await loadPretrained("clip-scenes", { baseUrl: base, onProgress: (p) => seen.push(p) });
    const w = seen.filter((p) => p.file === "clip-scenes.safetensors");
    const size = readFileSync(join(models, "clip-scenes.safetensors")).length;
    expect(w.length).toBeGreaterThan(2);
    expect(w.every((p) => p.total === size && !p.fromCache)).toBe(true);
    expect(w.map((p) => p.loaded)).toEqual([...w.map((p) => p.loaded)].sort((a, b) => a - b)); // never goes back
    expect(w.at(-1)).toMatchObject({ status: "done", loaded: size });
    const disk = await loadPretrained("clip-scenes");
    expect(
      Buffer.from(clip.embedTexts(["two red circles"])[0].buffer).equals(
        Buffer.from(disk.embedTexts(["two red circles"])[0].buffer),
      ),
    ).toBe(true);
  });

  it("a second load is served from the cache: no request at all", async () => {
    await loadPretrained("audio-events", { baseUrl: base });
    expect(requests).toEqual(["/models/audio-events.json", "/models/audio-events.safetensors"]);
    requests = [];
    const seen: LoadProgress[] = [];
    await loadPretrained("audio-events", { baseUrl: base, onProgress: (p) => seen.push(p) });
    expect(requests).toEqual([]);
    expect(seen.every((p) => p.fromCache)).toBe(true);
    // cache off: the network again
    await loadPretrained("audio-events", { baseUrl: base, cache: false });
    expect(requests.length).toBe(2);
  });

  it("env.baseUrl is the default baseUrl", async () => {
    env.baseUrl = base;
    try {
      await loadPretrained("asr-words");
      expect(requests).toContain("/models/asr-words.safetensors");
    } finally {
      env.baseUrl = null;
    }
  });

  it(
    "a weights file that is not the one its card names fails the load, naming both digests, and is not " + "cached",
    async () => {
      damage = true;
      await expect(loadPretrained("video-text", { baseUrl: base })).rejects.toThrow(
        new RegExp(
          String.raw`video-text\.safetensors is not the file its model card names: expected \d` +
            String.raw`+ bytes with SHA-256 [0-9a-f]{64}, got \d+ bytes with SHA-256 [0-9a-f]{64}`,
        ),
      );
      damage = false;
      requests = [];
      await loadPretrained("video-text", { baseUrl: base });
      expect(requests).toContain("/models/video-text.safetensors"); // fetched again: the bad copy was not kept
    },
  );

  it("a damaged cached copy is dropped and fetched again", async () => {
    await loadPretrained("asr-words", { baseUrl: base });
    for (const f of readdirSync(env.cacheDir!)) {
      const p = join(env.cacheDir!, f),
        b = readFileSync(p);
      if (b.length > 100_000) {
        b[b.length - 1] ^= 1;
        writeFileSync(p, b);
      }
    }
    requests = [];
    await loadPretrained("asr-words", { baseUrl: base });
    expect(requests).toEqual(["/models/asr-words.safetensors"]);
  });

  it("an AbortSignal cancels a load midway; nothing is cached", async () => {
    slowMs = 20;
    const ctl = new AbortController();
    const p = loadPretrained("clip-scenes", {
      baseUrl: base,
      signal: ctl.signal,
      onProgress: (e) => {
        if (e.file.endsWith(".safetensors") && e.loaded > 200_000) ctl.abort();
      },
    });
    await expect(p).rejects.toThrow(/abort/i);
    slowMs = 0;
    requests = [];
    await loadPretrained("clip-scenes", { baseUrl: base });
    expect(requests).toContain("/models/clip-scenes.safetensors");
    await expect(loadPretrained("clip-scenes", { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });

  it("from disk too, a weights file that does not match its card is refused", async () => {
    const dir = join(tmp, "models-copy");
    cpSync(models, dir, { recursive: true });
    const f = join(dir, "audio-events.safetensors"),
      b = readFileSync(f);
    b[b.length - 1] ^= 1;
    writeFileSync(f, b);
    await expect(loadPretrained("audio-events", { modelsDir: dir })).rejects.toThrow(
      /is not the file its model card names/,
    );
  });

  it("every shipped card records its weights file's size and SHA-256", async () => {
    const { createHash } = await import("node:crypto");
    for (const name of ["asr-words", "audio-events", "clip-scenes", "video-text"]) {
      const card = JSON.parse(readFileSync(join(models, `${name}.json`), "utf8"));
      const w = readFileSync(join(models, `${name}.safetensors`));
      expect(card.files[`${name}.safetensors`], name).toEqual({
        bytes: w.length,
        sha256: createHash("sha256").update(w).digest("hex"),
      });
    }
  });
});
