/**
 * polymodal: multimodal ML on a WebAssembly SIMD core, the same bits in Node and browsers.
 * @example
 * import { init, Tensor, F } from "polymodal";
 * await init();
 * const x = Tensor.from(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * F.softmax(x).toArray(); // [[0.2689, 0.7311], [0.2689, 0.7311]]
 */
export { init, isInitialized } from "./bindings/module.js";
export type { InitOptions, WasmSource, Runtime, SimdBuild } from "./bindings/module.js";
export { relaxedSimdSupport, type RelaxedSimdSupport } from "./bindings/relaxed-probe.js";
export { Tensor } from "./tensor.js";
export type { DType, TypedData, NestedArray } from "./tensor.js";
export * as F from "./functional.js";
export { memoryStats } from "./memory.js";
export { limits } from "./util/limits.js";
export { PolymodalError, ERROR_CODES, errorCode } from "./util/errors.js";
export type { ErrorCode } from "./util/errors.js";
export type { Limits } from "./util/limits.js";
export { loadSafetensors, saveSafetensors } from "./io/safetensors.js";
export * as nn from "./nn/index.js";
export * from "./models/index.js";
export { MultimodalModelOptimizer } from "./optimize/optimizer.js";
export type { QuantizeOptions, EmbeddingBatch } from "./optimize/optimizer.js";
export * from "./audio/index.js";
export * from "./retrieval/index.js";
export * from "./vision/index.js";
export * from "./text/index.js";
export * from "./video/index.js";
export * from "./pipelines/index.js";
export * from "./serving/index.js";
