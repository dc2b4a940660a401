// `polymodal index <folder>`: every image, sound, video and text document under a folder, embedded by the lineup's
// models into a saved collection (a document as chunks of its text); resumable (unchanged files are skipped),
// unreadable files skipped with a warning.
import { PolymodalError } from "../util/errors.js";
import type { Space } from "../pipelines/pipeline.js";
import { existsSync, statSync } from "node:fs";
import { extname, join, relative, resolve, sep } from "node:path";
import type { IndexKind } from "../retrieval/multimodal-index.js";
import { Collection } from "../app/collection.js";
import { walk, shown } from "../app/walk.js";
export { shown };
import { modalityOf } from "../app/media.js";
import { chunkId } from "../app/documents.js";
import { Models } from "../app/models.js";
import { Progress } from "./progress.js";

export interface IndexFolderOptions {
  /** where the collection is saved (default <folder>/.polymodal) */
  indexDir?: string;
  /** the index kind of a new collection; given for an existing one of another kind, an Error (exit 2) */
  kind?: IndexKind;
  models?: Models;
  /**
   * write the manifest (the list of unreadable files) every this many files (default 50); vectors are durable per
   * file
   */
  saveEvery?: number;
  /** where a new collection keeps its vectors: "file" (default) or "lancedb:<uri>" */
  store?: string;
  warn?: (msg: string) => void;
  progress?: boolean;
  /** only say what would change: nothing is embedded, written or created */
  dryRun?: boolean;
  /** stop after the file in hand when this aborts (SIGINT/SIGTERM in the CLI); what is done stays saved */
  signal?: AbortSignal;
}

export interface IndexReport {
  indexDir: string;
  added: number;
  unchanged: number;
  failed: number;
  ignored: number;
  /** items whose files are gone from the folder, taken out of the index */
  removed: number;
  /** items whose files became unreadable, taken out of the index (each warned about) */
  dropped: number;
  /** text documents with no words, so nothing to index */
  empty: number;
  counts: Record<Space, number>;
  seconds: number;
  /** files left to do when the signal stopped the run (0 when it finished) */
  left: number;
  /** with dryRun: the files that would be embedded (new or changed) and the items that would be removed */
  plan?: { embed: string[]; remove: string[] };
  /** files that are not media, by extension (".txt" -> paths) */
  notMedia: Record<string, string[]>;
}

export async function indexFolder(folder: string, options: IndexFolderOptions = {}): Promise<IndexReport> {
  const t0 = performance.now();
  const root = resolve(folder);
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new PolymodalError("not_found", `${folder} is not a folder`);
  const indexDir = resolve(options.indexDir ?? join(root, ".polymodal"));
  const models = options.models ?? new Models();
  if (options.dryRun) return dryRun(root, indexDir, models, t0);
  // a writer: the collection holds the folder's lock until it is closed
  const coll = await Collection.open(indexDir, { root, kind: options.kind ?? "flat", store: options.store });
  try {
    if (options.kind && coll.manifest.kind !== options.kind && coll.files.size > 0) {
      throw new PolymodalError(
        "usage",
        `${indexDir} is a --kind ${coll.manifest.kind} index; asked for --kind ${options.kind}: leave --kind out ` +
          `to update it, or index into a new folder (--index DIR) to build a ${options.kind} index`,
      );
    }
    return await indexInto(coll, root, indexDir, models, options, t0);
  } finally {
    await coll.close();
  }
}

interface Scan {
  pending: Array<{ path: string; rel: string; mod: Space; size: number; mtimeMs: number }>;
  /** indexed items whose files are no longer media files in the folder */
  gone: string[];
  unreadable: Array<{ path: string; why: string }>;
  unchanged: number;
  ignored: number;
  notMedia: Record<string, string[]>;
}

