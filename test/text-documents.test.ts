// Text documents in the index: chunking by tokens (every chunk within the budget, overlapping, a span of the file
// with its true byte and line range), `polymodal index` with a text model (chunks as items, prompts as
// sentence-transformers applies them, unreadable files named, re-indexing true to the folder, a stopped run's stale
// chunks found), search by text from the library, the command and the service.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allValues, init, loadPretrained, Tokenizer } from "../src/index.js";
import { chunkText } from "../src/text/chunks.js";
import { Models } from "../src/app/models.js";
import { Collection } from "../src/app/collection.js";
import { indexFolder } from "../src/cli/indexer.js";
import type { SentenceEmbedder } from "../src/pipelines/sentence-embedder.js";
import type { startService as StartService } from "../src/server/app.js";
import { writeSentenceFolder } from "./harness/sentence-folder.js";
import { expectWithinBudget } from "./harness/budget.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let tmp: string;
beforeAll(async () => {
  await init();
  tmp = mkdtempSync(join(tmpdir(), "polymodal-docs-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A stand-in tokenizer: a word of n characters is ceil(n / 3) tokens. */
const count = (s: string): number => s.split(/\s+/).reduce((a, w) => a + Math.ceil(w.length / 3), 0);

describe("chunkText", () => {
  const TEXT =
    "Grüße aus Zürich 🙂\nthe quick brown fox jumps over the lazy dog\n\n東京 notes: " +
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu\r\nlast line 👍🏽 done";

  it("cuts a text into spans within the budget, overlapping, with their bytes and lines", () => {
    const chunks = chunkText(TEXT, { maxTokens: 7, overlapTokens: 2, countTokens: count });
    expect(chunks.length).toBeGreaterThan(4);
    const words = [...TEXT.matchAll(/\S+/g)].map((m) => m.index);
    chunks.forEach((c, i) => {
      expect(c.text).toBe(TEXT.slice(c.start, c.end));
      expect(c.tokens).toBe(count(c.text));
      expect(c.tokens).toBeLessThanOrEqual(7);
      expect(c.byteStart).toBe(Buffer.byteLength(TEXT.slice(0, c.start)));
      expect(c.byteEnd).toBe(Buffer.byteLength(TEXT.slice(0, c.end)));
      expect(c.line).toBe(TEXT.slice(0, c.start).split("\n").length);
      expect(c.endLine).toBe(TEXT.slice(0, c.end - 1).split("\n").length);
      if (i === 0) return;
      const prev = chunks[i - 1];
      expect(c.start).toBeGreaterThan(prev.start);
      // overlap: what this chunk repeats of the last one is at most 2 tokens
      expect(count(TEXT.slice(c.start, Math.max(c.start, prev.end)))).toBeLessThanOrEqual(2);
    });
    // every word is in a chunk
    for (const w of words) expect(chunks.some((c) => c.start <= w && w < c.end)).toBe(true);
    expect(chunks.at(-1)!.text.endsWith("done")).toBe(true);
    // no overlap: the chunks partition the words
    const flat = chunkText(TEXT, { maxTokens: 7, overlapTokens: 0, countTokens: count });
    for (let i = 1; i < flat.length; i++) expect(flat[i].start).toBeGreaterThanOrEqual(flat[i - 1].end);
  });

  it("cuts a word longer than a chunk into pieces, never inside a surrogate pair; a blank text has none", () => {
    const long = "🙂".repeat(40) + "x".repeat(31);
    const chunks = chunkText(`a ${long} b`, { maxTokens: 5, overlapTokens: 0, countTokens: (s) => s.length });
    expect(chunks.map((c) => c.text).join("")).toBe(`a${long}b`);
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(5);
      expect(c.text).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
    }
    expect(chunkText(" \n\t ", { maxTokens: 5, countTokens: count })).toEqual([]);
    expect(() => chunkText("x", { maxTokens: 0, countTokens: count })).toThrow(/maxTokens must be a positive/);
    expect(() => chunkText("x", { maxTokens: 4, overlapTokens: 3, countTokens: count })).toThrow(/overlapTokens/);
  });

  it("with WordPiece, a chunk's tokens are its words' tokens (so the budget counted by words holds)", () => {
    const tok = Tokenizer.fromJSON(readFileSync(join(root, "test/fixtures/text/wordpiece.tokenizer.json"), "utf8"));
    const n = (s: string) => tok.encode(s, { addSpecialTokens: false }).ids.length;
    const text = "the red circle, two blue squares; a large image of a cat (photo) on the left and right!".repeat(3);
    const chunks = chunkText(text, { maxTokens: 10, overlapTokens: 3, countTokens: n });
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(10);
      expect([...c.text.matchAll(/\S+/g)].reduce((a, m) => a + n(m[0]), 0)).toBe(c.tokens);
    }
  });
});

describe("text documents in the index", () => {
  let model: string, plain: string, notes: string;
  const A = [
    "# Shapes",
    "the red circle is on the left",
    "two blue squares at the top",
    "",
    "a large image of a cat; a small photo of a dog",
    "the green triangle at the bottom right",
  ].join("\n");
  beforeAll(() => {
    model = writeSentenceFolder(join(tmp, "st"), { maxSeqLength: 20 });
    // no prompts: a query of a chunk's own text finds it with score 1
    plain = writeSentenceFolder(join(tmp, "st-plain"), { maxSeqLength: 12, prompts: {} });
    notes = join(tmp, "notes");
    mkdirSync(join(notes, "sub"), { recursive: true });
    writeFileSync(join(notes, "a.md"), A);
    writeFileSync(join(notes, "sub", "b.txt"), "\ufeffhello world, five stars");
    writeFileSync(join(notes, "empty.txt"), "  \n ");
    writeFileSync(join(notes, "binary.txt"), Buffer.from([104, 105, 0, 1, 2]));
    writeFileSync(join(notes, "latin1.md"), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });

  it("indexes documents as chunks: their text, lines and bytes, embedded with the document prompt", async () => {
    const models = new Models(undefined, undefined, undefined, {}, model, { chunkTokens: 8, overlapTokens: 2 });
    const idx = join(tmp, "idx-prompts");
    const warnings: string[] = [];
    const r = await indexFolder(notes, { indexDir: idx, models, progress: false, warn: (m) => warnings.push(m) });
    expect(r).toMatchObject({ added: 2, failed: 2, empty: 1, counts: { text: 2, image: 0 } });
    expect(warnings.join("\n")).toMatch(/binary\.txt: not a text file: a NUL byte at 2/);
    expect(warnings.join("\n")).toMatch(/latin1\.md: not UTF-8 text/);
    const st = (await loadPretrained(model)) as unknown as SentenceEmbedder;
    const coll = await Collection.open(idx, null, { readOnly: true });
    try {
      const items = [];
      for await (const it of coll.stores.get("text")!.entries()) items.push(it);
      const a = items
        .filter((it) => it.metadata.path === "a.md")
        .sort((x, y) => +x.metadata.chunk! - +y.metadata.chunk!);
      expect(a.length).toBeGreaterThan(3);
      const lines = A.split("\n");
      a.forEach((it, k) => {
        const md = it.metadata as Record<string, any>;
        expect(it.id).toBe(`a.md#${k}`);
        expect(md).toMatchObject({ chunk: k, chunks: a.length, bytes: Buffer.byteLength(A) });
        expect(Buffer.from(A).subarray(md.byteStart, md.byteEnd).toString()).toBe(md.text);
        expect(lines.slice(md.line - 1, md.endLine).join("\n")).toContain(md.text);
        // embedded as sentence-transformers' encode_document: the folder's "passage" prompt prepended
        // (in batches of a few chunks, padded: within the budget of each alone)
        expectWithinBudget(it.id, it.embedding, st.embedTexts([md.text], { promptName: "passage" })[0]);
        expect(md.text.split(/\s+/).length).toBeGreaterThan(0);
      });
      // a BOM is not text, and the byte range counts past it
      const b = items.find((it) => it.metadata.path === "sub/b.txt")!;
      expect(b.metadata).toMatchObject({ text: "hello world, five stars", byteStart: 3, line: 1 });
    } finally {
      await coll.close();
    }
  });

  it("search finds a chunk by its text; re-indexing follows edits, deletions, a stopped run's leftovers", async () => {
    const folder = join(tmp, "notes2");
    mkdirSync(folder);
    writeFileSync(join(folder, "a.md"), A);
    writeFileSync(join(folder, "b.txt"), "hello world, five stars");
    const models = new Models(undefined, undefined, undefined, {}, plain, { chunkTokens: 8, overlapTokens: 2 });
    const idx = join(tmp, "idx-plain");
    const run = () => indexFolder(folder, { indexDir: idx, models, progress: false, warn: () => {} });
    expect((await run()).counts.text).toBe(2);
    const items = async () => {
      const coll = await Collection.open(idx, null, { readOnly: true });
      const out = new Map<string, Record<string, any>>();
      for await (const it of coll.stores.get("text")!.entries({ vectors: false })) out.set(it.id, it.metadata);
      await coll.close();
      return out;
    };
    const before = await items();
    const third = before.get("a.md#2")!;
    const coll = await Collection.open(idx, null, { readOnly: true });
    const [hits] = await coll.stores.get("text")!.search([await models.embedText(third.text, "text")], 3);
    await coll.close();
    expect(hits[0].id).toBe("a.md#2");
    expect(hits[0].score).toBeCloseTo(1, 5);

    // an edit to fewer chunks: the old last ones go; a deleted file's chunks go
    writeFileSync(join(folder, "a.md"), "the red circle");
    unlinkSync(join(folder, "b.txt"));
    const r = await run();
    expect(r).toMatchObject({ added: 1, removed: 1, counts: { text: 1 } });
    expect([...(await items()).keys()]).toEqual(["a.md#0"]);

    // a run stopped between a changed file's new chunks and removing its old ones: found on open, embedded again
    const c = await Collection.open(idx, null);
    const st = c.stores.get("text")!;
    const [stale] = await st.search([await models.embedText("x", "text")], 1);
    await st.upsert([
      {
        id: "a.md#3",
        modality: "text",
        embedding: await models.embedText("stale", "text"),
        metadata: { ...stale[0].metadata, chunk: 3, chunks: 4, text: "stale" },
      },
    ]);
    expect(c.files.get("a.md")!.chunks).toBe(1);
    await c.close();
    const reopened = await Collection.open(idx, null, { readOnly: true });
    expect(reopened.files.get("a.md")).toMatchObject({ chunks: 4, mtimeMs: Number.NaN });
    await reopened.close();
    const again = await run();
    expect(again.added).toBe(1);
    expect([...(await items()).keys()]).toEqual(["a.md#0"]);
    // unchanged now
    expect((await run()).unchanged).toBe(1);
    // an mtime change alone re-embeds to the same chunks
    utimesSync(join(folder, "a.md"), new Date(), new Date(Date.now() - 60_000));
    expect((await run()).added).toBe(1);
  });

  it("without a text model, documents are not media: listed, not indexed, and nothing fails", async () => {
    const r = await indexFolder(notes, {
      indexDir: join(tmp, "idx-none"),
      models: new Models(),
      progress: false,
      dryRun: true,
    });
    expect(r.plan!.embed).toEqual([]);
    expect(Object.keys(r.notMedia).sort()).toEqual([".md", ".txt"]);
  });

  it("the command indexes and searches a folder of notes with --text-model; --json carries file, lines, text", () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(root, "bin/polymodal.js"), ...args], { encoding: "utf8", timeout: 120_000 });
    const idx = join(tmp, "idx-cli");
    const r = cli("index", notes, "--index", idx, "--text-model", plain, "--chunk-tokens", "8", "--quiet");
    expect(r.stderr).toMatch(/skipped binary\.txt: not a text file/);
    expect(r.stdout).toMatch(/1 text documents have no words/);
    expect(r.stdout).toMatch(/index .*: 0 images, 0 sounds, 0 videos, 2 text documents/);
    const s = cli("search", "two blue squares at the top", "--index", idx, "--text-model", plain, "-k", "2");
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/^text:\n {2}\d\.\d{3} {2}.*a\.md:\d+-\d+\n {9}".*"/);
    const j = JSON.parse(
      cli("search", "hello world, five stars", "--index", idx, "--text-model", plain, "--json").stdout,
    );
    expect(j.results[0]).toMatchObject({ space: "text", file: "sub/b.txt", line: 1, endLine: 1 });
    expect(j.results[0].text).toBe("hello world, five stars");
    // without the text model the documents are not searched, and the command says why
    expect(cli("search", "hello", "--index", idx).stdout).toMatch(/text documents: give --text-model/);
    const bad = cli("index", notes, "--index", idx, "--text-model", plain, "--chunk-overlap", "9");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/chunk overlap must be an integer from 0 to half the chunk's tokens \(5\), got 9/);
  }, 120_000);

  it("the service searches text with the query prompt and indexes passages with the document prompt", async () => {
    const { startService } = (await import(pathToFileURL(join(root, "dist/server/app.js")).href)) as {
      startService: typeof StartService;
    };
    // (the built package's runtime: the service opens the index in this process)
    await (await import(pathToFileURL(join(root, "dist/index.js")).href)).init();
    const idx = join(tmp, "idx-prompts");
    const s = await startService({
      modelsDir: join(root, "models"),
      port: 0,
      workers: 1,
      textModel: model,
      indexDir: idx,
    });
    const st = (await loadPretrained(model)) as unknown as SentenceEmbedder;
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${s.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: await r.json() };
    };
    try {
      const add = await post("/v1/index", { items: [{ id: "note-1", text: "five stars", metadata: { by: "me" } }] });
      expect(add.status).toBe(200);
      const q = await post("/v1/search", { query: { text: "five stars" }, k: 3, modality: "text" });
      expect(q.status).toBe(200);
      const want = st.embedTexts(["five stars"], { promptName: "query" })[0];
      const doc = st.embedTexts(["five stars"], { promptName: "passage" })[0];
      const hit = q.body.results.find((h: { id: string }) => h.id === "note-1");
      expect(hit.score).toBeCloseTo(
        want.reduce((a, v, i) => a + v * doc[i], 0),
        5,
      );
      expect(q.body.results.some((h: any) => h.metadata.path === "a.md" && typeof h.metadata.line === "number")).toBe(
        true,
      );
      // /v1/embed by the text model's name: the text as given (no prompt), as embedBatch
      const e = await post("/v1/embed", { model: "st", inputs: [{ text: "five stars" }] });
      expect(e.status).toBe(200);
      expect(Float32Array.from(e.body.embeddings[0])).toEqual(allValues(st.embedBatch("text", ["five stars"]))[0]);
    } finally {
      await s.close();
    }
  }, 60_000);
});
