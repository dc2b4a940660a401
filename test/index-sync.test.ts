// `polymodal index` keeps the index true to its folder (node bin/polymodal.js, built dist/): files deleted from the
// folder leave it, a file that became unreadable is dropped with a warning, --dry-run lists what would change and
// writes nothing, another --kind on an existing index is refused, and Ctrl-C stops after the file in hand with all
// finished work saved, so the same command finishes the rest.
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { encodePng } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pm-sync-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), ...args], {
    encoding: "utf8",
    cwd: tmp,
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A small PNG whose pixels depend on i (so every file has its own embedding). */
function png(i: number, size = 32): Uint8Array {
  const data = new Uint8Array(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    data[p * 3] = (p * (i + 3)) & 255;
    data[p * 3 + 1] = (i * 37 + p) & 255;
    data[p * 3 + 2] = (i * 91) & 255;
  }
  return encodePng({ width: size, height: size, channels: 3, data });
}

function folder(name: string, n: number, size = 32): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `img${String(i).padStart(4, "0")}.png`), png(i, size));
  return dir;
}

const searchIds = (dir: string): string[] =>
  JSON.parse(cli("search", "a red square", "--index", join(dir, ".polymodal"), "-k", "100", "--json").out)
    .results.map((r: { path: string }) => r.path)
    .sort();

describe("polymodal index keeps the index true to its folder", () => {
  it("removes items whose files are gone, drops files that became unreadable, and says so", () => {
    const dir = folder("sync", 5);
    writeFileSync(join(dir, "notes.txt"), "not media");
    writeFileSync(join(dir, "design.psd"), "not a kind of media polymodal reads");
    const first = cli("index", dir, "--quiet");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/indexed 5 new or changed files \(0 unchanged, 0 skipped as unreadable, 2 not media\)/);
    expect(first.out).toMatch(
      new RegExp(
        String.raw`not media: 1 \.txt \(notes\.txt\); 1 \.psd \(design\.psd\)` +
          String.raw`|not media: 1 \.psd \(design\.psd\); 1 \.txt \(notes\.txt\)`,
      ),
    );
    expect(searchIds(dir)).toHaveLength(5);
    unlinkSync(join(dir, "img0001.png"));
    // now a broken PNG
    writeFileSync(join(dir, "img0003.png"), new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3]));
    utimesSync(join(dir, "img0003.png"), new Date(), new Date(Date.now() + 5000));
    const second = cli("index", dir, "--quiet");
    expect(second.code).toBe(0);
    expect(second.err).toMatch(
      /warning: dropped img0003\.png from the index \(it was indexed before, and now: decodePng/,
    );
    expect(second.out).toMatch(
      new RegExp(
        String.raw`indexed 0 new or changed files \(3 unchanged, 1 skipped as unreada` +
          String.raw`ble, 2 not media; 1 removed as gone, 1 dropped as now unreadable\)`,
      ),
    );
    expect(second.out).toMatch(/3 images/);
    expect(searchIds(dir)).toEqual(["img0000.png", "img0002.png", "img0004.png"]);
    // a third run has nothing to do
    expect(cli("index", dir, "--quiet").out).toMatch(
      /indexed 0 new or changed files \(3 unchanged, 1 skipped as unreadable, 2 not media\)/,
    );
  }, 120_000);

  it("--dry-run lists what would be embedded and removed, and writes nothing", () => {
    const dir = folder("dry", 3);
    expect(cli("index", dir, "--quiet").code).toBe(0);
    const manifest = join(dir, ".polymodal", "manifest.json");
    const before = statSync(manifest).mtimeMs;
    writeFileSync(join(dir, "new.png"), png(99));
    unlinkSync(join(dir, "img0000.png"));
    const r = cli("index", dir, "--dry-run");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      new RegExp(
        `would embed 1 new or changed files and remove 1 items whose files are` +
          String.raw` gone \(2 unchanged, 0 unreadable, 0 not media\); nothing was written`,
      ),
    );
    expect(r.out).toMatch(/^ {2}embed {3}new\.png$/m);
    expect(r.out).toMatch(/^ {2}remove {2}img0000\.png$/m);
    expect(statSync(manifest).mtimeMs).toBe(before);
    expect(searchIds(dir)).toEqual(["img0000.png", "img0001.png", "img0002.png"]);
    // on a folder never indexed: everything would be embedded, and no index folder appears
    const fresh = folder("dry-fresh", 2);
    expect(cli("index", fresh, "--dry-run").out).toMatch(/would embed 2 new or changed files and remove 0 items/);
    expect(existsSync(join(fresh, ".polymodal"))).toBe(false);
  }, 120_000);

  it("another --kind on an existing index is refused, naming both (exit 2); without --kind it updates", () => {
    const dir = folder("kind", 2);
    expect(cli("index", dir, "--quiet").code).toBe(0);
    const r = cli("index", dir, "--kind", "hnsw", "--quiet");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      new RegExp(
        `is a --kind flat index; asked for --kind hnsw: leave --kind ` +
          String.raw`out to update it, or index into a new folder \(--index DIR\)`,
      ),
    );
    expect(cli("index", dir, "--kind", "flat", "--quiet").code).toBe(0);
    const other = cli("index", dir, "--kind", "hnsw", "--index", join(tmp, "kind-hnsw"), "--quiet");
    expect(other.code).toBe(0);
    expect(other.out).toMatch(/indexed 2 new or changed files/);
  }, 120_000);

  it("Ctrl-C stops after the file in hand; every finished file is saved and the same command finishes the " +
    "rest", async () => {
    const N = 1500; // ~2 ms each: the run lasts seconds after its first durable file
    const dir = folder("interrupt", N, 96);
    const log = join(dir, ".polymodal", "image.1.log");
    const child = spawn(process.execPath, [join(root, "bin/polymodal.js"), "index", dir, "--quiet"], {
      cwd: tmp,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "",
      err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number>((res) => child.on("exit", (code) => res(code ?? -1)));
    // wait until some files are durable, then interrupt
    const t0 = Date.now();
    while (!(existsSync(log) && statSync(log).size > 2000) && Date.now() - t0 < 60_000)
      await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    const code = await exited;
    expect({ code, err }).toMatchObject({
      code: 130,
      err: expect.stringMatching(/SIGINT: stopping after the file in hand/),
    });
    const m = out.match(/indexed (\d+) new or changed files[\s\S]*interrupted: (\d+) files left/);
    expect(m, out).not.toBeNull();
    const [done, left] = [Number(m![1]), Number(m![2])];
    expect(done).toBeGreaterThan(0);
    expect(done + left).toBe(N);
    const again = cli("index", dir, "--quiet");
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`indexed ${left} new or changed files \\(${done} unchanged`));
    expect(again.out).toMatch(new RegExp(`${N} images`));
    expect(readFileSync(join(dir, ".polymodal", "manifest.json"), "utf8")).toMatch(/"failed": \{\}/);
  }, 180_000);
});
