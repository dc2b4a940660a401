// @tensorflow/tfjs-backend-wasm (XNNPACK inside), single-threaded, SIMD build.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

let tf = null;

export async function loadTfjs() {
  if (tf) return tf;
  const require = createRequire(import.meta.url);
  tf = await import("@tensorflow/tfjs-core");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const dir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  wasm.setWasmPaths(join(dir, "dist") + "/");
  wasm.setThreadsCount(1);
  await tf.setBackend("wasm");
  await tf.ready();
  return tf;
}
