// The source tree's architecture, checked on the import graph of src/ (docs/concepts.md draws it):
//   1. only src/core/ calls kernels: no file outside src/core/ and src/bindings/ reaches the kernel exports
//      (it may import src/core/index.ts, which does not export them, and init() from bindings/module.ts);
//   2. nothing imports upward: each folder has a layer, and an import may only go to the same or a lower one;
//   3. no import cycles;
//   4. the upper floors route by what pipelines declare: only pipelines/shipped.ts names a shipped model, only
//      pipelines/pipeline.ts spells the list of index spaces, and nothing above pipelines/ tests a pipeline's class;
//   5. only util/runtime.ts asks whether this is Node or builds a node: specifier;
//   6. errors carry a code of the one family (util/errors.ts): no exit code below cli/, no status stamped on an Error;
//   7. one serving stack: the library's serving pipeline and the service share the batcher (only serving/batcher.ts
//      makes queue-full and deadline errors), the cache (only serving/cache.ts keeps an LRU) and the worker
//      protocol (above pipelines/, only serving/worker-rpc.ts posts or listens for worker messages).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");

/** Layer of each part of src/ (a folder, or a file at the top); imports may only go to a layer <= their own. */
export const LAYERS: Record<string, number> = {
  bindings: 0,
  "tensor.ts": 0,
  util: 0,
  core: 1,
  ops: 2,
  "functional.ts": 2,
  "memory.ts": 2,
  io: 2,
  audio: 3,
  vision: 3,
  video: 3,
  text: 3,
  nn: 4,
  retrieval: 5,
  models: 6,
  onnx: 7,
  optimize: 8,
  pipelines: 9,
  serving: 9,
  app: 10,
  server: 11,
  cli: 12,
  "index.ts": 13,
  "worker.ts": 13,
};

/** What a file outside src/core/ and src/bindings/ may import from src/bindings/. */
const BINDINGS_ALLOWED: Record<string, string[]> = {
  "bindings/module.js": [
    "init",
    "isInitialized",
    "kernelModuleBytes",
    "kernelModuleBase64",
    "InitOptions",
    "WasmSource",
    "Runtime",
    "SimdBuild",
    "SIMD_BUILDS",
  ],
  "bindings/relaxed-probe.js": ["relaxedSimdSupport", "RelaxedSimdSupport"],
};

export interface Import {
  from: string;
  to: string;
  names: string[];
}

function listTs(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) listTs(p, out);
    else if (n.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Static relative imports and re-exports of every .ts file under src/ (paths relative to src/, .ts). */
export function importGraph(): Import[] {
  const out: Import[] = [];
  for (const f of listTs(src)) {
    const text = readFileSync(f, "utf8");
    const re = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+"(\.[^"]+)"/g;
    for (let m; (m = re.exec(text)); ) {
      const names = (m[2].match(/\{([^}]*)\}/)?.[1] ?? m[2])
        .split(",")
        .map(
          (s) =>
            s
              .trim()
              .replace(/^type\s+/, "")
              .split(/\s+as\s+/)[0],
        )
        .filter(Boolean);
      out.push({ from: relative(src, f), to: relative(src, resolve(dirname(f), m[3])).replace(/\.js$/, ".ts"), names });
    }
  }
  return out;
}

const part = (p: string): string => (p.includes("/") ? p.split("/")[0] : p);

/** Violations of rule 1 in a graph. */
export function kernelReach(graph: Import[]): string[] {
  const bad: string[] = [];
  for (const i of graph) {
    const inside = ["core", "bindings"].includes(part(i.from));
    if (inside) continue;
    if (part(i.to) === "core" && i.to !== "core/index.ts") bad.push(`${i.from} imports ${i.to} (use core/index.ts)`);
    if (part(i.to) === "bindings") {
      const allowed = BINDINGS_ALLOWED[i.to.replace(/\.ts$/, ".js")] ?? [];
      for (const n of i.names) if (!allowed.includes(n)) bad.push(`${i.from} imports ${n} from ${i.to}`);
    }
  }
  return bad;
}

/** Violations of rule 2 in a graph. */
export function upward(graph: Import[]): string[] {
  const bad: string[] = [];
  for (const i of graph) {
    const a = LAYERS[part(i.from)],
      b = LAYERS[part(i.to)];
    if (a === undefined) bad.push(`${i.from}: ${part(i.from)} has no layer in test/layers.test.ts`);
    else if (b === undefined) bad.push(`${i.to}: ${part(i.to)} has no layer in test/layers.test.ts`);
    else if (b > a) bad.push(`${i.from} (layer ${a}, ${part(i.from)}) imports ${i.to} (layer ${b}, ${part(i.to)})`);
  }
  return bad;
}

