// The kernel table (src/bindings/kernels.ts) against both compiled modules and the repository: every exported
// function has exactly one row with its arity, every row names a core wrapper that calls it, tests that exist and
// a benchmark group that exists; the geometry globals agree between the builds.  The checks are functions, run
// once on the real table and once on broken copies, so this file also shows that they fail when they should.
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

  it("matches both compiled modules: names, arity, geometry", () => {
    expect(moduleMismatches(KERNELS, single)).toEqual([]);
    expect(moduleMismatches(KERNELS, threaded)).toEqual([]);
    for (const g of GEOMETRY)
      expect((threaded.exports[g] as WebAssembly.Global).value, g).toBe(
        (single.exports[g] as WebAssembly.Global).value,
      );
    expect((single.exports.SGEMM_PANEL_COLS as WebAssembly.Global).value).toBe(8);
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
  });
});
