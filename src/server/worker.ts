// A service worker thread: its own polymodal runtime and models, running the jobs the pool posts (jobs.ts), so
// inference never blocks the HTTP event loop.  It speaks the library's worker protocol (serving/worker-rpc.ts) like
// any Web Worker or worker_threads host: the pool calls ready() once, then run(job) per batch; embeddings are
// transferred, not copied.
import type { SimdBuild } from "../bindings/module.js";
import { parentPort, workerData } from "node:worker_threads";
import { init } from "../bindings/module.js";
import { loadModel, type ModelRef } from "../pipelines/registry.js";
import type { Pipeline, ProcessingOptions } from "../pipelines/pipeline.js";
import { exposeWorker, type MessageEndpoint } from "../serving/worker-rpc.js";
import { limits, type Limits } from "../util/limits.js";
import { runJob, type ItemResult, type Job } from "./jobs.js";

export interface WorkerConfig {
  /** the shipped models' folder */
  modelsDir: string;
  /** the models to load (the registry's refs) */
  models: ModelRef[];
  /** how the models process their inputs (exifTranspose) */
  processing: ProcessingOptions;
  threads: number;
  simd: SimdBuild;
  limits: Limits;
}

/** What the pool calls (wrapWorker<ServiceWorker>). */
export interface ServiceWorker {
  /** resolves with the loaded models' names once they are loaded (rejects when one cannot load) */
  ready(): Promise<string[]>;
  /** a batch's results, one per input, and the ms it took */
  run(job: Job): Promise<{ results: ItemResult[]; ms: number }>;
}

const port = parentPort;
if (!port) throw new Error("src/server/worker.ts runs as a worker thread");
const config = workerData as WorkerConfig;
Object.assign(limits, config.limits);

// by each model's own name: the service gives jobs that name (a request's alias is resolved there)
const loading = (async () => {
  await init({ threads: config.threads, simd: config.simd });
  const loaded = new Map<string, Pipeline>();
  for (const ref of config.models)
    loaded.set(ref.name, await loadModel(ref, { modelsDir: config.modelsDir, ...config.processing }));
  return loaded;
})();
loading.catch(() => {
  /* answered by ready() */
});

const worker: ServiceWorker = {
  async ready() {
    return [...(await loading).keys()];
  },
  async run(job) {
    const loaded = await loading;
    const t0 = performance.now();
    const results = await runJob(loaded, job);
    return { results, ms: performance.now() - t0 };
  },
};
exposeWorker(worker, port as unknown as MessageEndpoint, {
  transfer: (v) => {
    const r = v as { results?: ItemResult[] } | undefined;
    return [
      ...new Set((r?.results ?? []).flatMap((x) => ("embedding" in x ? [x.embedding.buffer as ArrayBuffer] : []))),
    ];
  },
});
