// MultimodalIndex and CrossModalRetriever against a float64 brute-force reference computed as the seed does
// (x / (||x|| + 1e-8), dot products, best first).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { init, Tensor, F, MultimodalIndex, CrossModalRetriever, CLIPModel, type IndexKind } from "../src/index.js";
import { lcg } from "./harness/workloads.js";
import { rt } from "../src/bindings/module.js";

beforeAll(async () => {
  await init();
});

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const MODS = ["image", "text", "audio"];

/** Clustered Gaussian-ish data: 20 centres, points near them. */
function dataset(N: number, D: number, seed: number): Float32Array {
  const centres = lcg(20 * D, seed);
  const noise = lcg(N * D, seed + 1, 0.35);
  const out = new Float32Array(N * D);
  for (let i = 0; i < N; i++) for (let d = 0; d < D; d++) out[i * D + d] = centres[(i % 20) * D + d] + noise[i * D + d];
  return out;
}

function brute(
  data: Float32Array,
  N: number,
  D: number,
  q: Float32Array,
  k: number,
  keep: (i: number) => boolean,
): Array<[number, number]> {
  const norm = (v: Float32Array, o: number): number => {
    let s = 0;
    for (let d = 0; d < D; d++) s += v[o + d] ** 2;
    return Math.sqrt(s) + 1e-8;
  };
  const qn = norm(q, 0);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < N; i++) {
    if (!keep(i)) continue;
    const n = norm(data, i * D);
    let s = 0;
    for (let d = 0; d < D; d++) s += (data[i * D + d] / n) * (q[d] / qn);
    out.push([s, i]);
  }
  return out.sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k);
}

function build(kind: IndexKind, data: Float32Array, N: number, D: number, extra = {}): MultimodalIndex {
  const ix = new MultimodalIndex(D, { kind, efConstruction: 100, ...extra });
  for (let m = 0; m < 3; m++) {
    const slots = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 === m);
    const emb = new Float32Array(slots.length * D);
    slots.forEach((s, j) => emb.set(data.subarray(s * D, (s + 1) * D), j * D));
    ix.addBatch(
      slots.map((s) => `item${s}`),
      new Tensor(emb, [slots.length, D]),
      MODS[m],
      slots.map((s) => ({ n: s, even: s % 2 === 0 })),
    );
  }
  return ix;
}

describe("MultimodalIndex search vs float64 brute force", () => {
  const N = 3000,
    D = 64;
  const data = dataset(N, D, 11);
  const queries = Array.from({ length: 25 }, (_, i) =>
    Float32Array.from(lcg(D, 900 + i)).map((v, d) => v * 0.2 + data[i * 37 * D + d]),
  );

  it.each([
    ["flat", {}, 1.0],
    ["int8", { rerank: 64 }, 0.99],
    ["hnsw", { efSearch: 64 }, 0.95],
  ] as const)("%s: recall@10 and scores", (kind, extra, minRecall) => {
    const ix = build(kind, data, N, D, extra);
    expect(ix.size).toBe(N);
    let hit = 0;
    for (const q of queries) {
      const ref = brute(data, N, D, q, 10, () => true);
      const got = ix.search(q, 10);
      expect(got.length).toBe(10);
      const refIds = new Set(ref.map(([, i]) => `item${i}`));
      for (const r of got) {
        if (refIds.has(r.itemId)) hit++;
        const i = Number(r.itemId.slice(4));
        expect(r.modality).toBe(MODS[i % 3]);
        expect(r.metadata).toEqual({ n: i, even: i % 2 === 0 });
        const exact = brute(data, N, D, q, N, (j) => j === i)[0][0];
        expect(Math.abs(r.score - exact), `${kind} score of ${r.itemId}`).toBeLessThanOrEqual(
          kind === "int8" && !("rerank" in extra) ? 2e-2 : 2e-6,
        );
      }
      for (let j = 1; j < got.length; j++) expect(got[j - 1].score).toBeGreaterThanOrEqual(got[j].score);
    }
    const recall = hit / (10 * queries.length);
    expect(recall).toBeGreaterThanOrEqual(minRecall);
    ix.dispose();
  });

  it.each(["flat", "int8", "hnsw"] as const)(
    "%s: modality filter and a selective metadata filter still return topK",
    (kind) => {
      const ix = build(kind, data, N, D, kind === "int8" ? { rerank: 64 } : {});
      const q = queries[3];
      const got = ix.search(q, 10, "audio");
      expect(got.every((r) => r.modality === "audio")).toBe(true);
      const ref = brute(data, N, D, q, 10, (i) => i % 3 === 2).map(([, i]) => `item${i}`);
      const overlap = got.filter((r) => ref.includes(r.itemId)).length;
      expect(overlap).toBeGreaterThanOrEqual(kind === "flat" ? 10 : 9);
      // 1% of the items pass: the search still returns 10 of them, exactly the best
      const sel = ix.search(q, 10, "image", { filter: (m) => (m.n as number) % 100 === 0 });
      expect(sel.length).toBe(10);
      const refSel = brute(data, N, D, q, 10, (i) => i % 3 === 0 && i % 100 === 0).map(([, i]) => `item${i}`);
      expect(sel.map((r) => r.itemId)).toEqual(refSel);
      ix.dispose();
    },
  );
});

