// The seed's MultimodalModelOptimizer: dynamic int8 quantisation with torch's numerics, ONNX export of the
// supported models (src/onnx), and embedding caching into a saved MultimodalIndex.
import { Tensor } from "../tensor.js";
import { Module } from "../nn/module.js";
import { Parameter } from "../nn/parameter.js";
import { Linear } from "../nn/linear.js";
import { LSTM } from "../nn/lstm.js";
import { MultiheadAttention } from "../nn/attention.js";
import { DynamicQuantizedLinear, DynamicQuantizedLSTM } from "../nn/quantized.js";
import { MultimodalIndex } from "../retrieval/multimodal-index.js";
import { AudioFeatureExtractor } from "./audio.js";
import { exportOnnxBytes } from "../onnx/export.js";
import { nodeFs } from "../io/node-fs.js";

export interface QuantizeOptions {
  /**
   * Activation codes in [0, 127] (true, default: torch's x86 engines fbgemm and onednn) or [0, 255] (false:
   * torch's qnnpack, the ARM/mobile engine, reproduced bit for bit).
   */
  reduceRange?: boolean;
}

/** A batch for cacheEmbeddings: item ids and the model input for them (first dimension = ids.length). */
export interface EmbeddingBatch {
  ids: string[];
  inputs: Tensor;
  /** Token mask for text inputs (1 = token, 0 = padding), when the encoder takes one. */
  attentionMask?: Tensor | null;
  metadata?: Array<Record<string, unknown>>;
}

const ROOT = {}; // the parent of the model being quantised

type Encoder = (b: EmbeddingBatch) => Tensor;

function encoderFor(model: Module, modality: string): Encoder {
  const m = model as unknown as Record<string, unknown>;
  const call = (name: string, withMask: boolean): Encoder | null =>
    typeof m[name] === "function" ? (b) => (m[name] as (...a: unknown[]) => Tensor).call(model, b.inputs, ...(withMask ? [b.attentionMask ?? null] : [])) : null;
  const byModality: Record<string, Encoder | null> = {
    image: call("encodeImage", false),
    text: call("encodeText", true),
    video: call("encodeVideo", false),
    // the seed's audio encoder is its forward: waveform (B, samples) -> (B, embedDim)
    audio: call("encodeAudio", false) ?? (model instanceof AudioFeatureExtractor ? call("forward", false) : null),
  };
  const enc = byModality[modality] ?? (typeof m.encode === "function" ? call("encode", false) : null);
  if (!enc) {
    throw new Error(`MultimodalModelOptimizer.cacheEmbeddings: ${model.constructor.name} has no encoder for modality "${modality}" ` +
      `(expected encodeImage / encodeText / encodeVideo / encodeAudio for "image" / "text" / "video" / "audio", an AudioFeatureExtractor for "audio", or an encode() method)`);
  }
  return enc;
}

/**
 * Optimisation helpers for multimodal models, the seed's class with its promises kept.
 * @example
 * const q = MultimodalModelOptimizer.quantizeModel(model);          // int8 Linear and LSTM layers, a new model
 * const logits = q.forward(melSpec);
 * const index = await MultimodalModelOptimizer.cacheEmbeddings(clip, batches, "image", "images.pmidx");
 * const onnx = await MultimodalModelOptimizer.exportOnnx(model, { mel_spec: Tensor.zeros([1, 80, 100]) }, "asr.onnx");
 */
