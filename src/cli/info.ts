// `polymodal info`: the shipped models (size, parameters, metrics from their cards), the build and the runtime.
import * as core from "../core/index.js";
import { readFileSync, statSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { kernelModuleBytes } from "../bindings/module.js";
import { relaxedSimdSupport } from "../bindings/relaxed-probe.js";
import { modelsUrl } from "../pipelines/pretrained.js";
import { loadSafetensors } from "../io/safetensors.js";

export async function info(modelsDir: string | undefined, json: boolean): Promise<string> {
  const dir = modelsDir ?? fileURLToPath(modelsUrl());
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8"));
  const models = readdirSync(dir)
    .filter((f) => f.endsWith(".json") && !f.startsWith("."))
    .sort()
    .flatMap((f) => {
      const name = f.slice(0, -5),
        w = join(dir, `${name}.safetensors`);
      const st = statSync(w, { throwIfNoEntry: false });
      if (!st) return [];
      const card = JSON.parse(readFileSync(join(dir, f), "utf8"));
      const sd = loadSafetensors(readFileSync(w));
      const params = Object.values(sd).reduce((n, t) => n + t.size, 0);
      const measured = card.metrics_polymodal
        ? "through polymodal"
        : "in PyTorch (the tests check polymodal reproduces them)";
      // the cards say "seed architecture" (their stamps hash them, so they stay as written): users know it as the
      // reference design
      return [
        {
          name,
          model: String(card.model).replace("seed architecture", "the reference design"),
          params,
          bytes: st.size,
          measured,
          metrics: card.metrics_polymodal ?? card.metrics_pytorch ?? {},
          int8: card.metrics_polymodal_int8 ?? null,
        },
      ];
    });
  const wasmBytes = kernelModuleBytes();
  const simd = WebAssembly.validate(
    new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
    ]),
  );
  const r = {
    polymodal: pkg.version,
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    wasm: {
      bytes: wasmBytes,
      simd128: simd,
      relaxedSimd: relaxedSimdSupport(),
      build: core.simdBuild(),
      threads: core.threadCount(),
    },
    modelsDir: dir,
    models,
  };
  if (json) return JSON.stringify(r, null, 1);
  const lines = [
    `polymodal ${r.polymodal}  (node ${r.node}, ${r.platform})`,
    `wasm core: ${(wasmBytes / 1024).toFixed(0)} KiB, ` +
      `SIMD128 ${simd ? "supported" : "NOT supported by this engine"}, relaxed SIMD ` +
      (r.wasm.relaxedSimd.supported
        ? `supported (${r.wasm.relaxedSimd.fused ? "fused multiply-add" : "not fused on this CPU"})`
        : "not supported by this engine") +
      `, ${r.wasm.threads} thread${r.wasm.threads > 1 ? "s" : ""}`,
    `kernel build: ${r.wasm.build}` +
      (r.wasm.build === "exact"
        ? " (bit-identical results everywhere; --simd relaxed for the faster fused multiply-add build)"
        : " (--simd relaxed: fused multiply-add, the same bits on every engine with FMA, not the exact build's)"),
    `models (${dir}):`,
    ...models.map(
      (m) =>
        `  ${m.name.padEnd(13)} ${m.model}  ${(m.params / 1e6).toFixed(2)} M params, ${(m.bytes / 1e6).toFixed(1)} MB` +
        (Object.keys(m.metrics).length ? `\n${" ".repeat(16)}${m.measured}: ${numbers(m.metrics)}` : "") +
        (m.int8 ? `\n${" ".repeat(16)}quantised to int8 (quantizeModel, --int8): ${numbers(m.int8)}` : ""),
    ),
  ];
  return lines.join("\n");
}

function numbers(metrics: Record<string, unknown>): string {
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : (v as number).toFixed(3)}`)
    .join(", ");
}
