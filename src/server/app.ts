// `polymodal serve`: the HTTP service (fastify) over the worker pool, the embedding caches and the index, composed
// of one plugin per concern: lifecycle (deadlines, draining), metrics, auth, body limits, errors, OpenAPI, and one
// plugin per resource's routes.  Models run in worker threads (pool.ts), so the event loop only parses, routes and
// answers: /healthz stays fast while every worker is busy.
import type { SimdBuild } from "../bindings/module.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import cors from "@fastify/cors";
import { versionOf } from "../app/version.js";
import { ModelSet, type ModelRef } from "../pipelines/registry.js";
import type { ProcessingOptions, Space } from "../pipelines/pipeline.js";
import { limits } from "../util/limits.js";
import { WorkerPool } from "./pool.js";
import { limitConnections } from "./connections.js";
import { TurnBudget } from "./turns.js";
import { RedisEmbeddingCache, lruEmbeddingCache } from "./cache.js";
import { createMetrics, type ServiceMetrics } from "./metrics.js";
import { schemas } from "./schemas.js";
import { openaiSchemas } from "./openai-schemas.js";
import { ServiceStore } from "./store.js";
import { CachedEmbedder } from "./embedder.js";
import type { ServiceContext, Settings } from "./context.js";
import lifecycle from "./plugins/lifecycle.js";
import metricsPlugin from "./plugins/metrics.js";
import shedding from "./plugins/shedding.js";
import auth from "./plugins/auth.js";
import bodies from "./plugins/body-limits.js";
import forms from "./plugins/multipart.js";
import errors from "./plugins/errors.js";
import embedRoutes from "./routes/embed.js";
import searchRoutes from "./routes/search.js";
import itemRoutes from "./routes/items.js";
import transcribeRoutes from "./routes/transcribe.js";
import healthRoutes from "./routes/health.js";
import openaiRoutes from "./routes/openai.js";
import tokenizeRoutes from "./routes/tokenize.js";

export { decodeBase64Field } from "./inputs.js";
export { plausibleEmbedding } from "./embedder.js";

/** JSON body bytes parsed per event-loop turn: ~1 ms of JSON.parse and base64 decoding on this class of machine. */
const BODY_BYTES_PER_TURN = 1 << 20;

export interface ServeOptions {
  /** interface to bind (default 127.0.0.1: loopback only) */
  host?: string;
  /** port (default 8080; 0: any free port) */
  port?: number;
  modelsDir: string;
  /**
   * A Hugging Face model folder served in place of the shipped model that embeds into the same space (a CLIP folder
   * for clip-scenes): requests name it by its folder name or by the shipped model's, responses carry its stamp.
   */
  model?: string;
  /** a sentence-transformers folder for the text space: text queries search its documents, /v1/index takes text */
  textModel?: string;
  /** turn JPEGs as their EXIF orientation says before embedding (default false); part of every image model's stamp */
  exifTranspose?: boolean;
  /** a plain text encoder folder's pooling (ProcessingOptions.pooling) */
  pooling?: ProcessingOptions["pooling"];
  /**
   * the index folder (or the folder `polymodal index` was given); without it (and without store) /v1/search and
   * /v1/index answer 404
   */
  indexDir?: string;
  /** "lancedb:<uri>": the vectors in a LanceDB that several services share (alone, or for a new --index folder) */
  store?: string;
  /** open --index DIR read-only: search it (following whoever writes it), never write it (POST /v1/index: 409) */
  readOnly?: boolean;
  /** worker threads running models (default 2) */
  workers?: number;
  /** kernel threads per worker (default 1) */
  threads?: number;
  /** the kernel build the workers run (default "exact"; "relaxed": init({ simd }), docs/relaxed-simd.md) */
  simd?: SimdBuild;
  /** most inputs waiting for a worker; beyond it 429 (default 256) */
  maxQueue?: number;
  /** per-request deadline in ms (default 30,000) */
  timeoutMs?: number;
  /** most inputs per request and per batch (default 64) */
  maxBatch?: number;
  /** largest request body in bytes (default 16 MiB) */
  maxBodyBytes?: number;
  /** most open connections (default 1024); more are dropped at once */
  maxConnections?: number;
  /** most open connections from one client address (default 0: no per-client cap); more are dropped at once */
  maxConnectionsPerClient?: number;
  /** ms a connection may take to send a request's headers (default 10,000) */
  headersTimeoutMs?: number;
  /** ms a connection may take to send a whole request, headers and body (default 12,000) */
  bodyTimeoutMs?: number;
  /** ms an idle keep-alive connection stays open between requests (default 5,000) */
  keepAliveTimeoutMs?: number;
  /**
   * shed load (503 + Retry-After, before the body is read; /healthz, /readyz and /metrics exempt) while the event
   * loop's mean delay over the last 100 ms exceeds this many ms (default 20; 0: never on delay)
   */
  maxEventLoopDelayMs?: number;
  /**
   * shed load while the event loop was busy more than this fraction of the last 100 ms (default 0: never; a loop
   * answering a flood of refusals is fully busy yet quick to answer, so this sheds far more than it must)
   */
  maxEventLoopUtilization?: number;
  /** shed load while a request body has waited more than this many ms for its turn to be parsed (default 1,000) */
  maxBodyWaitMs?: number;
  /**
   * never shed while at most this many requests are in flight (default 32, or 4 per worker if more): with fewer,
   * a late event loop is another process's doing, and refusing work cannot help
   */
  shedMinInFlight?: number;
  /** longest text input in characters (default 10,000) */
  maxTextLength?: number;
  /** largest k of a search (default 1,000) */
  maxK?: number;
  /** entries of the in-process embedding cache (default 10,000; 0: none) */
  cacheSize?: number;
  /** shared Redis embedding cache, redis://host:port */
  redisUrl?: string;
  /** when set, every route but /healthz needs Authorization: Bearer <token> */
  token?: string;
  /** allowed CORS origin(s); no CORS headers unless set */
  cors?: string[];
  /** fastify's logger (default off) */
  logger?: boolean;
}

