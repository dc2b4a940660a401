// The peak line: what this machine's WebAssembly engine can do per core with 128-bit SIMD, measured, so every GEMM
// can say what fraction of it it reaches.  Two loops, compiled here by AssemblyScript (the same compiler as the
// kernels), each with 12 independent accumulator chains over registers only (no loads, so no memory limit):
//   mul+add  a = a * m + b as f32x4.mul then f32x4.add (what the exact build's kernels can use)
//   FMA      a = relaxed_madd(a, m, b) (relaxed SIMD: one fused instruction on x86-64 with FMA and on arm64),
//            where the engine validates relaxed SIMD (Node 22+, Chromium 114+; Node 20 only with a flag)
// 12 chains x 4 lanes x 2 flops per iteration.
import asc from "assemblyscript/asc";

const CHAINS = 12;
const body = (step) => {
  const v = Array.from({ length: CHAINS }, (_, i) => `a${i}`);
  return `
export function run(n: i32): f32 {
  const m = f32x4.splat(0.9999999), b = f32x4.splat(1e-7);
  ${v.map((a, i) => `let ${a} = f32x4.splat(${1 + i * 0.01});`).join(" ")}
  for (let i = 0; i < n; i++) { ${v.map((a) => `${a} = ${step(a)};`).join(" ")} }
  let s = ${v.join(", ")};
  ${v
    .slice(1)
    .map((a) => `a0 = f32x4.add(a0, ${a});`)
    .join(" ")}
  return f32x4.extract_lane(a0, 0);
}`.replace("let s = " + v.join(", ") + ";", "");
};

async function compile(source, relaxed) {
  const r = await asc.compileString(source, {
    optimizeLevel: 3,
    runtime: "stub",
    enable: relaxed ? ["simd", "relaxed-simd"] : ["simd"],
  });
  if (r.error) throw new Error(`peak: ${r.error.message}: ${String(r.stderr ?? "").slice(0, 500)}`);
  return r.binary;
}

/** A function timing one ~0.3 s run of a loop, in GFLOP/s (the iteration count calibrated first). */
function rounds(binary) {
  const { run } = new WebAssembly.Instance(new WebAssembly.Module(binary)).exports;
  run(1000);
  let n = 1_000_000;
  for (;;) {
    const t0 = performance.now();
    run(n);
    if (performance.now() - t0 >= 100) break;
    n *= 4;
  }
  return () => {
    const t0 = performance.now();
    run(n);
    return (n * CHAINS * 8) / ((performance.now() - t0) / 1000) / 1e9;
  };
}

/** { mulAdd, fma } GFLOP/s on one core (fma null where the engine lacks relaxed SIMD): the best of 7 runs each, the
 * two loops alternating so that a noisy neighbour slows both rather than one. */
export async function benchPeak() {
  const mulAdd = rounds(
    await compile(
      body((a) => `f32x4.add(f32x4.mul(${a}, m), b)`),
      false,
    ),
  );
  const fmaBin = await compile(
    body((a) => `f32x4.relaxed_madd(${a}, m, b)`),
    true,
  );
  const fma = WebAssembly.validate(fmaBin) ? rounds(fmaBin) : null;
  const best = { mulAdd: 0, fma: fma ? 0 : null };
  for (let r = 0; r < 7; r++) {
    best.mulAdd = Math.max(best.mulAdd, mulAdd());
    if (fma) best.fma = Math.max(best.fma, fma());
  }
  return best;
}
