import * as core from "./core/index.js";

/** WASM memory in use: total reserved bytes and bytes held by long-lived blocks (plans, weights). */
export function memoryStats(): { wasmBytes: number; persistentBytes: number } {
  const heap = core.heap();
  return { wasmBytes: heap.byteLength, persistentBytes: heap.persistentBytes };
}
