// The service's worker pool: N worker threads, each with its own runtime and models, fed from one bounded queue.
//
//   request ──run()──▶ queue (≤ maxQueue inputs waiting) ──▶ idle worker ◀── batch: queued tasks of the same
//                         │ full: QueueFullError (429)                         model/op/kind, ≤ maxBatch inputs
//                         │ deadline passed while queued: dropped, DeadlineError (504)
//
// Batching is continuous: an idle worker takes the oldest task at once, together with every queued task of the same
// key that fits, so under load batches grow by themselves and a lone request never waits for company.  Deadlines:
// a task whose deadline passes while queued is removed (its work never starts); one that passes while it runs is
// answered 504 at once and its result dropped, and once no request of its batch is waiting any more the worker
// itself is stopped and replaced, so a deadline also ends the work (a beam search over an hour of audio, say).
import { PolymodalError } from "../util/errors.js";
import type { ModelRef } from "../pipelines/registry.js";
import { Worker } from "node:worker_threads";
import type { Limits } from "../util/limits.js";
import type { ItemResult, Job } from "./jobs.js";
import type { WorkerConfig } from "./worker.js";

export class QueueFullError extends PolymodalError {
  constructor(message: string, readonly retryAfterSeconds: number) { super("busy", message); }
}
export class DeadlineError extends PolymodalError {
  constructor(message: string) { super("timeout", message); }
}
export class WorkerError extends Error {
  readonly statusCode = 500;
}

export interface PoolOptions {
  workers: number;
  /** kernel threads per worker (the library's own threads; results are the same bits at any count) */
  threads: number;
  /** the shipped models' folder */
  modelsDir: string;
  /** the models each worker loads (the registry's refs) */
  models: readonly ModelRef[];
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

interface Task {
  job: Job;
  key: string;
  deadline: number;
  state: "queued" | "running" | "settled";
  timer: ReturnType<typeof setTimeout> | null;
  resolve: (r: ItemResult[]) => void;
  reject: (e: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  /** the tasks of the batch it runs, or null when idle */
  running: Task[] | null;
  batchId: number;
  dead: boolean;
}

const now = (): number => performance.now();

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private queue: Task[] = [];
  private queued = 0;
  private nextBatch = 1;
  private closing = false;
  /** mean seconds per input over recent batches (for Retry-After) */
  private secondsPerInput = 0.01;
  private idleWaiters: Array<() => void> = [];
  /** workers stopped because their work ran past its deadline */
  stopped = 0;

  private constructor(readonly options: PoolOptions) {}

  /** Starts the workers and resolves once every one has loaded its models. */
  static async start(options: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    await Promise.all(Array.from({ length: options.workers }, (_, i) => pool.spawn(i)));
    return pool;
  }

