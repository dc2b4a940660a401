// Embedding caches of static content: a model's encoder for one modality run over batches, stored in a flat
// MultimodalIndex (ids, modality, metadata), saved atomically when a path is given.
import { Tensor } from "../tensor.js";
import { encoderFor, type Embedder } from "../nn/embedder.js";
import { MultimodalIndex } from "./multimodal-index.js";
import type { EmbeddingStore } from "./embedding-store.js";

/** A batch for cacheEmbeddings: item ids and the model input for them (first dimension = ids.length). */
export interface EmbeddingBatch {
  ids: string[];
  inputs: Tensor;
  /** Token mask for text inputs (1 = token, 0 = padding), when the encoder takes one. */
  attentionMask?: Tensor | null;
  metadata?: Array<Record<string, unknown>>;
}

/** The encoder run over every batch: ids, (B, D) embeddings and metadata per batch, batches checked first. */
async function* encodeBatches(
  model: Embedder,
  dataLoader: Iterable<EmbeddingBatch> | AsyncIterable<EmbeddingBatch>,
  modality: string,
  who: string,
): AsyncGenerator<{ batch: EmbeddingBatch; emb: Tensor }> {
  const enc = encoderFor(model, modality, who);
  let n = 0;
  for await (const batch of dataLoader as AsyncIterable<EmbeddingBatch>) {
    if (!batch || !Array.isArray(batch.ids) || !(batch.inputs instanceof Tensor)) {
      throw new Error(`${who}: batch ${n} must be { ids: string[], inputs: Tensor, attentionMask?, metadata? }`);
    }
    if (batch.inputs.shape[0] !== batch.ids.length) {
      throw new Error(
        `${who}: batch ${n} has ${batch.ids.length} ids but inputs of batch size ${batch.inputs.shape[0]}`,
      );
    }
    const emb = enc.encode(batch.inputs, enc.takesMask ? (batch.attentionMask ?? null) : undefined);
    if (emb.ndim !== 2)
      throw new Error(
        `${who}: the ${modality} encoder returned shape [${emb.shape.join(", ")}], expected (batch, dim)`,
      );
    yield { batch, emb };
    n++;
  }
  if (n === 0) throw new Error(`${who}: the data loader yielded no batches`);
}

/**
 * Runs model's `modality` encoder over every batch into a new flat index; writes it to cachePath (Node) when given.
 * @example
 * const index = await cacheEmbeddings(clip, [{ ids: ["a", "b"], inputs: images }], "image", "images.pmx");
 */
export async function cacheEmbeddings(
  model: Embedder,
  dataLoader: Iterable<EmbeddingBatch> | AsyncIterable<EmbeddingBatch>,
  modality: string,
  cachePath?: string | null,
  who = "cacheEmbeddings",
): Promise<MultimodalIndex> {
  let index: MultimodalIndex | null = null;
  for await (const { batch, emb } of encodeBatches(model, dataLoader, modality, who)) {
    index ??= new MultimodalIndex(emb.shape[1]);
    index.addBatch(batch.ids, emb.data as Float32Array, modality, batch.metadata);
  }
  if (cachePath) await index!.saveToFile(cachePath);
  return index!;
}

/**
 * The same into any EmbeddingStore (in-process, file, LanceDB): each batch is one upsert; resolves with the count.
 * @example
 * const n = await cacheEmbeddingsInto(store, clip, [{ ids: ["a", "b"], inputs: images }], "image");
 */
export async function cacheEmbeddingsInto(
  store: EmbeddingStore,
  model: Embedder,
  dataLoader: Iterable<EmbeddingBatch> | AsyncIterable<EmbeddingBatch>,
  modality: string,
): Promise<number> {
  let n = 0;
  for await (const { batch, emb } of encodeBatches(model, dataLoader, modality, "cacheEmbeddingsInto")) {
    const D = emb.shape[1],
      data = emb.data as Float32Array;
    await store.upsert(
      batch.ids.map((id, i) => ({
        id,
        modality,
        embedding: data.slice(i * D, (i + 1) * D),
        metadata: batch.metadata?.[i] ?? {},
      })),
    );
    n += batch.ids.length;
  }
  return n;
}
