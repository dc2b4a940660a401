// init({ threads }) in Node: every kernel case, workload and whole model gives the same bits on 1, 2 and 3
// threads (work is split along output columns only), on the exact build and on the relaxed one.  Each run is its own
// process, since a process has one runtime.  The relaxed build's 1-thread hashes are also committed
// (test/fixtures/relaxed-hashes.json): on a CPU with FMA every engine (Node 20 with its flag, 22, 24: .ci/run and
// .ci/node-smoke.sh; Chromium: browser.test.ts) must give them.  POLYMODAL_WRITE_RELAXED_HASHES=1 rewrites them.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init, relaxedSimdSupport } from "../src/index.js";
import { RELAXED_NODE_FLAGS, RELAXED_HASHES } from "./harness/relaxed.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Run {
  threads: number;
  simd: string;
  hashes: Record<string, string>;
}

let dir = "";
let entry = "";
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pm-threads-"));
  const r = await build({
    entryPoints: [join(root, "test/harness/threads-entry.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    write: false,
  });
  entry = join(dir, "entry.mjs");
  writeFileSync(entry, r.outputFiles[0].text);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(t: number, simd: "exact" | "relaxed", extra: string[] = []): string {
  return execFileSync(
    process.execPath,
    [...(simd === "relaxed" ? RELAXED_NODE_FLAGS : []), entry, String(t), root, ...extra],
    {
      encoding: "utf8",
      timeout: 240_000,
      maxBuffer: 1 << 26,
      env: { ...process.env, POLYMODAL_SIMD: simd },
    },
  );
}
const runHashes = (t: number, simd: "exact" | "relaxed"): Run => JSON.parse(run(t, simd));

describe("threads", () => {
  it("1, 2 and 3 threads give identical bits for every case, workload and model", () => {
    const one = runHashes(1, "exact");
    expect(one.threads).toBe(1);
    expect(one.simd).toBe("exact");
    expect(Object.keys(one.hashes).length).toBeGreaterThan(100);
    expect(run(2, "exact", ["kill-worker"])).toMatch(/a worker thread exited/);
    for (const t of [2, 3]) {
      const many = runHashes(t, "exact");
      expect(many.threads).toBe(t);
      const diff = Object.keys(one.hashes).filter((k) => one.hashes[k] !== many.hashes[k]);
      expect(diff, `outputs whose bits differ between 1 and ${t} threads`).toEqual([]);
    }
  }, 300_000);

  it("the relaxed build: 1 and 2 threads agree, and on FMA hardware give the committed hashes", () => {
    const one = runHashes(1, "relaxed");
    expect(one.simd).toBe("relaxed");
    const exact = runHashes(1, "exact");
    // the relaxed build really is another build: its f32 products differ from the exact build's
    const differ = Object.keys(one.hashes).filter((k) => one.hashes[k] !== exact.hashes[k]);
    expect(differ.length, "outputs the relaxed build changes").toBeGreaterThan(20);
    const two = runHashes(2, "relaxed");
    expect(two.threads).toBe(2);
    const diff = Object.keys(one.hashes).filter((k) => one.hashes[k] !== two.hashes[k]);
    expect(diff, "relaxed-build outputs whose bits differ between 1 and 2 threads").toEqual([]);
    if (process.env.POLYMODAL_WRITE_RELAXED_HASHES) {
      expect(relaxedSimdSupport().fused, "the committed hashes come from a CPU with FMA").toBe(true);
      writeFileSync(
        join(root, RELAXED_HASHES),
        `${JSON.stringify({ engine: `node ${process.version}`, hashes: one.hashes }, null, 1)}\n`,
      );
    }
    const committed = JSON.parse(readFileSync(join(root, RELAXED_HASHES), "utf8")).hashes as Record<string, string>;
    expect(Object.keys(one.hashes).sort()).toEqual(Object.keys(committed).sort());
    if (!relaxedSimdSupport().fused) {
      console.warn("relaxed hashes not compared: this CPU has no fused multiply-add (the exact build's bits apply)");
      return;
    }
    const off = Object.keys(committed).filter((k) => one.hashes[k] !== committed[k]);
    expect(off, `relaxed-build outputs whose bits differ from ${RELAXED_HASHES}`).toEqual([]);
  }, 300_000);

  it("rejects a bad thread count before loading anything", async () => {
    await expect(init({ threads: 0 })).rejects.toThrow(/threads must be a positive integer, got 0/);
    await expect(init({ threads: 1.5 })).rejects.toThrow(/threads must be a positive integer, got 1.5/);
    await expect(init({ threads: 2, maximumPages: 100 })).rejects.toThrow(
      /maximumPages must be an integer from initialPages \(256\) to 65536, got 100/,
    );
  });
});
