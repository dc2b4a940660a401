// Serving: the reference design's MultimodalServingPipeline with real dynamic batching.
export { MultimodalServingPipeline } from "./pipeline.js";
export type { MultimodalRequest, MultimodalResponse, ServingMetrics, ServingOptions, Preprocessor, Runner } from "./pipeline.js";
