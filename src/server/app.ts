// `polymodal serve`: the HTTP service (fastify) over the worker pool, the embedding caches and the index.
// Every route has a JSON schema; models run in worker threads (pool.ts), so the event loop only parses, routes and
// answers: /healthz stays fast while every worker is busy.
import { timingSafeEqual, createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import { basename, join } from "node:path";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import swagger from "@fastify/swagger";
import cors from "@fastify/cors";
import { versionOf } from "../app/version.js";
import { PolymodalError } from "../util/errors.js";
import { httpStatusOf } from "./http-status.js";
import { ModelSet } from "../pipelines/registry.js";
import { SPACES, embedsKind, type Space } from "../pipelines/pipeline.js";
import { limits } from "../util/limits.js";
import { WorkerPool, QueueFullError } from "./pool.js";
import type { InputKind, Job } from "./jobs.js";
import { LruEmbeddingCache, RedisEmbeddingCache, cacheKey } from "./cache.js";
import { createMetrics, type ServiceMetrics } from "./metrics.js";
import { schemas, RAW_TYPES } from "./schemas.js";
import { ServiceStore } from "./store.js";
import type { FilterValue } from "../retrieval/embedding-store.js";
import { checkJsonShape } from "./json-shape.js";
import { HttpError } from "./errors.js";

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
  /** the index folder (or the folder `polymodal index` was given); without it (and without store) /v1/search and /v1/index answer 404 */
  indexDir?: string;
  /** "lancedb:<uri>": the vectors in a LanceDB that several services share (alone, or for a new --index folder) */
  store?: string;
  /** open --index DIR read-only: search it (following whoever writes it), never write it (POST /v1/index: 409) */
  readOnly?: boolean;
  /** worker threads running models (default 2) */
  workers?: number;
  /** kernel threads per worker (default 1) */
  threads?: number;
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


/** Strict base64 (standard alphabet, padded): anything else is a 400 naming the field. */
export function decodeBase64Field(s: string, field: string): Uint8Array {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new HttpError(400, `${field} is not valid base64 (standard alphabet, padded to a multiple of 4 characters)`, field);
  }
  const b = Buffer.from(s, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

type Input = { kind: InputKind; value: string | Uint8Array; field: string };

function parseInput(o: Record<string, string>, field: string): Input {
  const kind = Object.keys(o)[0] as InputKind;
  return { kind, value: kind === "text" ? o.text : decodeBase64Field(o[kind], `${field}.${kind}`), field: `${field}.${kind}` };
}

function sha256Digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}


/**
 * Whether a vector read from the shared cache can be one of this model's embeddings: its width (once known), every
 * value finite, and unit length as every served embedding is.
 */
export function plausibleEmbedding(v: Float32Array, dim: number | undefined): boolean {
  if (dim !== undefined ? v.length !== dim : v.length === 0 || v.length > 16384) return false;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) return false;
    n += v[i] * v[i];
  }
  return Math.abs(n - 1) < 1e-3;
}

