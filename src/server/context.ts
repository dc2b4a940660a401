// What the service's plugins share: the resolved options, the model lineup and its stamps, the pool, the index and
// the embedder (caches before the pool).  startService (app.ts) builds it once and hands it to every plugin as
// its options, so no plugin reaches into another's state.
import type { SimdBuild } from "../bindings/module.js";
import type { ModelRef, ModelSet } from "../pipelines/registry.js";
import type { Space } from "../pipelines/pipeline.js";
import type { CachedEmbedder } from "./embedder.js";
import type { ServiceMetrics } from "./metrics.js";
import type { WorkerPool } from "./pool.js";
import type { ServiceStore } from "./store.js";
import { HttpError } from "./errors.js";
import type { schemas } from "./schemas.js";
import type { openaiSchemas } from "./openai-schemas.js";

export interface Settings {
  host: string;
  port: number;
  workers: number;
  threads: number;
  simd: SimdBuild;
  maxQueue: number;
  timeoutMs: number;
  maxBatch: number;
  maxBodyBytes: number;
  maxTextLength: number;
  maxK: number;
  cacheSize: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxEventLoopDelayMs: number;
  maxEventLoopUtilization: number;
  maxBodyWaitMs: number;
  shedMinInFlight: number;
}

export interface ServiceContext {
  settings: Settings;
  modelsDir: string;
  lineup: ModelSet;
  /** each servable name's version stamp */
  versions: Record<string, string>;
  /** the stamp of the model that embeds into a space */
  spaceVersion(space: Space): string | undefined;
  /** a model's version stamp as this service embeds with it (its processing options included) */
  stamp(ref: ModelRef): string;
  pool: WorkerPool;
  store: ServiceStore | null;
  embedder: CachedEmbedder;
  metrics: ServiceMetrics;
  /** every route's JSON schema */
  schemas: ReturnType<typeof schemas> & ReturnType<typeof openaiSchemas>;
  /** the Redis cache's state for /readyz (null: no Redis) */
  redisReady(): boolean | null;
}

/** Plugin options: the shared context. */
export interface WithContext {
  ctx: ServiceContext;
}

export function needStore(ctx: ServiceContext): ServiceStore {
  if (!ctx.store)
    throw new HttpError(404, "this service has no index; start it with --index DIR or --store lancedb:URI");
  return ctx.store;
}
