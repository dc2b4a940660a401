// Distributed indexing on BullMQ (Redis): `polymodal index <folder> --queue redis://… --store lancedb:…` enqueues
// one job per batch of files; `polymodal worker --queue redis://…` on any number of machines embeds them and
// upserts into the store named in the job.  Workers must see the files at the same paths (a shared mount) and the
// store must take many writers (LanceDB; a file store has one writer).
//
// Exactly once, whatever dies: a job's id is a digest of its files' paths and content hashes, so enqueueing the
// same work twice adds nothing; an item's id is its path, so running a job twice (a worker killed mid-job, its job
// retried after lockMs) upserts the same items again instead of adding copies.  A file that cannot be read or
// decoded is not retried: it goes to the dead-letter hash (path -> reason) and the job goes on.  A job that fails
// for another reason (the store unreachable) is retried with exponential backoff.
//
// A worker trusts no job (anyone who can write to Redis can write one): it is started with the folders it may read
// (`--root`) and the stores it may write (`--store`); a job is checked field by field, every file's real path must
// be under a root and be a regular file within the size limit before a byte is read, and a dead letter never
// carries a file's bytes.  A job that breaks these rules fails at once (no retry) with one reason.
import { PolymodalError } from "../util/errors.js";
import { SPACES, type Space } from "../pipelines/pipeline.js";
import { createHash } from "node:crypto";
import { type Stats, readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { Queue, Worker, UnrecoverableError, type Job } from "bullmq";
import { Redis } from "ioredis";
import { Collection, parseStoreSpec } from "./collection.js";
import { modalityOf } from "./media.js";
import { removeChunksFrom } from "./documents.js";
import type { StoredItem } from "../retrieval/embedding-store.js";
import type { Models } from "./models.js";
import { walk } from "./walk.js";

export const QUEUE_NAME = "polymodal-index";

export interface QueuedFile {
  rel: string;
  path: string;
  sha256: string;
  size: number;
  mtimeMs: number;
  modality: Space;
}
export interface IndexJobData {
  root: string;
  store: string;
  files: QueuedFile[];
}

const deadKey = (name: string): string => `polymodal:${name}:dead`;

function connect(url: string): Redis {
  // BullMQ needs maxRetriesPerRequest null: its blocking commands wait for Redis to come back instead of failing
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) });
}

