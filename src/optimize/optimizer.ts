// The reference design's MultimodalModelOptimizer: a thin facade over dynamic int8 quantisation (nn/quantize.ts,
// with the
// quantised layers), ONNX export (onnx/) and embedding caches (retrieval/cache.ts).
import type { Tensor } from "../tensor.js";
import { Module } from "../nn/module.js";
import { quantizeDynamic, type QuantizeOptions } from "../nn/quantize.js";
import type { Embedder } from "../nn/embedder.js";
import { cacheEmbeddings, type EmbeddingBatch } from "../retrieval/cache.js";
import type { MultimodalIndex } from "../retrieval/multimodal-index.js";
import { nodeFs } from "../io/node-fs.js";

export type { QuantizeOptions, EmbeddingBatch };

const who = "MultimodalModelOptimizer";

/**
 * Optimisation helpers for multimodal models, the reference design's class with its promises kept.
 * @example
 * const q = MultimodalModelOptimizer.quantizeModel(model);          // int8 Linear and LSTM layers, a new model
 * const logits = q.forward(melSpec);
 * const index = await MultimodalModelOptimizer.cacheEmbeddings(clip, batches, "image", "images.pmidx");
 * const onnx = await MultimodalModelOptimizer.exportOnnx(model, { mel_spec: Tensor.zeros([1, 80, 100]) }, "asr.onnx");
 */
export class MultimodalModelOptimizer {
  /**
   * torch.quantization.quantize_dynamic(model, {nn.Linear, nn.LSTM}, dtype=torch.qint8): a quantised copy (see
   * quantizeDynamic).  "static" returns the model unchanged, as the reference design does (static quantisation needs
   * calibration data).
   */
  static quantizeModel<T extends Module>(
    model: T,
    quantizationType: "dynamic" | "static" = "dynamic",
    options: QuantizeOptions = {},
  ): T {
    if (!(model instanceof Module))
      throw new Error(`${who}.quantizeModel: expected a Module, got ${model === null ? "null" : typeof model}`);
    if (quantizationType === "static") return model;
    if (quantizationType !== "dynamic")
      throw new Error(
        `${who}.quantizeModel: quantizationType must be "dynamic" or "static", got ${JSON.stringify(quantizationType)}`,
      );
    if (options.reduceRange !== undefined && typeof options.reduceRange !== "boolean") {
      throw new Error(
        `${who}.quantizeModel: reduceRange must be true or false, got ${JSON.stringify(options.reduceRange)}`,
      );
    }
    return quantizeDynamic(model, options);
  }

  /**
   * The reference design's export_onnx, for real: ONNX (opset 17) bytes of model.forward for inputs named and
   * shaped like
   * sampleInputs, batch dimension dynamic; written atomically to outputPath when given (Node).  Supported models
   * and layers: EXPORTABLE (src/onnx); any other module is an Error naming them.
   */
  static async exportOnnx(
    model: Module,
    sampleInputs: Record<string, Tensor>,
    outputPath?: string | null,
  ): Promise<Uint8Array> {
    // the ONNX writer loads with the first export (a page that never exports never fetches it)
    const { exportOnnxBytes } = await import("../onnx/export.js");
    const bytes = exportOnnxBytes(model, sampleInputs);
    if (outputPath)
      await (
        await nodeFs(
          `${who}.exportOnnx writes files with Node's fs; in a browser omit outputPath and use the returned bytes`,
        )
      ).saveBytesAtomic(outputPath, bytes);
    return bytes;
  }

  /**
   * Pre-computes embeddings of static content through the model's encoder for `modality` (its Embedder
   * declaration) into a flat MultimodalIndex, saved atomically to cachePath when one is given (Node).
   */
  static cacheEmbeddings(
    model: Embedder,
    dataLoader: Iterable<EmbeddingBatch> | AsyncIterable<EmbeddingBatch>,
    modality: string,
    cachePath?: string | null,
  ): Promise<MultimodalIndex> {
    return cacheEmbeddings(model, dataLoader, modality, cachePath, `${who}.cacheEmbeddings`);
  }
}
