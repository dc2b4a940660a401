// The shipped kernel module: no relaxed-SIMD instruction (their results differ between machines), no import
// but the memory, and the inlined copy equals the built file.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { WASM_BASE64 } from "../src/bindings/wasm-inline.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wasmPath = join(root, "build/polymodal.wasm");

describe("built wasm module", () => {
  const bytes = readFileSync(wasmPath);

  it("holds no relaxed-SIMD instruction", () => {
    const wat = execFileSync(join(root, "node_modules/.bin/wasm-dis"), [wasmPath], { maxBuffer: 64 << 20 }).toString();
    expect(wat.length).toBeGreaterThan(10000);
    expect(wat).toMatch(/f32x4\.mul/); // the disassembly does show SIMD
    const relaxed = wat.match(/\brelaxed[_a-z0-9.]*/g) ?? [];
    expect(relaxed, "relaxed-SIMD opcodes in the default build").toEqual([]);
    expect(wat).not.toMatch(/\bf32x4\.(relaxed_)?(madd|nmadd)\b/);
  });

  it("imports only its memory and compiles without any feature flag", async () => {
    const mod = await WebAssembly.compile(bytes);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
  });

  it("the inlined copy is the built file", () => {
    expect(Buffer.from(WASM_BASE64, "base64").equals(bytes)).toBe(true);
  });
});
