import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSafetensors } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import type { Case } from "./cases.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

export function loadKernelFixtures(): { cases: Case[]; tensors: Record<string, Tensor> } {
  const manifest = JSON.parse(readFileSync(join(dir, "kernels.json"), "utf8"));
  const tensors = loadSafetensors(readFileSync(join(dir, "kernels.safetensors")));
  return { cases: manifest.cases, tensors };
}

export function caseTensors(c: Case, all: Record<string, Tensor>, names: string[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const n of names) out[n] = all[`${c.id}.${n}`];
  return out;
}