  private spawn(index: number): Promise<void> {
    const config: WorkerConfig = { modelsDir: this.options.modelsDir, models: [...this.options.models], threads: this.options.threads, limits: { ...this.options.limits } };
    const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: config });
    const slot: Slot = { index, worker, running: null, batchId: 0, dead: false };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (m: { type: string; id?: number; results?: ItemResult[]; error?: string; ms?: number }) => {
        if (m.type === "ready") {
          ready = true;
          if (this.closing) { void worker.terminate(); resolve(); return; } // a replacement that finished loading too late
          this.slots[index] = slot;
          resolve();
          this.pump();
          return;
        }
        if (m.id !== slot.batchId || !slot.running) return;
        const tasks = slot.running;
        slot.running = null;
        const seconds = (m.ms ?? 0) / 1000;
        const job = { ...tasks[0].job, inputs: tasks.flatMap((t) => t.job.inputs) };
        this.options.onBatch?.(job, seconds, index);
        if (job.inputs.length) this.secondsPerInput = 0.8 * this.secondsPerInput + 0.2 * (seconds / job.inputs.length);
        if (m.type === "done") {
          let at = 0;
          for (const t of tasks) {
            const part = m.results!.slice(at, at + t.job.inputs.length);
            at += t.job.inputs.length;
            this.settle(t, () => t.resolve(part));
          }
        } else {
          for (const t of tasks) this.settle(t, () => t.reject(new WorkerError(m.error ?? "the worker failed")));
        }
        this.pump();
        this.notifyIdle();
      });
      worker.on("error", (e) => {
        if (!ready) { reject(new Error(`a service worker could not start: ${e.message}`)); return; }
        this.lost(slot, e);
      });
      worker.on("exit", (code) => {
        if (!ready) { reject(new Error(`a service worker exited while loading (code ${code})`)); return; }
        if (!this.closing) this.lost(slot, new Error(`exit code ${code}`));
      });
    });
  }

  /** A worker died: its batch fails (500), and a new worker takes its place. */
  private lost(slot: Slot, e: Error): void {
    if (slot.dead) return;
    slot.dead = true;
    const tasks = slot.running ?? [];
    slot.running = null;
    for (const t of tasks) this.settle(t, () => t.reject(new WorkerError(`the worker running this request failed (${e.message})`)));
    this.notifyIdle();
    if (this.closing) return;
    void this.spawn(slot.index).catch(() => { /* stays gone: the other workers go on */ });
    this.pump();
  }

  private settle(t: Task, f: () => void): void {
    if (t.state === "settled") return;
    t.state = "settled";
    if (t.timer) clearTimeout(t.timer);
    f();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.idle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Inputs waiting (not yet running). */
  get depth(): number { return this.queued; }
  /** Workers running a batch now. */
  get busy(): number { return this.slots.filter((s) => s && s.running).length; }
  /** Workers alive (a dead or stopped one is being replaced). */
  get size(): number { return this.slots.filter((s) => s && !s.dead).length; }
  /** Workers being replaced (loading their models). */
  get restarting(): number { return this.slots.filter((s) => s && s.dead).length; }

  /**
   * Runs a job's inputs (one result per input, in order).  Rejects at once with QueueFullError when the queue holds
   * maxQueue inputs already, and with DeadlineError when `deadline` (performance.now() time) passes first.
   */
  run(job: Job, deadline: number): Promise<ItemResult[]> {
    if (this.closing) return Promise.reject(new PolymodalError("unavailable", "the service is shutting down"));
    const n = job.inputs.length;
    const idleNow = this.queue.length === 0 && this.slots.some((s) => s && !s.dead && !s.running);
    if (!idleNow && this.queued + n > this.options.maxQueue) {
      const wait = Math.max(1, Math.ceil((this.queued * this.secondsPerInput) / Math.max(1, this.size)));
      return Promise.reject(new QueueFullError(`the queue is full (${this.queued} inputs waiting, limit ${this.options.maxQueue}); retry later`, wait));
    }
    return new Promise((resolve, reject) => {
      const key = `${job.model}|${job.op}|${job.kind}|${job.beam ?? ""}`;
      const t: Task = { job, key, deadline, state: "queued", timer: null, resolve, reject };
      t.timer = setTimeout(() => this.expire(t), Math.max(0, deadline - now()));
      this.queue.push(t);
      this.queued += n;
      this.pump();
    });
  }

  private expire(t: Task): void {
    if (t.state === "queued") {
      this.queue = this.queue.filter((q) => q !== t);
      this.queued -= t.job.inputs.length;
      this.settle(t, () => t.reject(new DeadlineError("the request waited past its deadline in the queue; its work was dropped")));
    } else if (t.state === "running") {
      this.settle(t, () => t.reject(new DeadlineError("the request ran past its deadline; its work was stopped")));
      // Work nobody waits for must not hold a worker: once every request of its batch is past its deadline and the
      // batch still runs after a grace period (most overruns are short, and a replacement costs a model load), the
      // worker is stopped (a model cannot be interrupted mid-kernel) and a new one takes its place.
      const slot = this.slots.find((x) => x && x.running?.includes(t));
      if (slot && slot.running!.every((x) => x.state === "settled")) {
        const batch = slot.batchId;
        setTimeout(() => {
          if (slot.dead || !slot.running || slot.batchId !== batch) return; // it finished meanwhile
          this.stopped++;
          this.lost(slot, new Error("stopped: its work ran past every deadline"));
          void slot.worker.terminate();
        }, this.options.stopGraceMs ?? 1000).unref();
      }
    }
  }

  /** Gives every idle worker the oldest task and the queued tasks of its key that fit in one batch. */
  private pump(): void {
    for (const slot of this.slots) {
      if (!slot || slot.dead || slot.running || this.queue.length === 0) continue;
      const first = this.queue[0];
      const batch: Task[] = [];
      let size = 0;
      const rest: Task[] = [];
      for (const t of this.queue) {
        const n = t.job.inputs.length;
        if (t.key === first.key && (batch.length === 0 || size + n <= this.options.maxBatch)) { batch.push(t); size += n; } else rest.push(t);
      }
      this.queue = rest;
      this.queued -= size;
      for (const t of batch) t.state = "running";
      slot.running = batch;
      slot.batchId = this.nextBatch++;
      const job: Job = { ...first.job, inputs: batch.flatMap((t) => t.job.inputs) };
      slot.worker.postMessage({ id: slot.batchId, job });
    }
  }

  private idle(): boolean {
    return this.queue.length === 0 && this.slots.every((s) => !s || s.dead || !s.running);
  }

  /** Resolves when nothing is queued or running. */
  drained(): Promise<void> {
    return this.idle() ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /** Finishes queued and running work, then stops the workers. */
  async close(): Promise<void> {
    await this.drained();
    this.closing = true;
    await Promise.all(this.slots.filter(Boolean).map((s) => s.worker.terminate()));
  }
}
