// A saved collection: one EmbeddingStore per embedding space (image, audio, video) plus a small manifest.
//
//   <dir>/manifest.json   {format, version: 2, root, kind, store, failed}: the folder indexed, the index kind, where
//                         the vectors live ("file", or "lancedb:<uri>"), files that could not be read
//   <dir>/<space>.<g>.pmx + <space>.<g>.log   the file store of each space (src/app/file-store.ts), unless
//                         the vectors live in LanceDB
//
// Which files are indexed, and their size and mtime, is read back from the items themselves (an indexed file is an
// item whose id is its path, with metadata {path, bytes, mtimeMs}), so every add is one durable store write and the
// manifest stays small.  Version 1 manifests (a files map, `<space>.pmx` snapshots, versions per space) open as
// they are: their snapshots are generation 0 of the file stores and their stamps move into the stores.
import { PolymodalError } from "../util/errors.js";
import { SPACES, type Space } from "../pipelines/pipeline.js";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IndexKind } from "../retrieval/multimodal-index.js";
import type { EmbeddingStore } from "../retrieval/embedding-store.js";
import { FileStore } from "./file-store.js";
import { lockIndex } from "./lock.js";
import { LanceStore } from "./lance-store.js";

import { VersionMismatchError } from "./version.js";
import { chunkId } from "./documents.js";

export interface FileEntry {
  size: number;
  mtimeMs: number;
  modality: Space;
  /** a text document: its items are the chunks `<path>#0` .. `<path>#<chunks - 1>` (src/app/documents.ts) */
  chunks?: number;
}
export interface Manifest {
  format: "polymodal-collection";
  version: 1 | 2;
  root: string;
  kind: IndexKind;
  /** "file" (default) or "lancedb:<uri>" */
  store?: string;
  failed: Record<string, string>;
  /** version 1 (kept for the items it made): file -> size, mtime, space */
  files?: Record<string, FileEntry>;
  versions?: Partial<Record<Space, string>>;
}

/**
 * A text document's file entry, gathered from its chunk items.  A document whose chunks disagree (another size or
 * mtime, a count that is not theirs: a run stopped between writing a changed file's chunks and removing its old
 * ones) is listed as changed, so the next run embeds it again and takes every old chunk out.
 */
class Documents {
  private readonly byPath = new Map<
    string,
    { size: number; mtimeMs: number; chunks: number; seen: number; ok: boolean }
  >();
  /** Takes a chunk item in; false when the item is not one. */
  add(id: string, md: Record<string, unknown>): boolean {
    const { path, bytes, mtimeMs, chunk, chunks } = md;
    if (
      typeof path !== "string" ||
      !Number.isSafeInteger(chunk) ||
      !Number.isSafeInteger(chunks) ||
      id !== chunkId(path, chunk as number) ||
      typeof bytes !== "number" ||
      typeof mtimeMs !== "number"
    )
      return false;
    const d = this.byPath.get(path);
    if (!d) {
      this.byPath.set(path, { size: bytes, mtimeMs, chunks: chunks as number, seen: 1, ok: true });
      return true;
    }
    d.seen++;
    if (d.size !== bytes || d.mtimeMs !== mtimeMs || d.chunks !== chunks) d.ok = false;
    d.chunks = Math.max(d.chunks, chunks as number, (chunk as number) + 1);
    return true;
  }
  *entries(space: Space): Iterable<[string, FileEntry]> {
    for (const [path, d] of this.byPath) {
      const ok = d.ok && d.seen === d.chunks;
      yield [path, { size: d.size, mtimeMs: ok ? d.mtimeMs : Number.NaN, modality: space, chunks: d.chunks }];
    }
  }
}

/** Whether a file store exists for a space under dir (any generation, or a version-1 snapshot). */
function hasFileStore(dir: string, space: Space): boolean {
  if (!existsSync(dir)) return false;
  const re = new RegExp(`^${space}\\.(\\d+\\.)?pmx$`);
  return readdirSync(dir).some((f) => re.test(f));
}

/** A store spec ("file", "lancedb:<uri>") checked. */
export function parseStoreSpec(spec: string | undefined): { kind: "file" } | { kind: "lancedb"; uri: string } {
  if (spec === undefined || spec === "file") return { kind: "file" };
  const m = spec.match(/^lancedb:(.+)$/);
  if (m) return { kind: "lancedb", uri: m[1] };
  throw new PolymodalError("usage", `--store must be file or lancedb:<folder or URI>, got ${JSON.stringify(spec)}`);
}

export class Collection {
  /** the spaces opened so far (every existing one after open) */
  readonly stores = new Map<Space, EmbeddingStore>();
  /** indexed files (relative path -> size, mtime, space) */
  readonly files = new Map<string, FileEntry>();
  /** dir null: a collection that is only its stores (a shared LanceDB; no manifest, no file list) */
  private constructor(
    readonly dir: string | null,
    readonly manifest: Manifest,
    readonly readOnly = false,
    private release: (() => void) | null = null,
  ) {}

