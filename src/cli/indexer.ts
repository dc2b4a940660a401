// `polymodal index <folder>`: every image, WAV and video under a folder, embedded by the shipped models into a
// saved collection; resumable (unchanged files are skipped), unreadable files skipped with a warning.
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import type { IndexKind } from "../retrieval/multimodal-index.js";
import { Collection } from "./collection.js";
import { modalityOf, type Modality } from "./media.js";
import { Models } from "./models.js";
import { Progress } from "./progress.js";

export interface IndexFolderOptions {
  /** where the collection is saved (default <folder>/.polymodal) */
  indexDir?: string;
  kind?: IndexKind;
  models?: Models;
  /** save every this many files (default 50), so an interrupted run resumes close to where it stopped */
  saveEvery?: number;
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

function walk(dir: string, skip: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    if (resolve(p) === skip) continue;
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) walk(p, skip, out);
    else if (st.isFile()) out.push(p);
  }
}

export async function indexFolder(folder: string, options: IndexFolderOptions = {}): Promise<IndexReport> {
  const t0 = performance.now();
  const root = resolve(folder);
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st || !st.isDirectory()) throw Object.assign(new Error(`${folder} is not a folder`), { exitCode: 3 });
  const indexDir = resolve(options.indexDir ?? join(root, ".polymodal"));
  const models = options.models ?? new Models();
  const coll = await Collection.open(indexDir, { root, kind: options.kind ?? "flat" });
  const files: string[] = [];
  walk(root, indexDir, files);
  const pending: Array<{ path: string; rel: string; mod: Modality; size: number; mtimeMs: number }> = [];
  let ignored = 0, unchanged = 0;
  for (const p of files) {
    const mod = modalityOf(p);
    if (!mod) { ignored++; continue; }
    const rel = relative(root, p).split(sep).join("/");
    const s = statSync(p);
    const prev = coll.manifest.files[rel];
    if (prev && prev.size === s.size && prev.mtimeMs === s.mtimeMs) { unchanged++; continue; }
    pending.push({ path: p, rel, mod, size: s.size, mtimeMs: s.mtimeMs });
  }
  const bar = options.progress === false ? null : new Progress(pending.length, "indexing");
  const warn = options.warn ?? ((m: string) => (bar ? bar.log(`warning: ${m}`) : process.stderr.write(`warning: ${m}\n`)));
  let added = 0, failed = 0, sinceSave = 0;
  const saveEvery = options.saveEvery ?? 50;
  for (let i = 0; i < pending.length; i++) {
    const f = pending[i];
    bar?.tick(i, f.rel);
    try {
      const emb = await models.embedFile(f.path, f.mod);
      const ix = coll.index(f.mod, emb.length);
      ix.remove(f.rel); // a changed file replaces its old entry
      ix.add(f.rel, emb, f.mod, { path: f.rel, bytes: f.size });
      coll.manifest.files[f.rel] = { size: f.size, mtimeMs: f.mtimeMs, modality: f.mod };
      delete coll.manifest.failed[f.rel];
      added++;
    } catch (e) {
      failed++;
      coll.manifest.failed[f.rel] = (e as Error).message;
      warn(`skipped ${f.rel}: ${(e as Error).message}`);
    }
    if (++sinceSave >= saveEvery) { await coll.save(); sinceSave = 0; }
  }
  bar?.tick(pending.length);
  bar?.done();
  await coll.save();
  return { indexDir, added, unchanged, failed, ignored, counts: coll.counts(), seconds: (performance.now() - t0) / 1000 };
}