describe("MultimodalIndex behaviour", () => {
  it("addBatch takes a flat (n, D) Float32Array like a Tensor or a list of rows", () => {
    const D = 8,
      n = 5,
      flat = Float32Array.from(lcg(n * D, 3));
    const a = new MultimodalIndex(D),
      b = new MultimodalIndex(D);
    a.addBatch(["0", "1", "2", "3", "4"], flat, "x");
    b.addBatch(
      ["0", "1", "2", "3", "4"],
      Array.from({ length: n }, (_, i) => flat.subarray(i * D, (i + 1) * D)),
      "x",
    );
    expect(a.search(flat.subarray(8, 16), 5)).toEqual(b.search(flat.subarray(8, 16), 5));
    expect(() => a.addBatch(["p", "q"], new Float32Array(D * 2 + 1), "x")).toThrow(
      /must hold 2 x 8 = 16 values, got 17/,
    );
  });

  it("remove, upsert, get, size, searchBatch", () => {
    for (const kind of ["flat", "int8", "hnsw"] as const) {
      const D = 16;
      const ix = new MultimodalIndex(D, { kind, rerank: kind === "int8" ? 8 : 0 });
      const v = (s: number): Float32Array => Float32Array.from(lcg(D, s));
      for (let i = 0; i < 50; i++) ix.add(`a${i}`, v(i), i % 2 ? "image" : "text", { i });
      expect(ix.size).toBe(50);
      expect(ix.search(v(7), 1)[0].itemId).toBe("a7");
      expect(ix.remove("a7")).toBe(true);
      expect(ix.remove("a7")).toBe(false);
      expect(ix.size).toBe(49);
      expect(ix.search(v(7), 5).map((r) => r.itemId)).not.toContain("a7");
      ix.add("a8", v(1000), "audio", { moved: true }); // upsert: new vector, modality, metadata
      expect(ix.size).toBe(49);
      const g = ix.get("a8")!;
      expect(g.modality).toBe("audio");
      expect(g.metadata).toEqual({ moved: true });
      expect(ix.search(v(1000), 1)[0]).toMatchObject({ itemId: "a8", modality: "audio" });
      expect(ix.get("nope")).toBeNull();
      const qs = [v(3), v(4), v(5)];
      expect(ix.searchBatch(qs, 3)).toEqual(qs.map((q) => ix.search(q, 3)));
      ix.dispose();
    }
  });

  it("bad input gets clear Errors; an empty index returns []", () => {
    const ix = new MultimodalIndex(4);
    expect(ix.search([1, 0, 0, 0], 5)).toEqual([]);
    ix.add("x", [1, 2, 3, 4], "image");
    expect(() => ix.add("y", [1, 2, 3], "image")).toThrow(/embedding 0 must have 4 values, got 3/);
    expect(() => ix.add("y", [1, NaN, 3, 4], "image")).toThrow(/holds NaN at dimension 1; expected finite numbers/);
    expect(() => ix.add("y", [0, 0, 0, 0], "image")).toThrow(/is all zeros/);
    expect(() => ix.add("", [1, 1, 1, 1], "image")).toThrow(/itemIds\[0\] must be a non-empty string/);
    expect(() => ix.add("y", [1, 1, 1, 1], "")).toThrow(/modality must be a non-empty string/);
    expect(() => ix.search([1, 0, 0, 0], 0)).toThrow(/topK must be a positive integer, got 0/);
    expect(() => ix.search([1, 0, 0, 0], 2.5)).toThrow(/topK must be a positive integer, got 2.5/);
    expect(() => ix.search([1, 0, 0, 0], 3, "video")).toThrow(/unknown modality "video" \(the index holds "image"\)/);
    expect(() => ix.search([0, 0, 0, 0], 3)).toThrow(/is all zeros/);
    expect(() => ix.search([1, 2], 3)).toThrow(/must have 4 values, got 2/);
    expect(() =>
      ix.addBatch(
        ["a", "a"],
        [
          [1, 1, 1, 1],
          [1, 1, 1, 1],
        ],
        "image",
      ),
    ).toThrow(/duplicates/);
    expect(() => new MultimodalIndex(0)).toThrow(/embeddingDim must be a positive integer/);
    expect(() => new MultimodalIndex(4, { kind: "ivf" as never })).toThrow(/kind must be "flat", "int8" or "hnsw"/);
    expect(() => new MultimodalIndex(4).search([1, 0, 0, 0], -1)).toThrow(/topK must be a positive integer/);
    ix.dispose();
  });
});

