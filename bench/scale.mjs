// `npm run bench -- scale`: polymodal past one machine, on loopback only, printed as ratios.
//   1. embedding throughput of the distributed indexer (BullMQ on a redis-server started here) with 1 and 2 workers;
//   2. search over N x 512 vectors (SCALE_N, default 1,000,000; a clustered set, as real embeddings are): LanceDB
//      (IVF-PQ, refined) and the in-process HNSW against the exact in-process flat index: latency and recall@10
//      (HNSW is built over min(N, SCALE_HNSW_N = 100,000) items: its single-threaded build is the slow part);
//   3. incremental persistence: adding 1,000 items (20 writes of 50) to a FileStore of N items: bytes written
//      against the bytes of those items, and time.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { init, MultimodalIndex } from "../dist/index.js";
import { FileStore } from "../dist/app/file-store.js";
import { LanceStore } from "../dist/app/lance-store.js";

const bin = fileURLToPath(new URL("../bin/polymodal.js", import.meta.url));
const N = Number(process.env.SCALE_N ?? 1_000_000);
const N_HNSW = Math.min(N, Number(process.env.SCALE_HNSW_N ?? 100_000));
const D = 512,
  Q = 100,
  K = 10,
  FILES = 2000,
  PHOTOS = Number(process.env.SCALE_PHOTOS ?? 400),
  BATCH = Number(process.env.SCALE_BATCH ?? 25);
const f2 = (x) => x.toFixed(2);

/**
 * Clustered vectors (1,000 Gaussian clusters, as real embeddings cluster): row r is the same whoever asks for it
 * (its noise comes from a generator seeded by (seed, r)), so every index under test holds the same data.
 */
function dataset(seed) {
  const rng = (s) => {
    s = s >>> 0 || 1;
    return () => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return (s + 0.5) / 2 ** 32;
    };
  };
  const gaussFrom = (u) => () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const C = 1000,
    centers = new Float32Array(C * D),
    g0 = gaussFrom(rng(seed));
  for (let i = 0; i < centers.length; i++) centers[i] = g0();
  return (count, offset = 0) => {
    const out = new Float32Array(count * D);
    for (let i = 0; i < count; i++) {
      const r = i + offset,
        c = (r * 7919) % C,
        g = gaussFrom(rng(Math.imul(r + 1, 2654435761) ^ seed));
      for (let j = 0; j < D; j++) out[i * D + j] = centers[c * D + j] + 0.6 * g();
    }
    return out;
  };
}

const rows = (flat, n) => Array.from({ length: n }, (_, i) => flat.subarray(i * D, (i + 1) * D));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startRedis(port, dir) {
  return new Promise((resolve, reject) => {
    const p = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    const t = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error("redis-server did not start"));
    }, 20_000);
    p.stdout.on("data", (d) => {
      out += d;
      if (/Ready to accept/i.test(out)) {
        clearTimeout(t);
        resolve(p);
      }
    });
    p.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

function startWorker(queue) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, "worker", "--queue", queue, "--quiet"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
      if (out.includes("waiting for jobs")) resolve(p);
    });
  });
}

/**
 * Photo-sized files: each scene scaled to 640 x 480 with a little deterministic sensor-like noise (so the PNG
 * compresses as a photo does, not as flat colour), as the collections that outgrow one machine hold.
 */
async function writePhotos(folder, n) {
  const { makeScene, SIZE } = await import("../scripts/scenes.mjs");
  const { encodePng } = await import("../dist/index.js");
  const { mkdirSync, writeFileSync } = await import("node:fs");
  mkdirSync(join(folder, "images"), { recursive: true });
  const W = 640,
    H = 480;
  for (let i = 0; i < n; i++) {
    const s = makeScene(3_000_000 + i),
      px = new Uint8Array(W * H * 3);
    let x = ((i + 1) * 2654435761) >>> 0;
    for (let y = 0; y < H; y++)
      for (let c = 0; c < W; c++) {
        const src = (Math.floor((y * SIZE) / H) * SIZE + Math.floor((c * SIZE) / W)) * 3;
        for (let k = 0; k < 3; k++) {
          x ^= x << 13;
          x >>>= 0;
          x ^= x >>> 17;
          x ^= x << 5;
          x >>>= 0;
          px[(y * W + c) * 3 + k] = Math.max(0, Math.min(255, s.pixels[src + k] + (x % 9) - 4));
        }
      }
    writeFileSync(
      join(folder, "images", `${String(i).padStart(4, "0")}.png`),
      encodePng({ width: W, height: H, channels: 3, data: px }),
    );
  }
}