export interface Service {
  app: FastifyInstance;
  pool: WorkerPool;
  metrics: ServiceMetrics;
  /** the bound address, e.g. http://127.0.0.1:8080 */
  url: string;
  /** stops accepting, answers every accepted request, saves, stops the workers and closes the cache */
  close(): Promise<void>;
}

function settingsOf(o: ServeOptions): Settings {
  return {
    host: o.host ?? "127.0.0.1",
    port: o.port ?? 8080,
    workers: o.workers ?? 2,
    threads: o.threads ?? 1,
    simd: o.simd ?? "exact",
    maxQueue: o.maxQueue ?? 256,
    timeoutMs: o.timeoutMs ?? 30_000,
    maxBatch: o.maxBatch ?? 64,
    maxBodyBytes: o.maxBodyBytes ?? 16 * 1024 * 1024,
    maxTextLength: o.maxTextLength ?? 10_000,
    maxK: o.maxK ?? 1000,
    cacheSize: o.cacheSize ?? 10_000,
    maxConnections: o.maxConnections ?? 1024,
    maxConnectionsPerClient: o.maxConnectionsPerClient ?? 0,
    headersTimeoutMs: o.headersTimeoutMs ?? 10_000,
    bodyTimeoutMs: Math.max(o.bodyTimeoutMs ?? 12_000, o.headersTimeoutMs ?? 10_000),
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? 5_000,
    maxEventLoopDelayMs: o.maxEventLoopDelayMs ?? 20,
    maxEventLoopUtilization: o.maxEventLoopUtilization ?? 0,
    maxBodyWaitMs: o.maxBodyWaitMs ?? 1000,
    shedMinInFlight: o.shedMinInFlight ?? Math.max(32, 4 * (o.workers ?? 2)),
  };
}