export class MultimodalModelOptimizer {
  /**
   * torch.quantization.quantize_dynamic(model, {nn.Linear, nn.LSTM}, dtype=torch.qint8): returns a quantised
   * copy (the model itself is left as it was).  Every nn.Linear and nn.LSTM becomes its dynamic int8 version,
   * except a MultiheadAttention's out_proj, which torch leaves in float too, and the model itself (torch swaps
   * a model's children, so quantise a lone layer as `new nn.Sequential(layer)`).  "static" returns the model
   * unchanged, as the seed does (static quantisation needs calibration data).
   */
  static quantizeModel<T extends Module>(model: T, quantizationType: "dynamic" | "static" = "dynamic", options: QuantizeOptions = {}): T {
    if (!(model instanceof Module)) throw new Error(`MultimodalModelOptimizer.quantizeModel: expected a Module, got ${model === null ? "null" : typeof model}`);
    if (quantizationType === "static") return model;
    if (quantizationType !== "dynamic") throw new Error(`MultimodalModelOptimizer.quantizeModel: quantizationType must be "dynamic" or "static", got ${JSON.stringify(quantizationType)}`);
    if (options.reduceRange !== undefined && typeof options.reduceRange !== "boolean") {
      throw new Error(`MultimodalModelOptimizer.quantizeModel: reduceRange must be true or false, got ${JSON.stringify(options.reduceRange)}`);
    }
    const seen = new Map<object, unknown>();
    const copy = (v: unknown, parent: object, field: string): unknown => {
      if (!(v instanceof Module) && !(v instanceof Parameter)) return v;
      if (seen.has(v)) return seen.get(v);
      let out: unknown;
      if (v instanceof Parameter) {
        out = v.clone();
      } else if (v.constructor === Linear && parent !== ROOT && !(parent instanceof MultiheadAttention && field === "out_proj")) {
        out = DynamicQuantizedLinear.fromFloat(v as Linear, options);
      } else if (v.constructor === LSTM && parent !== ROOT) {
        out = DynamicQuantizedLSTM.fromFloat(v as LSTM, options);
      } else {
        const m = Object.create(Object.getPrototypeOf(v)) as object;
        seen.set(v, m);
        for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(v))) {
          Object.defineProperty(m, name, "value" in d ? { ...d, value: copy(d.value, v, name) } : d);
        }
        out = m;
      }
      seen.set(v, out);
      return out;
    };
    return copy(model, ROOT, "") as T;
  }

  /**
   * The seed's export_onnx, for real: ONNX (opset 17) bytes of model.forward for inputs named and shaped like
   * sampleInputs, batch dimension dynamic; written atomically to outputPath when given (Node).  Supports the
   * SpeechRecognitionModel and stacks of nn layers (Linear, Conv1d, LSTM, LayerNorm, activations); any other
   * module is an Error naming what is supported.
   */
  static async exportOnnx(model: Module, sampleInputs: Record<string, Tensor>, outputPath?: string | null): Promise<Uint8Array> {
    const bytes = exportOnnxBytes(model, sampleInputs);
    if (outputPath) await (await nodeFs("MultimodalModelOptimizer.exportOnnx writes files with Node's fs; in a browser omit outputPath and use the returned bytes")).saveBytesAtomic(outputPath, bytes);
    return bytes;
  }

  /**
   * Pre-computes embeddings of static content: runs the model's encoder for `modality` over every batch and
   * stores the embeddings in a flat MultimodalIndex (ids, modality, metadata), saved atomically to cachePath
   * when one is given (Node).  Returns the index, ready to search.
   */
  static async cacheEmbeddings(
    model: Module, dataLoader: Iterable<EmbeddingBatch> | AsyncIterable<EmbeddingBatch>, modality: string, cachePath?: string | null,
  ): Promise<MultimodalIndex> {
    const who = "MultimodalModelOptimizer.cacheEmbeddings";
    const encode = encoderFor(model, modality);
    let index: MultimodalIndex | null = null;
    let n = 0;
    for await (const batch of dataLoader as AsyncIterable<EmbeddingBatch>) {
      if (!batch || !Array.isArray(batch.ids) || !(batch.inputs instanceof Tensor)) {
        throw new Error(`${who}: batch ${n} must be { ids: string[], inputs: Tensor, attentionMask?, metadata? }`);
      }
      if (batch.inputs.shape[0] !== batch.ids.length) {
        throw new Error(`${who}: batch ${n} has ${batch.ids.length} ids but inputs of batch size ${batch.inputs.shape[0]}`);
      }
      const emb = encode(batch);
      if (emb.ndim !== 2) throw new Error(`${who}: the ${modality} encoder returned shape [${emb.shape.join(", ")}], expected (batch, dim)`);
      index ??= new MultimodalIndex(emb.shape[1]);
      index.addBatch(batch.ids, emb.data as Float32Array, modality, batch.metadata);
      n++;
    }
    if (!index) throw new Error(`${who}: the data loader yielded no batches`);
    if (cachePath) await index.saveToFile(cachePath);
    return index;
  }
}
