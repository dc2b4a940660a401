// Serving: the reference design's MultimodalServingPipeline with real dynamic batching, and the same inside a Worker.
export { MultimodalServingPipeline, ServingQueueFullError, ServingTimeoutError } from "./pipeline.js";
export type { MultimodalRequest, MultimodalResponse, ServingMetrics, ServingOptions, ServingCache, Preprocessor, Runner } from "./pipeline.js";
export { exposeServingPipeline, RemoteServingPipeline } from "./remote.js";
export type { MessageEndpoint } from "./remote.js";