  /** The stores of a shared database alone ("lancedb:<uri>"), for services that search and add to it. */
  static async openStore(spec: string): Promise<Collection> {
    if (parseStoreSpec(spec).kind === "file")
      throw new PolymodalError("usage", "--store file needs an index folder (--index DIR)");
    const c = new Collection(null, {
      format: "polymodal-collection",
      version: 2,
      root: "",
      kind: "flat",
      store: spec,
      failed: {},
    });
    for (const space of SPACES) {
      const st = await c.openExisting(space);
      if (st) c.stores.set(space, st);
    }
    return c;
  }

  /** The store of a space if it exists now (another process may have created it since this one opened). */
  async existing(space: Space): Promise<EmbeddingStore | null> {
    let st = this.stores.get(space) ?? null;
    if (!st) {
      st = await this.openExisting(space);
      if (st) this.stores.set(space, st);
    }
    return st;
  }

  /**
   * Opens the collection at dir (null `create`: it must exist).  `store` picks where a new collection's vectors go;
   * an existing collection keeps the store it was made with.  A writer (the default) takes the folder's lock
   * (src/app/lock.ts) for as long as the collection is open, so it never writes from a stale view; `readOnly`
   * writes nothing at all (a read-only folder opens) and its file stores follow the writer's log.
   */
  static async open(
    dir: string,
    create: { root: string; kind: IndexKind; store?: string } | null,
    options: { readOnly?: boolean } = {},
  ): Promise<Collection> {
    const readOnly = options.readOnly ?? false;
    const mf = join(dir, "manifest.json");
    if (!existsSync(mf) && (!create || readOnly))
      throw new Error(`no index at ${dir} (run \`polymodal index <folder>\` first, or pass --index <dir>)`);
    const release = readOnly ? null : lockIndex(dir);
    try {
      return await Collection.openLocked(dir, create, readOnly, release);
    } catch (e) {
      release?.();
      throw e;
    }
  }

  private static async openLocked(
    dir: string,
    create: { root: string; kind: IndexKind; store?: string } | null,
    readOnly: boolean,
    release: (() => void) | null,
  ): Promise<Collection> {
    const mf = join(dir, "manifest.json");
    let m: Manifest;
    if (!existsSync(mf)) {
      if (!create)
        throw new Error(`no index at ${dir} (run \`polymodal index <folder>\` first, or pass --index <dir>)`);
      parseStoreSpec(create.store);
      mkdirSync(dir, { recursive: true });
      m = {
        format: "polymodal-collection",
        version: 2,
        root: create.root,
        kind: create.kind,
        store: create.store ?? "file",
        failed: {},
      };
    } else {
      try {
        m = JSON.parse(readFileSync(mf, "utf8"));
      } catch (e) {
        throw new Error(`the index manifest ${mf} is unreadable: ${(e as Error).message}`);
      }
      if (
        m === null ||
        typeof m !== "object" ||
        m.format !== "polymodal-collection" ||
        (m.version !== 1 && m.version !== 2)
      )
        throw new Error(`${mf} is not a polymodal collection manifest (version 1 or 2)`);
      if (typeof m.failed !== "object" || m.failed === null || Array.isArray(m.failed)) m.failed = {};
      if (create?.store !== undefined && (create.store ?? "file") !== (m.store ?? "file")) {
        throw new PolymodalError(
          "usage",
          `${dir} keeps its vectors in ${m.store ?? "file"}, not ${create.store}; index into a new folder to use ` +
            `another store`,
        );
      }
    }
    const c = new Collection(dir, m, readOnly, release);
    for (const space of SPACES) {
      const st = await c.openExisting(space);
      if (!st) continue;
      c.stores.set(space, st);
      const legacy = m.versions?.[space];
      if (legacy && st.version() === null && !readOnly) await st.setVersion(legacy);
      const docs = new Documents();
      for await (const it of st.entries({ vectors: false })) {
        const md = it.metadata as { path?: unknown; bytes?: unknown; mtimeMs?: unknown };
        if (md.path === it.id && typeof md.bytes === "number" && typeof md.mtimeMs === "number")
          c.files.set(it.id, { size: md.bytes, mtimeMs: md.mtimeMs, modality: space });
        else if (docs.add(it.id, it.metadata)) continue;
        // version 1: the manifest had the file's size and mtime
        else if (m.files?.[it.id]) c.files.set(it.id, m.files[it.id]);
      }
      for (const [path, e] of docs.entries(space)) c.files.set(path, e);
    }
    return c;
  }

