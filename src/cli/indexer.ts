// `polymodal index <folder>`: every image, WAV and video under a folder, embedded by the shipped models into a
// saved collection; resumable (unchanged files are skipped), unreadable files skipped with a warning.
import { statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import type { IndexKind } from "../retrieval/multimodal-index.js";
import { Collection } from "../app/collection.js";
import { lockIndex } from "../app/lock.js";
import { walk, shown } from "../app/walk.js";
export { shown };
import { modalityOf, MODEL_FOR, type Modality } from "../app/media.js";
import { Models } from "../app/models.js";
import { Progress } from "./progress.js";

export interface IndexFolderOptions {
  /** where the collection is saved (default <folder>/.polymodal) */
  indexDir?: string;
  kind?: IndexKind;
  models?: Models;
  /** write the manifest (the list of unreadable files) every this many files (default 50); vectors are durable per file */
  saveEvery?: number;
  /** where a new collection keeps its vectors: "file" (default) or "lancedb:<uri>" */
  store?: string;
  warn?: (msg: string) => void;
  progress?: boolean;
}

export interface IndexReport {
  indexDir: string;
  added: number;
  unchanged: number;
  failed: number;
  ignored: number;
  counts: Record<Modality, number>;
  seconds: number;
}

export async function indexFolder(folder: string, options: IndexFolderOptions = {}): Promise<IndexReport> {
  const t0 = performance.now();
  const root = resolve(folder);
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st || !st.isDirectory()) throw Object.assign(new Error(`${folder} is not a folder`), { exitCode: 3 });
  const indexDir = resolve(options.indexDir ?? join(root, ".polymodal"));
  const models = options.models ?? new Models();
  const release = lockIndex(indexDir);
  try {
    return await indexLocked(root, indexDir, models, options, t0);
  } finally {
    release();
  }
}

async function indexLocked(root: string, indexDir: string, models: Models, options: IndexFolderOptions, t0: number): Promise<IndexReport> {
  const coll = await Collection.open(indexDir, { root, kind: options.kind ?? "flat", store: options.store });
  try {
    return await indexInto(coll, root, indexDir, models, options, t0);
  } finally {
    await coll.close();
  }
}

async function indexInto(coll: Collection, root: string, indexDir: string, models: Models, options: IndexFolderOptions, t0: number): Promise<IndexReport> {
  const files: string[] = [];
  const unreadable: Array<{ path: string; why: string }> = [];
  walk(root, indexDir, files, unreadable);
  const pending: Array<{ path: string; rel: string; mod: Modality; size: number; mtimeMs: number }> = [];
  let ignored = 0, unchanged = 0;
  for (const p of files) {
    const mod = modalityOf(p);
    if (!mod) { ignored++; continue; }
    const rel = relative(root, p).split(sep).join("/");
    const s = statSync(p, { throwIfNoEntry: false });
    if (!s) { unreadable.push({ path: p, why: "removed while indexing" }); continue; }
    const prev = coll.files.get(rel);
    if (prev && prev.size === s.size && prev.mtimeMs === s.mtimeMs) { unchanged++; continue; }
    pending.push({ path: p, rel, mod, size: s.size, mtimeMs: s.mtimeMs });
  }
  // before any work: every space the new files go to must hold embeddings of these models' version
  for (const mod of new Set(pending.map((f) => f.mod))) await coll.checkVersion(mod, models.version(MODEL_FOR[mod]), true);
  const bar = options.progress === false ? null : new Progress(pending.length, "indexing");
  const warn = options.warn ?? ((m: string) => (bar ? bar.log(`warning: ${m}`) : process.stderr.write(`warning: ${m}\n`)));
  for (const u of unreadable) warn(`skipped ${shown(relative(root, u.path) || u.path)}: ${u.why}`);
  let added = 0, failed = unreadable.length, sinceSave = 0;
  const saveEvery = options.saveEvery ?? 50;
  for (let i = 0; i < pending.length; i++) {
    const f = pending[i];
    bar?.tick(i, f.rel);
    try {
      const emb = await models.embedFile(f.path, f.mod);
      const st = await coll.store(f.mod, emb.length);
      await coll.checkVersion(f.mod, models.version(MODEL_FOR[f.mod]), true); // a new space takes the models' stamp
      // one durable write per file (a changed file replaces its item); the file's size and mtime travel with it
      await st.upsert([{ id: f.rel, modality: f.mod, embedding: emb, metadata: { path: f.rel, bytes: f.size, mtimeMs: f.mtimeMs } }]);
      coll.files.set(f.rel, { size: f.size, mtimeMs: f.mtimeMs, modality: f.mod });
      delete coll.manifest.failed[f.rel];
      added++;
    } catch (e) {
      failed++;
      coll.manifest.failed[f.rel] = (e as Error).message;
      warn(`skipped ${shown(f.rel)}: ${(e as Error).message}`);
    }
    if (++sinceSave >= saveEvery) { await coll.save(); sinceSave = 0; }
  }
  bar?.tick(pending.length);
  bar?.done();
  await coll.save();
  return { indexDir, added, unchanged, failed, ignored, counts: coll.counts(), seconds: (performance.now() - t0) / 1000 };
}
