// MultimodalServingPipeline: the seed's example (process_single on an image), dynamic batching that gives the
// same bits as one-at-a-time, grouping by task / modalities / shapes, bad requests failing alone, metrics.
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  loadPretrained,
  MultimodalModelOptimizer,
  MultimodalServingPipeline,
  ServingQueueFullError,
  ServingTimeoutError,
  RemoteServingPipeline,
  ImageProcessor,
  ByteTokenizer,
  Tensor,
  encodePng,
  type ImageTextEmbedder,
  type CLIPModel,
  type MultimodalRequest,
  type ServingCache,
} from "../src/index.js";
import { Worker } from "node:worker_threads";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { makeScene, SIZE } from "../scripts/scenes.mjs";
import { createHash } from "node:crypto";
import { Sha256 } from "../src/serving/sha256.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let clip: ImageTextEmbedder<CLIPModel>;
const proc = new ImageProcessor({
  size: 48,
  cropSize: 48,
  interpolation: "bilinear",
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
});
const tok = new ByteTokenizer();
const png = (seed: number): Uint8Array =>
  encodePng({ width: SIZE, height: SIZE, channels: 3, data: makeScene(seed).pixels });
const pipeline = (
  o: { batchSize?: number; maxWaitMs?: number; cacheSize?: number } = {},
  model: unknown = clip.model,
): MultimodalServingPipeline =>
  new MultimodalServingPipeline(model, {
    ...o,
    preprocessors: {
      image: (bytes: Uint8Array) => proc.process(bytes).reshape([3, SIZE, SIZE]),
      text: (s: string) => {
        const e = tok.encode(s, { maxLength: 48, padding: "max_length" });
        return new Tensor(Int32Array.from(e.ids), [48]);
      },
      attention_mask: (s: string) => {
        const e = tok.encode(s, { maxLength: 48, padding: "max_length" });
        return new Tensor(Int32Array.from(e.attentionMask), [48]);
      },
    },
  });
const imageReq = (i: number): MultimodalRequest => ({
  requestId: `img${i}`,
  modalities: { image: png(7000 + i) },
  task: "embedding",
});

beforeAll(async () => {
  await init();
  clip = await loadPretrained("clip-scenes");
});

