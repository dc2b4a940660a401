// What a model declares about itself, so callers (serving, embedding caches, retrieval, the CLI) route by
// interface instead of guessing from method names, argument counts or modality names.
//   Embedder      - the modalities a model embeds, each with its input dtype and whether it takes a mask;
//   NamedForward  - the reference design's `model(**inputs)`: named inputs (with their dtypes) in, named outputs out.
import { Tensor, type DType } from "../tensor.js";

export type Modality = "image" | "text" | "audio" | "video";
export const MODALITIES: readonly Modality[] = ["image", "text", "audio", "video"];

/** How a model embeds one modality. */
export interface ModalityEncoder {
  /** dtype of the batched input (batch, ...) */
  readonly dtype: DType;
  /** encode takes an attention mask (batch, seq) int32, 1 = token, 0 = padding */
  readonly takesMask: boolean;
  /** (batch, ...) -> (batch, dim) */
  encode(inputs: Tensor, attentionMask?: Tensor | null): Tensor;
}

/** A model that embeds one or more modalities. */
export interface Embedder {
  encoders(): Partial<Record<Modality, ModalityEncoder>>;
}

/** A model callable with named inputs, as the reference design's serving calls `model(**inputs)`. */
export interface NamedForward {
  /** every input name it reads, with its dtype */
  readonly namedInputs: Readonly<Record<string, DType>>;
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number>;
}

export function isEmbedder(x: unknown): x is Embedder {
  return typeof (x as Embedder | null)?.encoders === "function";
}

export function isNamedForward(x: unknown): x is NamedForward {
  return (
    typeof (x as NamedForward | null)?.forwardNamed === "function" &&
    typeof (x as NamedForward).namedInputs === "object"
  );
}

const nameOf = (x: unknown): string =>
  x === null ? "null" : typeof x === "object" ? (x as object).constructor.name : typeof x;

/** The model's encoder for a modality, or an Error naming the modalities it does embed. */
export function encoderFor(model: unknown, modality: string, who: string): ModalityEncoder {
  const table = isEmbedder(model) ? model.encoders() : {};
  const enc = (table as Record<string, ModalityEncoder | undefined>)[modality];
  if (!enc) {
    const has = Object.keys(table);
    throw new Error(
      `${who}: ${nameOf(model)} has no encoder for modality "${modality}" ` +
        (has.length ? `(it embeds: ${has.join(", ")})` : "(it declares no encoders: implement Embedder.encoders())"),
    );
  }
  return enc;
}

/** A single output tensor as a named-forward result. */
export const asOutputs = (t: Tensor | Record<string, Tensor | number>): Record<string, Tensor | number> =>
  t instanceof Tensor ? { output: t } : t;
