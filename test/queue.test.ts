// Distributed indexing as a user runs it: `polymodal index <folder> --queue redis://… --store lancedb:…` enqueues,
// `polymodal worker` processes embed, on a redis-server the test starts on a free loopback port.  Whatever dies —
// a worker SIGKILLed mid-job, Redis restarted during indexing — every file ends up in the store exactly once.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { LanceStore } from "../src/app/lance-store.js";
import { queueStatus } from "../src/app/queue.js";
import { startRedis, hasRedis, freePort, type Running } from "./harness/servers.js";
import { writeSentenceFolder } from "./harness/sentence-folder.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pm-queue-"));
const coll = join(tmp, "collection");
let truth: Record<string, Record<string, string>>;
let expected: string[];
const procs = new Set<ChildProcess>();
const workerLogs: Array<() => string> = [];

function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A `polymodal worker`; resolves once it waits for jobs.  `lines` holds what it printed. */
async function worker(
  queue: string,
  store: string,
  lockMs = 1000,
  extra: string[] = [],
): Promise<{ p: ChildProcess; lines: string[]; err: () => string }> {
  const p = spawn(
    process.execPath,
    [
      join(root, "bin/polymodal.js"),
      "worker",
      "--queue",
      queue,
      "--root",
      coll,
      "--store",
      `lancedb:${store}`,
      "--lock-ms",
      String(lockMs),
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  procs.add(p);
  p.once("exit", () => procs.delete(p));
  const lines: string[] = [];
  let buf = "";
  p.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    const ls = buf.split("\n");
    buf = ls.pop()!;
    lines.push(...ls);
  });
  let err = "";
  p.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  workerLogs.push(() => err);
  await until(() => lines.some((l) => l.includes("waiting for jobs")), 30_000, "the worker to start");
  return { p, lines, err: () => err };
}

