import { type Embedder, type NamedForward, type Modality, type ModalityEncoder, asOutputs } from "../nn/embedder.js";
import { type Buf, toTensor } from "../core/index.js";
import type { Tensor, DType } from "../tensor.js";
import { Module, scoped } from "../nn/module.js";
import { Parameter, fill } from "../nn/parameter.js";
import { Embedding, Linear } from "../nn/linear.js";
import { LayerNorm } from "../nn/basic.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../nn/transformer.js";
import { idsArg, addRows, gatherTokens, fromTensor, paddingFromAttentionMask } from "./common.js";

export interface TextEncoderConfig {
  vocabSize?: number;
  maxSeqLen?: number;
  embedDim?: number;
  numHeads?: number;
  numLayers?: number;
  projectionDim?: number;
}

/**
 * The reference design's TextEncoder: token + position embeddings, a post-norm transformer (padding mask from the
 * attention mask), EOS pooling at the last real token (mask.sum - 1, or the last position without a mask),
 * LayerNorm and a projection.  inputIds (B, T) int32 -> (B, projectionDim).
 */
export class TextEncoder extends Module implements Embedder, NamedForward {
  token_embed: Embedding;
  pos_embed: Parameter;
  transformer: TransformerEncoder;
  ln: LayerNorm;
  projection: Linear;
  readonly config: Required<TextEncoderConfig>;

  constructor(config: TextEncoderConfig = {}) {
    super();
    const c = {
      vocabSize: 50000,
      maxSeqLen: 77,
      embedDim: 512,
      numHeads: 8,
      numLayers: 12,
      projectionDim: 512,
      ...config,
    };
    this.config = c;
    this.token_embed = new Embedding(c.vocabSize, c.embedDim);
    this.pos_embed = new Parameter([1, c.maxSeqLen, c.embedDim], "raw", fill(0));
    this.transformer = new TransformerEncoder(
      () => new TransformerEncoderLayer(c.embedDim, c.numHeads, { dimFeedforward: c.embedDim * 4, batchFirst: true }),
      c.numLayers,
    );
    this.ln = new LayerNorm(c.embedDim);
    this.projection = new Linear(c.embedDim, c.projectionDim);
  }

  /** ids (B, T) int32 in scratch; padding (B*T) 1 = pad, or null. */
  run(ids: Buf, padding: Int32Array | null): Buf {
    const [B, T] = ids.shape;
    if (T > this.config.maxSeqLen)
      throw new Error(`TextEncoder: sequence length ${T} exceeds max_seq_len ${this.config.maxSeqLen}`);
    if (T < 1) throw new Error("TextEncoder: sequence length must be >= 1");
    const x = this.token_embed.run(ids); // (B, T, E)
    // pos_embed[:, :T] broadcast over the batch: the first T rows of the parameter.
    addRows(x, this.pos_embed, T);
    const h = this.transformer.run(x, padding);
    const idx: number[] = [];
    for (let b = 0; b < B; b++) {
      if (!padding) {
        idx.push(T - 1);
        continue;
      }
      let n = 0;
      for (let t = 0; t < T; t++) n += padding[b * T + t] ? 0 : 1;
      idx.push(n - 1 < 0 ? T - 1 : n - 1); // Python's x[-1] when the mask is empty
    }
    return this.projection.run(this.ln.run(gatherTokens(h, idx)));
  }

  /** Embedder: token ids (B, T) int32 with an attention mask. */
  encoders(): Partial<Record<Modality, ModalityEncoder>> {
    return { text: { dtype: "int32", takesMask: true, encode: (ids, mask) => this.forward(ids, mask) } };
  }

  get namedInputs(): Record<string, DType> {
    return { text: "int32", attention_mask: "int32" };
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return asOutputs(this.forward(inputs.text, inputs.attention_mask ?? null));
  }

  forward(inputIds: Tensor, attentionMask?: Tensor | null): Tensor {
    const who = "TextEncoder.forward";
    idsArg(who, inputIds);
    const [B, T] = inputIds.shape;
    const padding = attentionMask ? paddingFromAttentionMask(who, attentionMask, B, T) : null;
    return scoped(() => toTensor(this.run(fromTensor(who, "inputIds", inputIds), padding)));
  }
}
