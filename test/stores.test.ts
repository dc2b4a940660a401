// The embedding store interface (src/retrieval/embedding-store.ts): one search suite run against every backend —
// in-process (MemoryStore), persisted incrementally (FileStore), LanceDB (LanceStore) — with the flat in-process
// index as the truth: all three search exactly here, so top-k ids must be identical and scores equal to float32
// rounding.  Then what only persistence has: reopening, SIGKILL at random points, and bytes written per add.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  MemoryStore,
  StoreVersionError,
  checkVersion,
  jsonlLine,
  loadPretrained,
  encodePng,
  cacheEmbeddings,
  cacheEmbeddingsInto,
  type EmbeddingStore,
  type StoredItem,
  type StoreSearchOptions,
} from "../src/index.js";
import { FileStore } from "../src/app/file-store.js";
import { LanceStore } from "../src/app/lance-store.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pm-stores-"));
const DIM = 32;

/** Deterministic pseudo-random vectors (xorshift), not unit length: stores normalise. */
function vec(seed: number): Float32Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  return Float32Array.from({ length: DIM }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x / 2 ** 32) * 2 - 1;
  });
}
const item = (i: number): StoredItem => ({
  id: `item-${i}`,
  modality: i % 4 === 0 ? "audio" : "image",
  embedding: vec(i),
  metadata: {
    group: i % 3,
    even: i % 2 === 0,
    name: `n${i % 5}`,
    "it's": i % 7 === 0 ? "x'y" : null,
    nested: { deep: i },
  },
});
const ITEMS = Array.from({ length: 300 }, (_, i) => item(i));
const QUERIES = [1001, 1002, 1003, 1004, 1005].map(vec);

const backends: Array<[string, (name: string) => Promise<EmbeddingStore>]> = [
  ["memory", async () => new MemoryStore(DIM)],
  ["file", async (name) => FileStore.open(join(tmp, name, "space"), DIM, { compactMinBytes: 64 * 1024 })],
  ["lancedb", async (name) => LanceStore.open(join(tmp, name), "space", DIM)],
];

let truth: MemoryStore;
beforeAll(async () => {
  await init();
  truth = new MemoryStore(DIM);
  await truth.upsert(ITEMS);
});

const ids = (hits: Array<{ id: string }>): string[] => hits.map((h) => h.id);