/** The files of a folder that need (re)embedding into the store: new, or whose content hash differs. */
export async function enqueueFolder(
  folder: string,
  o: { queue: string; store: string; batch?: number; name?: string; models?: Models },
): Promise<{
  jobs: number;
  added: number;
  files: number;
  unchanged: number;
  skipped: Array<{ path: string; why: string }>;
}> {
  if (parseStoreSpec(o.store).kind !== "lancedb")
    throw new PolymodalError("usage", "--queue needs a store every worker can write: --store lancedb:<folder or URI>");
  const root = resolve(folder);
  const files: string[] = [],
    skipped: Array<{ path: string; why: string }> = [];
  walk(root, "", files, skipped);
  const coll = await Collection.openStore(o.store);
  const changed: QueuedFile[] = [];
  let unchanged = 0;
  try {
    // what the store holds already: path -> content hash (a document's chunks all carry its path and hash)
    const have = new Map<string, string>();
    for (const st of coll.stores.values())
      for await (const it of st.entries({ vectors: false }))
        if (typeof it.metadata.sha256 === "string")
          have.set(typeof it.metadata.path === "string" ? it.metadata.path : it.id, it.metadata.sha256);
    const spaces = o.models ? await o.models.spaces() : null;
    for (const p of files) {
      const modality = modalityOf(p);
      // text documents only with a text model to embed them
      if (!modality || (spaces && !spaces.has(modality))) continue;
      const rel = relative(root, p).split(sep).join("/");
      let bytes: Buffer, st: Stats;
      try {
        bytes = readFileSync(p);
        st = statSync(p);
      } catch (e) {
        skipped.push({ path: p, why: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
        continue;
      }
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (have.get(rel) === sha256) {
        unchanged++;
        continue;
      }
      changed.push({ rel, path: p, sha256, size: st.size, mtimeMs: st.mtimeMs, modality });
    }
    // the spaces the jobs write exist, stamped, before any worker starts: workers never race to create them, and a
    // store of other model versions is refused here rather than by every job
    if (o.models)
      for (const space of new Set(changed.map((f) => f.modality)))
        await coll.prepare(space, await o.models.dim(space), await o.models.version(space));
  } finally {
    await coll.close();
  }
  const batch = o.batch ?? 16;
  const connection = connect(o.queue);
  const queue = new Queue<IndexJobData>(o.name ?? QUEUE_NAME, { connection });
  let added = 0,
    jobs = 0;
  try {
    for (let i = 0; i < changed.length; i += batch) {
      const part = changed.slice(i, i + batch);
      const jobId = createHash("sha256")
        .update(JSON.stringify([o.store, part.map((f) => [f.rel, f.sha256])]))
        .digest("hex");
      const before = await queue.getJob(jobId);
      await queue.add(
        "embed",
        { root, store: o.store, files: part },
        {
          jobId,
          attempts: 8,
          backoff: { type: "exponential", delay: 1000 },
          removeOnComplete: { count: 100_000 },
          removeOnFail: false,
        },
      );
      jobs++;
      if (!before) added++;
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return { jobs, added, files: changed.length, unchanged, skipped };
}

export interface QueueStatus {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  dead: Record<string, string>;
}

/** Job counts and the dead-letter list (unreadable files and why). */
export async function queueStatus(url: string, name = QUEUE_NAME): Promise<QueueStatus> {
  const connection = connect(url);
  const queue = new Queue(name, { connection });
  try {
    const c = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed", "prioritized");
    const dead = await connection.hgetall(deadKey(name));
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
      dead,
    };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

export interface WorkerOptions {
  queue: string;
  models: Models;
  /** folders whose files this worker may read (a job's file outside them fails the job) */
  roots: string[];
  /** stores this worker may write ("lancedb:<uri>"; a job naming another fails) */
  stores: string[];
  /** largest file read, in bytes (default 1 GiB) */
  maxFileBytes?: number;
  name?: string;
  /** jobs at once in this process (default 1: embedding uses the core) */
  concurrency?: number;
  /** ms a job's lock lasts; a worker that dies holds its job this long before another takes it (default 30,000) */
  lockMs?: number;
  onFile?: (f: QueuedFile, error: string | null) => void;
  /** a job that failed (and will be retried, or not) or stalled (its worker stopped renewing its lock) */
  onJob?: (event: "failed" | "stalled", jobId: string, detail: string) => void;
}

const MAX_JOB_FILES = 10_000;
const MAX_PATH = 4096;
const SPACE_NAMES = new Set<string>(SPACES);

/** A job's data as this worker reads it, or an Error with one reason (a job is anyone's text). */
export function checkJob(data: unknown): IndexJobData {
  const bad = (why: string): never => {
    throw new Error(why);
  };
  const str = (v: unknown, what: string): string =>
    typeof v === "string" && v.length > 0 && v.length <= MAX_PATH && !v.includes("\0")
      ? v
      : bad(`${what} must be a non-empty string of at most ${MAX_PATH} characters`);
  if (data === null || typeof data !== "object" || Array.isArray(data))
    bad("the job's data must be an object {root, store, files}");
  const d = data as Record<string, unknown>;
  const root = str(d.root, "root"),
    store = str(d.store, "store");
  if (!Array.isArray(d.files) || d.files.length === 0 || d.files.length > MAX_JOB_FILES)
    bad(`files must be an array of 1 to ${MAX_JOB_FILES} files`);
  const files = (d.files as unknown[]).map((v, i): QueuedFile => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) bad(`files[${i}] must be an object`);
    const f = v as Record<string, unknown>;
    const path = str(f.path, `files[${i}].path`),
      rel = str(f.rel, `files[${i}].rel`);
    if (!isAbsolute(path)) bad(`files[${i}].path must be absolute`);
    if (typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256))
      bad(`files[${i}].sha256 must be 64 hex digits`);
    if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) bad(`files[${i}].size must be a byte count`);
    if (typeof f.mtimeMs !== "number" || !Number.isFinite(f.mtimeMs)) bad(`files[${i}].mtimeMs must be a number`);
    if (typeof f.modality !== "string" || !SPACE_NAMES.has(f.modality))
      bad(`files[${i}].modality must be one of ${SPACES.join(", ")}`);
    return {
      rel,
      path,
      sha256: f.sha256 as string,
      size: f.size as number,
      mtimeMs: f.mtimeMs as number,
      modality: f.modality as Space,
    };
  });
  return { root, store, files };
}

/** The file's real path if it lies under one of `roots` (real paths), else null. */
function underRoots(path: string, roots: string[]): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return path;
  } // missing: reading it fails below with ENOENT (a dead letter)
  return roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep)) ? real : null;
}

/** A failure's reason for the shared dead-letter list: no quoted text or bytes from the file, and short. */
function deadLetter(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\b(bytes?)((?: [0-9a-f]{2})+)/gi, "$1 …")
    .slice(0, 300);
}

