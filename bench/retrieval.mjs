// Retrieval, single-threaded, 1,000 queries, k = 10, on 100,000 x 512 unit vectors (a clustered Gaussian
// mixture; random unit vectors for the flat kinds only): polymodal flat f32, flat int8 (+ float re-rank) and
// HNSW (M 16, efConstruction 100, efSearch 32/64/128) against FAISS IndexFlatIP and hnswlib with the same
// parameters on the same vectors (files both sides read; the Python peers run as a separate process).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { MultimodalIndex, memoryStats } from "../dist/index.js";

const N = Number(process.env.RETRIEVAL_N ?? 100000),
  D = 512,
  Q = 1000,
  K = 10;

function gaussian(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u1 = (s + 1) / 4294967297;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u2 = s / 4294967296;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2); // data generation only, not a numeric path
  };
}

function unit(v, n) {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += v[i * D + d] ** 2;
    s = Math.sqrt(s);
    for (let d = 0; d < D; d++) v[i * D + d] /= s;
  }
  return v;
}

function clustered(n, seed, centres) {
  const g = gaussian(seed);
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    g(); // one draw discarded per vector: keeps the vectors the README's numbers were measured on
    const cc = (i * 7919) % (centres.length / D);
    for (let d = 0; d < D; d++) out[i * D + d] = centres[cc * D + d] + 0.5 * g();
  }
  return unit(out, n);
}

function exactTop(X, n, Qv) {
  const truth = new Int32Array(Q * K);
  const ix = new MultimodalIndex(D);
  ix.addBatch(
    Array.from({ length: n }, (_, i) => String(i)),
    Array.from({ length: n }, (_, i) => X.subarray(i * D, (i + 1) * D)),
    "v",
  );
  for (let q = 0; q < Q; q++)
    ix.search(Qv.subarray(q * D, (q + 1) * D), K).forEach((r, j) => (truth[q * K + j] = Number(r.itemId)));
  ix.dispose();
  return truth;
}

function recallOf(results, truth) {
  let hit = 0;
  results.forEach((rs, q) => {
    const t = new Set(truth.subarray(q * K, (q + 1) * K));
    for (const r of rs) if (t.has(Number(r.itemId))) hit++;
  });
  return hit / (Q * K);
}

function timeQueries(ix, Qv, opts) {
  const res = [];
  const t0 = performance.now();
  for (let q = 0; q < Q; q++) res.push(ix.search(Qv.subarray(q * D, (q + 1) * D), K, null, opts));
  return { qps: Q / ((performance.now() - t0) / 1000), res };
}

function build(kind, X, n, opts = {}) {
  const ix = new MultimodalIndex(D, { kind, m: 16, efConstruction: 100, ...opts });
  const before = memoryStats().persistentBytes;
  const t0 = performance.now();
  const B = 5000;
  for (let s = 0; s < n; s += B) {
    const m = Math.min(B, n - s);
    ix.addBatch(
      Array.from({ length: m }, (_, i) => String(s + i)),
      Array.from({ length: m }, (_, i) => X.subarray((s + i) * D, (s + i + 1) * D)),
      "v",
    );
  }
  return { ix, buildS: (performance.now() - t0) / 1000, bytesPerVector: (memoryStats().persistentBytes - before) / n };
}