/** Files/s of 1 and 2 `polymodal worker` processes on one folder (runs interleaved 1, 2, 1, 2; best of each). */
async function rates(folder, files, port, tmp, dbs) {
  const { QUEUE_NAME } = await import("../dist/app/queue.js");
  const { Queue } = await import("bullmq");
  const { Redis } = await import("ioredis");
  const { spawnSync } = await import("node:child_process");
  const out = {};
  for (const [w, db] of [
    [1, dbs],
    [2, dbs + 1],
    [1, dbs + 2],
    [2, dbs + 3],
  ]) {
    const queue = `redis://127.0.0.1:${port}/${db}`;
    // enqueue into a paused queue, start the workers (models loaded), then time from resume to the last job
    const connection = new Redis(queue, { maxRetriesPerRequest: null });
    const q = new Queue(QUEUE_NAME, { connection });
    await q.pause();
    spawnSync(process.execPath, [
      bin,
      "index",
      folder,
      "--queue",
      queue,
      "--store",
      `lancedb:${join(tmp, `lance-${db}`)}`,
      "--batch",
      String(BATCH),
    ]);
    const workers = await Promise.all(Array.from({ length: w }, () => startWorker(queue)));
    const t0 = performance.now();
    await q.resume();
    for (;;) {
      // one connection, polled lightly: this process shares the 2 cores with the workers being measured
      const c = await q.getJobCounts("waiting", "active", "delayed", "prioritized", "completed");
      if (c.waiting + c.active + c.delayed + c.prioritized === 0 && c.completed > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    (out[w] ??= []).push(files / ((performance.now() - t0) / 1000));
    await q.close();
    connection.disconnect();
    for (const p of workers) p.kill("SIGTERM");
    await Promise.all(workers.map((p) => new Promise((r) => p.once("exit", r))));
  }
  return { one: Math.max(...out[1]), two: Math.max(...out[2]) };
}

async function throughput(lines) {
  const { writeSampleCollection } = await import("../scripts/sample-collection.mjs");
  const tmp = mkdtempSync(join(tmpdir(), "pm-scale-"));
  const port = 16000 + Math.floor(Math.random() * 20000);
  const redis = await startRedis(port, tmp);
  try {
    const photos = join(tmp, "photos");
    await writePhotos(photos, PHOTOS);
    const p = await rates(photos, PHOTOS, port, tmp, 1);
    lines.push(
      `distributed indexing, ${PHOTOS} photo-sized images (640x480 PNG: decode, resize, embed, LanceDB upserts in ` +
        `jobs of ${BATCH}): 1 worker ${p.one.toFixed(0)} files/s, 2 workers ${p.two.toFixed(0)} files/s ` +
        `= ${f2(p.two / p.one)}x (target >= 1.7x on 2 cores)`,
    );
    // tiny files: the per-file costs of the queue and the store dominate, and one worker alone already keeps
    // more than one core busy (LanceDB commits on its own threads), which bounds what a second worker can add
    const tiny = join(tmp, "tiny");
    writeSampleCollection(tiny, { scenes: FILES, sounds: 0, clips: 0, speech: 0 });
    const t = await rates(tiny, FILES, port, tmp, 5);
    lines.push(
      `distributed indexing, ${FILES} tiny images (48x48 PNG; queue and store costs dominate): 1 ` +
        `worker ${t.one.toFixed(0)} files/s, 2 workers ${t.two.toFixed(0)} files/s = ${f2(t.two / t.one)}x`,
    );
  } finally {
    redis.kill("SIGTERM");
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function search(lines) {
  const gen = dataset(12345);
  const queries = gen(Q, 987_654_321);
  // exact truth: the in-process flat index
  const flat = new MultimodalIndex(D, { kind: "flat" });
  const tLoad = performance.now();
  for (let i = 0; i < N; i += 20_000) {
    const n = Math.min(20_000, N - i);
    flat.addBatch(
      Array.from({ length: n }, (_, j) => `v${i + j}`),
      rows(gen(n, i), n),
      "image",
    );
  }
  const loadFlat = performance.now() - tLoad;
  const exact = [],
    flatMs = [];
  for (const q of rows(queries, Q)) {
    const t0 = performance.now();
    exact.push(flat.search(q, K).map((h) => h.itemId));
    flatMs.push(performance.now() - t0);
  }
  // LanceDB, IVF-PQ built once the table holds N rows
  const dir = mkdtempSync(join(tmpdir(), "pm-scale-lance-"));
  const lance = await LanceStore.open(dir, "image", D, { annThreshold: N });
  const tLance = performance.now();
  for (let i = 0; i < N; i += 50_000) {
    const n = Math.min(50_000, N - i),
      vs = rows(gen(n, i), n);
    await lance.upsert(vs.map((embedding, j) => ({ id: `v${i + j}`, modality: "image", embedding, metadata: {} })));
  }
  const buildLance = performance.now() - tLance;
  await lance.close();
  // the same table searched with more or fewer partitions probed and candidates re-ranked exactly
  const settings = [];
  for (const [nprobes, refineFactor] of [
    [20, 10],
    [50, 50],
    [100, 100],
  ]) {
    const st = await LanceStore.open(dir, "image", D, { annThreshold: N, nprobes, refineFactor });
    let hit = 0;
    const ms = [];
    for (let qi = 0; qi < Q; qi++) {
      const t0 = performance.now();
      const [hits] = await st.search([queries.subarray(qi * D, (qi + 1) * D)], K);
      ms.push(performance.now() - t0);
      const truth = new Set(exact[qi]);
      hit += hits.filter((h) => truth.has(h.id)).length;
    }
    await st.close();
    settings.push({ nprobes, refineFactor, ms: median(ms), recall: hit / (Q * K) });
  }
  rmSync(dir, { recursive: true, force: true });
  lines.push(
    `search over ${N.toLocaleString("en")} x ${D} (clustered): in-process flat (exact) ${f2(median(flatMs))} ` +
      `ms/query (load ${(loadFlat / 1000).toFixed(0)} s); ` +
      `LanceDB IVF-PQ (${Math.round(Math.sqrt(N))} partitions, ${D / 8} sub-vectors; load + ` +
      `index ${(buildLance / 1000).toFixed(0)} s): ` +
      settings
        .map(
          (x) =>
            `nprobes ${x.nprobes} / refine ${x.refineFactor}: ${f2(x.ms)} ms/query ` +
            `= ${f2(x.ms / median(flatMs))}x flat's time, recall@10 ${f2(x.recall)}`,
        )
        .join("; ") +
      " (target recall >= 0.95)",
  );
  flat.dispose();
  // HNSW over the first N_HNSW items, against the exact answer on the same items
  const sub = new MultimodalIndex(D, { kind: "flat" }),
    hnsw = new MultimodalIndex(D, { kind: "hnsw" });
  const tH = performance.now();
  for (let i = 0; i < N_HNSW; i += 10_000) {
    const n = Math.min(10_000, N_HNSW - i),
      ids = Array.from({ length: n }, (_, j) => `v${i + j}`),
      vs = rows(gen(n, i), n);
    sub.addBatch(ids, vs, "image");
    hnsw.addBatch(ids, vs, "image");
  }
  const buildH = performance.now() - tH;
  let hitH = 0;
  const hMs = [],
    sMs = [];
  for (const q of rows(queries, Q)) {
    let t0 = performance.now();
    const truth = new Set(sub.search(q, K).map((h) => h.itemId));
    sMs.push(performance.now() - t0);
    t0 = performance.now();
    hitH += hnsw.search(q, K).filter((h) => truth.has(h.itemId)).length;
    hMs.push(performance.now() - t0);
  }
  lines.push(
    `in-process HNSW over ${N_HNSW.toLocaleString("en")}: ${f2(median(hMs))} ms/query ` +
      `= ${f2(median(hMs) / median(sMs))}x flat's time on the same items, recall@10 ${f2(hitH / (Q * K))}, ` +
      `build ${(buildH / 1000).toFixed(0)} s`,
  );
  sub.dispose();
  hnsw.dispose();
}

async function persistence(lines) {
  const gen = dataset(777);
  const dir = mkdtempSync(join(tmpdir(), "pm-scale-file-"));
  const base = join(dir, "image");
  let st = await FileStore.open(base, D);
  for (let i = 0; i < N; i += 20_000) {
    const n = Math.min(20_000, N - i),
      vs = rows(gen(n, i), n);
    await st.upsert(
      vs.map((embedding, j) => ({ id: `v${i + j}`, modality: "image", embedding, metadata: { n: i + j } })),
    );
  }
  await st.close();
  st = await FileStore.open(base, D);
  const before = st.diskBytes();
  const add = rows(gen(1000, 5_000_000), 1000).map((embedding, j) => ({
    id: `new${j}`,
    modality: "image",
    embedding,
    metadata: { n: j },
  }));
  const raw = add.reduce((s, it) => s + it.embedding.byteLength + it.id.length + JSON.stringify(it.metadata).length, 0);
  const t0 = performance.now();
  for (let j = 0; j < 1000; j += 50) await st.upsert(add.slice(j, j + 50));
  const ms = performance.now() - t0;
  const written = st.diskBytes() - before;
  await st.close();
  rmSync(dir, { recursive: true, force: true });
  lines.push(
    `adding 1,000 items (20 durable writes of 50) to a ${N.toLocaleString("en")}-item file ` +
      `store: ${(written / 1e6).toFixed(2)} MB written = ${f2(written / raw)}x the items' own bytes (target <= 2x; ` +
      `the store is ${(before / 1e9).toFixed(2)} GB), ${ms.toFixed(0)} ms`,
  );
}

export async function benchScale() {
  await init();
  const lines = [];
  const parts = (process.env.SCALE_PARTS ?? "throughput,persistence,search").split(",");
  if (parts.includes("throughput")) await throughput(lines);
  if (parts.includes("persistence")) await persistence(lines);
  if (parts.includes("search")) await search(lines);
  for (const l of lines) console.log("  " + l);
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchScale();
