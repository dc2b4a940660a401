import { defineConfig } from "vitest/config";

// Node 20 validates relaxed SIMD only behind a V8 flag (Node 22+ ship it and reject the flag); the relaxed project
// needs it, and the exact build never uses it.
const node20 = process.versions.node.startsWith("20.");

// The files that compare the kernels and models with PyTorch's outputs; the "relaxed" project runs them again on the
// relaxed build (docs/relaxed-simd.md: same tolerances, different bits).
const PARITY = [
  "kernels",
  "int8-scan",
  "kernel-edges",
  "models",
  "hf-clip",
  "hf-bert",
  "hf-wav2vec2",
  "hf-whisper",
  "vision",
  "audio",
  "text",
  "trained-clip",
  "quantized",
  "shipped-models",
  "speech-conditions",
  "onnx-export",
].map((f) => `test/${f}.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    execArgv: node20 ? ["--experimental-wasm-relaxed-simd"] : [],
    projects: [
      { extends: true, test: { name: "exact", include: ["test/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "relaxed",
          include: PARITY,
          setupFiles: ["test/setup-simd.ts"],
          env: { POLYMODAL_SIMD: "relaxed" },
        },
      },
    ],
  },
});
