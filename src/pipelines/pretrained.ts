// The models shipped in the package (models/*.safetensors + model cards), loaded by name.
import { SpeechRecognizer } from "./speech.js";
import { ImageTextEmbedder, AudioEmbedder, VideoTextEmbedder } from "./embedders.js";

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

/**
 * Loads a shipped model by name: in Node from the package's models/ folder (or `modelsDir`); in a browser from
 * `baseUrl` (where you serve models/), or pass the card and weights yourself to the pipeline's fromCard().
 * @example
 * const asr = await loadPretrained("asr-words");
 * asr.transcribe(readFileSync("digits.wav")).text;
 */
export async function loadPretrained<N extends PretrainedName>(name: N, options: { modelsDir?: string; baseUrl?: string | URL } = {}): Promise<Loaded<N>> {
  const cls = PRETRAINED[name];
  if (!cls) throw new Error(`loadPretrained: unknown model ${JSON.stringify(name)}; shipped: ${Object.keys(PRETRAINED).join(", ")}`);
  let card: Record<string, any>, weights: Uint8Array;
  if (options.baseUrl !== undefined || typeof (globalThis as any).process?.versions?.node !== "string") {
    const base = new URL(String(options.baseUrl ?? modelsUrl()), (globalThis as any).location?.href);
    const get = async (f: string): Promise<Response> => {
      const r = await fetch(new URL(f, base));
      if (!r.ok) throw new Error(`loadPretrained: fetching ${new URL(f, base)} gave HTTP ${r.status}`);
      return r;
    };
    card = await (await get(`${name}.json`)).json();
    weights = new Uint8Array(await (await get(`${name}.safetensors`)).arrayBuffer());
  } else {
    const fs = await import(/* @vite-ignore */ ["node", "fs/promises"].join(":"));
    const url = await import(/* @vite-ignore */ ["node", "url"].join(":"));
    const path = await import(/* @vite-ignore */ ["node", "path"].join(":"));
    const dir = options.modelsDir ?? url.fileURLToPath(modelsUrl());
    try {
      card = JSON.parse(await fs.readFile(path.join(dir, `${name}.json`), "utf8"));
      weights = new Uint8Array(await fs.readFile(path.join(dir, `${name}.safetensors`)));
    } catch (e) {
      throw new Error(`loadPretrained: cannot read ${name} from ${dir}: ${(e as Error).message}`);
    }
  }
  return (cls as any).fromCard(card, weights) as Loaded<N>;
}
