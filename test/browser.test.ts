// Node and headless Chromium give the same bits for every kernel case and workload, save the same index to the
// same bytes, and a Node-saved index reloads in Chromium with the same search results.  Chromium is Debian's
// (`apt-get install chromium`, done by .ci/run); without it the test is skipped locally and fails under CI.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { init, ImageProcessor, relaxedSimdSupport } from "../src/index.js";
import { runCase } from "./harness/cases.js";
import { hashBits } from "./harness/compare.js";
import { shippedOutputs } from "./harness/shipped.js";
import { loadKernelFixtures, caseTensors } from "./harness/fixtures.js";
import { workloads, indexWorkload, indexQueries } from "./harness/workloads.js";
import { RELAXED_HASHES } from "./harness/relaxed.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const chromium =
  process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const haveChromium = chromium !== undefined;
if (!haveChromium && process.env.CI)
  throw new Error("browser parity test: no Chromium found under CI (apt-get install chromium)");
if (!haveChromium) console.warn("browser parity test skipped: install Debian's chromium to run it");

async function bundlePage(): Promise<string> {
  const r = await build({
    entryPoints: [join(root, "test/browser/page.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    minify: false,
  });
  return r.outputFiles[0].text;
}

function serve(page: string, nodeIndex: Uint8Array): Promise<{ server: Server; port: number; result: Promise<any> }> {
  let resolveResult!: (v: any) => void;
  const result = new Promise<any>((r) => (resolveResult = r));
  const files: Record<string, [string, Buffer | string]> = {
    "/": [
      "text/html",
      '<!doctype html><meta charset="utf-8"><title>polymodal parity</title><script type="module" ' +
        'src="/page.js"></script>',
    ],
    "/page.js": ["text/javascript", page],
    "/fixtures/kernels.json": ["application/json", readFileSync(join(root, "test/fixtures/kernels.json"))],
    "/fixtures/kernels.safetensors": [
      "application/octet-stream",
      readFileSync(join(root, "test/fixtures/kernels.safetensors")),
    ],
    "/fixtures/node-index.bin": ["application/octet-stream", Buffer.from(nodeIndex)],
    ...Object.fromEntries(
      ["rgb.png", "palette.png", "photo420.jpg"].map((f) => [
        `/fixtures/images/${f}`,
        ["application/octet-stream", readFileSync(join(root, "test/fixtures/images", f))] as [string, Buffer],
      ]),
    ),
    "/fixtures/speech/0000.wav": ["audio/wav", readFileSync(join(root, "test/fixtures/speech/0000.wav"))],
    ...Object.fromEntries(
      ["asr-words", "audio-events", "video-text", "clip-scenes"].flatMap((n) => [
        [`/models/${n}.json`, ["application/json", readFileSync(join(root, `models/${n}.json`))] as [string, Buffer]],
        [
          `/models/${n}.safetensors`,
          ["application/octet-stream", readFileSync(join(root, `models/${n}.safetensors`))] as [string, Buffer],
        ],
      ]),
    ),
  };
  const server = createServer((req, res) => {
    if (req.method === "POST" && req.url === "/result") {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        res.end("ok");
        resolveResult(JSON.parse(Buffer.concat(chunks).toString()));
      });
      return;
    }
    const f = files[(req.url ?? "").split("?")[0]];
    if (!f) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader("content-type", f[0]);
    // cross-origin isolation, so the page may share WASM memory with workers (init({ threads }))
    res.setHeader("cross-origin-opener-policy", "same-origin");
    res.setHeader("cross-origin-embedder-policy", "require-corp");
    res.end(f[1]);
  });
  return new Promise((r) =>
    server.listen(0, "127.0.0.1", () => r({ server, port: (server.address() as any).port, result })),
  );
}

beforeAll(async () => {
  await init();
});

/** Runs the page in Chromium (one retry when Chromium fails to start or report; a difference is never retried). */
async function chromiumHashes(
  page: string,
  nodeBytes: Uint8Array,
  threads: number,
  simd: "exact" | "relaxed",
): Promise<{ ua: string; hashes: Record<string, string> }> {
  let got: {
    ok: boolean;
    error?: string;
    ua: string;
    threads: number;
    simd: string;
    hashes: Record<string, string>;
  } | null = null;
  let failure = "";
  for (let attempt = 0; attempt < 2 && !got; attempt++) {
    const r = await runChromium(page, nodeBytes, threads, simd);
    if ("hashes" in r || "error" in r) got = r as typeof got;
    else failure += `attempt ${attempt + 1}: ${r.infra}\n`;
  }
  expect(got, failure).not.toBeNull();
  expect(got!.error ?? "").toBe("");
  expect(got!.ok).toBe(true);
  expect(got!.ua).toMatch(/Chrome/);
  expect(got!.threads, "threads the page ran with").toBe(threads);
  expect(got!.simd, "the build the page ran").toBe(simd);
  return got!;
}

