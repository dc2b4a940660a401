// The packed npm package works from another folder: `import { init, Tensor, F } from "polymodal"` in Node,
// its types resolve, and the browser bundle imports no Node built-in.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "polymodal-pkg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("installed package", () => {
  it("packs, installs offline and runs from another folder", () => {
    // dist/ is built (pretest)
    execFileSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", dir], { cwd: root });
    // no source maps pointing at a src/ the package does not ship (the browser bundle's carry their sources)
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const listed = execFileSync("tar", ["-tzf", join(dir, `polymodal-${version}.tgz`)], { encoding: "utf8" });
    expect(listed.split("\n").filter((f) => f.endsWith(".map") && !f.startsWith("package/dist/browser/"))).toEqual([]);
    const app = join(dir, "app");
    execFileSync("mkdir", ["-p", app]);
    // Offline on purpose (a test must not depend on the registry), the way `npm ci` installs: a lockfile naming
    // every runtime dependency at the version and integrity of ours, so each comes out of the npm cache that this
    // checkout's own `npm ci` filled (a range to resolve would need registry metadata the cache does not hold).
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const tgz = `file:../polymodal-${pkg.version}.tgz`;
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
    const packages: Record<string, unknown> = {
      "": { name: "app", dependencies: { polymodal: tgz } },
      "node_modules/polymodal": {
        version: pkg.version,
        resolved: tgz,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        engines: pkg.engines,
      },
    };
    // our lockfile records no download addresses, and without one npm asks the registry for each package's
    // metadata; with the registry's tarball address (the one the cache keys on) it needs nothing but the cache
    const registry = execFileSync("npm", ["config", "get", "registry"]).toString().trim().replace(/\/$/, "");
    for (const [k, v] of Object.entries(
      lock.packages as Record<string, { version: string; dev?: boolean; devOptional?: boolean; resolved?: string }>,
    )) {
      // devOptional: also an optional runtime dependency's (detect-libc for msgpackr-extract)
      if (!k.startsWith("node_modules/") || v.dev) continue;
      const name = k.slice(k.lastIndexOf("node_modules/") + 13);
      packages[k] = { resolved: `${registry}/${name}/-/${name.split("/").pop()}-${v.version}.tgz`, ...v };
    }
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "app", type: "module", private: true, dependencies: { polymodal: tgz } }),
    );
    writeFileSync(
      join(app, "package-lock.json"),
      JSON.stringify({ name: "app", lockfileVersion: 3, requires: true, packages }),
    );
    execFileSync("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--silent"], { cwd: app });
    writeFileSync(
      join(app, "main.mjs"),
      `
      import { init, Tensor, F } from "polymodal";
      await init();
      const y = F.softmax(Tensor.from(new Float32Array([1, 2, 3, 4]), [2, 2]));
      console.log(JSON.stringify(y.toArray()));
    `,
    );
    const out = execFileSync("node", ["main.mjs"], { cwd: app }).toString().trim();
    expect(JSON.parse(out)[0][1]).toBeCloseTo(0.7310585975646973, 7);
    // Types: a strict TypeScript consumer compiles against the installed package.
    writeFileSync(
      join(app, "use.ts"),
      `
      import { init, Tensor, F, type NestedArray } from "polymodal";
      import * as browser from "polymodal/browser";
      export const sameApi: typeof init = browser.init;
      export async function f(): Promise<NestedArray> {
        await init();
        const x: Tensor = F.linear(Tensor.zeros([2, 3]), Tensor.zeros([4, 3]));
        return x.toArray();
      }
    `,
    );
    execFileSync(
      join(root, "node_modules/.bin/tsc"),
      [
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--lib",
        "es2022,dom",
        "use.ts",
      ],
      { cwd: app },
    );
    // The shipped models load by name from the installed package, and its `polymodal` command runs.
    writeFileSync(
      join(app, "asr.mjs"),
      `
      import { init, loadPretrained } from "polymodal";
      import { readFileSync } from "node:fs";
      await init();
      const asr = await loadPretrained("asr-words");
      console.log(asr.transcribe(readFileSync(process.argv[2])).text);
    `,
    );
    const list = JSON.parse(readFileSync(join(root, "test/fixtures/speech/transcripts.json"), "utf8"));
    expect(
      execFileSync("node", ["asr.mjs", join(root, "test/fixtures/speech", list[0].file)], { cwd: app })
        .toString()
        .trim(),
    ).toBe(list[0].text);
    expect(execFileSync(join(app, "node_modules/.bin/polymodal"), ["info"], { cwd: app }).toString()).toMatch(
      /clip-scenes[\s\S]*video-text/,
    );
    // the installed `polymodal serve` starts (its fastify, prom-client and ioredis came with the package),
    // answers, stops on SIGTERM
    writeFileSync(
      join(app, "serve.mjs"),
      `
      import { spawn } from "node:child_process";
      const args = ["serve", "--port", "0", "--workers", "1"];
      const p = spawn("node_modules/.bin/polymodal", args, { stdio: ["ignore", "pipe", "inherit"] });
      const limit = setTimeout(() => { p.kill("SIGKILL"); process.exit(2); }, 60000);
      let out = "", asked = false;
      p.stdout.on("data", async (d) => {
        out += d;
        const m = out.match(/listening on (\\S+)/);
        if (!m || asked) return;
        asked = true;
        const health = await (await fetch(m[1] + "/healthz")).json();
        const body = JSON.stringify({ model: "clip-scenes", inputs: [{ text: "x" }] });
        const headers = { "content-type": "application/json" };
        const r = await (await fetch(m[1] + "/v1/embed", { method: "POST", headers, body })).json();
        console.log(JSON.stringify({ health, dim: r.dim }));
        p.kill("SIGTERM");
      });
      p.on("exit", (code) => { clearTimeout(limit); process.exitCode = code; });
    `,
    );
    expect(JSON.parse(execFileSync("node", ["serve.mjs"], { cwd: app }).toString())).toEqual({
      health: { status: "ok" },
      dim: 64,
    });
    // the README's code quick starts run as written against the installed package (file paths from the repo root)
    const blocks = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```js\n([\s\S]*?)```/g)].map(
      (m) => m[1],
    );
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    // ... and print what the README says they do
    // the README's example file names stand for the user's files: here, the fixtures
    const ours: Record<string, string> = {
      '"speech.wav"': '"test/fixtures/speech/0000.wav"',
      '"a.png"': '"test/fixtures/images/rgb.png"',
      '"b.png"': '"test/fixtures/images/palette.png"',
    };
    const printed = blocks.map((code, i) => {
      for (const [name, fixture] of Object.entries(ours)) code = code.split(name).join(fixture);
      writeFileSync(join(app, `quickstart${i}.mjs`), code);
      return execFileSync("node", [join(app, `quickstart${i}.mjs`)], { cwd: root, stdio: "pipe" }).toString();
    });
    const said = JSON.parse(readFileSync(join(root, "test/fixtures/speech/transcripts.json"), "utf8"))[0].text;
    expect(printed[0].split("\n")[0]).toBe(said); // the transcript of 0000.wav
    expect(printed[0]).toMatch(
      new RegExp(
        String.raw`\[\s*\{\s*itemId: 'test\/fixtures\/images\/(rgb|palette)\.png',\s` +
          String.raw`*score: -?0\.\d+,\s*modality: 'image',\s*metadata: \{\}\s*\}\s*\]`,
      ),
    ); // one hit
    // torch.softmax([1, 2, 3])
    expect(printed[1]).toMatch(/^\[ 1, 64 \]\n\[ 0\.0900305\d*, 0\.2447284\d*, 0\.6652409\d* \]\n$/);
  }, 120_000);

  it("installs from git: npm install git+file://<repo> builds dist/ (the prepare script) and runs", () => {
    // what `npm install git+https://.../polymodal.git` does on a new machine: clone the committed tree, install its
    // dev dependencies, run prepare (the wasm, TypeScript and browser builds), pack by "files", install the result
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root }).toString().trim();
    const app = join(dir, "from-git");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app-git", type: "module", private: true }));
    // --prefer-offline: the dev dependencies come from the npm cache this checkout's own install filled
    execFileSync(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", "--silent", `git+file://${root}#${head}`],
      { cwd: app, stdio: "pipe", timeout: 900_000 },
    );
    const pkg = join(app, "node_modules", "polymodal");
    expect(
      existsSync(join(pkg, "dist", "index.js")) &&
        existsSync(join(pkg, "dist", "polymodal.wasm")) &&
        existsSync(join(pkg, "dist", "browser", "polymodal.js")),
    ).toBe(true);
    expect(existsSync(join(pkg, "src"))).toBe(false); // packed by "files": no sources, tests or fixtures
    writeFileSync(
      join(app, "smoke.mjs"),
      `
      import { init, Tensor, F } from "polymodal";
      await init();
      console.log(JSON.stringify(Array.from(F.softmax(Tensor.from([0, 0])).data)));
    `,
    );
    expect(execFileSync("node", ["smoke.mjs"], { cwd: app }).toString().trim()).toBe("[0.5,0.5]");
    expect(execFileSync(join(app, "node_modules/.bin/polymodal"), ["--version"], { cwd: app }).toString()).toMatch(
      /^0\.1\.0$/m,
    );
  }, 900_000);

  it(
    "the browser bundle is self-contained (no node: imports, wasm inlined) and loads the threaded and relaxed " +
      "builds only on demand",
    () => {
      // the main file and the chunks it imports statically (shared with worker.js, the prebuilt polymodal/worker)
      const js = browserBundle()
        .map((f) => readFileSync(join(root, "dist/browser", f), "utf8"))
        .join("\n");
      expect(existsSync(join(root, "dist/browser/worker.js"))).toBe(true);
      expect(js).not.toMatch(/from\s*["']node:|require\(["'](fs|path|node:)/);
      expect(js.length).toBeGreaterThan(60000);
      // the threaded and relaxed kernels are chunks of their own, each imported dynamically from the main file
      for (const build of ["wasm-threads-inline-", "wasm-relaxed-inline-", "wasm-relaxed-threads-inline-"]) {
        const chunk = readdirSync(join(root, "dist/browser")).find((f) => f.startsWith(build) && f.endsWith(".js"))!;
        expect(chunk, build).toBeDefined();
        expect(js).toContain(chunk);
        const inChunk = readFileSync(join(root, "dist/browser", chunk), "utf8").match(/"[A-Za-z0-9+/=]{50000,}"/g);
        expect(inChunk, build).toHaveLength(1);
      }
      // one inlined module in the main file (the builds share most bytes, so count them rather than search)
      expect(js.match(/"[A-Za-z0-9+/=]{50000,}"/g)).toHaveLength(1);
      // models resolve from the bundle's own URL by default: dist/browser/ is two levels below the package root
      expect(js).toContain('"../../models/"');
      expect(
        existsSync(new URL("../../models/asr-words.json", pathToFileURL(join(root, "dist/browser/polymodal.js")))),
      ).toBe(true);
      // only jpeg-js's decoder is bundled (the encoder registers itself as window["jpeg-js"]._encode_ outside CommonJS)
      expect(js).not.toContain("_encode_");
    },
  );

  it("the single-thread browser bundle, wasm included, is at most 150 KB gzipped", async () => {
    const { gzipSync } = await import("node:zlib");
    // what a page downloads for init(): the main file and the chunks it imports statically (the threaded build
    // is a dynamic import, fetched only by init({ threads }))
    const files = browserBundle();
    const bytes = files.reduce(
      (n, f) => n + gzipSync(readFileSync(join(root, "dist/browser", f)), { level: 9 }).length,
      0,
    );
    console.log(
      `browser bundle (single thread, wasm inlined): ${(bytes / 1024).toFixed(1)} KB gzipped (${files.join(", ")})`,
    );
    expect(bytes).toBeLessThanOrEqual(150 * 1024);
  });

  it("every export path has types", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    for (const [path, target] of Object.entries(pkg.exports as Record<string, unknown>)) {
      if (typeof target === "string") {
        expect(target, path).toMatch(/\.(wasm|json)$/);
        continue;
      }
      const types = (target as Record<string, string>).types;
      expect(types, `${path} has types`).toBeDefined();
      expect(readFileSync(join(root, types), "utf8").length, types).toBeGreaterThan(100);
    }
  });

  it(
    "the library sources import no Node built-in (the CLI and the service, src/cli/, src/app/ and src/server/, " +
      "are Node-only)",
    () => {
      const files = execFileSync("git", ["ls-files", "src"], { cwd: root }).toString().trim().split("\n");
      for (const f of files) {
        if (!f.endsWith(".ts") || /^src\/(cli|app|server)\//.test(f)) continue;
        expect(readFileSync(join(root, f), "utf8"), f).not.toMatch(
          /from\s+["'](node:|fs["']|path["']|os["']|child_process)/,
        );
      }
    },
  );
});

/** dist/browser/polymodal.js and the chunks it imports statically, transitively (file names). */
function browserBundle(): string[] {
  const out: string[] = [];
  const visit = (f: string): void => {
    if (out.includes(f)) return;
    out.push(f);
    const text = readFileSync(join(root, "dist/browser", f), "utf8");
    for (const m of text.matchAll(/(?:^|[;}\s])import\s*(?:[\w{},*\s$]+from\s*)?"\.\/([\w.-]+\.js)"/g)) visit(m[1]);
  };
  visit("polymodal.js");
  return out;
}
