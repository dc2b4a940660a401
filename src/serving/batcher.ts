// The one batcher under both serving paths: the library's MultimodalServingPipeline (in process) and the service's
// worker pool.  It owns the queue and nothing else: what a batch is run on is its consumer's business.
//
//   submit(item, key, size, deadline) ──▶ queue (≤ maxQueue units waiting) ──take()──▶ the consumer runs the batch
//          │ full: QueueFullError                 │ a key's batch: the oldest entry, then every later entry of its
//          │                                      │ key that fits in maxBatch units
//          │ deadline passes while queued: dropped, DeadlineError; while running: answered with DeadlineError
//
// Readiness: with maxWaitMs 0 every entry is ready at once (continuous batching: an idle consumer takes the oldest
// work and whatever of its key waits with it).  With maxWaitMs > 0 a key is ready once maxBatch units of it wait,
// and everything is ready maxWaitMs after the first entry that found the queue idle (the reference design's
// batch_size / max_wait_ms), or at flush().
import { PolymodalError } from "../util/errors.js";

/** A request refused because the queue is full; retry after retryAfterSeconds. */
export class QueueFullError extends PolymodalError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super("busy", message);
  }
}
/** A request whose deadline passed: while it waited (its work never ran) or while it ran (its result dropped). */
export class DeadlineError extends PolymodalError {
  constructor(message: string) {
    super("timeout", message);
  }
}

/** One submitted item in the queue or in a running batch. */
export interface Entry<T, R> {
  readonly item: T;
  readonly key: string;
  /** units it counts for in maxQueue / maxBatch (the inputs of a request) */
  readonly size: number;
  state: "queued" | "running" | "settled";
  resolve(result: R): void;
  reject(error: Error): void;
}

/** Entries of one key taken to run together; settling an entry twice (or after its deadline) does nothing. */
export interface Batch<T, R> {
  readonly key: string;
  readonly entries: ReadonlyArray<Entry<T, R>>;
  /** units in the batch */
  readonly size: number;
}

export interface BatcherOptions<T, R> {
  /** most units waiting; a submit beyond it is refused (unless it could start at once, see canStartNow) */
  maxQueue: number;
  /** most units in one batch (an entry larger than this runs alone) */
  maxBatch: number;
  /** ms the first entry waits for company before everything queued is ready (default 0: continuous batching) */
  maxWaitMs?: number;
  /** work is ready to take: the consumer calls take() until it returns null or it has no capacity left */
  onReady(): void;
  /** every entry of a running batch is past its deadline (the consumer may stop that work) */
  onAbandoned?(batch: Batch<T, R>): void;
  /** whether a consumer is idle now, so an entry over maxQueue would still run at once (default: never) */
  canStartNow?(): boolean;
  /** seconds a refused client should wait (default 1) */
  retryAfterSeconds?(queuedUnits: number): number;
  /** messages of the errors (the consumer's vocabulary: "requests"/"inputs", its option names) */
  messages?: Partial<BatcherMessages>;
}

export interface BatcherMessages {
  queueFull(queuedUnits: number, maxQueue: number): string;
  waitedPastDeadline(entry: Entry<unknown, unknown>): string;
  ranPastDeadline(entry: Entry<unknown, unknown>): string;
}

const DEFAULT_MESSAGES: BatcherMessages = {
  queueFull: (q, max) => `the queue is full (${q} inputs waiting, limit ${max}); retry later`,
  waitedPastDeadline: () => "the request waited past its deadline in the queue; its work was dropped",
  ranPastDeadline: () => "the request ran past its deadline; its work was stopped",
};

