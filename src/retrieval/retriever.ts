import { Tensor, fmtShape } from "../tensor.js";
import { MultimodalIndex, type IndexOptions, type RetrievalResult } from "./multimodal-index.js";

/** What the retriever needs of a model: image and text embeddings in one space (CLIPModel is one). */
export interface ImageTextModel {
  readonly projectionDim: number;
  /** the side of the square images encodeImage takes */
  readonly imageSize: number;
  encodeImage(images: Tensor): Tensor;
  encodeText(inputIds: Tensor, attentionMask?: Tensor | null): Tensor;
}

/**
 * The reference design's CrossModalRetriever: a CLIPModel that embeds images into a MultimodalIndex (any kind) and
 * answers
 * text or image queries.
 * @example
 * const retriever = new CrossModalRetriever(clip, 256, { kind: "hnsw" });
 * retriever.indexImages(images, ids, metadata);
 * const hits = retriever.searchByText(inputIds, attentionMask, 5);
 */
export class CrossModalRetriever {
  readonly model: ImageTextModel;
  readonly index: MultimodalIndex;
  constructor(clipModel: ImageTextModel, embeddingDim = 512, indexOptions: IndexOptions & { batchSize?: number } = {}) {
    this.model = clipModel;
    if (embeddingDim !== clipModel.projectionDim)
      throw new Error(
        `CrossModalRetriever: embeddingDim ${embeddingDim} differs from the model's projection ` +
          `dim ${clipModel.projectionDim}`,
      );
    this.index = new MultimodalIndex(embeddingDim, indexOptions);
    this.batchSize = indexOptions.batchSize ?? 16;
  }
  private readonly batchSize: number;

  /** Embeds images (B, C, H, W) in batches and adds them as modality "image". */
  indexImages(images: Tensor, imageIds: string[], metadataList?: Array<Record<string, unknown>> | null): void {
    if (!(images instanceof Tensor) || images.ndim !== 4)
      throw new Error(
        `CrossModalRetriever.indexImages: images must be (batch, channels, height, width), ` +
          `got ${images instanceof Tensor ? fmtShape(images.shape) : typeof images}`,
      );
    const B = images.shape[0];
    if (!Array.isArray(imageIds) || imageIds.length !== B)
      throw new Error(
        `CrossModalRetriever.indexImages: need ${B} image ids, ` +
          `got ${Array.isArray(imageIds) ? imageIds.length : typeof imageIds}`,
      );
    const per = images.size / B;
    for (let s = 0; s < B; s += this.batchSize) {
      const n = Math.min(this.batchSize, B - s);
      const chunk = new Tensor((images.data as Float32Array).subarray(s * per, (s + n) * per), [
        n,
        ...images.shape.slice(1),
      ]);
      const emb = this.model.encodeImage(chunk);
      this.index.addBatch(
        imageIds.slice(s, s + n),
        emb,
        "image",
        metadataList ? metadataList.slice(s, s + n) : undefined,
      );
    }
  }

  /** Images for a text query (first row of inputIds), best first. */
  searchByText(inputIds: Tensor, attentionMask?: Tensor | null, topK = 10): RetrievalResult[] {
    const e = this.model.encodeText(inputIds, attentionMask);
    return this.index.search(e.data.subarray(0, e.shape[1]) as Float32Array, topK, "image");
  }

  /** Items similar to an image (first image of the batch), any modality. */
  searchByImage(image: Tensor, topK = 10): RetrievalResult[] {
    const img = image instanceof Tensor && image.ndim === 3 ? image.reshape([1, ...image.shape]) : image;
    const e = this.model.encodeImage(img);
    return this.index.search(e.data.subarray(0, e.shape[1]) as Float32Array, topK);
  }
}