describe.each(backends)("EmbeddingStore: %s", (name, make) => {
  it("upserts, searches (modality, metadata filters) with the flat index's exact top-k, replaces, removes, lists, " +
    "counts", async () => {
    const store = await make(`${name}-suite`);
    try {
      for (let s = 0; s < ITEMS.length; s += 100) await store.upsert(ITEMS.slice(s, s + 100));
      expect(await store.count()).toBe(300);
      const cases: StoreSearchOptions[] = [
        {},
        { modality: "image" },
        { modality: "audio" },
        { filter: { group: 1 } },
        { filter: { even: true, name: "n2" } },
        { modality: "image", filter: { "it's": "x'y" } },
        { filter: { "it's": null, group: 2 } },
        { filter: { name: "nobody" } },
      ];
      for (const o of cases) {
        const got = await store.search(QUERIES, 10, o),
          want = await truth.search(QUERIES, 10, o);
        got.forEach((hits, q) => {
          expect(ids(hits), `${JSON.stringify(o)} query ${q}`).toEqual(ids(want[q]));
          hits.forEach((h, j) => expect(h.score).toBeCloseTo(want[q][j].score, 5));
        });
        if (o === cases[4])
          expect(got[0].every((h) => h.metadata.even === true && h.metadata.name === "n2")).toBe(true);
      }
      const [top] = await store.search([QUERIES[0]], 3);
      expect(top[0].metadata).toEqual(ITEMS.find((x) => x.id === top[0].id)!.metadata);
      // replace: same id, another vector and metadata; count unchanged
      await store.upsert([{ id: top[0].id, modality: "image", embedding: vec(5000), metadata: { replaced: true } }]);
      expect(await store.count()).toBe(300);
      const [again] = await store.search([vec(5000)], 1);
      expect(again[0]).toMatchObject({ id: top[0].id, metadata: { replaced: true } });
      expect(again[0].score).toBeCloseTo(1, 5);
      expect(await store.remove([top[0].id, "no-such-id"])).toBe(1);
      expect(await store.count()).toBe(299);
      expect(ids((await store.search([vec(5000)], 300))[0])).not.toContain(top[0].id);
      const listed: StoredItem[] = [];
      for await (const e of store.entries()) listed.push(e);
      expect(listed.map((e) => e.id).sort()).toEqual(
        ITEMS.map((x) => x.id)
          .filter((x) => x !== top[0].id)
          .sort(),
      );
      // every store keeps the same bits: the index kernel's normalisation of each vector
      const kept = new Map<string, Float32Array>();
      for await (const e of truth.entries()) kept.set(e.id, e.embedding);
      for (const e of listed) expect(Array.from(e.embedding), e.id).toEqual(Array.from(kept.get(e.id)!));
      const one = listed.find((e) => e.id === "item-5")!;
      let n = 0;
      for (const v of one.embedding) n += v * v;
      expect(n).toBeCloseTo(1, 5);
      expect(JSON.parse(jsonlLine(one))).toMatchObject({
        id: "item-5",
        modality: "image",
        metadata: ITEMS[5].metadata,
      });
      // a listing without vectors: the same items, modalities and metadata, no vector read
      const bare: StoredItem[] = [];
      for await (const e of store.entries({ vectors: false })) bare.push(e);
      expect(bare.map((e) => [e.id, e.modality, e.metadata, e.embedding.length])).toEqual(
        listed.map((e) => [e.id, e.modality, e.metadata, 0]),
      );
      // bad input changes nothing
      await expect(store.upsert([{ ...ITEMS[0], embedding: new Float32Array(3) }])).rejects.toThrow(
        /Float32Array of 32, got 3/,
      );
      await expect(store.upsert([{ ...ITEMS[0], embedding: new Float32Array(DIM).fill(NaN) }])).rejects.toThrow(
        /is NaN/,
      );
      expect(await store.count()).toBe(299);
    } finally {
      await store.close();
    }
  }, 60_000);

  it("carries one version stamp and refuses another", async () => {
    const store = await make(`${name}-version`);
    try {
      expect(store.version()).toBeNull();
      await checkVersion(store, "clip-scenes@aaaa", true);
      expect(store.version()).toBe("clip-scenes@aaaa");
      await expect(checkVersion(store, "clip-scenes@bbbb", true)).rejects.toBeInstanceOf(StoreVersionError);
      await checkVersion(store, "clip-scenes@aaaa", false);
    } finally {
      await store.close();
    }
    if (name === "memory") return;
    const reopened = await make(`${name}-version`); // persisted
    expect(reopened.version()).toBe("clip-scenes@aaaa");
    await reopened.close();
  }, 60_000);

  it.skipIf(name === "memory")(
    "keeps everything across a reopen",
    async () => {
      const a = await make(`${name}-reopen`);
      await a.upsert(ITEMS.slice(0, 150));
      await a.remove(["item-3"]);
      await a.upsert(ITEMS.slice(150));
      const before = await a.search(QUERIES, 10, { filter: { group: 0 } });
      await a.close();
      const b = await make(`${name}-reopen`);
      expect(await b.count()).toBe(299);
      expect((await b.search(QUERIES, 10, { filter: { group: 0 } })).map(ids)).toEqual(before.map(ids));
      await b.close();
    },
    60_000,
  );
});