/** The batcher's counters: one source for the library's getMetrics() and the service's /metrics. */
export interface BatcherStats {
  /** units waiting now */
  queuedUnits: number;
  /** entries waiting now */
  queuedEntries: number;
  /** entries in batches taken and not yet settled */
  runningEntries: number;
  /** batches taken, and the units they held */
  batches: number;
  batchedUnits: number;
  /** submits refused because the queue was full */
  rejectedQueueFull: number;
  /** entries answered with DeadlineError (waiting or running) */
  timedOut: number;
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

interface Slot<T, R> extends Entry<T, R> {
  timer: ReturnType<typeof setTimeout> | null;
  batch: Batch<T, R> | null;
}

export class Batcher<T, R> {
  // arrival order (entries leave it lazily: `head` skips those no longer queued) and the queued entries per key,
  // so a submit, a take and an expiry cost O(1) or O(their key's entries), never a scan of the whole queue
  private order: Array<Slot<T, R>> = [];
  private head = 0;
  private readonly buckets = new Map<string, { entries: Array<Slot<T, R>>; units: number }>();
  // keys with a full batch waiting (maxWaitMs > 0), in the order they filled
  private readonly full = new Set<string>();
  private queuedUnits = 0;
  private queuedEntries = 0;
  private running = 0;
  private flushAll = false;
  private waitTimer: ReturnType<typeof setTimeout> | null = null;
  private idleWaiters: Array<() => void> = [];
  private readonly messages: BatcherMessages;
  private readonly counts = { batches: 0, batchedUnits: 0, rejectedQueueFull: 0, timedOut: 0 };

  constructor(private readonly options: BatcherOptions<T, R>) {
    this.messages = { ...DEFAULT_MESSAGES, ...options.messages };
  }

  /**
   * Queues `item`; the promise settles when its consumer settles its entry, or with QueueFullError (at once) or
   * DeadlineError (at `deadline`, a performance.now() time).
   */
  submit(item: T, key: string, size: number, deadline: number): Promise<R> {
    const o = this.options;
    if (this.queuedUnits + size > o.maxQueue && !(this.queuedEntries === 0 && o.canStartNow?.())) {
      this.counts.rejectedQueueFull++;
      const retry = o.retryAfterSeconds?.(this.queuedUnits) ?? 1;
      return Promise.reject(new QueueFullError(this.messages.queueFull(this.queuedUnits, o.maxQueue), retry));
    }
    return new Promise<R>((resolve, reject) => {
      const s: Slot<T, R> = {
        item,
        key,
        size,
        state: "queued",
        timer: null,
        batch: null,
        resolve: (r) => this.settle(s, () => resolve(r)),
        reject: (e) => this.settle(s, () => reject(e)),
      };
      s.timer = setTimeout(() => this.expire(s), Math.max(0, deadline - now()));
      this.order.push(s);
      const bucket = this.buckets.get(key) ?? { entries: [], units: 0 };
      if (bucket.entries.length === 0) this.buckets.set(key, bucket);
      bucket.entries.push(s);
      bucket.units += size;
      this.queuedUnits += size;
      this.queuedEntries++;
      const wait = o.maxWaitMs ?? 0;
      if (wait > 0 && bucket.units >= o.maxBatch) this.full.add(key);
      if (wait > 0 && !this.waitTimer && !this.flushAll) this.waitTimer = setTimeout(() => this.flush(), wait);
      if (wait === 0 || this.flushAll || bucket.units >= o.maxBatch) o.onReady();
    });
  }

  /** Everything queued is ready now (the consumer is told). */
  flush(): void {
    if (this.waitTimer) {
      clearTimeout(this.waitTimer);
      this.waitTimer = null;
    }
    if (this.queuedEntries === 0) return;
    this.flushAll = true;
    this.options.onReady();
  }

  /** The oldest entry still queued (entries that left are skipped once, and the array compacted now and then). */
  private oldest(): Slot<T, R> | undefined {
    while (this.head < this.order.length && this.order[this.head].state !== "queued") this.head++;
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return this.order[this.head];
  }

