// Serving: the reference design's MultimodalServingPipeline with real dynamic batching, and the same inside a Worker.
export { MultimodalServingPipeline, ServingQueueFullError, ServingTimeoutError } from "./pipeline.js";
export { Batcher, QueueFullError, DeadlineError, LatencyWindow } from "./batcher.js";
export type { Batch, BatcherOptions, BatcherStats, Entry } from "./batcher.js";
export { LruCache, getAll, setAll } from "./cache.js";
export type { Cache } from "./cache.js";
export type {
  MultimodalRequest,
  MultimodalResponse,
  ServingMetrics,
  ServingOptions,
  ServingCache,
  Preprocessor,
  Runner,
} from "./pipeline.js";
export { exposeServingPipeline, RemoteServingPipeline } from "./remote.js";
export { exposeWorker, wrapWorker, WorkerCallError } from "./worker-rpc.js";
export type { MessageEndpoint, Remote } from "./worker-rpc.js";
export { PipelineHost, exposePipelineHost } from "./pipeline-host.js";
