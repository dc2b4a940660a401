// FileStore: a MemoryStore persisted incrementally in a folder, so adding 50 items to a 100,000-item index writes
// about 50 rows, not the whole index.
//
//   <base>.<g>.pmx   snapshot generation g (MultimodalIndex's file format), written atomically (tmp, fsync, rename)
//   <base>.<g>.log   every change since that snapshot, appended and fsync'd before the call resolves (the records:
//                    src/app/store-log.ts)
//
// One writer, any number of readers.  The writer (whoever holds the folder's lock: src/app/lock.ts) is the only
// process that writes, truncates or deletes anything; a reader (`readOnly`) never writes a byte, so a read-only
// folder can be searched, and it follows the writer: before each read it picks up records appended since, or
// reloads when the writer has compacted into a new generation.
//
// Nothing acknowledged is lost:
//   - a write resolves only after its record is fsync'd; a write that fails (a full disk) rolls the log back to its
//     last whole record before anything else is written, and the store takes no write until that rollback worked;
//   - replay tells a torn tail (the last append, cut short: never acknowledged, dropped by the writer) from damage
//     in the middle (valid records follow: the store refuses to open, naming the offset; `salvage` keeps every
//     valid record, writes them into a new generation and moves the damaged log aside);
//   - compaction writes generation g+1's log head, then its snapshot (the commit point), then deletes generation g,
//     so a crash anywhere leaves one whole generation; the newest snapshot wins.  A legacy `<base>.pmx` is g = 0.
import { Serial } from "../util/serial.js";
import { PolymodalError } from "../util/errors.js";
import {
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { MultimodalIndex, type IndexOptions } from "../retrieval/multimodal-index.js";
import {
  MemoryStore,
  upsertInto,
  validateItems,
  type EntryOptions,
  type StoreHit,
  type StoredItem,
  type StoreSearchOptions,
} from "../retrieval/embedding-store.js";
import { encodeRecord, readLog, salvageLog, type LogRecord, type ReadRecord } from "./store-log.js";
import { escapeRegExp } from "../util/escape-regexp.js";

const COMPACT_MIN_BYTES = 1 << 20;
/** generation numbers stay far from 2^53, where g + 1 === g */
const MAX_GENERATION = 2 ** 31;

/** The file operations a write goes through (tests put a full disk here). */
export interface WriteIO {
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
}
const NODE_IO: WriteIO = { writeSync, fsyncSync, ftruncateSync };

export interface FileStoreOptions extends IndexOptions {
  /** compact once the log is larger than the snapshot and this (default 1 MiB) */
  compactMinBytes?: number;
  /** read only: nothing is created, written, truncated or deleted; reads follow the writer's log */
  readOnly?: boolean;
  /** open a damaged store, keeping every valid record (writer only: the result is rewritten as a new generation) */
  salvage?: boolean;
  io?: WriteIO;
}

/** A store that cannot be opened as it is: damage in the middle of its log, or no readable snapshot. */
export class StoreDamagedError extends PolymodalError {
  constructor(message: string) {
    super("damaged", message);
  }
}

interface Generation {
  g: number;
  snapshot: string;
  log: string;
}

/** The store's generations, newest first (a file with an out-of-range generation number is refused by name). */
function generations(base: string): Generation[] {
  const dir = dirname(base),
    name = basename(base);
  const re = new RegExp(`^${escapeRegExp(name)}\\.(\\d+)\\.pmx$`);
  const gens: Generation[] = [];
  if (!existsSync(dir)) return gens;
  for (const f of readdirSync(dir)) {
    const m = f.match(re);
    if (!m) continue;
    const g = Number(m[1]);
    if (!(g >= 1 && g < MAX_GENERATION))
      throw new StoreDamagedError(
        `FileStore: ${join(dir, f)} is not a generation this store writes (1 to ${MAX_GENERATION - 1}); move it ` +
          `out of ${dir}`,
      );
    gens.push({ g, snapshot: join(dir, f), log: join(dir, `${name}.${g}.log`) });
  }
  if (existsSync(`${base}.pmx`)) gens.push({ g: 0, snapshot: `${base}.pmx`, log: `${base}.0.log` });
  return gens.sort((a, b) => b.g - a.g);
}

function generation(base: string, g: number): Generation {
  const dir = dirname(base),
    name = basename(base);
  return { g, snapshot: join(dir, `${name}.${g}.pmx`), log: join(dir, `${name}.${g}.log`) };
}

/** A file's bytes, or null when it does not exist. */
function readIfExists(path: string): Uint8Array | null {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** Makes a rename or unlink in dir durable (where the platform can fsync a folder). */
function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    /* not supported here (Windows): the rename is still atomic */
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Applies replayed records to an index; returns the last version stamp among them (undefined: none). */
function replay(index: MultimodalIndex, records: ReadRecord[], dim: number): string | undefined {
  // one allocation for everything the log adds (an index near the wasm32 limit cannot afford to double)
  const adds = records.reduce((n, { rec }) => n + (rec.op === "upsert" ? rec.items.length : 0), 0);
  if (index.kind !== "hnsw" && adds > 0) index.reserve(index.s.used + adds);
  let stamp: string | undefined;
  for (const { rec, rows } of records) {
    if (rec.op === "version") stamp = rec.version;
    else if (rec.op === "remove") for (const id of rec.ids) index.remove(id);
    else
      upsertInto(
        index,
        rec.items.map((it, i) => ({ ...it, embedding: rows.subarray(i * dim, (i + 1) * dim) })),
      );
  }
  return stamp;
}

interface Loaded {
  index: MultimodalIndex;
  gen: Generation;
  snapshotBytes: number;
  logBytes: number;
  logIno: number;
  stamp: string | null;
  damaged: Array<{ log: string; ranges: Array<[number, number]> }>;
}

/** Loads the newest generation and replays its log (salvage: also older snapshots and every later log). */
function load(base: string, dim: number, salvage: boolean): Loaded | null {
  for (let attempt = 0; ; attempt++) {
    const gens = generations(base);
    if (gens.length === 0) return null;
    try {
      return loadFrom(base, gens, dim, salvage);
    } catch (e) {
      // a writer compacted between our listing and our reads: list again (a reader only; a writer is alone)
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 20) throw e;
    }
  }
}

function loadFrom(base: string, gens: Generation[], dim: number, salvage: boolean): Loaded {
  let index: MultimodalIndex | null = null,
    from = -1,
    snapshotBytes = 0;
  const problems: string[] = [];
  for (let i = 0; i < gens.length && !index; i++) {
    const bytes = readFileSync(gens[i].snapshot);
    try {
      index = MultimodalIndex.load(bytes);
      from = i;
      snapshotBytes = bytes.length;
    } catch (e) {
      problems.push(`${gens[i].snapshot}: ${(e as Error).message}`);
      if (!salvage) break; // an older generation lacks the newer one's log: falling back would lose writes silently
    }
  }
  if (!index)
    throw new StoreDamagedError(
      `FileStore: ${base} has no readable snapshot ` +
        `(${problems.join("; ")})${salvage ? "" : "; run `polymodal repair` on the index folder"}`,
    );
  if (problems.length)
    process.emitWarning(`FileStore: salvaged ${base} from an older snapshot (${problems.join("; ")})`);
  if (dim === 0) dim = index.embeddingDim; // open whatever it holds
  if (index.embeddingDim !== dim)
    throw new Error(`FileStore: ${base} holds ${index.embeddingDim}-d embeddings, expected ${dim}`);
  let stamp: string | null = null,
    logBytes = 0,
    logIno = 0;
  const damaged: Loaded["damaged"] = [];
  // the chosen snapshot's log, then (salvage from an older snapshot) every newer generation's log in order
  for (let i = from; i >= 0; i--) {
    const log = gens[i].log,
      bytes = readIfExists(log);
    if (!bytes) continue;
    let records: ReadRecord[];
    if (salvage) {
      const s = salvageLog(bytes, dim);
      records = s.records;
      if (s.damaged.length) damaged.push({ log, ranges: s.damaged });
      logBytes = bytes.length; // a salvaging writer compacts at once: nothing is appended here
    } else {
      const r = readLog(bytes, dim);
      if (r.corruptAt >= 0) {
        throw new StoreDamagedError(
          `FileStore: ${log} is damaged at byte ${r.corruptAt} of ${bytes.length}, and valid records follow it; ` +
            `run \`polymodal repair\` on the index folder to keep every valid record (nothing was changed)`,
        );
      }
      records = r.records;
      logBytes = r.valid; // a torn tail after this was never acknowledged
    }
    if (i === 0) logIno = statSync(log).ino;
    const s = replay(index, records, dim);
    if (s !== undefined) stamp = s;
  }
  return { index, gen: gens[0], snapshotBytes, logBytes, logIno, stamp, damaged };
}

/**
 * @example
 * const store = await FileStore.open("photos/.polymodal/image", 512, { kind: "hnsw" });
 * await store.upsert([{ id: "a.jpg", modality: "image", embedding, metadata: {} }]); // durable when it resolves
 */
export class FileStore extends MemoryStore {
  override readonly backend = "file";
  readonly readOnly: boolean;
  private fd = -1;
  /** bytes of whole records in the current log (a writer appends there; a reader has applied up to there) */
  private logBytes: number;
  private logIno: number;
  private snapshotBytes: number;
  private readonly writes = new Serial();
  private compactMinBytes = COMPACT_MIN_BYTES;
  private io: WriteIO = NODE_IO;
  /** set when a failed write could not be rolled back: no write is taken until the rollback succeeds */
  private unrolled: Error | null = null;

  private constructor(
    readonly base: string,
    private gen: Generation,
    l: Loaded,
    readOnly: boolean,
  ) {
    super(l.index.embeddingDim, {}, l.index);
    this.ownsIndex = true; // loaded by open(): closing the store frees it
    this.readOnly = readOnly;
    this.logBytes = l.logBytes;
    this.logIno = l.logIno;
    this.snapshotBytes = l.snapshotBytes;
    this.stamp = l.stamp;
  }

  /**
   * Opens the store at `base` (a path prefix), creating it with `dim` and `options` when none exists (dim 0: open an
   * existing store whatever its dim).  A writer must hold the folder's lock (Collection takes it).
   */
  static async open(base: string, dim: number, options: FileStoreOptions = {}): Promise<FileStore> {
    const { compactMinBytes, readOnly = false, salvage = false, io, ...indexOptions } = options;
    if (readOnly && salvage) throw new Error("FileStore: salvage rewrites the store; it needs a writer, not readOnly");
    let l = load(base, dim, salvage);
    let created = false;
    if (!l) {
      if (readOnly || !(dim > 0)) throw new Error(`FileStore: no store at ${base}`);
      mkdirSync(dirname(base), { recursive: true });
      const index = new MultimodalIndex(dim, indexOptions),
        gen = generation(base, 1),
        bytes = index.save();
      await index.saveToFile(gen.snapshot);
      fsyncDir(dirname(base));
      l = { index, gen, snapshotBytes: bytes.length, logBytes: 0, logIno: 0, stamp: null, damaged: [] };
      created = true;
    }
    const s = new FileStore(base, l.gen, l, readOnly);
    s.compactMinBytes = compactMinBytes ?? COMPACT_MIN_BYTES;
    if (io) s.io = io;
    if (readOnly) return s;
    try {
      if (!created) s.cleanUp();
      s.fd = openSync(l.gen.log, "a");
      // a torn tail (an append cut short by a crash) was never acknowledged: cut it before appending
      if (fstatSync(s.fd).size !== s.logBytes && !salvage) {
        ftruncateSync(s.fd, s.logBytes);
        fsyncSync(s.fd);
      }
      s.logIno = fstatSync(s.fd).ino;
      if (salvage) {
        // the damaged logs are kept beside (copied first: the compaction that follows deletes generation g)
        const when = new Date().toISOString().replace(/[:.]/g, "-");
        for (const d of l.damaged) copyFileSync(d.log, `${d.log}.damaged-${when}`);
        await s.compact();
        s.cleanUp();
      }
    } catch (e) {
      await s.close();
      throw e;
    }
    s.salvaged = l.damaged;
    return s;
  }

  /** the damaged byte ranges a salvaging open skipped (their logs are kept beside as `<log>.damaged-<time>`) */
  salvaged: Array<{ log: string; ranges: Array<[number, number]> }> = [];

  /** Writer only: removes what crashes left behind (older generations, orphan logs, temporary snapshot copies). */
  private cleanUp(): void {
    const dir = dirname(this.base),
      name = escapeRegExp(basename(this.base));
    const junk = new RegExp(`^${name}\\.(?:(\\d+)\\.log|(\\d+\\.)?pmx\\..+\\.tmp|(\\d+)\\.pmx)$`);
    for (const f of readdirSync(dir)) {
      const m = f.match(junk);
      if (!m) continue;
      const g = Number(m[1] ?? m[3] ?? -1);
      if (g === this.gen.g) continue; // the current generation's own files
      if (m[3] !== undefined && g > this.gen.g) continue; // never: generations() chose the newest
      rmSync(join(dir, f), { force: true });
    }
    if (this.gen.g > 0 && existsSync(`${this.base}.pmx`)) rmSync(`${this.base}.pmx`, { force: true });
    fsyncDir(dir);
  }

  /** Appends a record and fsyncs it (the durability point), then applies it in memory. */
  private append(json: LogRecord, rows: Float32Array[], apply: () => void): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.readOnly) throw new Error(`FileStore: ${this.base} is open read-only`);
      if (this.fd < 0) throw new Error(`FileStore: ${this.base} is closed`);
      if (this.unrolled) this.rollback();
      if (this.unrolled)
        throw new Error(
          `FileStore: ${this.gen.log} could not be rolled back to its last whole record after a failed write ` +
            `(${this.unrolled.message}); no write is taken until it can be`,
        );
      if (this.logBytes > Math.max(this.snapshotBytes, this.compactMinBytes)) await this.compact();
      const rec = encodeRecord(json, rows);
      try {
        let off = 0;
        while (off < rec.length) off += this.io.writeSync(this.fd, rec, off, rec.length - off);
        this.io.fsyncSync(this.fd);
      } catch (e) {
        this.rollback(); // part of the record may be in the log: cut it before anything else is written
        throw new Error(
          `FileStore: could not write to ${this.gen.log}: ${(e as Error).message}; nothing of this write was kept`,
        );
      }
      this.logBytes += rec.length;
      apply();
    };
    return this.writes.run(run);
  }

  /** Cuts the log back to its last whole record (after a failed append). */
  private rollback(): void {
    try {
      this.io.ftruncateSync(this.fd, this.logBytes);
      this.io.fsyncSync(this.fd);
      this.unrolled = null;
    } catch (e) {
      this.unrolled = e as Error;
    }
  }

  override async upsert(items: StoredItem[]): Promise<void> {
    validateItems(items, this.dim);
    if (items.length === 0) return;
    await this.append(
      { op: "upsert", items: items.map((it) => ({ id: it.id, modality: it.modality, metadata: it.metadata })) },
      items.map((it) => it.embedding),
      () => this.apply(items),
    );
  }

  override async remove(ids: string[]): Promise<number> {
    const present = ids.filter((id) => this.index.get(id) !== null);
    if (present.length === 0) return 0;
    let n = 0;
    await this.append({ op: "remove", ids: present }, [], () => {
      n = this.applyRemove(present);
    });
    return n;
  }

  override async setVersion(version: string): Promise<void> {
    await this.append({ op: "version", version }, [], () => {
      this.stamp = version;
    });
  }

  override version(): string | null {
    this.follow();
    return super.version();
  }
  override async search(queries: Float32Array[], k: number, options?: StoreSearchOptions): Promise<StoreHit[][]> {
    this.follow();
    return super.search(queries, k, options);
  }
  override async *entries(options?: EntryOptions): AsyncIterable<StoredItem> {
    this.follow();
    yield* super.entries(options);
  }
  override async count(): Promise<number> {
    this.follow();
    return super.count();
  }

  /**
   * Reader only: applies what the writer appended since the last read, or reloads after the writer compacted into
   * a new generation.  A record the writer is still appending (incomplete) waits for the next read.  One stat per
   * read: a compaction deletes this generation's log before any record goes to the next one, so a log that is gone
   * (or replaced, or shorter) is the sign to reload.
   */
  follow(): void {
    if (!this.readOnly || this.fd === -2) return;
    const st = statSync(this.gen.log, { throwIfNoEntry: false });
    if (!st) {
      // no log: a compaction deleted it, or the writer has not appended to a new store yet
      if (generations(this.base)[0]?.g !== this.gen.g) this.reload();
      return;
    }
    if ((this.logIno !== 0 && st.ino !== this.logIno) || st.size < this.logBytes) {
      this.reload();
      return;
    }
    if (st.size === this.logBytes) return;
    const fd = openSync(this.gen.log, "r");
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(st.size - this.logBytes);
      let got = 0;
      while (got < bytes.length) {
        const n = readSync(fd, bytes, got, bytes.length - got, this.logBytes + got);
        if (n === 0) break;
        got += n;
      }
      bytes = bytes.subarray(0, got);
      if (this.logIno === 0) this.logIno = fstatSync(fd).ino;
    } finally {
      closeSync(fd);
    }
    const r = readLog(bytes, this.dim);
    if (r.corruptAt >= 0)
      throw new StoreDamagedError(
        `FileStore: ${this.gen.log} is damaged at byte ${this.logBytes + r.corruptAt}; the writer's \`polymodal ` +
          `repair\` keeps every valid record`,
      );
    const s = replay(this.index, r.records, this.dim);
    if (s !== undefined) this.stamp = s;
    this.logBytes += r.valid;
  }

  private reload(): void {
    const l = load(this.base, this.dim, false);
    if (!l) throw new Error(`FileStore: the store at ${this.base} is gone`);
    if (this.ownsIndex) this.index.dispose();
    this.held = l.index;
    this.ownsIndex = true;
    this.gen = l.gen;
    this.logBytes = l.logBytes;
    this.logIno = l.logIno;
    this.snapshotBytes = l.snapshotBytes;
    this.stamp = l.stamp;
  }

  /** Folds the log into a new snapshot generation (runs inside the write chain). */
  private async compact(): Promise<void> {
    const g = this.gen.g + 1;
    if (g >= MAX_GENERATION)
      throw new StoreDamagedError(
        `FileStore: ${this.base} has reached generation ${this.gen.g}; run \`polymodal repair\` to start again from 1`,
      );
    const next = generation(this.base, g);
    // the new log first (a log without its snapshot is an orphan the next writer removes), then the snapshot: its
    // rename is the commit point, after which generation g is no longer read
    const head = this.stamp ? encodeRecord({ op: "version", version: this.stamp }, []) : new Uint8Array(0);
    const fd = openSync(next.log, "w");
    const bytes = this.index.save();
    try {
      let off = 0;
      while (off < head.length) off += this.io.writeSync(fd, head, off, head.length - off);
      this.io.fsyncSync(fd);
      await this.index.saveToFile(next.snapshot);
      fsyncDir(dirname(this.base));
    } catch (e) {
      closeSync(fd);
      rmSync(next.log, { force: true });
      throw new Error(
        `FileStore: could not compact ${this.base} into generation ${g}: ${(e as Error).message}; nothing of this ` +
          `write was kept`,
      );
    }
    if (this.fd >= 0) closeSync(this.fd);
    const old = this.gen;
    this.fd = fd;
    this.gen = next;
    this.logBytes = head.length;
    this.logIno = fstatSync(fd).ino;
    this.snapshotBytes = bytes.length;
    rmSync(old.log, { force: true });
    rmSync(old.snapshot, { force: true });
    fsyncDir(dirname(this.base));
  }

  /** Bytes on disk now (snapshot + log). */
  diskBytes(): number {
    return statSync(this.gen.snapshot).size + (existsSync(this.gen.log) ? statSync(this.gen.log).size : 0);
  }

  override async close(): Promise<void> {
    await this.writes.idle();
    if (this.fd === -2) return;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -2; // closed
    await super.close();
  }
}
