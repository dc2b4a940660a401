// `npm run bench -- browser`: the web demo (scripts/demo-web.mjs) in Debian's Chromium, driven by playwright-core,
// against Node in this process on the same inputs.  Ratios are the result:
//   1. responsiveness: frames the page draws per second while a ViT-B/16 embedding runs in its worker, against the
//      same page idle (target >= 50 frames/s);
//   2. speed: a ViT-B/16 embedding (224x224) in the browser's worker against Node, at 1 thread, and 2 threads
//      against 1 in the browser;
//   3. model loading: the page ready from the network against ready from the Cache API (a reload).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { init, Tensor, VisionEncoder } from "../dist/index.js";
import { writeSampleCollection } from "../scripts/sample-collection.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const f2 = (x) => x.toFixed(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startDemo(data) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(root, "scripts/demo-web.mjs"), "--port", "0", "--data", data], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    const t = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error("the demo server did not start in 120 s"));
    }, 120_000);
    p.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/polymodal web demo: (http:\S+)/);
      if (m) {
        clearTimeout(t);
        resolve({ url: m[1], stop: () => p.kill("SIGTERM") });
      }
    });
    p.once("exit", (c) => {
      clearTimeout(t);
      reject(new Error(`the demo server exited (${c})`));
    });
  });
}

const ready = (page) =>
  page.waitForFunction(() => globalThis.polymodalDemo?.ready === true, null, { timeout: 120_000 });

/** Frames per second the page draws over `ms` doing nothing else. */
const idleFps = (page, ms) =>
  page.evaluate(
    (ms) =>
      new Promise((resolve) => {
        let n = 0;
        const t0 = performance.now();
        const tick = () => {
          n++;
          if (performance.now() - t0 < ms) requestAnimationFrame(tick);
          else resolve((n * 1000) / (performance.now() - t0));
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );

/** Clicks the ViT-B/16 button and returns what the page measured: { fps, ms }. */
async function vitRun(page) {
  await page.evaluate(() => {
    globalThis.polymodalDemo.vit = null;
  });
  await page.click("#vit");
  await page.waitForFunction(() => globalThis.polymodalDemo.vit !== null, null, { timeout: 180_000 });
  return page.evaluate(() => globalThis.polymodalDemo.vit);
}

export async function benchBrowser() {
  const chromiumPath =
    process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
  if (!chromiumPath) return ["browser: skipped (no Chromium: apt-get install chromium)"];
  const { chromium } = await import("playwright-core");
  const data = mkdtempSync(join(tmpdir(), "pm-bench-web-"));
  writeSampleCollection(data, { scenes: 24, sounds: 4, clips: 3, speech: 0 });
  const demo = await startDemo(data);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ARGS });
  const lines = [];
  try {
    // 3. loading: a fresh context (empty cache) then a reload (Cache API)
    const context = await browser.newContext();
    const page = await context.newPage();
    let t0 = performance.now();
    await page.goto(demo.url);
    await ready(page);
    const cold = performance.now() - t0;
    t0 = performance.now();
    await page.reload();
    await ready(page);
    const warm = performance.now() - t0;

    // 1 and 2: ViT-B/16 in the page's worker, 1 thread (the first run also makes the 86 M weights)
    await vitRun(page);
    const idle = await idleFps(page, 1000);
    const runs1 = [await vitRun(page), await vitRun(page), await vitRun(page)];
    const fps = median(runs1.map((r) => r.fps)),
      browser1 = median(runs1.map((r) => r.ms));
    await context.close();

    // Node, this process, one thread, the same input
    await init();
    const vit = new VisionEncoder();
    const x = Tensor.from(
      new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.001)),
      [1, 3, 224, 224],
    );
    vit.forward(x);
    const nodeMs = median(
      [0, 1, 2].map(() => {
        const t = performance.now();
        vit.forward(x);
        return performance.now() - t;
      }),
    );

    // 2 threads in the browser
    const c2 = await browser.newContext();
    const p2 = await c2.newPage();
    await p2.goto(`${demo.url}?threads=2`);
    await ready(p2);
    await vitRun(p2);
    const browser2 = median([await vitRun(p2), await vitRun(p2), await vitRun(p2)].map((r) => r.ms));
    await c2.close();

    lines.push(
      `page responsiveness: ${fps.toFixed(0)} frames/s while a ViT-B/16 embedding (${browser1.toFixed(0)} ms) ` +
        `runs in the worker = ${f2(fps / idle)}x the idle page's ${idle.toFixed(0)} frames/s (target >= 50 frames/s)`,
    );
    lines.push(
      `ViT-B/16 224x224 embedding in Chromium's worker: ${browser1.toFixed(0)} ms = ${f2(browser1 / nodeMs)}x ` +
        `Node's time (${nodeMs.toFixed(0)} ms, one thread each); 2 threads in the browser ${browser2.toFixed(0)} ` +
        `ms = ${f2(browser1 / browser2)}x one thread's speed`,
    );
    lines.push(
      `web demo ready (3 models over HTTP, SHA-256 checked, 3 indexes): ${cold.toFixed(0)} ms from the ` +
        `network, ${warm.toFixed(0)} ms from the Cache API on reload = ${f2(warm / cold)}x`,
    );
  } finally {
    await browser.close();
    demo.stop();
    rmSync(data, { recursive: true, force: true });
  }
  return lines;
}
