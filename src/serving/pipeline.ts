// The reference design's MultimodalServingPipeline made real: per-modality preprocessors, task routing, and the dynamic
// batching the reference design declares (batch_size, max_wait_ms) but never runs.  Requests submitted within
// maxWaitMs with
// the same task, modalities and input shapes run as one batch; the kernels sum in a fixed order whatever the
// batch size, so a batched request gets the same bits it would alone.
import { Batcher, DeadlineError, LatencyWindow, QueueFullError, type Batch } from "./batcher.js";
import { LruCache, type Cache } from "./cache.js";
import { hasDynamicQuantization } from "../nn/quantized.js";
import { MODALITIES, encoderFor, isEmbedder, isNamedForward, type Modality } from "../nn/embedder.js";
import { Sha256 } from "./sha256.js";
import { Tensor, fmtShape, type DType, type NestedArray } from "../tensor.js";

/**
 * The reference design's MultimodalRequest: modality name -> data, a task ("embedding", "retrieval",
 * "classification", ...) and parameters.
 */
export interface MultimodalRequest {
  requestId: string;
  modalities: Record<string, unknown>;
  task: string;
  parameters?: Record<string, unknown>;
}

/** The reference design's MultimodalResponse; results hold plain arrays (tensor.tolist()) and numbers. */
export interface MultimodalResponse {
  requestId: string;
  results: Record<string, NestedArray | number | string | boolean | null>;
  latencyMs: number;
  modalitiesUsed: string[];
}

export interface ServingMetrics {
  totalRequests: number;
  /** requests answered from the cache (ServingOptions.cacheSize or cache) */
  cacheHits: number;
  avgLatencyMs: number;
  avgBatchSize: number;
  /** latency percentiles (nearest rank) over the last 4,096 answered requests; 0 before the first */
  p50LatencyMs: number;
  p95LatencyMs: number;
  p99LatencyMs: number;
  /** requests waiting to run now */
  queueDepth: number;
  /** requests refused because the queue was full (ServingQueueFullError) */
  rejectedQueueFull: number;
  /** requests dropped because their deadline passed while they waited (ServingTimeoutError) */
  timedOut: number;
}

/** The reference design's names for the batcher's two errors (one error family: serving/batcher.ts). */
export { QueueFullError as ServingQueueFullError, DeadlineError as ServingTimeoutError };

/**
 * Where results of cached tasks are kept between requests: the in-process LRU (cacheSize) by default, or your own
 * (a Redis client, IndexedDB, ...): the serving cache interface (serving/cache.ts).  `get` and `set` may be async;
 * processSingle needs a synchronous get.  Values are copied on the way in and out, so a cache may keep what it is
 * given.
 */
export type ServingCache = Cache<Results>;
type Results = MultimodalResponse["results"];

/** One request's inputs after preprocessing (no batch dimension) -> a batched model call. */
export type Preprocessor = (data: any) => Tensor;
/** Runs the model on batched inputs (leading batch dimension) for a task; returns named outputs. */
export type Runner = (inputs: Record<string, Tensor>, task: string) => Record<string, Tensor | number>;

export interface ServingOptions {
  preprocessors?: Record<string, Preprocessor>;
  batchSize?: number;
  maxWaitMs?: number;
  /**
   * replaces the task table's routing (TASKS: "embedding" through the model's encoders; any other task its
   * forwardNamed)
   */
  runner?: Runner;
  /**
   * tasks whose outputs are one row per input and may be batched (default: ["embedding"]; none for a model with
   * dynamically quantised layers)
   */
  batchedTasks?: string[];
  /**
   * Keep the results of the last `cacheSize` distinct requests of the cached tasks (default 0: no cache): a
   * request whose preprocessed inputs are byte-identical to a cached one (SHA-256 of task, names, dtypes, shapes
   * and bytes) is answered without running the model, with the same values.
   */
  cacheSize?: number;
  /** tasks whose results are cached (default: ["embedding"]) */
  cachedTasks?: string[];
  /** your own cache instead of the in-process LRU (see ServingCache) */
  cache?: ServingCache;
  /** most requests waiting at once; beyond it submit() rejects with ServingQueueFullError (default 1,024) */
  maxQueue?: number;
  /** a submitted request still waiting after this many ms is dropped with ServingTimeoutError (default 30,000) */
  timeoutMs?: number;
}

