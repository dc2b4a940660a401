// The relaxed-SIMD build (init({ simd: "relaxed" }), docs/relaxed-simd.md): it loads where the engine has relaxed
// SIMD and says why where it does not; its f32 products give a scalar fused-multiply-add reference's bits exactly
// (every shape class of the GEMM: whole 5-row tiles, 2- and 1-row leftovers, partial panels, several summation
// blocks, bias, ReLU); the service's workers run it when asked.  Threads, engines and the models:
// threads.test.ts and browser.test.ts; PyTorch parity: the "relaxed" test project (vitest.config.ts).
import { execFileSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { init, relaxedSimdSupport, Tensor, F, loadPretrained } from "../src/index.js";
import { rt } from "../src/bindings/module.js";
import { relaxedLinearRef } from "./harness/fma.js";
import { lcg } from "./harness/workloads.js";
import { startServe } from "./harness/servers.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const support = relaxedSimdSupport();

beforeAll(async () => {
  await init({ simd: "relaxed" });
});

describe("the relaxed build", () => {
  it("loads when asked for (vitest gives Node 20 its flag); the other build and bad values are refused", async () => {
    expect(support.supported).toBe(true);
    expect(rt().simd).toBe("relaxed");
    expect(rt().simdNote).toBeNull();
    await expect(init({ simd: "exact" })).rejects.toThrow(/already initialised with the relaxed SIMD build/);
    await expect(init({ simd: "fast" as never })).rejects.toThrow(/simd must be "exact" or "relaxed", got "fast"/);
    expect((await init({})).simd).toBe("relaxed"); // no preference: the runtime there is
  });

  it.skipIf(!support.fused)("F.linear gives a scalar fused-multiply-add reference's bits for every shape class", () => {
    for (const [M, N, K, bias, relu] of [
      [1, 1, 1, true, false],
      [5, 8, 64, true, false],
      [7, 13, 65, false, false], // one tile + 2 leftover rows, a partial panel, two summation blocks
      [11, 17, 200, true, true], // two tiles + 1 leftover row
      [13, 24, 129, true, false],
      [260, 9, 300, true, false], // many rows: the cache-blocked walk (K in 256-long chunks)
    ] as const) {
      const A = lcg(M * K, M + K),
        W = lcg(N * K, N + K, 0.5),
        b = bias ? lcg(N, 7) : null;
      const x = Tensor.from(A, [M, K]);
      let y = F.linear(x, Tensor.from(W, [N, K]), b ? Tensor.from(b, [N]) : null);
      if (relu) y = F.relu(y);
      const ref = relaxedLinearRef(A, W, b, M, N, K, relu);
      const off = (y.data as Float32Array).findIndex((v, i) => !Object.is(v, ref[i]));
      expect(off, `M=${M} N=${N} K=${K}: first element off the reference`).toBe(-1);
    }
  });

  it.skipIf(!support.fused)("the fused sums are not the exact build's: fewer roundings, closer to float64", () => {
    // mul-then-add rounds twice per term; a long dot product of the probe's kind shows the difference
    const K = 256,
      A = lcg(K, 1),
      W = lcg(K, 2);
    const got = F.linear(Tensor.from(A, [1, K]), Tensor.from(W, [1, K])).data[0];
    let f64 = 0;
    for (let k = 0; k < K; k++) f64 += A[k] * W[k];
    expect(Math.abs(got - f64)).toBeLessThan(1e-5);
    expect(got).toBe(relaxedLinearRef(A, W, null, 1, 1, K)[0]);
  });

  it("serve --simd relaxed: its workers run the relaxed build, /v1/embed gives this process's bits", async () => {
    const text = "two small red circles";
    const clip = await loadPretrained("clip-scenes");
    const ours = Array.from(clip.embedTexts([text])[0]);
    const embedVia = async (args: string[]): Promise<number[]> => {
      const s = await startServe(["--workers", "1", ...args]);
      try {
        const r = await fetch(`${s.url}/v1/embed`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "clip-scenes", inputs: [{ text }] }),
        });
        expect(r.status).toBe(200);
        if (args.length) expect(s.out()).toMatch(/relaxed SIMD/); // the start line says which build
        return (await r.json()).embeddings[0];
      } finally {
        await s.stop();
      }
    };
    expect(await embedVia(["--simd", "relaxed"])).toEqual(ours);
    expect(await embedVia([])).not.toEqual(ours); // the default service runs the exact build
  }, 120_000);

  it.skipIf(!process.versions.node.startsWith("20."))(
    "Node 20 without --experimental-wasm-relaxed-simd runs the exact build and says why",
    () => {
      const out = execFileSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { init } from ${JSON.stringify(join(root, "dist/index.js"))};\n` +
            `const r = await init({ simd: "relaxed" });\n` +
            "process.stdout.write(JSON.stringify({ simd: r.simd, note: r.simdNote }));",
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
      const r = JSON.parse(out);
      expect(r.simd).toBe("exact");
      expect(r.note).toMatch(
        /does not validate relaxed-SIMD instructions .*Node 20 needs --experimental-wasm-relaxed-simd/,
      );
    },
  );
});
