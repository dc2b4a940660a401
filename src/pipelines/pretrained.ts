// The models shipped in the package (models/*.safetensors + model cards), loaded by name.
import { SpeechRecognizer } from "./speech.js";
import { ImageTextEmbedder, AudioEmbedder, VideoTextEmbedder } from "./embedders.js";
import { env } from "./env.js";
import { checkModelFile, fetchModelFile, type FetchOptions } from "./model-files.js";
import type { HFCLIPModel } from "../models/hf-clip.js";
import { loadHuggingFaceFolder, localFolder, remoteFolder } from "./hf-folder.js";

export const PRETRAINED = {
  "clip-scenes": ImageTextEmbedder,
  "asr-words": SpeechRecognizer,
  "audio-events": AudioEmbedder,
  "video-text": VideoTextEmbedder,
} as const;
export type PretrainedName = keyof typeof PRETRAINED;
type Loaded<N extends PretrainedName> = ReturnType<(typeof PRETRAINED)[N]["fromCard"]>;

/** Where the shipped models live: <package>/models/ (from dist/pipelines/ or src/pipelines/). */
export function modelsUrl(): URL {
  return new URL("../../models/", import.meta.url);
}

export interface LoadOptions extends FetchOptions {
  /** Node: read the model from this folder (default: the package's models/) */
  modelsDir?: string;
  /** fetch `<name>.json` and `<name>.safetensors` from here (default env.baseUrl; in Node without either: the disk) */
  baseUrl?: string | URL;
}

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
 * const clip = await loadPretrained("clip-scenes", { baseUrl: "/models/", signal: ctl.signal, onProgress: (p) => { bar.max = p.total; bar.value = p.loaded; } });
 */
export async function loadPretrained<N extends PretrainedName>(name: N, options?: LoadOptions): Promise<Loaded<N>>;
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
  if (typeof name !== "string" || name === "") throw new Error(`loadPretrained: expected a shipped model's name or a model folder, got ${JSON.stringify(name)}`);
  const cls = PRETRAINED[name as PretrainedName];
  if (!cls) {
    const isNode = typeof (globalThis as any).process?.versions?.node === "string";
    if (/^(https?|file|blob):/.test(name) || !isNode) return loadHuggingFaceFolder(remoteFolder(name, options), name);
    const fs = await import(/* @vite-ignore */ ["node", "fs"].join(":"));
    if (!fs.existsSync(name) || !fs.statSync(name).isDirectory()) {
      throw new Error(`loadPretrained: unknown model ${JSON.stringify(name)}; shipped: ${Object.keys(PRETRAINED).join(", ")}, or give a Hugging Face model folder (no folder ${name})`);
    }
    return loadHuggingFaceFolder(localFolder(name), name);
  }
  const weightsFile = `${name}.safetensors`;
  let card: Record<string, any>, weights: Uint8Array;
  const baseUrl = options.baseUrl ?? env.baseUrl ?? undefined;
  if (baseUrl !== undefined || typeof (globalThis as any).process?.versions?.node !== "string") {
    const base = new URL(String(baseUrl ?? modelsUrl()), (globalThis as any).location?.href);
    const cardBytes = await fetchModelFile(String(new URL(`${name}.json`, base)), `${name}.json`, options);
    card = parseCard(cardBytes, String(new URL(`${name}.json`, base)));
    weights = await fetchModelFile(String(new URL(weightsFile, base)), weightsFile, { ...options, expected: card.files?.[weightsFile] });
  } else {
    const fs = await import(/* @vite-ignore */ ["node", "fs/promises"].join(":"));
    const url = await import(/* @vite-ignore */ ["node", "url"].join(":"));
    const path = await import(/* @vite-ignore */ ["node", "path"].join(":"));
    const dir = options.modelsDir ?? url.fileURLToPath(modelsUrl());
    options.signal?.throwIfAborted();
    try {
      card = parseCard(new Uint8Array(await fs.readFile(path.join(dir, `${name}.json`))), path.join(dir, `${name}.json`));
      weights = new Uint8Array(await fs.readFile(path.join(dir, weightsFile)));
    } catch (e) {
      throw new Error(`loadPretrained: cannot read ${name} from ${dir}: ${(e as Error).message}`);
    }
    options.signal?.throwIfAborted();
    await checkModelFile(weights, card.files?.[weightsFile], path.join(dir, weightsFile));
    options.onProgress?.({ file: weightsFile, loaded: weights.length, total: weights.length, status: "done", fromCache: false });
  }
  return (cls as any).fromCard(card, weights);
}

function parseCard(bytes: Uint8Array, where: string): Record<string, any> {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`loadPretrained: the model card ${where} is not JSON (${(e as Error).message})`);
  }
}