  /**
   * The next ready batch, or null: the oldest ready key's entries in arrival order, at most maxBatch units (an
   * entry larger than that alone).
   */
  take(): Batch<T, R> | null {
    const o = this.options;
    const continuous = (o.maxWaitMs ?? 0) === 0 || this.flushAll;
    const key = continuous ? this.oldest()?.key : this.full.values().next().value;
    if (key === undefined) return null;
    const bucket = this.buckets.get(key)!;
    let n = 0,
      size = 0;
    while (n < bucket.entries.length && (n === 0 || size + bucket.entries[n].size <= o.maxBatch))
      size += bucket.entries[n++].size;
    const entries = bucket.entries.splice(0, n);
    bucket.units -= size;
    if (bucket.entries.length === 0) this.buckets.delete(key);
    if (bucket.units < o.maxBatch) this.full.delete(key);
    this.queuedUnits -= size;
    this.queuedEntries -= n;
    if (this.queuedEntries === 0) {
      this.flushAll = false;
      this.order = [];
      this.head = 0;
    }
    const batch: Batch<T, R> = { key, entries, size };
    for (const s of entries) {
      s.state = "running";
      s.batch = batch;
    }
    this.running += n;
    this.counts.batches++;
    this.counts.batchedUnits += size;
    return batch;
  }

  private settle(s: Slot<T, R>, f: () => void): void {
    if (s.state === "settled") return;
    if (s.state === "running") this.running--;
    s.state = "settled";
    if (s.timer) {
      clearTimeout(s.timer);
      s.timer = null;
    }
    f();
    if (this.idle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private expire(s: Slot<T, R>): void {
    s.timer = null;
    if (s.state === "queued") {
      const bucket = this.buckets.get(s.key)!;
      bucket.entries.splice(bucket.entries.indexOf(s), 1);
      bucket.units -= s.size;
      if (bucket.entries.length === 0) this.buckets.delete(s.key);
      if (bucket.units < this.options.maxBatch) this.full.delete(s.key);
      this.queuedUnits -= s.size;
      this.queuedEntries--;
      if (this.queuedEntries === 0) {
        this.flushAll = false;
        this.order = [];
        this.head = 0;
      }
      this.counts.timedOut++;
      s.reject(new DeadlineError(this.messages.waitedPastDeadline(s as Entry<unknown, unknown>)));
    } else if (s.state === "running") {
      this.counts.timedOut++;
      s.reject(new DeadlineError(this.messages.ranPastDeadline(s as Entry<unknown, unknown>)));
      const batch = s.batch!;
      if (batch.entries.every((e) => e.state === "settled")) this.options.onAbandoned?.(batch);
    }
  }

  private idle(): boolean {
    return this.queuedEntries === 0 && this.running === 0;
  }

  /** Resolves when nothing is queued or running. */
  drained(): Promise<void> {
    return this.idle() ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /** Units waiting now. */
  get depth(): number {
    return this.queuedUnits;
  }

  stats(): BatcherStats {
    return {
      queuedUnits: this.queuedUnits,
      queuedEntries: this.queuedEntries,
      runningEntries: this.running,
      ...this.counts,
    };
  }
}

/** Latencies of the last `size` answers (a fixed window, so a long-lived server keeps constant memory). */
export class LatencyWindow {
  private readonly values: Float64Array;
  count = 0;
  total = 0;
  constructor(readonly size = 4096) {
    this.values = new Float64Array(size);
  }
  add(ms: number): void {
    this.values[this.count % this.size] = ms;
    this.count++;
    this.total += ms;
  }
  get mean(): number {
    return this.count ? this.total / this.count : 0;
  }
  /** the q-quantile (nearest rank) of the window; 0 before the first */
  percentiles(qs: number[]): number[] {
    const w = this.values.slice(0, Math.min(this.count, this.size)).sort();
    return qs.map((q) => (w.length ? w[Math.min(w.length - 1, Math.ceil(q * w.length) - 1)] : 0));
  }
}