describe("FileStore persistence", () => {
  it("adding 1,000 items to a 20,000-item store writes about their bytes, not the store", async () => {
    const base = join(tmp, "incremental", "image");
    const s = await FileStore.open(base, DIM);
    for (let i = 0; i < 20_000; i += 2000)
      await s.upsert(Array.from({ length: 2000 }, (_, j) => ({ ...item(i + j), id: `b${i + j}` })));
    await s.close();
    const s2 = await FileStore.open(base, DIM);
    const before = s2.diskBytes();
    const added = Array.from({ length: 1000 }, (_, j) => ({ ...item(50_000 + j), id: `new${j}` }));
    // as `polymodal index` saves, 50 at a time
    for (let j = 0; j < 1000; j += 50) await s2.upsert(added.slice(j, j + 50));
    const written = s2.diskBytes() - before;
    const raw = added.reduce(
      (n, it) => n + it.embedding.byteLength + it.id.length + JSON.stringify(it.metadata).length,
      0,
    );
    expect(written / raw).toBeLessThan(2);
    expect(await s2.count()).toBe(21_000);
    await s2.close();
  }, 60_000);

  it("compacts into a new generation when the log outgrows the snapshot, leaving one generation", async () => {
    const dir = join(tmp, "compact");
    const s = await FileStore.open(join(dir, "space"), DIM, { compactMinBytes: 4096 });
    for (let i = 0; i < 300; i += 10) await s.upsert(ITEMS.slice(i, i + 10));
    await s.remove(["item-1"]);
    await s.close();
    const files = readdirSync(dir).filter((f) => !f.endsWith(".tmp"));
    expect(files.filter((f) => f.endsWith(".pmx"))).toHaveLength(1);
    expect(Number(files.find((f) => f.endsWith(".pmx"))!.split(".")[1])).toBeGreaterThan(1);
    const r = await FileStore.open(join(dir, "space"), DIM);
    expect(await r.count()).toBe(299);
    await r.close();
  });

  it("survives SIGKILL at random points: the store loads and holds every acknowledged item", async () => {
    const base = join(tmp, "killed", "space");
    const child = join(tmp, "writer.mjs");
    writeFileSync(
      child,
      `
      import { init } from ${JSON.stringify(pathToFileURL(join(root, "dist/index.js")).href)};
      import { FileStore } from ${JSON.stringify(pathToFileURL(join(root, "dist/app/file-store.js")).href)};
      await init();
      const [base, start] = process.argv.slice(2);
      const s = await FileStore.open(base, ${DIM}, { compactMinBytes: 8192 });
      for (let i = Number(start); ; i++) {
        const e = Float32Array.from({ length: ${DIM} }, (_, j) => Math.sin(i * 31 + j));
        await s.upsert([{ id: "k" + i, modality: "image", embedding: e, metadata: { i } }]);
        process.stdout.write("ack " + i + "\\n");
        if (i % 7 === 0) { await s.remove(["k" + (i - 3)]); process.stdout.write("rm " + (i - 3) + "\\n"); }
      }
    `,
    );
    let next = 0;
    // acknowledged adds must be there, acknowledged removes gone; a remove in flight at the kill may have landed or not
    const acked = new Set<number>(),
      removed = new Set<number>(),
      uncertain = new Set<number>();
    for (let round = 0; round < 6; round++) {
      const p = spawn(process.execPath, [child, base, String(next)], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      p.stdout.on("data", (d) => {
        out += d;
      });
      await new Promise((r) => setTimeout(r, 300 + ((round * 137) % 400)));
      p.kill("SIGKILL");
      await new Promise((r) => p.once("exit", r));
      for (const m of out.matchAll(/(ack|rm) (\d+)/g)) (m[1] === "ack" ? acked : removed).add(Number(m[2]));
      for (const i of acked) if (i % 7 === 0 && !removed.has(i - 3)) uncertain.add(i - 3);
      next = Math.max(next, ...acked) + 1;
      const s = await FileStore.open(base, DIM, { compactMinBytes: 8192 });
      const have = new Set<string>();
      for await (const e of s.entries()) have.add(e.id);
      for (const i of acked)
        if (!removed.has(i) && !uncertain.has(i))
          expect(have.has(`k${i}`), `acknowledged k${i} after round ${round}`).toBe(true);
      for (const i of removed) expect(have.has(`k${i}`), `removed k${i}`).toBe(false);
      // the next round starts past every id seen, so an uncertain remove is never retried: settle it from the store
      for (const i of uncertain) {
        if (have.has(`k${i}`)) acked.add(i);
        else removed.add(i);
      }
      uncertain.clear();
      await s.close();
    }
    expect(acked.size).toBeGreaterThan(20);
    expect(readdirSync(dirname(base)).filter((f) => f.endsWith(".pmx"))).toHaveLength(1);
    void statSync;
  }, 120_000);
});

describe("cacheEmbeddingsInto", () => {
  it("fills any store with the vectors cacheEmbeddings puts in its index", async () => {
    const clip = await loadPretrained("clip-scenes");
    const { makeScene, SIZE } = await import("../scripts/scenes.mjs");
    const images = clip.processor.process(
      [1, 2, 3].map((i) => encodePng({ width: SIZE, height: SIZE, channels: 3, data: makeScene(i).pixels })),
    );
    const batches = [{ ids: ["s1", "s2", "s3"], inputs: images, metadata: [{ n: 1 }, { n: 2 }, { n: 3 }] }];
    const ix = await cacheEmbeddings(clip.model, batches, "image");
    const store = await LanceStore.open(join(tmp, "cached-lance"), "image", 64);
    try {
      expect(await cacheEmbeddingsInto(store, clip.model, batches, "image")).toBe(3);
      for (const id of ["s1", "s2", "s3"]) {
        const [hits] = await store.search([ix.get(id)!.embedding], 1);
        expect(hits[0].id).toBe(id);
        expect(hits[0].score).toBeCloseTo(1, 5);
      }
      expect((await store.search([ix.get("s2")!.embedding], 1, { filter: { n: 2 } }))[0][0].metadata).toEqual({ n: 2 });
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe("LanceStore across connections", () => {
  it("a write through one connection is visible to the next search through another (replicas)", async () => {
    const uri = join(tmp, "shared-lance");
    const a = await LanceStore.open(uri, "image", DIM),
      b = await LanceStore.open(uri, "image", DIM);
    try {
      await a.upsert(ITEMS.slice(0, 10));
      expect(await b.count()).toBe(10);
      await b.upsert([{ ...ITEMS[20], id: "from-b" }]);
      const [hits] = await a.search([ITEMS[20].embedding], 1);
      expect(hits[0].id).toBe("from-b");
      await expect(LanceStore.open(uri, "image", 16)).rejects.toThrow(/holds 32-d vectors, expected 16/);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it("writers that each create the same new tables at once lose no rows and fail no write (tables created empty, " +
    "then merge-inserts)", async () => {
    // before: the first write created the table with its rows, and two creators could both succeed, the second
    // replacing the first one's rows
    for (let round = 0; round < 6; round++) {
      const uri = join(tmp, `race-${round}`);
      const writers = await Promise.all([0, 1, 2, 3].map(() => LanceStore.open(uri, "image", DIM)));
      try {
        // as workers do: stamp the space, then write; every step races the other writers
        await Promise.all(
          writers.map(async (w, j) => {
            await w.setVersion("m@1");
            await w.upsert(ITEMS.slice(j * 25, j * 25 + 25));
          }),
        );
        expect(await writers[0].count(), `round ${round}`).toBe(100);
        expect(writers.map((w) => w.version())).toEqual(["m@1", "m@1", "m@1", "m@1"]);
      } finally {
        for (const w of writers) await w.close();
      }
    }
  }, 60_000);

  it("a space with a version stamp and no rows yet takes the width of its first write", async () => {
    const uri = join(tmp, "stamp-only");
    const a = await LanceStore.open(uri, "image", DIM);
    await a.setVersion("m@1");
    await a.close();
    const b = await LanceStore.open(uri, "image", 0); // what a worker opens before any row exists
    try {
      expect(b.dim).toBe(0);
      await b.upsert(ITEMS.slice(0, 3));
      expect(b.dim).toBe(DIM);
      expect(await b.count()).toBe(3);
      await expect(b.upsert([{ ...ITEMS[3], embedding: new Float32Array(8) }])).rejects.toThrow(/32/);
    } finally {
      await b.close();
    }
  }, 60_000);
});