/** The folder against what the collection holds (files: rel path -> size and mtime of the indexed version). */
function scan(
  root: string,
  indexDir: string,
  files: Map<string, { size: number; mtimeMs: number }>,
  spaces: ReadonlySet<Space>,
): Scan {
  const found: string[] = [];
  const unreadable: Array<{ path: string; why: string }> = [];
  walk(root, indexDir, found, unreadable);
  const out: Scan = { pending: [], gone: [], unreadable, unchanged: 0, ignored: 0, notMedia: {} };
  const present = new Set<string>();
  for (const p of found) {
    const rel = relative(root, p).split(sep).join("/");
    const found = modalityOf(p);
    // a text document without a text model is not indexed (its chunks would have no space to go to)
    const mod = found && spaces.has(found) ? found : null;
    if (!mod) {
      out.ignored++;
      const ext = extname(p).toLowerCase() || "(no extension)";
      out.notMedia[ext] ??= [];
      out.notMedia[ext].push(rel);
      continue;
    }
    present.add(rel);
    const s = statSync(p, { throwIfNoEntry: false });
    if (!s) {
      unreadable.push({ path: p, why: "removed while indexing" });
      continue;
    }
    const prev = files.get(rel);
    if (prev && prev.size === s.size && prev.mtimeMs === s.mtimeMs) {
      out.unchanged++;
      continue;
    }
    out.pending.push({ path: p, rel, mod, size: s.size, mtimeMs: s.mtimeMs });
  }
  for (const rel of files.keys()) if (!present.has(rel)) out.gone.push(rel);
  return out;
}

async function dryRun(root: string, indexDir: string, models: Models, t0: number): Promise<IndexReport> {
  const exists = existsSync(join(indexDir, "manifest.json"));
  const coll = exists ? await Collection.open(indexDir, null, { readOnly: true }) : null;
  try {
    const sc = scan(root, indexDir, coll?.files ?? new Map(), await models.spaces());
    // what the real run checks before any work, checked alike: the models load, and the index takes their version
    await checkModels(coll, sc.pending, models, false);
    return {
      indexDir,
      added: 0,
      unchanged: sc.unchanged,
      failed: sc.unreadable.length,
      ignored: sc.ignored,
      removed: 0,
      dropped: 0,
      empty: 0,
      counts: coll?.counts() ?? { image: 0, audio: 0, video: 0, text: 0 },
      seconds: (performance.now() - t0) / 1000,
      left: sc.pending.length,
      plan: { embed: sc.pending.map((f) => f.rel), remove: sc.gone },
      notMedia: sc.notMedia,
    };
  } finally {
    await coll?.close();
  }
}

/**
 * Before any work: every model the new files need loads (a broken --model folder stops the run, rather than listing
 * every file as unreadable), and every space they go to holds embeddings of these models' version (adopt: a space
 * without one takes it).  The dry run calls it too, so both refuse the same runs.
 */
async function checkModels(coll: Collection | null, pending: Scan["pending"], models: Models, adopt: boolean) {
  for (const mod of new Set(pending.map((f) => f.mod))) {
    try {
      await models.dim(mod);
    } catch (e) {
      throw new Error(
        `cannot load the ${(await models.ref(mod)).name} model for the ${mod} files: ${(e as Error).message}`,
      );
    }
    await coll?.checkVersion(mod, await models.version(mod), adopt);
    // chunk settings the text model cannot take stop the run, rather than fail every document
    if (mod === "text") await models.documents();
  }
}

