// The kernel table (src/bindings/kernels.ts) against the four compiled modules and the repository: every exported
// function has exactly one row with its arity, every row names a core wrapper that calls it, tests that exist and
// a benchmark group that exists; the geometry globals agree between each build's single-thread and threaded
// modules; the relaxed build holds relaxed-SIMD code in exactly the kernels whose build column says so.  The checks
// are functions, run once on the real table and once on broken copies, so this file also shows that they fail when
// they should.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KERNELS, GEOMETRY, type KernelSpec } from "../src/bindings/kernels.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
type Table = Record<string, KernelSpec>;

function instantiate(file: string): WebAssembly.Instance {
  const mod = new WebAssembly.Module(readFileSync(join(root, "build", file)));
  const shared = file.includes("threads");
  const memory = new WebAssembly.Memory(shared ? { initial: 16, maximum: 1024, shared: true } : { initial: 16 });
  return new WebAssembly.Instance(mod, { env: { memory } });
}

/** Differences between a table and a module's exports: names both ways, arity, geometry globals. */
export function moduleMismatches(table: Table, inst: WebAssembly.Instance): string[] {
  const out: string[] = [];
  const fns = Object.entries(inst.exports).filter(([, v]) => typeof v === "function") as Array<
    [string, (...a: number[]) => unknown]
  >;
  for (const [name, fn] of fns) {
    const row = table[name];
    if (!row) out.push(`${name}: exported by the module but not in the kernel table`);
    else if (fn.length !== row.args.length)
      out.push(`${name}: the module takes ${fn.length} arguments, the table lists ${row.args.length}`);
  }
  for (const name of Object.keys(table))
    if (!fns.some(([n]) => n === name)) out.push(`${name}: in the kernel table but not exported by the module`);
  for (const g of ["HEAP_BASE", ...GEOMETRY])
    if (!(inst.exports[g] instanceof WebAssembly.Global)) out.push(`${g}: global missing`);
  return out;
}

/**
 * Exported kernels whose code, or a function it calls, holds a relaxed-SIMD instruction, read from the module's
 * disassembly (Binaryen's wasm-dis: one "(func $name" per function, "(call $name" per call).
 */
