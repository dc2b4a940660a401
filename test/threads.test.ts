// init({ threads }) in Node: every kernel case, workload and whole model gives the same bits on 1, 2 and 3
// threads (work is split along output columns only).  Each thread count runs in its own process, since a
// process has one runtime.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { init } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("threads", () => {
  it("1, 2 and 3 threads give identical bits for every case, workload and model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pm-threads-"));
    try {
      const r = await build({
        entryPoints: [join(root, "test/harness/threads-entry.ts")],
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node20",
        write: false,
      });
      const entry = join(dir, "entry.mjs");
      writeFileSync(entry, r.outputFiles[0].text);
      const run = (t: number): { threads: number; hashes: Record<string, string> } =>
        JSON.parse(
          execFileSync(process.execPath, [entry, String(t), root], {
            encoding: "utf8",
            timeout: 240_000,
            maxBuffer: 1 << 26,
          }),
        );
      const one = run(1);
      expect(one.threads).toBe(1);
      expect(Object.keys(one.hashes).length).toBeGreaterThan(100);
      expect(
        execFileSync(process.execPath, [entry, "2", root, "kill-worker"], { encoding: "utf8", timeout: 60_000 }),
      ).toMatch(/a worker thread exited/);
      for (const t of [2, 3]) {
        const many = run(t);
        expect(many.threads).toBe(t);
        const diff = Object.keys(one.hashes).filter((k) => one.hashes[k] !== many.hashes[k]);
        expect(diff, `outputs whose bits differ between 1 and ${t} threads`).toEqual([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("rejects a bad thread count before loading anything", async () => {
    await expect(init({ threads: 0 })).rejects.toThrow(/threads must be a positive integer, got 0/);
    await expect(init({ threads: 1.5 })).rejects.toThrow(/threads must be a positive integer, got 1.5/);
    await expect(init({ threads: 2, maximumPages: 100 })).rejects.toThrow(
      /maximumPages must be an integer from initialPages \(256\) to 65536, got 100/,
    );
  });
});