async function indexInto(
  coll: Collection,
  root: string,
  indexDir: string,
  models: Models,
  options: IndexFolderOptions,
  t0: number,
): Promise<IndexReport> {
  const { pending, gone, unreadable, unchanged, ignored, notMedia } = scan(
    root,
    indexDir,
    coll.files,
    await models.spaces(),
  );
  await checkModels(coll, pending, models, true);
  const bar = options.progress === false ? null : new Progress(pending.length, "indexing");
  const warn =
    options.warn ?? ((m: string) => (bar ? bar.log(`warning: ${m}`) : process.stderr.write(`warning: ${m}\n`)));
  for (const u of unreadable) warn(`skipped ${shown(relative(root, u.path) || u.path)}: ${u.why}`);
  /** Takes indexed files' items out of their spaces (one durable write per space). */
  const takeOut = async (rels: string[]): Promise<void> => {
    const bySpace = new Map<Space, string[]>();
    for (const rel of rels) {
      const e = coll.files.get(rel);
      if (!e) continue;
      const ids = bySpace.get(e.modality) ?? bySpace.set(e.modality, []).get(e.modality)!;
      if (e.chunks === undefined) ids.push(rel);
      else for (let k = 0; k < e.chunks; k++) ids.push(chunkId(rel, k));
    }
    for (const [space, ids] of bySpace) {
      const st = coll.stores.get(space);
      if (st) await st.remove(ids);
    }
    for (const rel of rels) coll.files.delete(rel);
  };
  // files deleted from the folder leave the index (and the list of unreadable files)
  await takeOut(gone);
  for (const rel of Object.keys(coll.manifest.failed))
    if (!existsSync(join(root, rel))) delete coll.manifest.failed[rel];
  let added = 0,
    empty = 0,
    failed = unreadable.length,
    dropped = 0,
    sinceSave = 0,
    i = 0;
  const saveEvery = options.saveEvery ?? 50;
  for (; i < pending.length && !options.signal?.aborted; i++) {
    const f = pending[i];
    bar?.tick(i, f.rel);
    try {
      const items = await models.itemsOfFile(f.path, f.mod, { path: f.rel, bytes: f.size, mtimeMs: f.mtimeMs });
      const prev = coll.files.get(f.rel);
      if (items.length === 0) {
        // a document with no words: nothing to search (what it held before goes)
        if (prev) await takeOut([f.rel]);
        empty++;
      } else {
        const st = await coll.store(f.mod, items[0].embedding.length);
        await coll.checkVersion(f.mod, await models.version(f.mod), true); // a new space takes the models' stamp
        // one durable write per file (a changed file replaces its items); its size and mtime travel with each
        await st.upsert(items);
        const chunks = f.mod === "text" ? items.length : undefined;
        // a changed document with fewer chunks: its old last ones go (a stop in between is found on the next open)
        if (chunks !== undefined && prev?.chunks !== undefined && prev.chunks > chunks)
          await st.remove(Array.from({ length: prev.chunks - chunks }, (_, k) => chunkId(f.rel, chunks + k)));
        coll.files.set(f.rel, { size: f.size, mtimeMs: f.mtimeMs, modality: f.mod, ...(chunks ? { chunks } : {}) });
        added++;
      }
      delete coll.manifest.failed[f.rel];
    } catch (e) {
      failed++;
      coll.manifest.failed[f.rel] = (e as Error).message;
      if (coll.files.has(f.rel)) {
        // the file changed into something unreadable: its old embedding no longer describes it
        await takeOut([f.rel]);
        dropped++;
        warn(`dropped ${shown(f.rel)} from the index (it was indexed before, and now: ${(e as Error).message})`);
      } else warn(`skipped ${shown(f.rel)}: ${(e as Error).message}`);
    }
    if (++sinceSave >= saveEvery) {
      await coll.save();
      sinceSave = 0;
    }
    // a turn of the event loop per file: the stores' writes resolve as microtasks, and a signal (Ctrl-C) is only
    // seen when the loop turns
    if (options.signal) await new Promise((r) => setImmediate(r));
  }
  bar?.tick(i);
  bar?.done();
  await coll.save();
  return {
    indexDir,
    added,
    unchanged,
    failed,
    ignored,
    removed: gone.length,
    dropped,
    empty,
    counts: coll.counts(),
    seconds: (performance.now() - t0) / 1000,
    left: pending.length - i,
    notMedia,
  };
}