interface Pending {
  request: MultimodalRequest;
  inputs: Record<string, Tensor>;
  cacheKey: string | null;
  start: number;
}

const LATENCY_WINDOW = 4096;

/** Bounds of the options: a batch is one stacked tensor per input, and timers hold at most 2^31 - 1 ms. */
export const MAX_BATCH = 4096;
export const MAX_WAIT_MS = 2 ** 31 - 1;

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** How a task runs on a model's batched inputs. */
export type TaskRunner = (model: unknown, inputs: Record<string, Tensor>) => Record<string, Tensor | number>;

const who = "MultimodalServingPipeline";

/** The reference design's `model(**inputs)`, through the model's NamedForward. */
function forwardTask(model: unknown, inputs: Record<string, Tensor>, task: string): Record<string, Tensor | number> {
  if (!isNamedForward(model)) {
    const what =
      model === null ? "null" : typeof model === "object" ? (model as object).constructor.name : typeof model;
    throw new Error(
      `${who}: task ${JSON.stringify(task)} runs the model's forwardNamed(), ` +
        `and ${what} has none (implement NamedForward, or pass a runner)`,
    );
  }
  return model.forwardNamed(inputs);
}

/**
 * The task table: "embedding" embeds the request's one modality through the model's declared encoder (its mask
 * passed along when the encoder takes one); a task not listed runs the model's forwardNamed.
 */
export const TASKS: Readonly<Record<string, TaskRunner>> = {
  embedding(model, inputs) {
    const present = MODALITIES.filter((m) => inputs[m] !== undefined);
    if (present.length === 1 && isEmbedder(model) && model.encoders()[present[0]]) {
      const enc = encoderFor(model, present[0], who);
      return {
        embedding: enc.encode(
          inputs[present[0]],
          enc.takesMask ? (inputs.attention_mask ?? inputs.attentionMask ?? null) : undefined,
        ),
      };
    }
    return forwardTask(model, inputs, "embedding");
  },
};

const taskRunner =
  (model: unknown): Runner =>
  (inputs, task) =>
    (TASKS[task] ?? ((m, i) => forwardTask(m, i, task)))(model, inputs);

/** The dtype the model declares for an input name (its encoders', then its forwardNamed's); float32 otherwise. */
function declaredDtype(model: unknown, name: string): DType {
  if (isEmbedder(model)) {
    const encoders = model.encoders();
    const enc = encoders[name as Modality];
    if (enc) return enc.dtype;
    if ((name === "attention_mask" || name === "attentionMask") && Object.values(encoders).some((e) => e?.takesMask))
      return "int32";
  }
  if (isNamedForward(model) && model.namedInputs[name]) return model.namedInputs[name];
  return "float32";
}

function toTensor(modality: string, data: unknown, dtype: DType): Tensor {
  if (data instanceof Tensor) return data;
  if (data instanceof Float32Array || data instanceof Int32Array) return Tensor.from(data);
  if (Array.isArray(data)) {
    const shape: number[] = [];
    for (let d: unknown = data; Array.isArray(d); d = d[0]) shape.push(d.length);
    const flat = (data as unknown[]).flat(Infinity) as number[];
    if (flat.some((v) => typeof v !== "number"))
      throw new Error(`MultimodalServingPipeline: modality "${modality}" must hold numbers`);
    if (dtype === "int32") {
      // token ids and masks are validated, never coerced (1.7 -> 1, NaN -> 0 and 2^32 + 5 -> 5 used to pass)
      const isMask = /mask$/i.test(modality);
      for (let i = 0; i < flat.length; i++) {
        const v = flat[i];
        if (isMask ? v !== 0 && v !== 1 : !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
          throw new Error(
            `MultimodalServingPipeline: modality "${modality}" must hold ${isMask ? "0 or 1" : "int32 integers"}, ` +
              `got ${v} at position ${i}`,
          );
        }
      }
    }
    const t = new Tensor(
      dtype === "int32" ? Int32Array.from(flat) : Float32Array.from(flat),
      shape.length ? shape : [0],
    );
    if (t.size !== flat.length) throw new Error(`MultimodalServingPipeline: modality "${modality}" is a ragged array`);
    return t;
  }
  throw new Error(
    `MultimodalServingPipeline: no preprocessor for modality "${modality}" and its data is not a Tensor, typed ` +
      `array or nested array (got ${data === null ? "null" : typeof data})`,
  );
}