describe("persistence", () => {
  const N = 400,
    D = 32;
  const data = dataset(N, D, 5);

  it.each(["flat", "int8", "hnsw"] as const)("%s: save -> load gives the same results and the same bytes", (kind) => {
    const ix = build(kind, data, N, D, kind === "int8" ? { rerank: 16 } : {});
    ix.remove("item5");
    const bytes = ix.save();
    const back = MultimodalIndex.load(bytes);
    expect(back.size).toBe(ix.size);
    expect(Buffer.from(back.save()).equals(Buffer.from(bytes))).toBe(true);
    for (let i = 0; i < 10; i++) {
      const q = data.subarray(i * 7 * D, (i * 7 + 1) * D);
      expect(back.search(q, 5, i % 2 ? "text" : null)).toEqual(ix.search(q, 5, i % 2 ? "text" : null));
    }
    back.add("new", data.subarray(0, D), "image");
    expect(back.search(data.subarray(0, D), 2).map((r) => r.itemId)).toContain("new");
    ix.dispose();
    back.dispose();
  });

  it("corrupt or truncated bytes give a clear Error (fuzz)", () => {
    const ix = build("hnsw", data, 120, D);
    const good = ix.save();
    let s = 4242;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    for (let iter = 0; iter < 400; iter++) {
      let b = good.slice();
      if (iter % 2) b = b.subarray(0, rnd(b.length));
      else b[rnd(b.length)] ^= 1 + rnd(255);
      expect(() => MultimodalIndex.load(b)).toThrow(/^MultimodalIndex\.load: /);
    }
    expect(() => MultimodalIndex.load(new TextEncoder().encode("hello world, not an index"))).toThrow(/bad magic/);
    ix.dispose();
  });

  it("saveToFile is atomic: killing the writer mid-save leaves the previous file intact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polymodal-index-"));
    const path = join(dir, "index.pmidx");
    const ix = build("flat", data, N, D);
    await ix.saveToFile(path);
    const before = readFileSync(path);
    // A child process saves a large index to the same path over and over; kill it at once and mid-write.
    const script = join(dir, "writer.mjs");
    writeFileSync(
      script,
      `
      import { init, MultimodalIndex } from ${JSON.stringify(join(root, "dist/index.js"))};
      await init();
      const D = 256, N = 60000, ix = new MultimodalIndex(D);
      const v = new Float32Array(N * D).map((_, i) => Math.sin(i) + 0.01);
      const ids = Array.from({ length: N }, (_, i) => "w" + i);
      ix.addBatch(ids, Array.from({ length: N }, (_, i) => v.subarray(i * D, (i + 1) * D)), "image");
      process.stdout.write("ready\\n");
      for (;;) await ix.saveToFile(${JSON.stringify(path)});
    `,
    );
    for (const delay of [5, 60, 250]) {
      const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((res) => child.stdout!.once("data", () => res()));
      await new Promise((r) => setTimeout(r, delay));
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const loaded = await MultimodalIndex.loadFromFile(path); // either the old index or a complete new one
      expect([N, 60000]).toContain(loaded.size);
      loaded.dispose();
    }
    expect(existsSync(path)).toBe(true);
    expect(before.length).toBeGreaterThan(0);
    ix.dispose();
  }, 120_000);
});