/** Waits for f(); past `ms`, an error naming what it waited for and, for a queue, its state and the workers' stderr. */
async function until(f: () => boolean | Promise<boolean>, ms: number, what: string, queue?: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) {
      const state = queue
        ? `; queue ${JSON.stringify(await queueStatus(queue))}; workers' stderr: ${workerLogs
            .map((l) => l())
            .join("\n---\n")
            .slice(-3000)}`
        : "";
      throw new Error(`timed out waiting for ${what}${state}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function drained(queue: string): Promise<boolean> {
  const s = await queueStatus(queue);
  return s.waiting + s.active + s.delayed === 0 && s.completed > 0;
}

/** Every item of the store's spaces: ids, and whether any repeats. */
async function storeIds(uri: string): Promise<string[]> {
  const ids: string[] = [];
  for (const space of ["image", "audio", "video"]) {
    const st = await LanceStore.open(uri, space, 0);
    for await (const it of st.entries()) ids.push(it.id);
    await st.close();
  }
  return ids.sort();
}

const stopAll = async (): Promise<void> => {
  for (const p of procs) p.kill("SIGKILL");
  await new Promise((r) => setTimeout(r, 100));
};

beforeAll(async () => {
  await init();
  const { writeSampleCollection } = await import("../scripts/sample-collection.mjs");
  truth = writeSampleCollection(coll, { scenes: 60, sounds: 6, clips: 4, speech: 0 });
  writeFileSync(join(coll, "images", "zz-broken.png"), "not a png");
  expected = [...Object.keys(truth.images), ...Object.keys(truth.sounds), ...Object.keys(truth.videos)].sort();
}, 60_000);

afterAll(stopAll);

describe.skipIf(!hasRedis())("distributed indexing (BullMQ + LanceDB)", () => {
  let redis: Running;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("enqueues idempotent jobs; two workers index every file once; unreadable files are dead letters; " +
    "re-enqueueing adds nothing", async () => {
    const store = join(tmp, "lance-a");
    const e = cli("index", coll, "--queue", redis.url, "--store", `lancedb:${store}`, "--batch", "8");
    expect(e.code, e.err).toBe(0);
    expect(e.out).toMatch(/enqueued 71 new or changed files as 9 jobs \(9 new, 0 already queued/);
    // the enqueuer made every space the jobs write, empty and stamped: workers never race to create one
    for (const space of ["image", "audio", "video"]) {
      const st = await LanceStore.open(store, space, 0);
      expect([space, st.dim > 0, st.version()]).toEqual([space, true, expect.stringMatching(/@[0-9a-f]{16}$/)]);
      expect(await st.count()).toBe(0);
      await st.close();
    }
    const again = cli("index", coll, "--queue", redis.url, "--store", `lancedb:${store}`, "--batch", "8");
    expect(again.out).toMatch(/as 9 jobs \(0 new, 9 already queued or done/); // same files, same jobs
    const [a, b] = await Promise.all([worker(redis.url, store), worker(redis.url, store)]);
    await until(() => drained(redis.url), 120_000, "the queue to drain", redis.url);
    expect(await storeIds(store)).toEqual(expected);
    // both workers took jobs
    expect(a.lines.filter((l) => l.startsWith("indexed")).length).toBeGreaterThan(0);
    expect(b.lines.filter((l) => l.startsWith("indexed")).length).toBeGreaterThan(0);
    const st = cli("index", "--status", "--queue", redis.url);
    expect(st.out).toMatch(/0 jobs waiting, 0 running, 0 to retry, 9 done, 0 failed; 1 unreadable files/);
    expect(st.out).toMatch(/dead letter images\/zz-broken\.png: decodeImage/);
    // the store answers searches; a second enqueue finds everything unchanged but the unreadable file
    const s = cli("search", Object.values(truth.images)[3], "--store", `lancedb:${store}`, "-k", "1", "--json");
    expect(truth.images[JSON.parse(s.out).groups[0].results[0].path]).toBe(Object.values(truth.images)[3]);
    expect(cli("index", coll, "--queue", redis.url, "--store", `lancedb:${store}`, "--batch", "8").out).toMatch(
      /enqueued 1 new or changed files .* 70 files unchanged in the store/,
    );
    await stopAll();
  }, 180_000);

  it("a worker SIGKILLed mid-job loses nothing and duplicates nothing", async () => {
    const store = join(tmp, "lance-b");
    const q = `${redis.url}/1`; // a database of its own: a fresh queue
    expect(cli("index", coll, "--queue", q, "--store", `lancedb:${store}`, "--batch", "30").code).toBe(0);
    const first = await worker(q, store, 1000);
    await until(() => first.lines.some((l) => l.startsWith("indexed")), 60_000, "the first file");
    first.p.kill("SIGKILL"); // mid-job: its batch's files are embedded one by one and written together at the end
    await new Promise((r) => first.p.once("exit", r));
    await worker(q, store, 1000); // takes over, the stalled job included once its lock expires
    await until(() => drained(q), 120_000, "the queue to drain", q);
    expect(await storeIds(store)).toEqual(expected);
    await stopAll();
  }, 180_000);

  it("a worker trusts no job: paths outside its --root, other stores and malformed jobs fail alone with one " +
    "reason; a FIFO or /dev/zero is never read; dead letters carry no file bytes", async () => {
    const q = `${redis.url}/2`,
      store = join(tmp, "lance-d");
    const { Queue } = await import("bullmq");
    const { Redis } = await import("ioredis");
    const connection = new Redis(q, { maxRetriesPerRequest: null });
    const queue = new Queue("polymodal-index", { connection });
    const file = (path: string, rel = "x.wav") => ({
      rel,
      path,
      sha256: "0".repeat(64),
      size: 10,
      mtimeMs: 0,
      modality: "audio",
    });
    mkdirSync(join(coll, "odd"), { recursive: true });
    if (!existsSync(join(coll, "odd", "pipe.wav"))) spawnSync("mkfifo", [join(coll, "odd", "pipe.wav")]);
    symlinkSync("/dev/zero", join(coll, "odd", "zero.wav"));
    symlinkSync("/etc/passwd", join(coll, "odd", "passwd.wav"));
    const jobs: Record<string, unknown> = {
      passwd: { root: coll, store: `lancedb:${store}`, files: [file("/etc/passwd")] },
      traversal: {
        root: coll,
        store: `lancedb:${store}`,
        files: [file(join(coll, "..", "..", "..", "etc", "passwd"))],
      },
      "symlink out": { root: coll, store: `lancedb:${store}`, files: [file(join(coll, "odd", "passwd.wav"))] },
      "dev zero": { root: coll, store: `lancedb:${store}`, files: [file(join(coll, "odd", "zero.wav"))] },
      "other store": {
        root: coll,
        store: `lancedb:${join(tmp, "elsewhere")}`,
        files: [file(join(coll, Object.keys(truth.sounds)[0]))],
      },
      malformed: { root: coll, store: `lancedb:${store}`, files: "x" },
      "not an object": "hello",
      inside: {
        root: coll,
        store: `lancedb:${store}`,
        files: [
          file(join(coll, "odd", "pipe.wav"), "odd/pipe.wav"),
          file(join(coll, Object.keys(truth.sounds)[0]), Object.keys(truth.sounds)[0]),
        ],
      },
    };
    for (const [id, data] of Object.entries(jobs))
      await queue.add("embed", data as never, { jobId: id.replace(/ /g, "-"), attempts: 3 });
    const w = await worker(q, store, 1000);
    await until(
      async () => (await queueStatus(q)).failed + (await queueStatus(q)).completed === 8,
      60_000,
      "every job to end",
      q,
    );
    const failed = Object.fromEntries((await queue.getFailed()).map((j) => [j.id, [j.attemptsMade, j.failedReason]]));
    expect(failed).toEqual({
      passwd: [1, "files[0] is outside this worker's --root folders; the job is refused"],
      traversal: [1, "files[0] is outside this worker's --root folders; the job is refused"],
      "symlink-out": [1, "files[0] is outside this worker's --root folders; the job is refused"],
      "dev-zero": [1, "files[0] is outside this worker's --root folders; the job is refused"],
      "other-store": [1, expect.stringMatching(/^the job writes a store this worker was not given/)],
      malformed: [1, "malformed job: files must be an array of 1 to 10000 files"],
      "not-an-object": [1, "malformed job: the job's data must be an object {root, store, files}"],
    });
    const st = await queueStatus(q);
    expect(st.dead).toEqual({ "odd/pipe.wav": "not a regular file" });
    expect(JSON.stringify(st)).not.toMatch(/root:/);
    expect(await storeIds(store)).toEqual([Object.keys(truth.sounds)[0]]);
    expect(w.err()).not.toMatch(/TypeError/);
    await queue.close();
    connection.disconnect();
    await stopAll();
    rmSync(join(coll, "odd"), { recursive: true, force: true });
  }, 120_000);

  it("Redis restarted during indexing: the queue survives (AOF) and every file is indexed once", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmp, "aof-"));
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--dir",
      dir,
    ];
    const start = async (): Promise<ChildProcess> => {
      const p = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
      procs.add(p);
      let out = "";
      p.stdout!.on("data", (d) => {
        out += d;
      });
      await until(() => /Ready to accept connections/i.test(out), 20_000, "redis-server");
      return p;
    };
    let r = await start();
    const q = `redis://127.0.0.1:${port}`,
      store = join(tmp, "lance-c");
    expect(cli("index", coll, "--queue", q, "--store", `lancedb:${store}`, "--batch", "4").code).toBe(0);
    const w = await worker(q, store, 1000);
    await until(() => w.lines.filter((l) => l.startsWith("indexed")).length >= 8, 60_000, "some progress");
    r.kill("SIGTERM");
    await new Promise((res) => r.once("exit", res));
    await new Promise((res) => setTimeout(res, 500));
    r = await start(); // the same port and data: the worker reconnects by itself
    await until(() => drained(q), 120_000, "the queue to drain after the restart", q);
    expect(await storeIds(store)).toEqual(expected);
    await stopAll();
  }, 180_000);

  it("text documents: workers chunk them with --text-model; an edit to fewer chunks leaves none behind", async () => {
    const r = await startRedis();
    try {
      const notes = join(coll, "notes"),
        store = join(tmp, "lance-text");
      const model = writeSentenceFolder(join(tmp, "st"), { maxSeqLength: 12, prompts: {} });
      mkdirSync(notes);
      writeFileSync(join(notes, "a.md"), "the red circle is on the left\ntwo blue squares at the top\na cat");
      writeFileSync(join(notes, "b.txt"), "hello world");
      const opts = ["--text-model", model, "--chunk-tokens", "6"];
      const e = cli("index", notes, "--queue", r.url, "--store", `lancedb:${store}`, ...opts);
      expect(e.out, e.err).toMatch(/enqueued 2 new or changed files/);
      await worker(r.url, store, 1000, opts);
      await until(() => drained(r.url), 60_000, "the queue to drain", r.url);
      const ids = async (): Promise<string[]> => {
        const st = await LanceStore.open(store, "text", 0);
        const out: string[] = [];
        for await (const it of st.entries({ vectors: false })) out.push(it.id);
        await st.close();
        return out.sort();
      };
      const before = await ids();
      expect(before.filter((id) => id.startsWith("a.md#")).length).toBeGreaterThan(2);
      expect(before).toContain("b.txt#0");
      // unchanged documents are not enqueued again; an edited one is, and its old last chunks go
      writeFileSync(join(notes, "a.md"), "a cat");
      expect(cli("index", notes, "--queue", r.url, "--store", `lancedb:${store}`, ...opts).out).toMatch(
        /enqueued 1 new or changed files .* 1 files unchanged in the store/,
      );
      await until(async () => (await ids()).length === 2, 60_000, "the edit to be indexed", r.url);
      expect(await ids()).toEqual(["a.md#0", "b.txt#0"]);
    } finally {
      await stopAll();
      await r.stop();
    }
  }, 120_000);
});
