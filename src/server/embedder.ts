// Embeddings as the service serves them: the in-process LRU first, then the shared Redis cache, then the worker
// pool; what a model computed goes into both caches.  A failed input is a 400 naming its field.
import { embedsKind } from "../pipelines/pipeline.js";
import type { ModelSet } from "../pipelines/registry.js";
import { getAll, setAll, type LruCache } from "../serving/cache.js";
import { cacheKey, type RedisEmbeddingCache } from "./cache.js";
import { HttpError } from "./errors.js";
import type { Input } from "./inputs.js";
import type { Job } from "./jobs.js";
import type { ServiceMetrics } from "./metrics.js";
import type { WorkerPool } from "./pool.js";

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

export class CachedEmbedder {
  /** each model's embedding width, as its worker results show it */
  private readonly dims = new Map<string, number>();

  constructor(
    private readonly lineup: ModelSet,
    private readonly versions: Record<string, string>,
    private readonly pool: WorkerPool,
    private readonly lru: LruCache<Float32Array>,
    readonly redis: RedisEmbeddingCache | null,
    private readonly metrics: ServiceMetrics,
  ) {}

  /** Embeddings of inputs of one kind with one model (by any name the lineup answers to). */
  async embed(model: string, inputs: Input[], deadline: number): Promise<Float32Array[]> {
    const kind = inputs[0].kind,
      ref = this.lineup.get(model)!,
      tasks = ref.tasks;
    if (!embedsKind(tasks, kind)) {
      throw new HttpError(
        400,
        `${model} does not embed ${kind} (it embeds ${tasks.embed?.kinds.join(", ") || "nothing"})`,
        inputs[0].field,
      );
    }
    const m = this.metrics;
    const keys = inputs.map((x) => cacheKey(this.versions[model], kind, x.value));
    const out = await getAll(this.lru, keys);
    const fromLru = out.filter(Boolean).length;
    if (fromLru) m.cacheHits.inc({ layer: "lru" }, fromLru);
    let missing = out.flatMap((v, i) => (v ? [] : [i]));
    if (this.redis && missing.length) {
      const got = await getAll(
        this.redis,
        missing.map((i) => keys[i]),
      );
      const hits: Array<[string, Float32Array]> = [];
      got.forEach((v, j) => {
        if (!v) return;
        // a shared cache is anyone's to write: an entry of another width, or not finite, is a miss (and counted)
        if (!plausibleEmbedding(v, this.dims.get(ref.name))) {
          m.cacheErrors.inc();
          return;
        }
        out[missing[j]] = v;
        hits.push([keys[missing[j]], v]);
      });
      if (hits.length) {
        m.cacheHits.inc({ layer: "redis" }, hits.length);
        await setAll(this.lru, hits);
      }
      missing = missing.filter((i) => !out[i]);
    }
    if (missing.length) {
      m.cacheMisses.inc(missing.length);
      const job: Job = { model: ref.name, op: "embed", kind, inputs: missing.map((i) => inputs[i].value) };
      const results = await this.pool.run(job, deadline);
      const fresh: Array<[string, Float32Array]> = [];
      results.forEach((r, j) => {
        const i = missing[j];
        if ("error" in r) throw new HttpError(400, `${inputs[i].field}: ${r.error}`, inputs[i].field);
        if ("embedding" in r) {
          out[i] = r.embedding;
          fresh.push([keys[i], r.embedding]);
          this.dims.set(ref.name, r.embedding.length);
        }
      });
      await setAll(this.lru, fresh);
      if (this.redis) await setAll(this.redis, fresh);
    }
    return out as Float32Array[];
  }

  /** Embeddings of inputs of any kinds with one model, in order: one call per kind (each kind one batch). */
  async embedAll(model: string, inputs: Input[], deadline: number): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(inputs.length);
    await Promise.all(
      [...new Set(inputs.map((x) => x.kind))].map(async (k) => {
        const at = inputs.flatMap((x, i) => (x.kind === k ? [i] : []));
        const e = await this.embed(
          model,
          at.map((i) => inputs[i]),
          deadline,
        );
        at.forEach((i, j) => {
          out[i] = e[j];
        });
      }),
    );
    return out;
  }

  async close(): Promise<void> {
    await this.redis?.close();
    await this.lru.close();
  }
}