/** Runs jobs until close(); every store named by a job is opened once and kept. */
export function startWorker(o: WorkerOptions): { close(): Promise<void>; worker: Worker<IndexJobData> } {
  if (o.roots.length === 0) throw new Error("a worker needs --root: the folder(s) whose files it may read");
  if (o.stores.length === 0) throw new Error("a worker needs --store: the store(s) it may write");
  const roots = o.roots.map((r) => {
    try {
      return realpathSync(r);
    } catch {
      throw new Error(`--root ${r}: no such folder`);
    }
  });
  for (const s of o.stores)
    if (parseStoreSpec(s).kind !== "lancedb")
      throw new Error(`--store ${s}: a worker writes a store every worker can write (lancedb:<folder or URI>)`);
  const maxBytes = o.maxFileBytes ?? 2 ** 30;
  const stores = new Map<string, Promise<Collection>>();
  const connection = connect(o.queue);
  const name = o.name ?? QUEUE_NAME;
  const process = async (job: Job<IndexJobData>): Promise<{ indexed: number; dead: number }> => {
    let data: IndexJobData;
    try {
      data = checkJob(job.data);
    } catch (e) {
      throw new UnrecoverableError(`malformed job: ${(e as Error).message}`);
    }
    const { store, files } = data;
    if (!o.stores.includes(store))
      throw new UnrecoverableError(`the job writes a store this worker was not given (--store ${o.stores.join(", ")})`);
    // every file under a root before any is read: a job that reaches outside is refused whole
    const real = files.map((f) => underRoots(f.path, roots));
    const outside = files.findIndex((_, i) => real[i] === null);
    if (outside >= 0)
      throw new UnrecoverableError(`files[${outside}] is outside this worker's --root folders; the job is refused`);
    if (!stores.has(store)) stores.set(store, Collection.openStore(store));
    const coll = await stores.get(store)!;
    let indexed = 0,
      dead = 0;
    const bySpace = new Map<Space, Array<{ f: QueuedFile; items: StoredItem[] }>>();
    for (const [i, f] of files.entries()) {
      try {
        const st = statSync(real[i]!);
        if (!st.isFile()) throw new Error("not a regular file");
        if (st.size > maxBytes) throw new Error(`${st.size} bytes, more than this worker reads (${maxBytes})`);
        const items = await o.models.itemsOfFile(real[i]!, f.modality, {
          path: f.rel,
          bytes: f.size,
          mtimeMs: f.mtimeMs,
          sha256: f.sha256,
        });
        (bySpace.get(f.modality) ?? bySpace.set(f.modality, []).get(f.modality)!).push({ f, items });
        o.onFile?.(f, null);
      } catch (e) {
        // unreadable or undecodable: no retry will help; it is listed with its reason and the job goes on
        const why = deadLetter(e);
        await connection.hset(deadKey(name), f.rel, why);
        dead++;
        o.onFile?.(f, why);
      }
    }
    for (const [space, done] of bySpace) {
      const items = done.flatMap((d) => d.items);
      if (items.length) {
        const st = await coll.store(space, items[0].embedding.length);
        try {
          await coll.checkVersion(space, await o.models.version(space), true);
        } catch (e) {
          throw new UnrecoverableError((e as Error).message); // another model version: retrying cannot fix it
        }
        await st.upsert(items);
      }
      // a document that has fewer chunks now (or no words): its old last chunks go
      const st = space === "text" ? await coll.existing(space) : null;
      if (st) for (const d of done) await removeChunksFrom(st, d.f.rel, d.items.length);
      // one round trip: a file that once failed is fine now
      await connection.hdel(deadKey(name), ...done.map(({ f }) => f.rel));
      indexed += done.length;
    }
    return { indexed, dead };
  };
  const lockDuration = o.lockMs ?? 30_000;
  const worker = new Worker<IndexJobData>(name, process, {
    connection,
    concurrency: o.concurrency ?? 1,
    lockDuration,
    stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
  });
  worker.on("error", () => {
    /* connection errors: ioredis reconnects; BullMQ resumes */
  });
  worker.on("failed", (job, err) => {
    if (job)
      o.onJob?.("failed", job.id ?? "?", `attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1}: ${err.message}`);
  });
  worker.on("stalled", (jobId) => o.onJob?.("stalled", jobId, "its worker stopped renewing the lock; it runs again"));
  return {
    worker,
    async close() {
      await worker.close(); // waits for the job in hand
      for (const c of stores.values()) await (await c).close();
      connection.disconnect();
    },
  };
}
