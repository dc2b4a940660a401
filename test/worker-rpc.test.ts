// The worker RPC (src/serving/worker-rpc.ts) in Node's worker_threads: a model runs in the worker while the main
// thread's timers keep firing; results come back the same bits; errors come back as Errors with their code; a
// method that does not exist, a result that cannot be sent and a worker that dies each reject, never hang.
import { Worker } from "node:worker_threads";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init, loadPretrained, wrapWorker, WorkerCallError } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Api {
  embedTexts(texts: string[]): Float32Array[];
  slow(ms: number): Promise<number>;
  busy(ms: number): number;
  fails(): void;
  unsendable(): () => void;
  exit(): void;
}

let worker: Worker;
let api: ReturnType<typeof wrapWorker<Api>>;

beforeAll(async () => {
  await init();
  const dir = mkdtempSync(join(tmpdir(), "pm-rpc-"));
  writeFileSync(
    join(dir, "worker.mjs"),
    `
    import { parentPort } from "node:worker_threads";
    import { init, loadPretrained, exposeWorker }
      from ${JSON.stringify(pathToFileURL(join(root, "dist/index.js")).href)};
    await init();
    const clip = await loadPretrained("clip-scenes");
    class Api {
      embedTexts(texts) { return clip.embedTexts(texts); }
      slow(ms) { return new Promise((r) => setTimeout(() => r(ms), ms)); }
      busy(ms) { const end = performance.now() + ms; let n = 0; while (performance.now() < end) n++; return n; }
      fails() { throw Object.assign(new Error("no such thing"), { code: "missing" }); }
      unsendable() { return () => 1; }
      exit() { process.exit(3); }
    }
    exposeWorker(new Api(), parentPort);
    parentPort.postMessage("ready");
  `,
  );
  worker = new Worker(join(dir, "worker.mjs"));
  await new Promise((r) => worker.once("message", r));
  api = wrapWorker<Api>(worker);
}, 60_000);

afterAll(async () => {
  await worker?.terminate();
});

describe("worker RPC", () => {
  it("runs a model in the worker with the same bits as in this thread", async () => {
    const clip = await loadPretrained("clip-scenes");
    const [a, b] = await api.embedTexts(["two small red circles", "a blue square"]);
    const [x, y] = clip.embedTexts(["two small red circles", "a blue square"]);
    expect(Buffer.from(a.buffer).equals(Buffer.from(x.buffer))).toBe(true);
    expect(Buffer.from(b.buffer).equals(Buffer.from(y.buffer))).toBe(true);
  });

  it("keeps this thread free: timers fire while the worker computes", async () => {
    let ticks = 0;
    const t = setInterval(() => ticks++, 10);
    const n = await api.busy(300);
    clearInterval(t);
    expect(n).toBeGreaterThan(0);
    expect(ticks).toBeGreaterThanOrEqual(15); // ~30 at 10 ms: the event loop was never blocked for long
  });

  it("answers calls in any order, each to its caller", async () => {
    expect(await Promise.all([api.slow(60), api.slow(5), api.slow(30)])).toEqual([60, 5, 30]);
    expect(api.inFlight).toBe(0);
  });

  it("rejects with Errors naming what went wrong: thrown (with its code), no such method, not sendable", async () => {
    await expect(api.fails()).rejects.toMatchObject({ message: "no such thing", code: "missing" });
    await expect(api.fails()).rejects.toBeInstanceOf(WorkerCallError);
    await expect((api as unknown as { nope(): Promise<void> }).nope()).rejects.toThrow(/no method "nope"/);
    await expect((api as unknown as { constructor(): Promise<void> }).constructor()).rejects.toThrow(
      /no method "constructor"/,
    );
    await expect(api.unsendable()).rejects.toThrow(/result of unsendable cannot be sent/);
    expect(await api.slow(1)).toBe(1); // and the worker goes on
  });

  it("a worker that exits rejects what it had not answered", async () => {
    const pending = api.slow(5000);
    const gone = api.exit();
    await Promise.all([
      expect(pending).rejects.toThrow(/worker exited \(code 3\)/),
      expect(gone).rejects.toThrow(/worker exited/),
    ]);
  });
});

describe("polymodal/worker: a whole pipeline in a worker thread (PipelineHost)", () => {
  it("loads models, embeds, transcribes, indexes and searches with the same bits as this thread", async () => {
    const { PipelineHost, MultimodalIndex, encodePng } = await import("../src/index.js");
    const { readFileSync, readdirSync } = await import("node:fs");
    const { makeScene, SIZE } = await import("../scripts/scenes.mjs");
    const w = new Worker(join(root, "dist/worker.js"));
    try {
      const host = wrapWorker<InstanceType<typeof PipelineHost>>(w);
      await host.init();
      expect(await host.load("clip-scenes")).toEqual({ name: "clip-scenes", dim: 64 });
      await host.load("asr-words");
      const clip = await loadPretrained("clip-scenes"),
        asr = await loadPretrained("asr-words");
      const pngs = [1, 2, 3].map((i) =>
        encodePng({ width: SIZE, height: SIZE, channels: 3, data: makeScene(9_000_000 + i).pixels }),
      );
      const embs = await host.embedImages("clip-scenes", pngs);
      embs.forEach((e, i) =>
        expect(Buffer.from(e.buffer).equals(Buffer.from(clip.embedImages([pngs[i]])[0].buffer))).toBe(true),
      );
      const [q] = await host.embedTexts("clip-scenes", [makeScene(9_000_002).caption]);
      expect(Buffer.from(q.buffer).equals(Buffer.from(clip.embedTexts([makeScene(9_000_002).caption])[0].buffer))).toBe(
        true,
      );
      // an index in the worker: add, search (with a metadata filter as an object), save; the bytes reload here
      await host.createIndex("photos", 64);
      expect(await host.add("photos", ["a", "b", "c"], embs, "image", [{ n: 1 }, { n: 2 }, { n: 3 }])).toBe(3);
      const local = new MultimodalIndex(64);
      local.addBatch(["a", "b", "c"], embs, "image", [{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(await host.search("photos", q, 3)).toEqual(local.search(q, 3));
      expect((await host.search("photos", q, 3, "image", { filter: { n: 1 } })).map((h) => h.itemId)).toEqual(["a"]);
      expect(MultimodalIndex.load(await host.saveIndex("photos")).search(q, 3)).toEqual(local.search(q, 3));
      // speech
      const dir = join(root, "test/fixtures/speech"),
        wav = new Uint8Array(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".wav"))!)));
      expect((await host.transcribe("asr-words", wav)).text).toBe(asr.transcribe(wav).text);
      // errors name what is wrong
      await expect(host.load("nope" as never)).rejects.toThrow(/unknown model "nope"; shipped: /);
      await expect(host.embedTexts("video-text", ["x"])).rejects.toThrow(/load\("video-text"\) first/);
      await expect(host.transcribe("clip-scenes", wav)).rejects.toThrow(/clip-scenes does not transcribe speech/);
      await expect(host.search("nothing", q, 1)).rejects.toThrow(/no index "nothing"/);
    } finally {
      await w.terminate();
    }
  }, 60_000);
});
