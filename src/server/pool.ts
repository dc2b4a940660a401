// The service's worker pool: N worker threads, each with its own runtime and models, fed by the library's batcher
// (serving/batcher.ts) and spoken to through its worker protocol (serving/worker-rpc.ts).
//
//   request ──run()──▶ batcher (≤ maxQueue inputs waiting) ──▶ idle worker ◀── batch: queued jobs of the same
//                         │ full: QueueFullError (429)                         model/op/kind, ≤ maxBatch inputs
//                         │ deadline passed while queued: dropped, DeadlineError (504)
//
// Batching is continuous (maxWaitMs 0): an idle worker takes the oldest job at once, together with every queued
// job of the same key that fits, so under load batches grow by themselves and a lone request never waits for
// company.  Deadlines: a job whose deadline passes while queued is removed (its work never starts); one that passes
// while it runs is answered 504 at once and its result dropped, and once no request of its batch is waiting any
// more the worker itself is stopped and replaced, so a deadline also ends the work (a beam search over an hour of
// audio, say).
import type { SimdBuild } from "../bindings/module.js";
import { Worker } from "node:worker_threads";
import { PolymodalError } from "../util/errors.js";
import type { ModelRef } from "../pipelines/registry.js";
import type { ProcessingOptions } from "../pipelines/pipeline.js";
import { Batcher, type Batch, type BatcherStats } from "../serving/batcher.js";
import { wrapWorker, type Remote } from "../serving/worker-rpc.js";
import type { Limits } from "../util/limits.js";
import type { ItemResult, Job } from "./jobs.js";
import type { ServiceWorker, WorkerConfig } from "./worker.js";

export { QueueFullError, DeadlineError } from "../serving/batcher.js";

export class WorkerError extends Error {
  readonly statusCode = 500;
}

export interface PoolOptions {
  workers: number;
  /** kernel threads per worker (the library's own threads; results are the same bits at any count) */
  threads: number;
  /** the kernel build each worker runs */
  simd: SimdBuild;
  /** the shipped models' folder */
  modelsDir: string;
  /** the models each worker loads (the registry's refs) */
  models: readonly ModelRef[];
  /** how they process their inputs (exifTranspose) */
  processing?: ProcessingOptions;
  /** most inputs waiting (not counting those running) */
  maxQueue: number;
  /** most inputs in one batch */
  maxBatch: number;
  limits: Limits;
  /** ms a batch may run past the last of its deadlines before its worker is stopped and replaced (default 1000) */
  stopGraceMs?: number;
  /** called per batch run: its key parts and size, and the worker's busy seconds */
  onBatch?: (job: Job, seconds: number, worker: number) => void;
}

type JobBatch = Batch<Job, ItemResult[]>;

/**
 * The buffers of a job's files that can move to its worker rather than be copied (2 ms per MB on the event loop):
 * each file's bytes that fill their own buffer.  Nothing reads a job's inputs once it is sent (the cache keys are
 * taken before, and a job runs once), so the service gives them up; a file viewing part of a larger buffer (Node's
 * small pooled Buffers) is copied.
 */
function uploads([job]: [Job]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const x of job?.inputs ?? [])
    if (x instanceof Uint8Array && x.byteOffset === 0 && x.byteLength === x.buffer.byteLength && x.byteLength > 0)
      out.add(x.buffer as ArrayBuffer);
  return [...out];
}

interface Slot {
  index: number;
  worker: Worker;
  remote: Remote<ServiceWorker>;
  /** the batch it runs, or null when idle */
  running: JobBatch | null;
  dead: boolean;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly batcher: Batcher<Job, ItemResult[]>;
  private closing = false;
  /** mean seconds per input over recent batches (for Retry-After) */
  private secondsPerInput = 0.01;
  /** workers stopped because their work ran past its deadline */
  stopped = 0;

  private constructor(readonly options: PoolOptions) {
    this.batcher = new Batcher<Job, ItemResult[]>({
      maxQueue: options.maxQueue,
      maxBatch: options.maxBatch,
      onReady: () => this.pump(),
      onAbandoned: (batch) => this.abandoned(batch),
      // a request larger than the queue still runs when a worker is free for it now
      canStartNow: () => this.slots.some((s) => s && !s.dead && !s.running),
      retryAfterSeconds: (queued) => Math.max(1, Math.ceil((queued * this.secondsPerInput) / Math.max(1, this.size))),
    });
  }

  /** Starts the workers and resolves once every one has loaded its models. */
  static async start(options: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    await Promise.all(Array.from({ length: options.workers }, (_, i) => pool.spawn(i)));
    return pool;
  }

