// A service worker thread: its own polymodal runtime and models, running the jobs the pool posts (jobs.ts), so
// inference never blocks the HTTP event loop.  Protocol (structured clone, embeddings transferred):
//   parent -> worker  { id, job }
//   worker -> parent  { type: "ready", models } once loaded | { type: "done", id, results, ms } | { type: "failed", id, error }
import { parentPort, workerData } from "node:worker_threads";
import { init } from "../bindings/module.js";
import { loadModel, type ModelRef } from "../pipelines/registry.js";
import type { Pipeline } from "../pipelines/pipeline.js";
import { limits, type Limits } from "../util/limits.js";
import { runJob, type Job } from "./jobs.js";

export interface WorkerConfig {
  /** the shipped models' folder */
  modelsDir: string;
  /** the models to load (the registry's refs) */
  models: ModelRef[];
  threads: number;
  limits: Limits;
}

const port = parentPort;
if (!port) throw new Error("src/server/worker.ts runs as a worker thread");
const config = workerData as WorkerConfig;
Object.assign(limits, config.limits);
await init({ threads: config.threads });
const loaded = new Map<string, Pipeline>();
// by each model's own name: the service gives jobs that name (a request's alias is resolved there)
for (const ref of config.models) loaded.set(ref.name, await loadModel(ref, { modelsDir: config.modelsDir }));
port.postMessage({ type: "ready", models: [...loaded.keys()] });

port.on("message", (m: { id: number; job: Job }) => {
  const t0 = performance.now();
  try {
    const results = runJob(loaded, m.job);
    const transfer = results.flatMap((r) => ("embedding" in r ? [r.embedding.buffer as ArrayBuffer] : []));
    port.postMessage({ type: "done", id: m.id, results, ms: performance.now() - t0 }, transfer);
  } catch (e) {
    port.postMessage({ type: "failed", id: m.id, error: (e as Error).message, ms: performance.now() - t0 });
  }
});