describe("MultimodalServingPipeline", () => {
  it("process_single: the seed's example, through the package's own preprocessing", () => {
    const s = pipeline({ batchSize: 8 });
    const r = s.processSingle(imageReq(0));
    expect(r.requestId).toBe("img0");
    expect(r.modalitiesUsed).toEqual(["image"]);
    expect((r.results.embedding as number[]).length).toBe(64);
    expect(r.results.embedding).toEqual(Array.from(clip.embedImages([png(7000)])[0]));
    expect(s.getMetrics()).toEqual({
      totalRequests: 1,
      cacheHits: 0,
      avgLatencyMs: r.latencyMs,
      avgBatchSize: 0,
      p50LatencyMs: r.latencyMs,
      p95LatencyMs: r.latencyMs,
      p99LatencyMs: r.latencyMs,
      queueDepth: 0,
      rejectedQueueFull: 0,
      timedOut: 0,
    });
  });

  it("batches concurrent requests and returns the bits each would get alone", async () => {
    const s = pipeline({ batchSize: 8, maxWaitMs: 5 });
    const alone = Array.from({ length: 12 }, (_, i) => s.processSingle(imageReq(i)).results.embedding);
    const batched = pipeline({ batchSize: 8, maxWaitMs: 5 });
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => batched.submit(imageReq(i))));
    rs.forEach((r, i) => {
      expect(r.requestId).toBe(`img${i}`);
      expect(r.results.embedding).toEqual(alone[i]);
    });
    const m = batched.getMetrics();
    expect(m.totalRequests).toBe(12);
    expect(m.avgBatchSize).toBe(6); // one full batch of 8 at once, the other 4 after maxWaitMs
  });

  it("a dynamically quantised model is served one request at a time, so each still gets its own bits", async () => {
    const q = MultimodalModelOptimizer.quantizeModel(clip.model);
    const alone = Array.from({ length: 5 }, (_, i) => pipeline({}, q).processSingle(imageReq(i)).results.embedding);
    const s = pipeline({ batchSize: 8, maxWaitMs: 5 }, q);
    const rs = await Promise.all(Array.from({ length: 5 }, (_, i) => s.submit(imageReq(i))));
    rs.forEach((r, i) => expect(r.results.embedding).toEqual(alone[i]));
    expect(s.getMetrics().avgBatchSize).toBe(1);
    // and batching it would have changed them: one activation scale for the whole batch, as in torch
    const per = SIZE * SIZE * 3,
      all = new Float32Array(5 * per);
    for (let i = 0; i < 5; i++) all.set(proc.process(png(7000 + i)).data as Float32Array, i * per);
    const together = q.encodeImage(new Tensor(all, [5, 3, SIZE, SIZE]));
    expect(Array.from(together.data.slice(0, 64))).not.toEqual(alone[0]);
    q.dispose();
  });

  it("caches embeddings of byte-identical requests (LRU by SHA-256 of the preprocessed inputs)", async () => {
    const s = pipeline({ cacheSize: 2, batchSize: 4, maxWaitMs: 1 });
    let runs = 0;
    const counting = new MultimodalServingPipeline(clip.model, {
      cacheSize: 2,
      preprocessors: s.preprocessors,
      runner: (inputs, task) => {
        runs++;
        return { embedding: clip.model.encodeImage(inputs.image), task: task.length };
      },
    });
    const a = counting.processSingle(imageReq(0));
    const again = counting.processSingle({ ...imageReq(0), requestId: "again" });
    expect(runs).toBe(1);
    expect(again.requestId).toBe("again");
    expect(again.results).toEqual(a.results);
    (again.results.embedding as number[])[0] = 123; // a caller's changes do not reach the cache
    expect((counting.processSingle(imageReq(0)).results.embedding as number[])[0]).toBe(
      (a.results.embedding as number[])[0],
    );
    counting.processSingle(imageReq(1));
    counting.processSingle(imageReq(2)); // evicts image 0 (least recently used)
    expect(runs).toBe(3);
    counting.processSingle(imageReq(0));
    expect(runs).toBe(4);
    expect(counting.getMetrics().cacheHits).toBe(2);
    // one changed pixel is another request; other tasks are not cached
    const px = makeScene(7000).pixels.slice();
    px[5] ^= 1;
    const n = runs;
    counting.processSingle({
      requestId: "x",
      modalities: { image: encodePng({ width: SIZE, height: SIZE, channels: 3, data: px }) },
      task: "embedding",
    });
    expect(runs).toBe(n + 1);
    counting.processSingle({ requestId: "c1", modalities: { image: png(7003) }, task: "classify" });
    counting.processSingle({ requestId: "c2", modalities: { image: png(7003) }, task: "classify" });
    expect(runs).toBe(n + 3);
    // submit() answers from the cache too, with the values the model gave
    const first = await s.submit(imageReq(5));
    const second = await s.submit({ ...imageReq(5), requestId: "img5b" });
    expect(second.results).toEqual(first.results);
    expect(s.getMetrics().cacheHits).toBe(1);
    expect(() => pipeline({ cacheSize: -1 })).toThrow(/cacheSize must be a non-negative integer, got -1/);
  });

  it("groups by task, modalities and shapes; texts batch with their masks", async () => {
    const s = pipeline({ batchSize: 4, maxWaitMs: 1 });
    const caps = [
      "one small red circle on the left",
      "two large blue squares on the top",
      "three small white triangles on the bottom",
    ];
    const texts = caps.map((c, i) =>
      s.submit({ requestId: `t${i}`, modalities: { text: c, attention_mask: c }, task: "embedding" }),
    );
    const images = [0, 1].map((i) => s.submit(imageReq(i)));
    const both = s.submit({
      requestId: "pair",
      modalities: { image: png(7000), text: caps[0], attention_mask: caps[0] },
      task: "similarity",
    });
    const t = await Promise.all(texts);
    t.forEach((r, i) => expect(r.results.embedding).toEqual(Array.from(clip.embedTexts([caps[i]])[0])));
    expect((await Promise.all(images)).map((r) => r.requestId)).toEqual(["img0", "img1"]);
    const p = await both; // a non-embedding task runs the model's forward, one request at a time
    expect(Object.keys(p.results).sort()).toEqual([
      "imageEmbeds",
      "logitScale",
      "logitsPerImage",
      "logitsPerText",
      "textEmbeds",
    ]);
    expect(p.results.logitsPerImage as number[]).toHaveLength(1); // row 0 of (1, 1), as the seed's v[0]
    expect(s.getMetrics().avgBatchSize).toBeCloseTo((3 + 2 + 1) / 3, 10);
  });

  it("a bad request fails alone with a clear Error; the rest of its batch still runs", async () => {
    const s = new MultimodalServingPipeline(clip.model, { batchSize: 4, maxWaitMs: 1 });
    const good = new Tensor(new Float32Array(3 * SIZE * SIZE).fill(0.1), [3, SIZE, SIZE]);
    const nan = new Tensor(new Float32Array(3 * SIZE * SIZE).fill(NaN), [3, SIZE, SIZE]);
    const rs = await Promise.allSettled(
      [good, nan, good].map((image, i) => s.submit({ requestId: `r${i}`, modalities: { image }, task: "embedding" })),
    );
    expect(rs.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((rs[1] as PromiseRejectedResult).reason)).toMatch(/NaN|finite/);
    await expect(s.submit({ requestId: "x", modalities: {}, task: "embedding" })).rejects.toThrow(/has no modalities/);
    await expect(
      s.submit({ requestId: "y", modalities: { image: { not: "data" } }, task: "embedding" }),
    ).rejects.toThrow(/no preprocessor for modality "image"/);
    expect(() => new MultimodalServingPipeline(clip.model, { batchSize: 0 })).toThrow(/batchSize/);
  });

  it(
    "bounds the queue (ServingQueueFullError at once) and drops requests that wait past timeoutMs " +
      "(ServingTimeoutError)",
    async () => {
      let runs = 0;
      const runner = (inputs: Record<string, Tensor>): Record<string, Tensor> => {
        runs++;
        return { embedding: clip.model.encodeImage(inputs.image) };
      };
      const s = new MultimodalServingPipeline(clip.model, {
        batchSize: 100,
        maxWaitMs: 60_000,
        maxQueue: 3,
        preprocessors: pipeline().preprocessors,
        runner,
      });
      const rs = [0, 1, 2, 3, 4].map((i) =>
        s.submit(imageReq(i)).then(
          () => "ok",
          (e) => e,
        ),
      );
      await new Promise((r) => setTimeout(r, 0));
      expect(s.getMetrics().queueDepth).toBe(3);
      s.flush();
      const out = await Promise.all(rs);
      expect(out.slice(0, 3)).toEqual(["ok", "ok", "ok"]);
      expect(out[3]).toBeInstanceOf(ServingQueueFullError);
      expect(String(out[4])).toMatch(/queue is full \(3 requests waiting, maxQueue 3\)/);
      expect(s.getMetrics()).toMatchObject({ queueDepth: 0, rejectedQueueFull: 2, totalRequests: 3 });

      const slow = new MultimodalServingPipeline(clip.model, {
        batchSize: 100,
        maxWaitMs: 60_000,
        timeoutMs: 20,
        preprocessors: pipeline().preprocessors,
        runner,
      });
      const before = runs;
      const late = await Promise.allSettled([slow.submit(imageReq(0)), slow.submit(imageReq(1))]);
      expect(late.map((r) => r.status)).toEqual(["rejected", "rejected"]);
      expect((late[0] as PromiseRejectedResult).reason).toBeInstanceOf(ServingTimeoutError);
      expect(String((late[0] as PromiseRejectedResult).reason)).toMatch(/waited 20 ms \(timeoutMs\).*dropped/);
      slow.flush();
      expect(runs).toBe(before); // dropped work never ran
      expect(slow.getMetrics()).toMatchObject({ queueDepth: 0, timedOut: 2, totalRequests: 0 });
      expect(() => new MultimodalServingPipeline(clip.model, { maxQueue: 0 })).toThrow(
        /maxQueue must be a positive integer/,
      );
      expect(() => new MultimodalServingPipeline(clip.model, { timeoutMs: 0 })).toThrow(/timeoutMs must be from 1/);
    },
  );

  it("reports latency percentiles over a window, and takes a pluggable (async) cache", async () => {
    const store = new Map<string, unknown>();
    let gets = 0;
    const cache: ServingCache = {
      async get(k) {
        gets++;
        return store.get(k) as any;
      },
      async set(k, v) {
        store.set(k, v);
      },
    };
    const s = pipeline({ batchSize: 4, maxWaitMs: 1 }).preprocessors;
    const p = new MultimodalServingPipeline(clip.model, { batchSize: 4, maxWaitMs: 1, preprocessors: s, cache });
    const first = await Promise.all([0, 1, 2].map((i) => p.submit(imageReq(i))));
    const again = await p.submit({ ...imageReq(1), requestId: "again" });
    expect(again.results).toEqual(first[1].results);
    expect(again.results.embedding).toEqual(Array.from(clip.embedImages([png(7001)])[0]));
    expect(gets).toBe(4);
    expect(store.size).toBe(3);
    const m = p.getMetrics();
    expect(m.cacheHits).toBe(1);
    expect(m.totalRequests).toBe(4);
    expect(m.p50LatencyMs).toBeGreaterThanOrEqual(0);
    expect(m.p50LatencyMs).toBeLessThanOrEqual(m.p95LatencyMs);
    expect(m.p95LatencyMs).toBeLessThanOrEqual(m.p99LatencyMs);
    expect(() => p.processSingle(imageReq(0))).toThrow(/get\(\) is async; use submit/);
    expect(() => new MultimodalServingPipeline(clip.model, { cache, cacheSize: 3 })).toThrow(/not both/);
    // the window: 50 slow answers (a cache that takes 300 ms), then 4,096 quick ones (hits, 32 at a time) push them out
    let slowGets = 50;
    const timed: ServingCache = {
      async get(k) {
        if (slowGets > 0) {
          slowGets--;
          await new Promise((r) => setTimeout(r, 300));
        }
        return store.get(k) as any;
      },
      async set(k, v) {
        store.set(k, v);
      },
    };
    const w = new MultimodalServingPipeline(clip.model, { batchSize: 4, maxWaitMs: 1, preprocessors: s, cache: timed });
    await Promise.all(Array.from({ length: 50 }, () => w.submit({ ...imageReq(1), requestId: "slow" })));
    expect(w.getMetrics().p50LatencyMs).toBeGreaterThanOrEqual(299);
    for (let i = 0; i < 4096; i += 32)
      await Promise.all(Array.from({ length: 32 }, () => w.submit({ ...imageReq(1), requestId: "quick" })));
    const after = w.getMetrics();
    expect(after.totalRequests).toBe(4146);
    expect(after.p99LatencyMs).toBeLessThan(299); // every slow answer has left the window
    expect(after.avgLatencyMs).toBeGreaterThanOrEqual((50 * 299) / 4146); // the running mean still counts them all
  });

  it("runs inside a worker thread (RemoteServingPipeline <-> exposeServingPipeline) with the same bits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pm-remote-"));
    const entry = pathToFileURL(join(root, "dist/index.js")).href;
    writeFileSync(
      join(dir, "worker.mjs"),
      `
      import { parentPort } from "node:worker_threads";
      import { init, loadPretrained, MultimodalServingPipeline, exposeServingPipeline, ImageProcessor }
        from ${JSON.stringify(entry)};
      await init();
      const clip = await loadPretrained("clip-scenes");
      const proc = clip.processor;
      exposeServingPipeline(new MultimodalServingPipeline(clip.model, { batchSize: 4, maxWaitMs: 2,
        preprocessors: { image: (b) => proc.process(b).reshape([3, 48, 48]) } }), parentPort);
    `,
    );
    const worker = new Worker(join(dir, "worker.mjs"));
    try {
      const remote = new RemoteServingPipeline(worker);
      const rs = await Promise.all([0, 1, 2].map((i) => remote.submit(imageReq(i))));
      rs.forEach((r, i) => expect(r.results.embedding).toEqual(Array.from(clip.embedImages([png(7000 + i)])[0])));
      // a Tensor crosses too (token ids and mask, int32)
      const e = tok.encode("a red circle", { maxLength: 48, padding: "max_length" });
      const t = await remote.submit({
        requestId: "t",
        task: "embedding",
        modalities: {
          text: new Tensor(Int32Array.from(e.ids), [48]),
          attention_mask: new Tensor(Int32Array.from(e.attentionMask), [48]),
        },
      });
      expect(t.results.embedding).toEqual(Array.from(clip.embedTexts(["a red circle"])[0]));
      await expect(remote.submit({ requestId: "bad", task: "embedding", modalities: {} })).rejects.toThrow(
        /has no modalities/,
      );
      expect((await remote.getMetrics()).totalRequests).toBe(4);
      expect(remote.inFlight).toBe(0);
    } finally {
      await worker.terminate();
    }
  }, 60_000);

  it("the cache key's SHA-256 matches FIPS 180-4 (Node's crypto) at block edges and in chunks", () => {
    const enc = new TextEncoder();
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const msg = enc.encode("abc".repeat(400).slice(0, n));
      expect(new Sha256().update(msg).hex(), `${n} bytes`).toBe(createHash("sha256").update(msg).digest("hex"));
    }
    expect(new Sha256().update(enc.encode("abc")).hex()).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    const big = Uint8Array.from({ length: 70000 }, (_, i) => (i * 31) & 255);
    expect(new Sha256().update(big.subarray(0, 7)).update(big.subarray(7, 9000)).update(big.subarray(9000)).hex()).toBe(
      createHash("sha256").update(big).digest("hex"),
    );
  });
});