/** Import cycles (each as a path of files). */
export function cycles(graph: Import[]): string[][] {
  const adj = new Map<string, string[]>();
  for (const i of graph) adj.set(i.from, [...(adj.get(i.from) ?? []), i.to]);
  const state = new Map<string, number>(),
    stack: string[] = [],
    found: string[][] = [];
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const m of adj.get(n) ?? []) {
      if (state.get(m) === 1) found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of adj.keys()) if (!state.has(n)) visit(n);
  return found;
}

/** Each file's text, by path relative to src/. */
export function sources(): Map<string, string> {
  return new Map(listTs(src).map((f) => [relative(src, f), readFileSync(f, "utf8")]));
}

/** A file's code with its comments blanked (strings kept). */
const code = (text: string): string => text.replace(/\/\*[\s\S]*?\*\/|(^|[^:"'`])\/\/.*$/gm, (_m, pre) => pre ?? "");

const MODEL_NAME = /"(clip-scenes|audio-events|video-text|asr-words)"/;
const SPACE_LIST = /\[\s*"image",\s*"audio",\s*"video"(,\s*"text")?\s*\]/;
const CLASS_TEST =
  /instanceof\s+(ImageTextEmbedder|AudioEmbedder|VideoTextEmbedder|SpeechRecognizer|HFCLIPModel|CLIPModel)\b/;
const UPPER = ["server", "serving", "app", "cli", "worker.ts", "index.ts"];

/** Violations of rule 4 in a source map. */
export function namedAbovePipelines(files: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [f, raw] of files) {
    const text = code(raw);
    if (f !== "pipelines/shipped.ts" && MODEL_NAME.test(text))
      bad.push(`${f} names a shipped model (${MODEL_NAME.exec(text)![1]}): ask the registry`);
    if (f !== "pipelines/pipeline.ts" && SPACE_LIST.test(text)) bad.push(`${f} spells the list of spaces: use SPACES`);
    if (UPPER.includes(part(f)) && CLASS_TEST.test(text))
      bad.push(`${f} tests a pipeline's class (${CLASS_TEST.exec(text)![1]}): route by its tasks`);
  }
  return bad;
}

/** Violations of rule 5 in a source map. */
export function runtimeSniffing(files: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [f, raw] of files) {
    const text = code(raw);
    if (f === "util/runtime.ts") continue;
    if (/typeof\s+[^;\n]*versions\??\.node/.test(text))
      bad.push(`${f} detects Node itself: use isNode from util/runtime.ts`);
    if (/\[\s*"node",/.test(text)) bad.push(`${f} builds a node: specifier: use nodeImport from util/runtime.ts`);
  }
  return bad;
}

/** Violations of rule 6 in a source map. */
export function stampedErrors(files: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [f, raw] of files) {
    const text = code(raw);
    if (/Object\.assign\(\s*new \w*Error/.test(text))
      bad.push(`${f} stamps fields onto an Error: throw a PolymodalError with its code`);
    if (part(f) !== "cli" && /(?<!process\.)\bexitCode\b/.test(text))
      bad.push(`${f} knows exit codes: only cli/ maps error codes to them`);
  }
  return bad;
}

/** Violations of rule 7 in a source map. */
export function secondServingStack(files: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [f, raw] of files) {
    const text = code(raw);
    if (f !== "serving/batcher.ts" && /(super|PolymodalError)\(\s*"(busy|timeout)"/.test(text))
      bad.push(`${f} makes its own queue-full or deadline error: use serving/batcher.ts`);
    if (f !== "serving/cache.ts" && /\.keys\(\)\.next\(\)\.value/.test(text))
      bad.push(`${f} keeps its own LRU: use LruCache from serving/cache.ts`);
    if (UPPER.includes(part(f)) && f !== "serving/worker-rpc.ts" && /\.postMessage\(|\.on\(\s*"message"/.test(text))
      bad.push(`${f} speaks its own worker protocol: use serving/worker-rpc.ts`);
  }
  return bad;
}

describe("source architecture", () => {
  const graph = importGraph();

  it("reads the import graph", () => {
    expect(graph.length).toBeGreaterThan(200);
    expect(graph).toContainEqual(expect.objectContaining({ from: "ops/linear.ts", to: "core/index.ts" }));
  });

  it("only src/core/ calls kernels", () => {
    expect(kernelReach(graph)).toEqual([]);
    // core's public surface does not hand the kernel exports out
    const index = readFileSync(join(src, "core/index.ts"), "utf8");
    expect(index).not.toMatch(/\bkernels\b\s*[,}]/);
    // and the check bites: a model file reaching the kernels is reported
    expect(kernelReach([...graph, { from: "models/clip.ts", to: "bindings/module.ts", names: ["rt"] }])).toEqual([
      "models/clip.ts imports rt from bindings/module.ts",
    ]);
    expect(kernelReach([{ from: "nn/linear.ts", to: "core/runtime.ts", names: ["kernels"] }])).toHaveLength(1);
  });

  it("nothing imports upward", () => {
    expect(upward(graph)).toEqual([]);
    expect(upward([{ from: "models/optimizer.ts", to: "onnx/export.ts", names: [] }])).toHaveLength(1);
  });

  it("the upper floors route by declaration: model names, the space list and class tests stay in pipelines/", () => {
    const files = sources();
    expect(namedAbovePipelines(files)).toEqual([]);
    // and the check bites on a broken copy of each rule
    const broken = (f: string, line: string): Map<string, string> =>
      new Map([...files, [f, `${files.get(f)}\n${line}`]]);
    expect(namedAbovePipelines(broken("server/app.ts", 'const m = "clip-scenes";'))).toEqual([
      expect.stringMatching(/^server\/app\.ts names a shipped model \(clip-scenes\)/),
    ]);
    expect(namedAbovePipelines(broken("cli/main.ts", 'for (const s of ["image", "audio", "video"]) {}'))).toEqual([
      expect.stringMatching(/^cli\/main\.ts spells the list of spaces/),
    ]);
    expect(namedAbovePipelines(broken("app/models.ts", "if (p instanceof HFCLIPModel) {}"))).toEqual([
      expect.stringMatching(/^app\/models\.ts tests a pipeline's class \(HFCLIPModel\)/),
    ]);
    // a comment may name a model (the code may not)
    expect(namedAbovePipelines(broken("server/app.ts", '// e.g. "clip-scenes"'))).toEqual([]);
  });

  it("only util/runtime.ts detects Node and builds node: specifiers", () => {
    const files = sources();
    expect(runtimeSniffing(files)).toEqual([]);
    const broken = (line: string): Map<string, string> => new Map([...files, ["pipelines/x.ts", line]]);
    expect(runtimeSniffing(broken('const isNode = typeof process?.versions?.node === "string";'))).toEqual([
      expect.stringMatching(/^pipelines\/x\.ts detects Node itself/),
    ]);
    expect(runtimeSniffing(broken('await import(["node", "fs"].join(":"));'))).toEqual([
      expect.stringMatching(/^pipelines\/x\.ts builds a node: specifier/),
    ]);
  });

  it("errors carry the family's codes; only cli/ knows exit codes", () => {
    const files = sources();
    expect(stampedErrors(files)).toEqual([]);
    const broken = new Map([...files, ["io/x.ts", 'throw Object.assign(new Error("no"), { exitCode: 3 });']]);
    expect(stampedErrors(broken)).toEqual([
      expect.stringMatching(/^io\/x\.ts stamps fields/),
      expect.stringMatching(/^io\/x\.ts knows exit codes/),
    ]);
  });

  it("one serving stack: the batcher, the cache and the worker protocol are shared by serving/ and server/", () => {
    const files = sources();
    expect(secondServingStack(files)).toEqual([]);
    const broken = (f: string, line: string): Map<string, string> =>
      new Map([...files, [f, `${files.get(f) ?? ""}\n${line}`]]);
    expect(
      secondServingStack(
        broken("server/pool.ts", 'class Full extends PolymodalError { constructor() { super("busy", "full"); } }'),
      ),
    ).toEqual([expect.stringMatching(/^server\/pool\.ts makes its own queue-full/)]);
    expect(secondServingStack(broken("server/cache.ts", "map.delete(map.keys().next().value);"))).toEqual([
      expect.stringMatching(/^server\/cache\.ts keeps its own LRU/),
    ]);
    expect(secondServingStack(broken("server/worker.ts", 'port.on("message", (m) => port.postMessage(m));'))).toEqual([
      expect.stringMatching(/^server\/worker\.ts speaks its own worker protocol/),
    ]);
  });

  it("has no import cycles", () => {
    expect(cycles(graph)).toEqual([]);
    expect(
      cycles([
        { from: "a.ts", to: "b.ts", names: [] },
        { from: "b.ts", to: "a.ts", names: [] },
      ]),
    ).toHaveLength(1);
  });
});