  /**
   * Repairs a collection whose file store logs are damaged (StoreDamagedError): takes the writer lock, keeps every
   * valid record of every space (a damaged log is kept beside as `<log>.damaged-<time>`), and writes each space as
   * a new generation.  Returns, per space, the items kept and the damaged byte ranges skipped.
   */
  static async repair(
    dir: string,
  ): Promise<Array<{ space: Space; items: number; damaged: Array<{ log: string; ranges: Array<[number, number]> }> }>> {
    if (!existsSync(join(dir, "manifest.json"))) throw new Error(`no index at ${dir}`);
    const release = lockIndex(dir);
    const out: Array<{
      space: Space;
      items: number;
      damaged: Array<{ log: string; ranges: Array<[number, number]> }>;
    }> = [];
    try {
      for (const space of SPACES) {
        if (!hasFileStore(dir, space)) continue;
        const st = await FileStore.open(join(dir, space), 0, { salvage: true });
        out.push({ space, items: await st.count(), damaged: st.salvaged });
        await st.close();
      }
    } finally {
      release();
    }
    return out;
  }

  private get spec(): ReturnType<typeof parseStoreSpec> {
    return parseStoreSpec(this.manifest.store);
  }

  private async openExisting(space: Space): Promise<EmbeddingStore | null> {
    const spec = this.spec;
    if (spec.kind === "file")
      return this.dir && hasFileStore(this.dir, space)
        ? FileStore.open(join(this.dir, space), 0, { readOnly: this.readOnly })
        : null;
    const st = await LanceStore.open(spec.uri, space, 0);
    if ((await st.count()) > 0 || st.version() !== null) return st;
    await st.close();
    return null;
  }

  /** Whether writes need the folder's writer lock (file stores have one writer; LanceDB takes many). */
  get singleWriter(): boolean {
    return this.spec.kind === "file";
  }

  /** The store of a space, created with `dim` when it does not exist yet. */
  async store(space: Space, dim: number): Promise<EmbeddingStore> {
    let st = this.stores.get(space) ?? (await this.existing(space)) ?? undefined;
    if (!st) {
      if (this.readOnly)
        throw new Error(`the index in ${this.dir} is open read-only: no ${space} store can be created`);
      const spec = this.spec;
      st =
        spec.kind === "file"
          ? await FileStore.open(join(this.dir!, space), dim, { kind: this.manifest.kind })
          : await LanceStore.open(spec.uri, space, dim);
      this.stores.set(space, st);
    }
    // dim 0: a shared space with a version stamp and no rows yet; its first write sets the width
    if (st.dim !== 0 && st.dim !== dim)
      throw new Error(
        `the ${space} store in ${this.dir ?? this.manifest.store} holds ${st.dim}-d embeddings, and these are ${dim}-d`,
      );
    return st;
  }

  /**
   * Makes a space's store exist now, stamped with `version` (refused if stamped with another): what a coordinator
   * does before many writers start, so that they find it instead of racing to create it.
   */
  async prepare(space: Space, dim: number, version: string): Promise<void> {
    const st = await this.store(space, dim);
    await this.checkVersion(space, version, true);
    await st.prepare?.();
  }

  /**
   * Refuses a space whose embeddings another model version made: a query or a new item from `version` would be
   * compared with vectors of a different space.  A space without a stamp takes `version` when `adopt` is set.
   */
  async checkVersion(space: Space, version: string, adopt = false): Promise<void> {
    const st = this.stores.get(space);
    if (!st) return;
    // a version-1 manifest's stamp, where a reader could not move it into the store
    const have = st.version() ?? this.manifest.versions?.[space] ?? null;
    if (have === null) {
      // a failure to write it is that failure, not a mismatch
      if (adopt && !this.readOnly) await st.setVersion(version);
      return;
    }
    if (have !== version) {
      throw new VersionMismatchError(
        `the ${space} index in ${this.dir ?? this.manifest.store} was built by ${have}, and the models here ` +
          `are ${version}: embeddings of different versions are not comparable; re-index into a new store with ` +
          `these models`,
      );
    }
  }

  /** Writes the manifest atomically (the vectors are durable already: every store write is). */
  async save(): Promise<void> {
    if (this.dir === null) return;
    if (this.readOnly) throw new Error(`the index in ${this.dir} is open read-only`);
    // a version-1 files map stays (its items carry no size and mtime of their own); the stamps are in the stores now
    const { versions: _v, ...rest } = this.manifest;
    const m: Manifest = { ...rest, version: 2, store: this.manifest.store ?? "file" };
    const mf = join(this.dir, "manifest.json"),
      tmp = `${mf}.${process.pid}.${Date.now().toString(36)}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(m, null, 1));
      renameSync(tmp, mf);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  counts(): Record<Space, number> {
    const c: Record<Space, number> = { image: 0, audio: 0, video: 0, text: 0 };
    for (const e of this.files.values()) c[e.modality]++;
    return c;
  }

  /** Closes the stores, then releases the writer lock. */
  async close(): Promise<void> {
    try {
      for (const st of this.stores.values()) await st.close();
    } finally {
      this.release?.();
      this.release = null;
    }
  }
}
