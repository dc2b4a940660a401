// loadPretrained: a model by name (a shipped one) or by folder (a Hugging Face model folder), through the registry.
import type { HFCLIPModel } from "../models/hf-clip.js";
import type { ImageTextEmbedder } from "./embedders.js";
import { loadModel, resolveModel } from "./registry.js";
import type { LoadOptions, Shipped, ShippedName } from "./shipped.js";

export { SHIPPED as PRETRAINED, modelsUrl } from "./shipped.js";
export type { ShippedName as PretrainedName, LoadOptions } from "./shipped.js";

/**
 * Loads a shipped model by name: in Node from the package's models/ folder (or `modelsDir`); in a browser, or
 * with `baseUrl`, over HTTP, with byte progress (`onProgress`), cancellation (`signal`) and a cache (the Cache API
 * in browsers, a folder in Node: see `env`) so a second load makes no request.  The weights file must have the size
 * and SHA-256 its card records (`files`), or the load fails naming both.
 * @example
 * const asr = await loadPretrained("asr-words");
 * asr.transcribe(readFileSync("digits.wav")).text;
 * @example
 * // in a page: models/ served next to it, a progress bar, a cancel button
 * const ctl = new AbortController();
 * const clip = await loadPretrained("clip-scenes", { baseUrl: "/models/", signal: ctl.signal, onProgress: (p) => {
 * bar.max = p.total; bar.value = p.loaded; } });
 */
export async function loadPretrained<N extends ShippedName>(name: N, options?: LoadOptions): Promise<Shipped<N>>;
/**
 * A Hugging Face model folder (a path in Node, or a URL): config.json, model.safetensors (or shards with
 * model.safetensors.index.json), tokenizer.json, preprocessor_config.json, as `save_pretrained` writes them for
 * openai/clip-vit-base-patch32 and its kin.  Returns the same ImageTextEmbedder the shipped clip-scenes is.
 * @example
 * const clip = await loadPretrained("./clip-vit-base-patch32");
 * const [img] = clip.embedImages([readFileSync("cat.jpg")]);
 * const [txt] = clip.embedTexts(["a photo of a cat"]);
 */
export async function loadPretrained(folder: string, options?: LoadOptions): Promise<ImageTextEmbedder<HFCLIPModel>>;
export async function loadPretrained(name: string, options: LoadOptions = {}): Promise<unknown> {
  return loadModel(await resolveModel(name, options), options);
}
