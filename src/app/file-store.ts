// FileStore: a MemoryStore persisted incrementally in a folder, so adding 50 items to a 100,000-item index writes
// about 50 rows, not the whole index.
//
//   <base>.<g>.pmx   snapshot generation g (MultimodalIndex's file format), written atomically (tmp, fsync, rename)
//   <base>.<g>.log   every change since that snapshot, appended and fsync'd before the call resolves:
//                    record = u32 payload bytes | u32 CRC-32 of the payload | payload
//                    payload = u32 JSON bytes | JSON {op: "upsert", items: [{id, modality, metadata}]}
//                                                   | {op: "remove", ids} | {op: "version", version}
//                              | float32 rows of the upserted items (little-endian)
//
// Opening loads the newest snapshot and replays its log; a record cut short by a crash (length or CRC wrong) was
// never acknowledged, so replay stops there and the log is truncated to its last whole record.  When the log grows
// past the snapshot (and 1 MiB), the next write first compacts: snapshot g+1 (with the log applied) is written
// atomically, a new log starts with the version stamp, and generation g is deleted.  A crash anywhere in that
// leaves either generation whole; the newest complete snapshot wins.  A legacy `<base>.pmx` is generation 0.
import { closeSync, existsSync, mkdirSync, fsyncSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { MultimodalIndex, type IndexOptions } from "../retrieval/multimodal-index.js";
import { MemoryStore, upsertInto, validateItems, type StoredItem } from "../retrieval/embedding-store.js";
import { crc32 } from "../util/crc32.js";

const COMPACT_MIN_BYTES = 1 << 20;

interface Generation { g: number; snapshot: string; log: string }

function generations(base: string): Generation[] {
  const dir = dirname(base), name = basename(base);
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.pmx$`);
  const gens: Generation[] = [];
  if (!existsSync(dir)) return gens;
  for (const f of readdirSync(dir)) {
    const m = f.match(re);
    if (m) gens.push({ g: Number(m[1]), snapshot: join(dir, f), log: join(dir, `${name}.${m[1]}.log`) });
  }
  if (existsSync(`${base}.pmx`)) gens.push({ g: 0, snapshot: `${base}.pmx`, log: `${base}.0.log` });
  return gens.sort((a, b) => b.g - a.g);
}

function encodeRecord(json: object, rows: Float32Array[]): Uint8Array {
  const j = new TextEncoder().encode(JSON.stringify(json));
  const payloadBytes = 4 + j.length + rows.reduce((n, r) => n + r.byteLength, 0);
  const out = new Uint8Array(8 + payloadBytes);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, payloadBytes, true);
  dv.setUint32(8, j.length, true);
  out.set(j, 12);
  let at = 12 + j.length;
  for (const r of rows) {
    const b = new Uint8Array(r.buffer, r.byteOffset, r.byteLength);
    // float32 rows little-endian whatever the host (all supported hosts are; this keeps the format explicit)
    out.set(b, at);
    at += b.length;
  }
  dv.setUint32(4, crc32(out.subarray(8)), true);
  return out;
}

type LogRecord = { op: "upsert"; items: Array<{ id: string; modality: string; metadata: Record<string, unknown> }> } | { op: "remove"; ids: string[] } | { op: "version"; version: string };

/** Whole records of a log, and the byte length they cover (a torn tail is not counted). */
function readLog(bytes: Uint8Array, dim: number): { records: Array<{ rec: LogRecord; rows: Float32Array }>; valid: number } {
  const records: Array<{ rec: LogRecord; rows: Float32Array }> = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 8 <= bytes.length) {
    const n = dv.getUint32(at, true);
    if (n < 4 || at + 8 + n > bytes.length) break;
    const payload = bytes.subarray(at + 8, at + 8 + n);
    if (crc32(payload) !== dv.getUint32(at + 4, true)) break;
    const jl = dv.getUint32(at + 8, true);
    if (4 + jl > n) break;
    let rec: LogRecord;
    try {
      rec = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + jl)));
    } catch {
      break;
    }
    const rowBytes = payload.subarray(4 + jl);
    const count = rec.op === "upsert" ? rec.items.length : 0;
    if (rowBytes.length !== count * dim * 4) break;
    records.push({ rec, rows: new Float32Array(new Uint8Array(rowBytes).buffer) }); // a copy: a Buffer's slice() would share its pool
    at += 8 + n;
  }
  return { records, valid: at };
}

/**
 * @example
 * const store = await FileStore.open("photos/.polymodal/image", 512, { kind: "hnsw" });
 * await store.upsert([{ id: "a.jpg", modality: "image", embedding, metadata: {} }]); // durable when it resolves
 */
export class FileStore extends MemoryStore {
  override readonly backend = "file";
  private fd: number;
  private logBytes: number;
  private snapshotBytes: number;
  private writes: Promise<unknown> = Promise.resolve();
  private compactMinBytes = COMPACT_MIN_BYTES;

  private constructor(readonly base: string, private gen: Generation, index: MultimodalIndex, fd: number, logBytes: number, snapshotBytes: number) {
    super(index.embeddingDim, {}, index);
    this.ownsIndex = true; // loaded by open(): closing the store frees it
    this.fd = fd;
    this.logBytes = logBytes;
    this.snapshotBytes = snapshotBytes;
  }

  /** Opens the store at `base` (a path prefix), creating it with `dim` and `options` when none exists (dim 0: open an existing store whatever its dim). */
  static async open(base: string, dim: number, options: IndexOptions & { compactMinBytes?: number } = {}): Promise<FileStore> {
    const { compactMinBytes, ...indexOptions } = options;
    mkdirSync(dirname(base), { recursive: true });
    const gens = generations(base);
    let index: MultimodalIndex | null = null, gen: Generation | null = null, snapshotBytes = 0;
    for (const g of gens) {
      try {
        const bytes = readFileSync(g.snapshot);
        index = MultimodalIndex.load(bytes);
        gen = g;
        snapshotBytes = bytes.length;
        break;
      } catch (e) {
        if (g === gens[gens.length - 1]) throw new Error(`FileStore: no readable snapshot for ${base} (${(e as Error).message})`);
      }
    }
    if (!index || !gen) {
      if (!(dim > 0)) throw new Error(`FileStore: no store at ${base}`);
      index = new MultimodalIndex(dim, indexOptions);
      const dir = dirname(base), name = basename(base);
      gen = { g: 1, snapshot: join(dir, `${name}.1.pmx`), log: join(dir, `${name}.1.log`) };
      const bytes = index.save();
      await index.saveToFile(gen.snapshot);
      snapshotBytes = bytes.length;
    }
    if (dim === 0) dim = index.embeddingDim; // open whatever it holds
    if (index.embeddingDim !== dim) throw new Error(`FileStore: ${base} holds ${index.embeddingDim}-d embeddings, expected ${dim}`);
    let stamp: string | null = null, logBytes = 0;
    if (existsSync(gen.log)) {
      const bytes = readFileSync(gen.log);
      const { records, valid } = readLog(bytes, dim);
      // one allocation for everything the log adds (an index near the wasm32 limit cannot afford to double)
      const adds = records.reduce((n, { rec }) => n + (rec.op === "upsert" ? rec.items.length : 0), 0);
      if (index.kind !== "hnsw") index.reserve(index.s.used + adds);
      for (const { rec, rows } of records) {
        if (rec.op === "version") stamp = rec.version;
        else if (rec.op === "remove") for (const id of rec.ids) index.remove(id);
        else upsertInto(index, rec.items.map((it, i) => ({ ...it, embedding: rows.subarray(i * dim, (i + 1) * dim) })));
      }
      if (valid < bytes.length) truncateSync(gen.log, valid); // a torn last record: never acknowledged
      logBytes = valid;
    }
    for (const old of gens) if (old.g < gen.g) { rmSync(old.snapshot, { force: true }); rmSync(old.log, { force: true }); }
    const fd = openSync(gen.log, "a");
    const s = new FileStore(base, gen, index, fd, logBytes, snapshotBytes);
    s.stamp = stamp;
    s.compactMinBytes = compactMinBytes ?? COMPACT_MIN_BYTES;
    return s;
  }

  /** Appends a record and fsyncs it (the durability point), then applies it in memory. */
  private append(json: LogRecord, rows: Float32Array[], apply: () => void): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.fd < 0) throw new Error(`FileStore: ${this.base} is closed`);
      if (this.logBytes > Math.max(this.snapshotBytes, this.compactMinBytes)) await this.compact();
      const rec = encodeRecord(json, rows);
      let off = 0;
      while (off < rec.length) off += writeSync(this.fd, rec, off, rec.length - off);
      fsyncSync(this.fd);
      this.logBytes += rec.length;
      apply();
    };
    const p = this.writes.then(run);
    this.writes = p.catch(() => {});
    return p;
  }

  override async upsert(items: StoredItem[]): Promise<void> {
    validateItems(items, this.dim);
    if (items.length === 0) return;
    await this.append({ op: "upsert", items: items.map((it) => ({ id: it.id, modality: it.modality, metadata: it.metadata })) }, items.map((it) => it.embedding), () => this.apply(items));
  }

  override async remove(ids: string[]): Promise<number> {
    const present = ids.filter((id) => this.index.get(id) !== null);
    if (present.length === 0) return 0;
    let n = 0;
    await this.append({ op: "remove", ids: present }, [], () => { n = this.applyRemove(present); });
    return n;
  }

  override async setVersion(version: string): Promise<void> {
    await this.append({ op: "version", version }, [], () => { this.stamp = version; });
  }

  /** Folds the log into a new snapshot generation (runs inside the write chain). */
  private async compact(): Promise<void> {
    const dir = dirname(this.base), name = basename(this.base), g = this.gen.g + 1;
    const next: Generation = { g, snapshot: join(dir, `${name}.${g}.pmx`), log: join(dir, `${name}.${g}.log`) };
    const bytes = this.index.save();
    await this.index.saveToFile(next.snapshot);
    const head = this.stamp ? encodeRecord({ op: "version", version: this.stamp }, []) : new Uint8Array(0);
    const fd = openSync(next.log, "w");
    if (head.length) { writeSync(fd, head); fsyncSync(fd); }
    closeSync(this.fd);
    const old = this.gen;
    this.fd = fd;
    this.gen = next;
    this.logBytes = head.length;
    this.snapshotBytes = bytes.length;
    rmSync(old.log, { force: true });
    rmSync(old.snapshot, { force: true });
  }

  /** Bytes on disk now (snapshot + log). */
  diskBytes(): number {
    return statSync(this.gen.snapshot).size + (existsSync(this.gen.log) ? statSync(this.gen.log).size : 0);
  }

  override async close(): Promise<void> {
    await this.writes;
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    await super.close();
  }
}