  private async spawn(index: number): Promise<void> {
    const o = this.options;
    const config: WorkerConfig = {
      processing: o.processing ?? {},
      modelsDir: o.modelsDir,
      models: [...o.models],
      threads: o.threads,
      simd: o.simd,
      limits: { ...o.limits },
    };
    // (../server/: the same file from dist/server/ and from the CLI's bundle in dist/cli-bundle/)
    const worker = new Worker(new URL("../server/worker.js", import.meta.url), { workerData: config });
    const remote = wrapWorker<ServiceWorker>(worker, { transfer: (_m, args) => uploads(args as [Job]) });
    const slot: Slot = { index, worker, remote, running: null, dead: false };
    let ready = false;
    worker.on("error", (e) => {
      if (ready) this.lost(slot, e);
    });
    worker.on("exit", (code) => {
      if (ready && !this.closing) this.lost(slot, new Error(`exit code ${code}`));
    });
    try {
      await slot.remote.ready();
    } catch (e) {
      void worker.terminate();
      throw new Error(`a service worker could not start: ${(e as Error).message}`);
    }
    ready = true;
    if (this.closing) {
      void worker.terminate();
      return;
    } // a replacement that finished loading too late
    this.slots[index] = slot;
    this.pump();
  }

  /** Gives every idle worker the next batch. */
  private pump(): void {
    for (const slot of this.slots) {
      if (!slot || slot.dead || slot.running) continue;
      const batch = this.batcher.take();
      if (!batch) return;
      slot.running = batch;
      const first = batch.entries[0].item;
      const job: Job = { ...first, inputs: batch.entries.flatMap((e) => e.item.inputs) };
      slot.remote.run(job).then(
        ({ results, ms }) => this.done(slot, batch, job, results, ms),
        (e: Error) => this.failed(slot, batch, e),
      );
    }
  }

  private done(slot: Slot, batch: JobBatch, job: Job, results: ItemResult[], ms: number): void {
    if (slot.running !== batch) return; // answered already (the worker was lost)
    slot.running = null;
    const seconds = ms / 1000;
    this.options.onBatch?.(job, seconds, slot.index);
    if (job.inputs.length) this.secondsPerInput = 0.8 * this.secondsPerInput + 0.2 * (seconds / job.inputs.length);
    let at = 0;
    for (const e of batch.entries) {
      e.resolve(results.slice(at, at + e.item.inputs.length));
      at += e.item.inputs.length;
    }
    this.pump();
  }

  private failed(slot: Slot, batch: JobBatch, e: Error): void {
    if (slot.running !== batch) return;
    slot.running = null;
    for (const t of batch.entries) t.reject(new WorkerError(e.message || "the worker failed"));
    this.pump();
  }

  /**
   * Work nobody waits for must not hold a worker: once every request of its batch is past its deadline and the
   * batch still runs after a grace period (most overruns are short, and a replacement costs a model load), the
   * worker is stopped (a model cannot be interrupted mid-kernel) and a new one takes its place.
   */
  private abandoned(batch: JobBatch): void {
    const slot = this.slots.find((s) => s && s.running === batch);
    if (!slot) return;
    setTimeout(() => {
      if (slot.dead || slot.running !== batch) return; // it finished meanwhile
      this.stopped++;
      this.lost(slot, new Error("stopped: its work ran past every deadline"));
      void slot.worker.terminate();
    }, this.options.stopGraceMs ?? 1000).unref();
  }

  /** A worker died: its batch fails (500), and a new worker takes its place. */
  private lost(slot: Slot, e: Error): void {
    if (slot.dead) return;
    slot.dead = true;
    const batch = slot.running;
    slot.running = null;
    for (const t of batch?.entries ?? [])
      t.reject(new WorkerError(`the worker running this request failed (${e.message})`));
    if (this.closing) return;
    this.spawn(slot.index).catch(() => {
      /* stays gone: the other workers go on */
    });
    this.pump();
  }

  /** Inputs waiting (not yet running). */
  get depth(): number {
    return this.batcher.depth;
  }
  /** Workers running a batch now. */
  get busy(): number {
    return this.slots.filter((s) => s?.running).length;
  }
  /** Workers alive (a dead or stopped one is being replaced). */
  get size(): number {
    return this.slots.filter((s) => s && !s.dead).length;
  }
  /** Workers being replaced (loading their models). */
  get restarting(): number {
    return this.slots.filter((s) => s?.dead).length;
  }
  /** The batcher's counters (rejections, deadlines, batches). */
  stats(): BatcherStats {
    return this.batcher.stats();
  }

  /**
   * Runs a job's inputs (one result per input, in order).  Rejects at once with QueueFullError when the queue holds
   * maxQueue inputs already, and with DeadlineError when `deadline` (performance.now() time) passes first.
   */
  run(job: Job, deadline: number): Promise<ItemResult[]> {
    if (this.closing) return Promise.reject(new PolymodalError("unavailable", "the service is shutting down"));
    return this.batcher.submit(
      job,
      // (one batch, one set of options)
      [job.model, job.op, job.kind, job.beam, job.language, job.task, job.timestamps, job.fallback].join("|"),
      job.inputs.length,
      deadline,
    );
  }

  /** Resolves when nothing is queued or running. */
  drained(): Promise<void> {
    return this.batcher.drained();
  }

  /** Finishes queued and running work, then stops the workers. */
  async close(): Promise<void> {
    await this.drained();
    this.closing = true;
    await Promise.all(this.slots.filter(Boolean).map((s) => s.worker.terminate()));
  }
}
