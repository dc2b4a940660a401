// The models shipped in the package (models/<name>.json cards + <name>.safetensors weights): their names, spelled
// here only, each with the pipeline class that reads its card.
import { SpeechRecognizer } from "./speech.js";
import { ImageTextEmbedder, AudioEmbedder, VideoTextEmbedder } from "./embedders.js";
import { env } from "./env.js";
import { checkModelFile, fetchModelFile, type FetchOptions } from "./model-files.js";
import { isNode, nodeImport } from "../util/runtime.js";
import type { ProcessingOptions } from "./pipeline.js";

export const SHIPPED = {
  "clip-scenes": ImageTextEmbedder,
  "asr-words": SpeechRecognizer,
  "audio-events": AudioEmbedder,
  "video-text": VideoTextEmbedder,
} as const;
export type ShippedName = keyof typeof SHIPPED;
export type Shipped<N extends ShippedName> = ReturnType<(typeof SHIPPED)[N]["fromCard"]>;

export function isShipped(name: string): name is ShippedName {
  return Object.hasOwn(SHIPPED, name);
}

/** Where the shipped models live: <package>/models/ (from dist/pipelines/ or src/pipelines/). */
export function modelsUrl(): URL {
  return new URL("../../models/", import.meta.url);
}

export interface LoadOptions extends FetchOptions, ProcessingOptions {
  /** Node: read the model from this folder (default: the package's models/) */
  modelsDir?: string;
  /** fetch `<name>.json` and `<name>.safetensors` from here (default env.baseUrl; in Node without either: the disk) */
  baseUrl?: string | URL;
}

/**
 * A shipped model: in Node from the package's models/ folder (or `modelsDir`); in a browser, or with `baseUrl`,
 * over HTTP with progress, cancellation and the model cache.  The weights must have the size and SHA-256 the card
 * records, or the load fails naming both.
 */
export async function loadShipped<N extends ShippedName>(name: N, options: LoadOptions = {}): Promise<Shipped<N>> {
  const weightsFile = `${name}.safetensors`;
  let card: Record<string, any>, weights: Uint8Array;
  const baseUrl = options.baseUrl ?? env.baseUrl ?? undefined;
  if (baseUrl !== undefined || !isNode) {
    const base = new URL(String(baseUrl ?? modelsUrl()), (globalThis as any).location?.href);
    const cardBytes = await fetchModelFile(String(new URL(`${name}.json`, base)), `${name}.json`, options);
    card = parseCard(cardBytes, String(new URL(`${name}.json`, base)));
    weights = await fetchModelFile(String(new URL(weightsFile, base)), weightsFile, {
      ...options,
      expected: card.files?.[weightsFile],
    });
  } else {
    const [fs, url, path] = await Promise.all([nodeImport("fs/promises"), nodeImport("url"), nodeImport("path")]);
    const dir = options.modelsDir ?? url.fileURLToPath(modelsUrl());
    options.signal?.throwIfAborted();
    try {
      card = parseCard(
        new Uint8Array(await fs.readFile(path.join(dir, `${name}.json`))),
        path.join(dir, `${name}.json`),
      );
      weights = new Uint8Array(await fs.readFile(path.join(dir, weightsFile)));
    } catch (e) {
      throw new Error(`loadPretrained: cannot read ${name} from ${dir}: ${(e as Error).message}`);
    }
    options.signal?.throwIfAborted();
    await checkModelFile(weights, card.files?.[weightsFile], path.join(dir, weightsFile));
    options.onProgress?.({
      file: weightsFile,
      loaded: weights.length,
      total: weights.length,
      status: "done",
      fromCache: false,
    });
  }
  const build = SHIPPED[name] as { fromCard(card: unknown, weights: Uint8Array, o: ProcessingOptions): unknown };
  return build.fromCard(card, weights, { exifTranspose: options.exifTranspose }) as Shipped<N>;
}

function parseCard(bytes: Uint8Array, where: string): Record<string, any> {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`loadPretrained: the model card ${where} is not JSON (${(e as Error).message})`);
  }
}
