// Embedding version stamps: which model, preprocessing and kernel build made an embedding.  Two embeddings are
// comparable only when their stamps are equal, so caches key on the stamp and an index records the stamp of each
// space it holds; a search with other models is refused instead of silently mixing spaces.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { kernelModuleBase64 } from "../bindings/module.js";

const stamps = new Map<string, string>();

/**
 * `name@<16 hex>`: SHA-256 over the model card (its preprocessing config: processor, tokenizer, features), the
 * weights file and the kernel build.  The card is hashed whole, so any edit to it counts as a new version.
 */
export function embeddingVersion(modelsDir: string, name: string): string {
  const key = `${modelsDir}\u0000${name}`;
  let s = stamps.get(key);
  if (!s) {
    const h = createHash("sha256");
    for (const part of [readFileSync(join(modelsDir, `${name}.json`)), readFileSync(join(modelsDir, `${name}.safetensors`)), Buffer.from(kernelModuleBase64())]) {
      h.update(String(part.length) + ":");
      h.update(part);
    }
    s = `${name}@${h.digest("hex").slice(0, 16)}`;
    stamps.set(key, s);
  }
  return s;
}

/**
 * `<folder name>@<16 hex>` for a Hugging Face model folder: SHA-256 over its configs, tokenizer, every weights file
 * and the kernel build, as embeddingVersion does for a shipped model.
 */
export function folderVersion(dir: string): string {
  const key = `folder\u0000${dir}`;
  let s = stamps.get(key);
  if (!s) {
    const files = readdirSync(dir).filter((f) => /^(config\.json|preprocessor_config\.json|tokenizer\.json|model(-\d+-of-\d+)?\.safetensors(\.index\.json)?)$/.test(f)).sort();
    const h = createHash("sha256");
    for (const f of files) {
      const part = readFileSync(join(dir, f));
      h.update(`${f}:${part.length}:`);
      h.update(part);
    }
    const k = Buffer.from(kernelModuleBase64());
    h.update(`kernels:${k.length}:`);
    h.update(k);
    s = `${basename(resolve(dir))}@${h.digest("hex").slice(0, 16)}`;
    stamps.set(key, s);
  }
  return s;
}

export class VersionMismatchError extends Error {
  readonly exitCode = 1;
}