/** A deep copy of results (nested arrays included), so no caller's edit reaches the cache or another caller. */
function copyResults(r: MultimodalResponse["results"]): MultimodalResponse["results"] {
  const deep = (v: unknown): unknown => (Array.isArray(v) ? v.map(deep) : v);
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, deep(v) as MultimodalResponse["results"][string]]));
}

/** (b, ...) tensors -> (B, ...) */
function stack(ts: Tensor[]): Tensor {
  const first = ts[0];
  const data =
    first.dtype === "int32" ? new Int32Array(first.size * ts.length) : new Float32Array(first.size * ts.length);
  ts.forEach((t, i) => data.set(t.data as any, i * first.size));
  return new Tensor(data, [ts.length, ...first.shape]);
}

function row(t: Tensor, i: number, n: number): Tensor {
  if (t.ndim === 0 || t.shape[0] !== n) return t; // shared outputs (a temperature, a scalar) go to every request
  const per = t.size / n;
  return new Tensor(t.data.slice(i * per, (i + 1) * per) as Float32Array, t.shape.slice(1));
}

/**
 * @example
 * const serving = new MultimodalServingPipeline(clip, { batchSize: 8, maxWaitMs: 5, preprocessors: { image: (png)
 * => proc.process(png).reshape([3, 48, 48]) } });
 * const r = await serving.submit({ requestId: "req_001", modalities: { image: pngBytes }, task: "embedding" });
 * r.results.embedding; // number[] (64)
 * serving.getMetrics(); // { totalRequests, avgLatencyMs, avgBatchSize }
 */
export class MultimodalServingPipeline {
  readonly preprocessors: Record<string, Preprocessor>;
  readonly batchSize: number;
  readonly maxWaitMs: number;
  private readonly runner: Runner;
  private readonly batchedTasks: Set<string>;
  // the queue, buckets by key (task + input names, dtypes, shapes), deadlines and counters: the shared batcher
  private readonly batcher: Batcher<Pending, MultimodalResponse>;
  // answered requests (cache hits included): a running mean and a fixed window, so memory stays constant
  private readonly latencies = new LatencyWindow(LATENCY_WINDOW);
  private cacheHits = 0;
  // model calls that succeeded and the requests they answered (a batch halved around a bad request counts its parts)
  private modelRuns = 0;
  private modelRunRequests = 0;
  readonly cacheSize: number;
  readonly maxQueue: number;
  readonly timeoutMs: number;
  private readonly cachedTasks: Set<string>;
  private readonly cache: ServingCache | null;