/** The lineup, index, pool and caches the plugins share; a Redis that cannot be reached stops the start. */
async function openContext(o: ServeOptions, settings: Settings): Promise<ServiceContext> {
  // the shipped models whose card and weights are in modelsDir, and --model in place of one
  const present = (n: string): boolean =>
    existsSync(join(o.modelsDir, `${n}.json`)) && existsSync(join(o.modelsDir, `${n}.safetensors`));
  const lineup = await ModelSet.lineup({
    folder: o.model,
    folders: o.textModel === undefined ? [] : [o.textModel],
    present,
  });
  if (lineup.refs.length === 0)
    throw new Error(
      `no servable model in ${o.modelsDir} (expected shipped models as <name>.json + <name>.safetensors)`,
    );
  const models = lineup.names();
  const processing = { exifTranspose: o.exifTranspose ?? false, pooling: o.pooling };
  const stamp = (ref: ModelRef): string => versionOf(ref, o.modelsDir, processing);
  const versions: Record<string, string> = Object.fromEntries(models.map((m) => [m, stamp(lineup.get(m)!)]));
  const spaceVersion = (sp: Space): string | undefined => {
    const r = lineup.forSpace(sp);
    return r && stamp(r);
  };

  const store =
    o.indexDir !== undefined || o.store !== undefined
      ? await ServiceStore.open({ indexDir: o.indexDir, store: o.store, readOnly: o.readOnly })
      : null;
  let pool: WorkerPool | null = null;
  const metrics = createMetrics({
    depth: () => pool?.depth ?? 0,
    busy: () => pool?.busy ?? 0,
    stopped: () => pool?.stopped ?? 0,
  });
  pool = await WorkerPool.start({
    workers: settings.workers,
    threads: settings.threads,
    simd: settings.simd,
    modelsDir: o.modelsDir,
    models: lineup.refs,
    processing,
    maxQueue: settings.maxQueue,
    maxBatch: settings.maxBatch,
    limits: { ...limits },
    onBatch(job, seconds, worker) {
      metrics.batchSize.observe({ model: job.model, kind: job.kind }, job.inputs.length);
      metrics.workerBusySeconds.inc({ worker: String(worker) }, seconds);
    },
  });
  let redis: RedisEmbeddingCache | null = null;
  if (o.redisUrl) {
    redis = new RedisEmbeddingCache(o.redisUrl, { onError: () => metrics.cacheErrors.inc() });
    try {
      await redis.connect();
    } catch (e) {
      await pool.close();
      await redis.close();
      await store?.close();
      throw new Error(`cannot reach the Redis cache at ${o.redisUrl}: ${(e as Error).message}`);
    }
  }
  const embedder = new CachedEmbedder(lineup, versions, pool, lruEmbeddingCache(settings.cacheSize), redis, metrics);
  const l = { maxBatch: settings.maxBatch, maxTextLength: settings.maxTextLength, maxK: settings.maxK, models };
  const s = { ...schemas(l), ...openaiSchemas(l) };
  return {
    settings,
    modelsDir: o.modelsDir,
    lineup,
    versions,
    spaceVersion,
    stamp,
    pool,
    store,
    embedder,
    metrics,
    schemas: s,
    redisReady: () => (redis ? redis.ready : null),
  };
}

export async function startService(o: ServeOptions): Promise<Service> {
  const settings = settingsOf(o);
  const ctx = await openContext(o, settings);
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: settings.maxBodyBytes,
    // slow or stalled uploads cannot hold a connection: a request must arrive whole within bodyTimeoutMs (its
    // handling then has its own deadline, timeoutMs), and an idle keep-alive connection closes after
    // keepAliveTimeoutMs (connection deadlines: connections.ts)
    requestTimeout: settings.bodyTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "polymodal",
        description: "Multimodal embeddings, search and speech on a WebAssembly SIMD core",
        version: "1",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });
  if (o.cors?.length) await app.register(cors, { origin: o.cors });
  const turns = new TurnBudget(BODY_BYTES_PER_TURN);
  await app.register(lifecycle, { timeoutMs: settings.timeoutMs });
  await app.register(metricsPlugin, { metrics: ctx.metrics });
  await app.register(shedding, {
    maxEventLoopDelayMs: settings.maxEventLoopDelayMs,
    maxEventLoopUtilization: settings.maxEventLoopUtilization,
    maxBodyWaitMs: settings.maxBodyWaitMs,
    minInFlight: settings.shedMinInFlight,
    sampleIntervalMs: 100,
    turns,
    metrics: ctx.metrics,
  });
  await app.register(auth, { token: o.token });
  await app.register(bodies, { turns });
  await app.register(forms, {
    maxFileBytes: settings.maxBodyBytes,
    maxFiles: settings.maxBatch,
    maxFieldBytes: settings.maxTextLength * 4 + 1024,
  });
  await app.register(errors, { metrics: ctx.metrics });
  for (const routes of [
    embedRoutes,
    searchRoutes,
    itemRoutes,
    transcribeRoutes,
    healthRoutes,
    openaiRoutes,
    tokenizeRoutes,
  ])
    await app.register(routes, { ctx });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  limitConnections(app.server, settings);
  await app.listen({ host: settings.host, port: settings.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : settings.port;
  const url = `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${port}`;

  let closing: Promise<void> | null = null;
  return {
    app,
    pool: ctx.pool,
    metrics: ctx.metrics,
    url,
    close() {
      closing ??= (async () => {
        // Stop accepting; requests in flight finish.  Their keep-alive connections must not hold the close open
        // after they are answered: answers now say Connection: close, and idle connections are closed as they appear.
        app.beginShutdown();
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
        }
        await ctx.pool.close();
        await ctx.store?.close();
        await ctx.embedder.close();
      })();
      return closing;
    },
  };
}
