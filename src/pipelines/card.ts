// Model cards (models/*.json) and weights: what every pipeline's fromCard() accepts.
import type { Tensor } from "../tensor.js";
import { loadSafetensors } from "../io/safetensors.js";
import { withoutInit } from "../nn/parameter.js";

/** safetensors bytes, or a state_dict already loaded. */
export type WeightsInput = Uint8Array | ArrayBuffer | Record<string, Tensor>;

export function loadWeights(who: string, w: WeightsInput): Record<string, Tensor> {
  if (w instanceof Uint8Array) return loadSafetensors(w);
  if (w instanceof ArrayBuffer) return loadSafetensors(new Uint8Array(w));
  if (w && typeof w === "object") return w;
  throw new Error(`${who}: weights must be safetensors bytes or a state_dict, got ${w === null ? "null" : typeof w}`);
}

export function cardField<T>(who: string, card: unknown, key: string): T {
  if (!card || typeof card !== "object")
    throw new Error(
      `${who}: the model card must be an object (the parsed models/*.json), ` +
        `got ${card === null ? "null" : typeof card}`,
    );
  const v = (card as Record<string, unknown>)[key];
  if (v === undefined || v === null) throw new Error(`${who}: the model card has no "${key}"`);
  return v as T;
}

/** snake_case config keys (as the training scripts write them) -> the camelCase options of the TS classes. */
export function camelConfig(o: Record<string, unknown>): Record<string, any> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [
      k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      v && typeof v === "object" && !Array.isArray(v) ? camelConfig(v as Record<string, unknown>) : v,
    ]),
  );
}

/**
 * The card's model: `new Model(camelCased card.config)` with the weights loaded strictly (one Error lists every bad
 * key).
 */
export function modelFromCard<M extends { loadStateDict(sd: Record<string, Tensor>): unknown }>(
  who: string,
  card: unknown,
  weights: WeightsInput,
  Model: new (config: any) => M,
): M {
  // (every weight is loaded strictly next: no initial values)
  const model = withoutInit(() => new Model(camelConfig(cardField(who, card, "config"))));
  model.loadStateDict(loadWeights(who, weights));
  return model;
}
