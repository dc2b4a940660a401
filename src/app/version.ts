// Embedding version stamps: which model, preprocessing and kernel build made an embedding.  Two embeddings are
// comparable only when their stamps are equal, so caches key on the stamp and an index records the stamp of each
// space it holds; a search with other models is refused instead of silently mixing spaces.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { kernelModuleBase64 } from "../bindings/module.js";
import type { ModelRef } from "../pipelines/registry.js";
import type { ProcessingOptions } from "../pipelines/pipeline.js";
import { PolymodalError } from "../util/errors.js";

const stamps = new Map<string, string>();

/**
 * `name@<16 hex>`: SHA-256 over the model card (its preprocessing config: processor, tokenizer, features), the
 * weights file and the kernel build.  The card is hashed whole, so any edit to it counts as a new version.
 */
export function embeddingVersion(modelsDir: string, name: string): string {
  return stamped(
    `${modelsDir}\u0000${name}`,
    () =>
      `${name}@${digest([
        readFileSync(join(modelsDir, `${name}.json`)),
        readFileSync(join(modelsDir, `${name}.safetensors`)),
        Buffer.from(kernelModuleBase64()),
      ])}`,
  );
}

/** The files of a model folder that decide its embeddings (config, preprocessing, tokenizer, weights). */
const FOLDER_FILES =
  /^(config\.json|preprocessor_config\.json|tokenizer\.json|model(-\d+-of-\d+)?\.safetensors(\.index\.json)?)$/;
/** a sentence-transformers folder's modules: pooling, normalisation, sequence length and prompts decide its vectors */
const SENTENCE_FILES = [
  "modules.json",
  "sentence_bert_config.json",
  "config_sentence_transformers.json",
  "1_Pooling/config.json",
];

/**
 * `<folder name>@<16 hex>` for a Hugging Face model folder: the same digest over the names and bytes of its configs,
 * tokenizer and every weights file, and the kernel build.
 */
export function folderVersion(dir: string): string {
  return stamped(`folder\u0000${dir}`, () => {
    const files = [
      ...readdirSync(dir).filter((f) => FOLDER_FILES.test(f)),
      ...SENTENCE_FILES.filter((f) => existsSync(join(dir, f))),
    ].sort();
    const parts = files.flatMap((f) => [Buffer.from(f), readFileSync(join(dir, f))]);
    return `${basename(resolve(dir))}@${digest([...parts, Buffer.from(kernelModuleBase64())])}`;
  });
}

/**
 * The stamp of a registry model: a shipped one's from modelsDir, a folder's from the folder; "+exif" when its
 * processors turn JPEGs by their EXIF orientation (those embeddings differ for turned photos).
 */
export function versionOf(ref: ModelRef, modelsDir: string, processing: ProcessingOptions = {}): string {
  const base =
    "shipped" in ref.source ? embeddingVersion(modelsDir, ref.source.shipped) : folderVersion(ref.source.folder);
  const exif = processing.exifTranspose && ref.tasks.embed?.kinds.includes("image") ? "+exif" : "";
  // a plain text encoder folder's pooling (a sentence-transformers folder refuses another than its own)
  const pool = processing.pooling && ref.tasks.embed?.space === "text" ? `+${processing.pooling}` : "";
  return base + exif + pool;
}

/** A stamp computed once per process. */
function stamped(key: string, make: () => string): string {
  let s = stamps.get(key);
  if (!s) {
    s = make();
    stamps.set(key, s);
  }
  return s;
}

/** The first 16 hex of SHA-256 over length-prefixed parts (so no two part lists hash alike). */
function digest(parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const part of parts) {
    h.update(String(part.length) + ":");
    h.update(part);
  }
  return h.digest("hex").slice(0, 16);
}

export class VersionMismatchError extends PolymodalError {
  constructor(message: string) {
    super("version_mismatch", message);
  }
}
