import { rt } from "./bindings/module.js";

/** WASM memory in use: total reserved bytes and bytes held by long-lived blocks (plans, weights). */
export function memoryStats(): { wasmBytes: number; persistentBytes: number } {
  const { heap } = rt();
  return { wasmBytes: heap.byteLength, persistentBytes: heap.persistentBytes };
}