describe("CrossModalRetriever", () => {
  it("indexes images in batches and searches by text and by image", () => {
    const clip = new CLIPModel({
      visionConfig: { imageSize: 16, patchSize: 8, embedDim: 32, numHeads: 4, numLayers: 1 },
      textConfig: { vocabSize: 50, maxSeqLen: 8, embedDim: 32, numHeads: 4, numLayers: 1 },
      projectionDim: 24,
    });
    for (const kind of ["flat", "hnsw"] as const) {
      const r = new CrossModalRetriever(clip, 24, { kind, batchSize: 3 });
      const imgs = new Tensor(Float32Array.from(lcg(10 * 3 * 16 * 16, 3)), [10, 3, 16, 16]);
      r.indexImages(
        imgs,
        Array.from({ length: 10 }, (_, i) => `img_${i}`),
        Array.from({ length: 10 }, (_, i) => ({ category: `cat_${i % 3}` })),
      );
      expect(r.index.size).toBe(10);
      const hits = r.searchByText(new Tensor(Int32Array.from([1, 2, 3, 4]), [1, 4]), null, 5);
      expect(hits.length).toBe(5);
      expect(hits.every((h) => h.modality === "image" && /^cat_/.test(h.metadata.category as string))).toBe(true);
      const self = r.searchByImage(new Tensor((imgs.data as Float32Array).slice(4 * 768, 5 * 768), [3, 16, 16]), 1);
      expect(self[0].itemId).toBe("img_4");
      expect(self[0].score).toBeGreaterThan(0.9999);
      r.index.dispose();
    }
    expect(() => new CrossModalRetriever(clip, 32)).toThrow(
      /embeddingDim 32 differs from the model's projection dim 24/,
    );
    clip.dispose();
  });
});

describe("filters that run ops", () => {
  it("a metadata filter that itself grows WASM memory does not corrupt the search", () => {
    for (const kind of ["flat", "hnsw"] as const) {
      const D = 16,
        N = 300;
      const ix = new MultimodalIndex(D, { kind });
      const v = Float32Array.from(lcg(N * D, 8));
      ix.addBatch(
        Array.from({ length: N }, (_, i) => `x${i}`),
        new Tensor(v, [N, D]),
        "image",
        Array.from({ length: N }, (_, i) => ({ i })),
      );
      const q = v.subarray(7 * D, 8 * D);
      let grown = false;
      const before = rt().heap.byteLength;
      const heavy = ix.search(q, 5, null, {
        filter: (m) => {
          if (!grown) {
            grown = true;
            F.linear(Tensor.zeros([8192 + (kind === "hnsw" ? 4096 : 0), 4096]), Tensor.zeros([4, 4096]));
          } // >128 MB of scratch
          return (m.i as number) % 2 === 1;
        },
      });
      expect(rt().heap.byteLength).toBeGreaterThan(before); // the memory did grow mid-search
      // the plain search runs second, so no earlier identical search left a matching mask in scratch
      const plain = ix.search(q, 5, null, { filter: (m) => (m.i as number) % 2 === 1 });
      expect(heavy).toEqual(plain);
      ix.dispose();
    }
  });
});