  constructor(
    readonly model: unknown,
    options: ServingOptions = {},
  ) {
    this.preprocessors = options.preprocessors ?? {};
    this.batchSize = options.batchSize ?? 16;
    this.maxWaitMs = options.maxWaitMs ?? 50;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > MAX_BATCH)
      throw new Error(
        `MultimodalServingPipeline: batchSize must be an integer from 1 to ${MAX_BATCH}, got ${this.batchSize}`,
      );
    // setTimeout fires at once for delays of 2^31 ms or more, so larger waits would flush immediately
    if (!(this.maxWaitMs >= 0 && this.maxWaitMs <= MAX_WAIT_MS))
      throw new Error(`MultimodalServingPipeline: maxWaitMs must be from 0 to ${MAX_WAIT_MS}, got ${this.maxWaitMs}`);
    const m = model as { train?: (on: boolean) => void } | null;
    if (m && typeof m.train === "function") m.train(false); // the reference design's self.model.train(False)
    this.runner = options.runner ?? taskRunner(model);
    // A dynamically quantised model picks one activation scale per call, so a batch would change each request's
    // bits: such models run one request at a time unless batchedTasks says otherwise.
    this.batchedTasks = new Set(options.batchedTasks ?? (hasDynamicQuantization(model) ? [] : ["embedding"]));
    this.cacheSize = options.cacheSize ?? 0;
    if (!Number.isInteger(this.cacheSize) || this.cacheSize < 0)
      throw new Error(`MultimodalServingPipeline: cacheSize must be a non-negative integer, got ${this.cacheSize}`);
    if (options.cache && (typeof options.cache.get !== "function" || typeof options.cache.set !== "function"))
      throw new Error("MultimodalServingPipeline: cache must have get(key) and set(key, results)");
    if (options.cache && options.cacheSize)
      throw new Error("MultimodalServingPipeline: pass cacheSize (the built-in LRU) or cache (your own), not both");
    this.cache = options.cache ?? (this.cacheSize > 0 ? new LruCache<Results>(this.cacheSize) : null);
    this.cachedTasks = new Set(options.cachedTasks ?? ["embedding"]);
    this.maxQueue = options.maxQueue ?? 1024;
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 1)
      throw new Error(`MultimodalServingPipeline: maxQueue must be a positive integer, got ${this.maxQueue}`);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!(this.timeoutMs > 0 && this.timeoutMs <= MAX_WAIT_MS))
      throw new Error(`MultimodalServingPipeline: timeoutMs must be from 1 to ${MAX_WAIT_MS}, got ${this.timeoutMs}`);
    this.batcher = new Batcher<Pending, MultimodalResponse>({
      maxQueue: this.maxQueue,
      maxBatch: this.batchSize,
      maxWaitMs: this.maxWaitMs,
      // the model runs here, synchronously: every ready batch runs at once
      onReady: () => {
        for (let b = this.batcher.take(); b; b = this.batcher.take()) this.runGroup(b);
      },
      messages: {
        queueFull: (q, max) =>
          `MultimodalServingPipeline: the queue is full (${q} requests waiting, maxQueue ${max}); retry later`,
        waitedPastDeadline: (e) =>
          `MultimodalServingPipeline: request ${(e.item as Pending).request.requestId} waited ${this.timeoutMs} ` +
          `ms (timeoutMs) without running; it was dropped`,
      },
    });
  }

  /** The cache key of a request's preprocessed inputs, or null when its task is not cached. */
  private cacheKey(task: string, inputs: Record<string, Tensor>): string | null {
    if (!this.cache || !this.cachedTasks.has(task)) return null;
    const h = new Sha256(),
      enc = new TextEncoder();
    h.update(enc.encode(JSON.stringify(task)));
    for (const k of Object.keys(inputs).sort()) {
      const t = inputs[k];
      h.update(enc.encode(`|${JSON.stringify(k)}:${t.dtype}${fmtShape(t.shape)}|`));
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    return h.hex();
  }

  /** A cache lookup: the results (copied), null on a miss, or a promise of either when the cache is async. */
  private cached(key: string | null): Results | null | Promise<Results | null> {
    if (key === null || !this.cache) return null;
    const hit = (r: Results | null | undefined): Results | null => {
      if (!r) return null;
      this.cacheHits++;
      return copyResults(r);
    };
    const r = this.cache.get(key);
    return r instanceof Promise ? r.then(hit, () => null) : hit(r);
  }

  private remember(key: string | null, results: Results): void {
    if (key === null || !this.cache) return;
    const done = this.cache.set(key, copyResults(results));
    if (done instanceof Promise)
      done.catch(() => {
        /* a cache that fails to store costs a recomputation later, never a request */
      });
  }

  /** Per-modality preprocessing (no batch dimension yet). */
  preprocess(request: MultimodalRequest): Record<string, Tensor> {
    if (
      !request ||
      typeof request.requestId !== "string" ||
      typeof request.task !== "string" ||
      !request.modalities ||
      typeof request.modalities !== "object"
    ) {
      throw new Error(
        "MultimodalServingPipeline: a request needs requestId (string), task (string) and modalities (object)",
      );
    }
    const names = Object.keys(request.modalities);
    if (names.length === 0)
      throw new Error(`MultimodalServingPipeline: request ${request.requestId} has no modalities`);
    const out: Record<string, Tensor> = {};
    for (const [name, data] of Object.entries(request.modalities)) {
      const pre = this.preprocessors[name];
      out[name] = pre ? pre(data) : toTensor(name, data, declaredDtype(this.model, name));
      if (!(out[name] instanceof Tensor))
        throw new Error(`MultimodalServingPipeline: the "${name}" preprocessor must return a Tensor`);
    }
    return out;
  }

  private respond(
    request: MultimodalRequest,
    outputs: Record<string, Tensor | number>,
    start: number,
    i: number,
    n: number,
  ): MultimodalResponse {
    const results: MultimodalResponse["results"] = {};
    for (const [k, v] of Object.entries(outputs)) results[k] = v instanceof Tensor ? row(v, i, n).toArray() : v;
    return this.finish(request, results, start);
  }

  /** The response to a request, its latency counted now (a cache hit's is the lookup's). */
  private finish(
    request: MultimodalRequest,
    results: MultimodalResponse["results"],
    start: number,
  ): MultimodalResponse {
    const latencyMs = now() - start;
    this.latencies.add(latencyMs);
    return { requestId: request.requestId, results, latencyMs, modalitiesUsed: Object.keys(request.modalities) };
  }

  /** One request now, as a batch of one (the reference design's process_single). */
  processSingle(request: MultimodalRequest): MultimodalResponse {
    const start = now();
    const inputs = this.preprocess(request);
    const key = this.cacheKey(request.task, inputs);
    const hit = this.cached(key);
    if (hit instanceof Promise)
      throw new Error("MultimodalServingPipeline.processSingle: the cache's get() is async; use submit()");
    if (hit !== null) return this.finish(request, hit, start);
    const batched = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.reshape([1, ...v.shape])]));
    const r = this.respond(request, this.runner(batched, request.task), start, 0, 1);
    this.remember(key, r.results);
    return r;
  }

  /**
   * Queues a request; it runs with others of the same task, modalities and shapes once batchSize of them wait or
   * maxWaitMs has passed.  A request that fails (bad input) rejects alone; the others in its batch still run.
   */
  submit(request: MultimodalRequest): Promise<MultimodalResponse> {
    const start = now();
    let inputs: Record<string, Tensor>;
    try {
      inputs = this.preprocess(request);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const cacheKey = this.cacheKey(request.task, inputs);
    // queued in this call when the cache answers synchronously (so a flush() right after submit() runs it)
    const enqueue = (hit: Results | null): Promise<MultimodalResponse> => {
      if (hit) return Promise.resolve(this.finish(request, hit, start));
      const key =
        `${request.task}|` +
        Object.keys(inputs)
          .sort()
          .map((k) => `${k}:${inputs[k].dtype}${fmtShape(inputs[k].shape)}`)
          .join(",");
      return this.batcher.submit({ request, inputs, cacheKey, start }, key, 1, start + this.timeoutMs);
    };
    const hit = this.cached(cacheKey);
    return hit instanceof Promise ? hit.then(enqueue) : enqueue(hit);
  }

  /** Runs everything queued now. */
  flush(): void {
    this.batcher.flush();
  }

  /** Requests of one key: as one batch when the task batches, else one at a time. */
  private runGroup(group: Batch<Pending, MultimodalResponse>): void {
    const size = this.batchedTasks.has(group.entries[0].item.request.task) ? this.batchSize : 1;
    for (let s = 0; s < group.entries.length; s += size) this.runBatch(group.entries.slice(s, s + size));
  }

  private runBatch(batch: Batch<Pending, MultimodalResponse>["entries"]): void {
    const n = batch.length;
    let outputs: Record<string, Tensor | number>;
    try {
      const names = Object.keys(batch[0].item.inputs);
      const inputs = Object.fromEntries(names.map((k) => [k, stack(batch.map((p) => p.item.inputs[k]))]));
      outputs = this.runner(inputs, batch[0].item.request.task);
    } catch (e) {
      if (n === 1) {
        batch[0].reject(e as Error);
        return;
      }
      // a request that fails must fail alone: halve the batch until it is isolated (about 2 log2(n) extra runs for
      // one bad request, instead of running every member alone); results are the same bits at any batch size
      const h = n >> 1;
      this.runBatch(batch.slice(0, h));
      this.runBatch(batch.slice(h));
      return;
    }
    this.modelRuns++;
    this.modelRunRequests += n;
    batch.forEach((p, i) => {
      const r = this.respond(p.item.request, outputs, p.item.start, i, n);
      this.remember(p.item.cacheKey, r.results);
      p.resolve(r);
    });
  }
  /** The reference design's get_metrics, camelCased. */
  getMetrics(): ServingMetrics {
    const w = this.latencies,
      q = this.batcher.stats();
    const [p50LatencyMs, p95LatencyMs, p99LatencyMs] = w.percentiles([0.5, 0.95, 0.99]);
    return {
      totalRequests: w.count,
      cacheHits: this.cacheHits,
      avgLatencyMs: w.mean,
      avgBatchSize: this.modelRuns ? this.modelRunRequests / this.modelRuns : 0,
      p50LatencyMs,
      p95LatencyMs,
      p99LatencyMs,
      queueDepth: q.queuedUnits,
      rejectedQueueFull: q.rejectedQueueFull,
      timedOut: q.timedOut,
    };
  }
}
