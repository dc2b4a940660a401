// onnxruntime-web's WASM backend, single-threaded (its SIMD build).
let ort = null;

export async function loadOrt() {
  if (ort) return ort;
  ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  return ort;
}

export async function session(bytes) {
  const o = await loadOrt();
  return o.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
}