/** Serves the page, runs headless Chromium against it, returns what the page posted or why nothing came. */
async function runChromium(page: string, nodeBytes: Uint8Array, threads: number, simd: string): Promise<any> {
  const { server, port, result } = await serve(page, nodeBytes);
  const profile = mkdtempSync(join(tmpdir(), "polymodal-chromium-"));
  let stderr = "";
  const proc = spawn(
    chromium!,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      `--user-data-dir=${profile}`,
      `http://127.0.0.1:${port}/?threads=${threads}&simd=${simd}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"], detached: true },
  ); // own process group: its helpers die with it
  proc.stderr!.on("data", (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  try {
    const timeout = new Promise((res) =>
      setTimeout(() => res({ infra: `Chromium did not report within 240 s; stderr: ${stderr}` }), 240_000),
    );
    const exited = new Promise((res) =>
      proc.once("exit", (code) =>
        setTimeout(() => res({ infra: `Chromium exited (${code}) before reporting; stderr: ${stderr}` }), 2000),
      ),
    );
    return await Promise.race([result, timeout, exited]);
  } finally {
    const gone = new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once("exit", r)));
    try {
      process.kill(-proc.pid!, "SIGKILL");
    } catch {
      proc.kill("SIGKILL");
    }
    await gone;
    server.close();
    // Chromium's helper processes can still be flushing the profile; a leftover temp dir is harmless.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch {
      /* ignore */
    }
  }
}

describe.skipIf(!haveChromium)("Node and Chromium (1 and 2 threads) agree bit for bit", () => {
  it("every kernel case and workload hashes the same", async () => {
    const { cases, tensors } = loadKernelFixtures();
    const node: Record<string, string> = {};
    for (const c of cases) {
      const res = runCase(c, caseTensors(c, tensors, c.inputs));
      node[c.id] = c.outputs.map((n) => hashBits(res[n].data)).join(",");
    }
    for (const [name, fn] of Object.entries(workloads())) node[name] = hashBits(fn().data);
    const ix = indexWorkload();
    const nodeBytes = ix.save();
    node["index save bytes"] = hashBits(nodeBytes);
    node["index loaded from Node"] = indexQueries(ix);
    const imgProc = new ImageProcessor({ size: 224, cropSize: 224, interpolation: "bicubic" });
    for (const f of ["rgb.png", "palette.png", "photo420.jpg"])
      node[`image ${f}`] = hashBits(
        imgProc.process(new Uint8Array(readFileSync(join(root, "test/fixtures/images", f)))).data,
      );
    Object.assign(
      node,
      await shippedOutputs({}, new Uint8Array(readFileSync(join(root, "test/fixtures/speech/0000.wav")))),
    );

    const page = await bundlePage();
    // Chromium on one thread and on two (workers sharing the WASM memory) must both give Node's bits.
    for (const threads of [1, 2]) {
      const got = await chromiumHashes(page, nodeBytes, threads, "exact");
      expect(Object.keys(got.hashes).length).toBe(Object.keys(node).length);
      const diff = Object.keys(node).filter((k) => node[k] !== got.hashes[k]);
      expect(diff, `outputs whose bits differ between Node and ${got.ua} on ${threads} thread(s)`).toEqual([]);
    }
  }, 300_000);

  it("the relaxed build gives the committed relaxed hashes (Node's) on 1 and 2 threads", async () => {
    const committed = JSON.parse(readFileSync(join(root, RELAXED_HASHES), "utf8")).hashes as Record<string, string>;
    const page = await bundlePage();
    const runs: Array<{ ua: string; hashes: Record<string, string> }> = [];
    for (const threads of [1, 2]) runs.push(await chromiumHashes(page, indexWorkload().save(), threads, "relaxed"));
    // the keys the page and test/harness/threads-entry.ts both hash: kernel cases, workloads, shipped models
    const shared = Object.keys(committed).filter((k) => k in runs[0].hashes);
    expect(shared.length).toBeGreaterThan(100);
    const between = shared.filter((k) => runs[0].hashes[k] !== runs[1].hashes[k]);
    expect(between, "relaxed outputs whose bits differ between 1 and 2 threads in Chromium").toEqual([]);
    if (!relaxedSimdSupport().fused) return; // no FMA here: the relaxed build computes the exact build's bits
    const diff = shared.filter((k) => committed[k] !== runs[0].hashes[k]);
    expect(diff, `relaxed outputs whose bits differ between ${RELAXED_HASHES} and ${runs[0].ua}`).toEqual([]);
  }, 300_000);
});