export async function startService(o: ServeOptions): Promise<Service> {
  const opt = {
    host: o.host ?? "127.0.0.1", port: o.port ?? 8080, workers: o.workers ?? 2, threads: o.threads ?? 1, maxQueue: o.maxQueue ?? 256,
    timeoutMs: o.timeoutMs ?? 30_000, maxBatch: o.maxBatch ?? 64, maxBodyBytes: o.maxBodyBytes ?? 16 * 1024 * 1024,
    maxTextLength: o.maxTextLength ?? 10_000, maxK: o.maxK ?? 1000, cacheSize: o.cacheSize ?? 10_000, maxConnections: o.maxConnections ?? 1024,
  };
  // the shipped models whose card and weights are in modelsDir, and --model in place of one
  const present = (n: string): boolean => existsSync(join(o.modelsDir, `${n}.json`)) && existsSync(join(o.modelsDir, `${n}.safetensors`));
  const lineup = await ModelSet.lineup({ folder: o.model, present });
  if (lineup.refs.length === 0) throw new Error(`no servable model in ${o.modelsDir} (expected shipped models as <name>.json + <name>.safetensors)`);
  const models = lineup.names();
  const versions: Record<string, string> = Object.fromEntries(models.map((m) => [m, versionOf(lineup.get(m)!, o.modelsDir)]));
  const spaceVersion = (sp: Space): string | undefined => { const r = lineup.forSpace(sp); return r && versionOf(r, o.modelsDir); };

  const store = o.indexDir !== undefined || o.store !== undefined ? await ServiceStore.open({ indexDir: o.indexDir, store: o.store, readOnly: o.readOnly }) : null;
  let pool: WorkerPool | null = null;
  const metrics = createMetrics({ depth: () => pool?.depth ?? 0, busy: () => pool?.busy ?? 0, stopped: () => pool?.stopped ?? 0 });
  pool = await WorkerPool.start({
    workers: opt.workers, threads: opt.threads, modelsDir: o.modelsDir, models: lineup.refs, maxQueue: opt.maxQueue, maxBatch: opt.maxBatch, limits: { ...limits },
    onBatch(job, seconds, worker) {
      metrics.batchSize.observe({ model: job.model, kind: job.kind }, job.inputs.length);
      metrics.workerBusySeconds.inc({ worker: String(worker) }, seconds);
    },
  });
  const lru = new LruEmbeddingCache(opt.cacheSize);
  let redis: RedisEmbeddingCache | null = null;
  if (o.redisUrl) {
    redis = new RedisEmbeddingCache(o.redisUrl, { onError: () => metrics.cacheErrors.inc() });
    try {
      await redis.connect();
    } catch (e) {
      await pool.close();
      await redis.close();
      throw new Error(`cannot reach the Redis cache at ${o.redisUrl}: ${(e as Error).message}`);
    }
  }

  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: opt.maxBodyBytes,
    // slow or stalled uploads cannot hold a connection past the deadline
    requestTimeout: Math.max(opt.timeoutMs, 1000) + 5000,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  const s = schemas({ maxBatch: opt.maxBatch, maxTextLength: opt.maxTextLength, maxK: opt.maxK, models });

  await app.register(swagger, {
    openapi: {
      info: { title: "polymodal", description: "Multimodal embeddings, search and speech on a WebAssembly SIMD core", version: "1" },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });
  if (o.cors?.length) await app.register(cors, { origin: o.cors });

  // JSON: its shape bounded in one linear pass before fastify's own parser (which also refuses __proto__ keys)
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    try {
      checkJsonShape(body as string);
    } catch (e) {
      done(e as Error, undefined);
      return;
    }
    parseJson(req, body as string, done);
  });
  // raw uploads: the file's bytes as the body, its kind from the Content-Type (text/plain is fastify's own)
  app.addContentTypeParser(Object.keys(RAW_TYPES).filter((t) => t !== "text/plain"), { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const deadlines = new WeakMap<FastifyRequest, number>();
  let shuttingDown = false;
  const token = o.token ? sha256Digest(o.token) : null;
  app.addHook("onRequest", async (req, reply) => {
    deadlines.set(req, performance.now() + opt.timeoutMs);
    // 'close' fires once the answer is sent or the connection is gone, whichever way the request ended
    const route = { route: req.routeOptions.url ?? "unmatched" };
    metrics.inFlight.inc(route);
    reply.raw.once("close", () => metrics.inFlight.dec(route));
    if (!token || req.url === "/healthz") return;
    const h = req.headers.authorization ?? "";
    const m = /^bearer +(\S+) *$/i.exec(h); // the scheme is case-insensitive (RFC 7235)
    const given = m ? sha256Digest(m[1]) : null;
    if (!given || !timingSafeEqual(given, token)) {
      reply.header("www-authenticate", 'Bearer realm="polymodal"');
      throw new HttpError(401, given ? "the bearer token is wrong" : "this service needs Authorization: Bearer <token>");
    }
  });
  app.addHook("onSend", async (_req, reply) => {
    if (shuttingDown) void reply.header("connection", "close");
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: Array<{ instancePath: string; message?: string; params: Record<string, unknown> }>; validationContext?: string; field?: string }, _req, reply) => {
    // the error family's code decides (one table); fastify's own errors carry their status
    let status = err instanceof PolymodalError ? httpStatusOf(err) : err.statusCode ?? 500, message = err.message, field = err.field;
    if (err.validation?.length) {
      const v = err.validation[0];
      const extra = v.params.additionalProperty ? ` (${JSON.stringify(v.params.additionalProperty)})` : v.params.allowedValues ? `: ${(v.params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(", ")}` : "";
      field = `${err.validationContext ?? "body"}${v.instancePath.replace(/\//g, ".").replace(/\.(\d+)/g, "[$1]")}`;
      message = `${field} ${v.message ?? "is invalid"}${extra}`;
      status = 400;
    } else if (err instanceof QueueFullError) {
      reply.header("retry-after", String(err.retryAfterSeconds));
      metrics.rejected.inc({ reason: "queue_full" });
    }
    if (status === 504) metrics.rejected.inc({ reason: "deadline" });
    if (status >= 500 && status !== 503 && status !== 504) app.log.error(err);
    void reply.status(status).send({ statusCode: status, error: STATUS_CODES[status] ?? "Error", message, ...(field ? { field } : {}) });
  });

  /** each model's embedding width, as its worker results show it */
  const dims = new Map<string, number>();
  /** Embeddings of inputs of one kind with one model: caches first, then the pool; a failed input is a 400 naming it. */
  async function embed(model: string, inputs: Input[], deadline: number): Promise<Float32Array[]> {
    const kind = inputs[0].kind, ref = lineup.get(model)!, tasks = ref.tasks;
    if (!embedsKind(tasks, kind)) {
      throw new HttpError(400, `${model} does not embed ${kind} (it embeds ${tasks.embed?.kinds.join(", ") || "nothing"})`, inputs[0].field);
    }
    const keys = inputs.map((x) => cacheKey(versions[model], kind, x.value));
    const out: Array<Float32Array | null> = await lru.get(keys);
    const fromLru = out.filter(Boolean).length;
    if (fromLru) metrics.cacheHits.inc({ layer: "lru" }, fromLru);
    let missing = out.flatMap((v, i) => (v ? [] : [i]));
    if (redis && missing.length) {
      const got = await redis.get(missing.map((i) => keys[i]));
      const hits: Array<[string, Float32Array]> = [];
      got.forEach((v, j) => {
        if (!v) return;
        // a shared cache is anyone's to write: an entry of another width, or not finite, is a miss (and counted)
        if (!plausibleEmbedding(v, dims.get(ref.name))) { metrics.cacheErrors.inc(); return; }
        out[missing[j]] = v;
        hits.push([keys[missing[j]], v]);
      });
      if (hits.length) { metrics.cacheHits.inc({ layer: "redis" }, hits.length); await lru.set(hits); }
      missing = missing.filter((i) => !out[i]);
    }
    if (missing.length) {
      metrics.cacheMisses.inc(missing.length);
      const job: Job = { model: ref.name, op: "embed", kind, inputs: missing.map((i) => inputs[i].value) };
      const results = await pool!.run(job, deadline);
      const fresh: Array<[string, Float32Array]> = [];
      results.forEach((r, j) => {
        const i = missing[j];
        if ("error" in r) throw new HttpError(400, `${inputs[i].field}: ${r.error}`, inputs[i].field);
        if ("embedding" in r) { out[i] = r.embedding; fresh.push([keys[i], r.embedding]); dims.set(ref.name, r.embedding.length); }
      });
      await lru.set(fresh);
      if (redis) await redis.set(fresh);
    }
    return out as Float32Array[];
  }

  const deadlineOf = (req: FastifyRequest): number => deadlines.get(req) ?? performance.now() + opt.timeoutMs;
  const needStore = (): ServiceStore => {
    if (!store) throw new HttpError(404, "this service has no index; start it with --index DIR or --store lancedb:URI");
    return store;
  };
  /** A raw body's input kind, from its Content-Type. */
  const rawKind = (req: FastifyRequest): InputKind => {
    const t = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    const k = RAW_TYPES[t];
    if (!k) throw new HttpError(415, `a raw body needs a Content-Type of ${Object.keys(RAW_TYPES).join(", ")}; got ${JSON.stringify(t)}`);
    return k;
  };

  app.post("/v1/embed", { schema: s.embed }, async (req) => {
    const q = req.query as { model?: string };
    let model: string, inputs: Input[];
    if (Buffer.isBuffer(req.body) || typeof req.body === "string") {
      if (!q.model) throw new HttpError(400, "a raw body needs ?model=<name>", "querystring.model");
      const kind = rawKind(req);
      model = q.model;
      inputs = [{ kind, value: typeof req.body === "string" ? req.body : new Uint8Array(req.body as Buffer), field: "body" }];
    } else {
      const b = req.body as { model: string; inputs: Array<Record<string, string>> };
      model = b.model;
      inputs = b.inputs.map((x, i) => parseInput(x, `body.inputs[${i}]`));
    }
    const kinds = new Set(inputs.map((x) => x.kind));
    const embeddings: Float32Array[] = new Array(inputs.length);
    // one call per kind (a model embedding text and images gets both in one request)
    await Promise.all([...kinds].map(async (k) => {
      const at = inputs.flatMap((x, i) => (x.kind === k ? [i] : []));
      const e = await embed(model, at.map((i) => inputs[i]), deadlineOf(req));
      at.forEach((i, j) => { embeddings[i] = e[j]; });
    }));
    return { model, version: versions[model], dim: embeddings[0].length, embeddings: embeddings.map((e) => Array.from(e)) };
  });

  app.post("/v1/search", { schema: s.search }, async (req) => {
    const st = needStore();
    const b = req.body as { query: Record<string, string>; k: number; modality?: Space; filter?: Record<string, unknown> };
    const q = parseInput(b.query, "body.query");
    const searchable = lineup.spacesFor(q.kind);
    const candidates = searchable.filter(({ space }) => !b.modality || space === b.modality);
    const spaces = (await Promise.all(candidates.map(async (c) => ((await st.has(c.space)) ? c : null)))).filter((c) => c !== null);
    if (b.modality && !candidates.length) throw new HttpError(400, `a ${q.kind} query cannot search ${b.modality} items (it searches ${searchable.map((c) => c.space).join(", ")})`, "body.modality");
    const hits = (await Promise.all(spaces.map(async ({ space: sp, ref }) => {
      await st.checkVersion(sp, versionOf(ref, o.modelsDir));
      const [vec] = await embed(ref.name, [q], deadlineOf(req));
      return st.search(sp, vec, b.k, b.filter as Record<string, FilterValue> | undefined);
    }))).flat();
    hits.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
    return { results: hits.slice(0, b.k).map((h) => ({ id: h.id, score: h.score, modality: h.modality, metadata: h.metadata })) };
  });

  app.post("/v1/index", { schema: s.index }, async (req) => {
    const st = needStore();
    const items = (req.body as { items: Array<Record<string, unknown>> }).items;
    const seen = new Set<string>();
    const parsed = items.map((it, i) => {
      const id = it.id as string;
      if (seen.has(id)) throw new HttpError(400, `body.items[${i}].id ${JSON.stringify(id)} appears twice in this request`, `body.items[${i}].id`);
      seen.add(id);
      const media = SPACES.filter((m) => it[m] !== undefined);
      if (media.length !== 1) throw new HttpError(400, `body.items[${i}] needs exactly one of ${SPACES.join(", ")} (got ${media.length})`, `body.items[${i}]`);
      const m = media[0];
      if (!lineup.forSpace(m)) throw new HttpError(400, `no model here embeds ${m} items`, `body.items[${i}].${m}`);
      return { id, modality: m, input: { kind: m, value: decodeBase64Field(it[m] as string, `body.items[${i}].${m}`), field: `body.items[${i}].${m}` } as Input, metadata: (it.metadata ?? {}) as Record<string, unknown> };
    });
    const embeddings = new Map<number, Float32Array>();
    for (const m of SPACES) {
      const at = parsed.flatMap((p, i) => (p.modality === m ? [i] : []));
      if (!at.length) continue;
      const e = await embed(lineup.forSpace(m)!.name, at.map((i) => parsed[i].input), deadlineOf(req));
      at.forEach((i, j) => embeddings.set(i, e[j]));
    }
    const vs = Object.fromEntries(SPACES.flatMap((m) => { const v = spaceVersion(m); return v ? [[m, v]] : []; }));
    await st.upsert(parsed.map((p, i) => ({ id: p.id, modality: p.modality, embedding: embeddings.get(i)!, metadata: p.metadata })), vs);
    return { added: parsed.length, counts: await st.counts() };
  });

  app.post("/v1/transcribe", { schema: s.transcribe }, async (req) => {
    const asr = lineup.transcriber();
    if (!asr) throw new HttpError(404, "no model here transcribes speech");
    let audio: Uint8Array, beam: number;
    if (Buffer.isBuffer(req.body)) {
      if (rawKind(req) !== "audio") throw new HttpError(415, "a raw transcribe body must be audio/wav");
      audio = new Uint8Array(req.body);
      beam = Number((req.query as { beam?: string }).beam ?? 1);
    } else {
      const b = req.body as { audio: string; beam: number };
      audio = decodeBase64Field(b.audio, "body.audio");
      beam = b.beam;
    }
    const [r] = await pool!.run({ model: asr.name, op: "transcribe", kind: "audio", inputs: [audio], beam }, deadlineOf(req));
    if ("error" in r) throw new HttpError(400, `body.audio: ${r.error}`, "body.audio");
    if (!("transcript" in r)) throw new Error("a transcribe job returned no transcript");
    return r.transcript;
  });

  app.get("/healthz", { schema: s.healthz }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: s.readyz }, async (_req, reply) => {
    const body = {
      ready: pool!.size > 0 && (!redis || redis.ready),
      models: versions,
      // workers alive (a worker stopped at a deadline is replaced: it counts again once it has loaded its models)
      workers: pool!.size,
      restarting: pool!.restarting,
      // the folder's name, not its path: a probe's answer need not tell the file system's layout
      index: store ? { name: store.where.startsWith("lancedb:") ? "lancedb" : basename(store.where), mode: store.mode, counts: await store.counts() } : null,
      redis: redis ? (redis.ready ? "ready" : "unreachable") : null,
    };
    return reply.status(body.ready ? 200 : 503).send(body);
  });
  app.get("/metrics", { schema: s.metrics }, async (_req, reply) => {
    void reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  // a cap on open connections: past it the server drops new ones at once, so a flood of slow connections cannot
  // use up the process's file descriptors
  app.server.maxConnections = opt.maxConnections;
  await app.listen({ host: opt.host, port: opt.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opt.port;
  const url = `http://${opt.host.includes(":") ? `[${opt.host}]` : opt.host}:${port}`;

  let closing: Promise<void> | null = null;
  return {
    app, pool, metrics, url,
    close() {
      closing ??= (async () => {
        // Stop accepting; requests in flight finish.  Their keep-alive connections must not hold the close open
        // after they are answered: answers now say Connection: close, and idle connections are closed as they appear.
        shuttingDown = true;
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
        }
        await pool!.close();
        await store?.close();
        await redis?.close();
        await lru.close();
      })();
      return closing;
    },
  };
}
