// The relaxed-SIMD build (init({ simd: "relaxed" })) against the exact one.  A process has one runtime, so each build
// runs in processes of its own: the linear layer alternately in exact and relaxed children (medians of 5 each), and
// the seed models through `run.mjs models` in a relaxed child, against onnxruntime-web in that same child.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { benchPeak } from "./peak.mjs";

const node20 = process.versions.node.startsWith("20.");
const FLAGS = node20 ? ["--experimental-wasm-relaxed-simd"] : []; // (Node 22+ ship it and reject the flag)
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

function linear(simd) {
  const out = execFileSync(process.execPath, [...FLAGS, here("relaxed-linear.mjs"), simd], { encoding: "utf8" });
  const r = JSON.parse(out);
  if (r.simd !== simd) throw new Error(`bench: the ${simd} build did not load (${out})`);
  return r.gflops;
}

export async function benchRelaxed() {
  const exact = [],
    relaxed = [];
  for (let i = 0; i < 5; i++) {
    exact.push(linear("exact"));
    relaxed.push(linear("relaxed"));
  }
  const e = median(exact),
    r = median(relaxed);
  const peak = await benchPeak();
  const of = (g, p) => (p ? ` (${((100 * g) / p).toFixed(0)}% of the ${p === peak.fma ? "FMA" : "mul+add"} peak)` : "");
  const lines = [
    `nn.Linear 197x768 -> 3072, one thread: relaxed ${r.toFixed(1)} GFLOP/s${of(r, peak.fma)}, exact ` +
      `${e.toFixed(1)} GFLOP/s${of(e, peak.mulAdd)} = ${(r / e).toFixed(2)}x (target >= 1.6x; bounded by this ` +
      `machine's FMA / mul+add peak ratio, ${peak.fma ? (peak.fma / peak.mulAdd).toFixed(2) : "?"}x)`,
  ];
  console.log(`\nrelaxed SIMD build\n  ${lines[0]}`);
  // the seed models on the relaxed build, each against onnxruntime-web in the same (relaxed) process
  const json = execFileSync(process.execPath, [...FLAGS, "--expose-gc", here("run.mjs"), "models"], {
    encoding: "utf8",
    env: { ...process.env, POLYMODAL_SIMD: "relaxed", POLYMODAL_BENCH_SUMMARY_ONLY: "1" },
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 24,
  });
  const models = JSON.parse(json.slice(json.indexOf("{"))).models ?? [];
  for (const l of models) {
    const line = `relaxed build: ${l.replace("(target <= 0.75x)", "(target <= 0.45x)")}`;
    console.log(`  ${line}`);
    lines.push(line);
  }
  return lines;
}