export async function benchRetrieval() {
  mkdirSync("bench/.cache", { recursive: true });
  const g = gaussian(1);
  const centres = new Float32Array(100 * D).map(() => g());
  const sets = [
    ["clustered", clustered(N, 2, centres), clustered(Q, 3, centres), true],
    [
      "random",
      unit(new Float32Array(N * D).map(gaussian(4)), N),
      unit(new Float32Array(Q * D).map(gaussian(5)), Q),
      false,
    ],
  ];
  const lines = [];
  for (const [name, X, Qv, hnsw] of sets) {
    console.log(`\n${name}: ${N} x ${D}, ${Q} queries, k = ${K}`);
    const truth = exactTop(X, N, Qv);
    const files = ["base", "queries", "truth"].map((f) => `bench/.cache/ann-${name}-${f}.bin`);
    writeFileSync(files[0], Buffer.from(X.buffer));
    writeFileSync(files[1], Buffer.from(Qv.buffer));
    writeFileSync(files[2], Buffer.from(truth.buffer));
    const flat = build("flat", X, N);
    const f = timeQueries(flat.ix, Qv);
    const gbps = (N * D * 4 * f.qps) / 1e9;
    console.log(
      `  polymodal flat f32       ${f.qps.toFixed(0).padStart(6)} QPS  ${gbps.toFixed(1)} GB/s scanned  ` +
        `recall@10 ${recallOf(f.res, truth).toFixed(3)}`,
    );
    flat.ix.dispose();
    const i8 = build("int8", X, N, { rerank: 50 });
    const q8 = timeQueries(i8.ix, Qv);
    console.log(
      `  polymodal flat int8+rerank ${q8.qps.toFixed(0).padStart(4)} QPS  ${(q8.qps / f.qps).toFixed(2)}x flat ` +
        `f32  recall@10 ${recallOf(q8.res, truth).toFixed(3)}`,
    );
    i8.ix.dispose();
    const i8n = build("int8", X, N);
    const q8n = timeQueries(i8n.ix, Qv);
    console.log(
      `  polymodal flat int8 (no float copy, ${i8n.bytesPerVector.toFixed(0)} B/vector) ${q8n.qps.toFixed(0)} QPS ` +
        ` recall@10 ${recallOf(q8n.res, truth).toFixed(3)}`,
    );
    i8n.ix.dispose();
    let peers = null;
    if (existsSync("/usr/bin/python3")) {
      try {
        peers = JSON.parse(
          execFileSync("/usr/bin/python3", ["bench/peers/ann_peers.py", ...files, String(D), hnsw ? "1" : "0"], {
            stdio: ["ignore", "pipe", "ignore"],
            maxBuffer: 1 << 20,
          }).toString(),
        );
      } catch {
        peers = null;
      }
    }
    if (peers)
      console.log(
        `  FAISS IndexFlatIP          ${peers.faiss_flat_qps.toFixed(0).padStart(4)} QPS  (polymodal flat ` +
          `f32: ${(f.qps / peers.faiss_flat_qps).toFixed(2)}x)`,
      );
    lines.push(
      `${name} flat f32: ${f.qps.toFixed(0)} QPS, ${gbps.toFixed(1)} GB/s; ` +
        `int8+rerank ${(q8.qps / f.qps).toFixed(2)}x flat, recall ${recallOf(q8.res, truth).toFixed(3)}` +
        (peers ? `; FAISS flat ${peers.faiss_flat_qps.toFixed(0)} QPS` : ""),
    );
    if (hnsw) {
      const h = build("hnsw", X, N);
      console.log(
        `  polymodal HNSW build ${h.buildS.toFixed(1)} s, ${h.bytesPerVector.toFixed(0)} B/vector` +
          (peers
            ? `; hnswlib build ${peers.hnswlib_build_s.toFixed(1)} s ` +
              `(${(h.buildS / peers.hnswlib_build_s).toFixed(2)}x)`
            : ""),
      );
      for (const ef of [32, 64, 128]) {
        const r = timeQueries(h.ix, Qv, { efSearch: ef });
        const p = peers?.[`hnswlib_ef${ef}`];
        console.log(
          `  HNSW ef ${String(ef).padStart(3)}: polymodal ${r.qps.toFixed(0).padStart(5)} QPS ` +
            `recall ${recallOf(r.res, truth).toFixed(3)}` +
            (p
              ? ` | hnswlib ${p.qps.toFixed(0).padStart(5)} QPS recall ${p.recall.toFixed(3)} | QPS ` +
                `ratio ${(r.qps / p.qps).toFixed(2)}`
              : ""),
        );
        lines.push(
          `HNSW ef ${ef}: ${r.qps.toFixed(0)} QPS, recall ${recallOf(r.res, truth).toFixed(3)}` +
            (p ? ` vs hnswlib ${p.qps.toFixed(0)} QPS, recall ${p.recall.toFixed(3)}` : ""),
        );
      }
      lines.push(
        `HNSW build ${h.buildS.toFixed(1)} s` + (peers ? ` vs hnswlib ${peers.hnswlib_build_s.toFixed(1)} s` : ""),
      );
      h.ix.dispose();
    }
  }
  return lines;
}
