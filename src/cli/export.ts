// `polymodal export <model> <out.onnx>`: a model as ONNX, with the sample inputs its pipeline declares.
import { MultimodalModelOptimizer } from "../optimize/optimizer.js";
import { resolveModel } from "../pipelines/registry.js";
import { SHIPPED, isShipped } from "../pipelines/shipped.js";
import type { Models } from "../app/models.js";
import { existsSync } from "node:fs";
import { UsageError } from "./args.js";

/** What `export` takes: a shipped model's name, or a model folder. */
export const EXPORTABLE = `${Object.keys(SHIPPED).join(", ")}, or a Hugging Face model folder`;

/** Writes the ONNX file; returns a one-line description of its inputs. */
export async function exportModel(name: string, path: string, models: Models): Promise<string> {
  if (!isShipped(name) && !existsSync(name))
    throw new UsageError(`export: unknown model ${JSON.stringify(name)} (${EXPORTABLE})`);
  const { module, inputs } = (
    await models.load(await resolveModel(name, { modelsDir: models.modelsDir }))
  ).exportSample();
  await MultimodalModelOptimizer.exportOnnx(module, inputs, path);
  return Object.entries(inputs)
    .map(([k, t]) => `${k} [${t.shape.join(", ")}]`)
    .join(", ");
}