export function relaxedKernels(wat: string): Set<string> {
  const bodies = new Map<string, string>();
  const parts = wat.split(/\n \(func /);
  for (const p of parts.slice(1)) bodies.set(p.slice(0, p.search(/[\s(]/)), p);
  const memo = new Map<string, boolean>();
  const uses = (f: string): boolean => {
    if (memo.has(f)) return memo.get(f)!;
    memo.set(f, false); // a recursive call adds nothing
    const body = bodies.get(f) ?? "";
    const r = /\brelaxed_/.test(body) || [...body.matchAll(/\(call (\$[^\s)]+)/g)].some((m) => uses(m[1]));
    memo.set(f, r);
    return r;
  };
  const out = new Set<string>();
  for (const m of wat.matchAll(/\(export "([^"]+)" \(func (\$[^\s)]+)\)\)/g)) if (uses(m[2])) out.add(m[1]);
  return out;
}

/** Differences between the table's build column and the kernels that hold relaxed-SIMD code. */
export function buildColumnMismatches(table: Table, relaxed: Set<string>): string[] {
  const out: string[] = [];
  for (const [name, row] of Object.entries(table)) {
    if (row.relaxed && !relaxed.has(name))
      out.push(`${name}: the table says relaxed "${row.relaxed}", but the relaxed build's code has no relaxed SIMD`);
    if (!row.relaxed && relaxed.has(name))
      out.push(`${name}: the relaxed build's code holds relaxed SIMD, but the table's build column is empty`);
  }
  return out;
}

const disassemble = (file: string): string =>
  execFileSync(join(root, "node_modules/.bin/wasm-dis"), [join(root, "build", file)], {
    maxBuffer: 64 << 20,
  }).toString();

const fileHas = (path: string, text: string): boolean => existsSync(path) && readFileSync(path, "utf8").includes(text);

/** Rows whose wrapper, tests or benchmark are missing from the repository. */
export function repoMismatches(table: Table): string[] {
  const out: string[] = [];
  const bench = readFileSync(join(root, "bench/run.mjs"), "utf8");
  for (const [name, row] of Object.entries(table)) {
    if (row.core !== null) {
      const f = join(root, "src/core", row.core);
      if (!fileHas(f, `.${name}(`) && !fileHas(f, `"${name}"`))
        out.push(`${name}: src/core/${row.core} does not call it`);
    }
    if (row.tests.length === 0) out.push(`${name}: no tests named`);
    for (const t of row.tests) {
      const [file, ...rest] = t.split(": ");
      const text = rest.join(": ");
      const path = file.endsWith(".json") ? join(root, "test/fixtures", file) : join(root, "test", file);
      if (!fileHas(path, text)) out.push(`${name}: test reference "${t}" not found`);
    }
    if (!bench.includes(`only === "${row.bench}"`))
      out.push(`${name}: bench group "${row.bench}" does not exist in bench/run.mjs`);
  }
  return out;
}

describe("kernel table", () => {
  const single = instantiate("polymodal.wasm"),
    threaded = instantiate("polymodal-threads.wasm");
  const relaxed = instantiate("polymodal-relaxed.wasm"),
    relaxedThreaded = instantiate("polymodal-relaxed-threads.wasm");
  const geometry = (inst: WebAssembly.Instance, g: string) => (inst.exports[g] as WebAssembly.Global).value;

  it("matches both compiled modules: names, arity, geometry", () => {
    expect(moduleMismatches(KERNELS, single)).toEqual([]);
    expect(moduleMismatches(KERNELS, threaded)).toEqual([]);
    for (const g of GEOMETRY)
      expect((threaded.exports[g] as WebAssembly.Global).value, g).toBe(
        (single.exports[g] as WebAssembly.Global).value,
      );
    expect((single.exports.SGEMM_PANEL_COLS as WebAssembly.Global).value).toBe(8);
  });

  it("the relaxed build: names, arity, geometry, and relaxed SIMD in exactly the kernels of its build column", () => {
    expect(moduleMismatches(KERNELS, relaxed)).toEqual([]);
    expect(moduleMismatches(KERNELS, relaxedThreaded)).toEqual([]);
    for (const g of GEOMETRY) expect(geometry(relaxedThreaded, g), g).toBe(geometry(relaxed, g));
    // a five-row register tile (assembly/gemm-tile.ts tile5); the host reads it from the module
    expect([geometry(single, "SGEMM_TILE_ROWS"), geometry(relaxed, "SGEMM_TILE_ROWS")]).toEqual([4, 5]);
    for (const file of ["polymodal-relaxed.wasm", "polymodal-relaxed-threads.wasm"]) {
      const used = relaxedKernels(disassemble(file));
      expect(buildColumnMismatches(KERNELS, used), file).toEqual([]);
    }
    expect([...relaxedKernels(disassemble("polymodal.wasm"))]).toEqual([]);
  });

  it("every kernel names a core wrapper that calls it, tests that exist and a benchmark group", () => {
    expect(Object.keys(KERNELS).length).toBeGreaterThan(40);
    expect(repoMismatches(KERNELS)).toEqual([]);
  });

  it("the checks fail when the table is wrong", () => {
    const { scan_f32, ...missing } = KERNELS;
    expect(moduleMismatches(missing, single)).toEqual(["scan_f32: exported by the module but not in the kernel table"]);
    expect(moduleMismatches({ ...KERNELS, frob: scan_f32 }, single)).toEqual([
      "frob: in the kernel table but not exported by the module",
    ]);
    expect(moduleMismatches({ ...KERNELS, scan_f32: { ...scan_f32, args: ["q", "X"] } }, single)).toEqual([
      "scan_f32: the module takes 6 arguments, the table lists 2",
    ]);
    expect(
      repoMismatches({
        scan_f32: { ...scan_f32, core: "gemm.ts", tests: ["int8-scan.test.ts: no such case"], bench: "nope" },
      }),
    ).toEqual([
      "scan_f32: src/core/gemm.ts does not call it",
      'scan_f32: test reference "int8-scan.test.ts: no such case" not found',
      'scan_f32: bench group "nope" does not exist in bench/run.mjs',
    ]);
    const used = relaxedKernels(disassemble("polymodal-relaxed.wasm"));
    expect(used.has("sgemm_packed") && used.has("lstm_steps_f32")).toBe(true); // lstm_steps_f32 only via a call
    const { sgemm_packed, ...rest } = KERNELS;
    expect(
      buildColumnMismatches(
        { ...rest, sgemm_packed: { ...sgemm_packed, relaxed: undefined }, scan_f32: { ...scan_f32, relaxed: "madd" } },
        used,
      ).sort(),
    ).toEqual([
      'scan_f32: the table says relaxed "madd", but the relaxed build\'s code has no relaxed SIMD',
      "sgemm_packed: the relaxed build's code holds relaxed SIMD, but the table's build column is empty",
    ]);
  });
});
