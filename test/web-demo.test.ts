// The web demo (`npm run demo:web`) as a person uses it, in Debian's Chromium driven by playwright-core: the page
// loads the shipped models over HTTP, searches the collection by text and by a chosen file, with the same results
// (ids and float scores, exactly) as Node on the same index bytes; 1 and 2 threads agree; a reload loads the
// models from the Cache API without a request; it works at 360 px wide with labelled controls.  A screenshot after
// a search is written to test-artifacts/web-demo.png.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init, loadPretrained, MultimodalIndex } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const chromiumPath = process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (!chromiumPath && process.env.CI) throw new Error("web demo test: no Chromium found under CI (apt-get install chromium)");
// the flags a closed network needs (no background connections that would be refused) and a root user
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const QUERY = "two small red circles on the left";

type Demo = { ready: boolean; threads: number; results: Record<string, Array<{ id: string; score: number }>>; timing: string };
let server: ChildProcess, url: string, data: string;
let browser: import("playwright-core").Browser;

beforeAll(async () => {
  if (!chromiumPath) return;
  data = mkdtempSync(join(tmpdir(), "pm-web-"));
  const { writeSampleCollection } = await import("../scripts/sample-collection.mjs");
  writeSampleCollection(data, { scenes: 36, sounds: 6, clips: 4, speech: 0 });
  server = spawn(process.execPath, [join(root, "scripts/demo-web.mjs"), "--port", "0", "--data", data], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  server.stderr!.on("data", (d) => { err += d; });
  url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the demo server did not start in 120 s: ${err}`)), 120_000);
    server.stdout!.on("data", (d) => { out += d; const m = out.match(/polymodal web demo: (http:\S+)/); if (m) { clearTimeout(t); resolve(m[1]); } });
    server.once("exit", (c) => { clearTimeout(t); reject(new Error(`the demo server exited (${c}): ${err}`)); });
  });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: chromiumPath, args: ARGS, timeout: 60_000 });
  await init();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

async function open(context: import("playwright-core").BrowserContext, query = ""): Promise<import("playwright-core").Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });
  await page.goto(url + query);
  await page.waitForFunction(() => (globalThis as unknown as { polymodalDemo?: Demo }).polymodalDemo?.ready === true, null, { timeout: 60_000 });
  return page;
}

async function searchText(page: import("playwright-core").Page, q: string): Promise<Demo> {
  await page.fill("#q", q);
  await page.press("#q", "Enter");
  await page.waitForFunction(() => ((globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results.image ?? []).length > 0);
  return page.evaluate(() => (globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo);
}

describe.skipIf(!chromiumPath)("web demo in Chromium", () => {
  it("searches by text with exactly Node's results (ids and scores), at 1 and 2 threads", async () => {
    const clip = await loadPretrained("clip-scenes"), vt = await loadPretrained("video-text");
    const node = (space: string, q: Float32Array, k: number) => MultimodalIndex.load(new Uint8Array(readFileSync(join(data, ".web", `${space}.pmx`)))).search(q, k, space).map((h) => ({ id: h.itemId, score: h.score }));
    const want = { image: node("image", clip.embedTexts([QUERY])[0], 8), video: node("video", vt.embedTexts([QUERY])[0], 5) };
    expect(want.image.length).toBe(8);
    for (const threads of [1, 2]) {
      const context = await browser.newContext();
      try {
        const page = await open(context, threads > 1 ? "?threads=2" : "");
        const got = await searchText(page, QUERY);
        expect(got.threads).toBe(threads);
        expect({ image: got.results.image, video: got.results.video }).toEqual(want);
        expect(got.timing).toMatch(/embed text [\d.]+ ms/);
        await expect(page.locator("#images li").count()).resolves.toBe(8);
        if (threads === 1) {
          mkdirSync(join(root, "test-artifacts"), { recursive: true });
          await page.screenshot({ path: join(root, "test-artifacts/web-demo.png"), fullPage: true });
        }
      } finally {
        await context.close();
      }
    }
  }, 120_000);

  it("a reload loads every model from the cache: no model request, the same results", async () => {
    const context = await browser.newContext();
    try {
      const first = await open(context);
      const before = await searchText(first, QUERY);
      await first.close();
      const requests: string[] = [];
      context.on("request", (r) => requests.push(new URL(r.url()).pathname));
      const again = await open(context);
      expect(requests.filter((p) => p.startsWith("/models/"))).toEqual([]);
      expect(await again.locator("#models li", { hasText: "from cache" }).count()).toBe(3);
      expect((await searchText(again, QUERY)).results).toEqual(before.results);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("searches by a chosen file: an image finds itself first, a WAV its sound, a Y4M its clip", async () => {
    const context = await browser.newContext();
    try {
      const page = await open(context);
      for (const [folder, space] of [["images", "image"], ["sounds", "audio"], ["videos", "video"]] as const) {
        const f = (await import("node:fs")).readdirSync(join(data, folder)).sort()[1];
        await page.setInputFiles("#file", join(data, folder, f));
        await page.waitForFunction((s) => ((globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results[s] ?? [])[0]?.id !== undefined, space);
        const got = await page.evaluate((s) => (globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results[s], space);
        expect(got[0].id, space).toBe(`${folder}/${f}`);
        expect(got[0].score).toBeGreaterThan(0.999);
        await page.evaluate(() => { (globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results = {}; });
      }
      // not a media file: a clear message, the page goes on
      await page.setInputFiles("#file", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
      await expect.poll(() => page.textContent("#timing")).toMatch(/notes\.txt: not a PNG, JPEG, WAV or Y4M file/);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("works at 360 px wide, every control labelled and reachable by keyboard", async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    try {
      const page = await open(context);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      const unlabelled = await page.$$eval("input, button, progress", (els) => els.filter((e) => {
        const el = e as HTMLInputElement;
        return !(el.labels?.length || el.getAttribute("aria-label") || (el.tagName === "BUTTON" && el.textContent?.trim()));
      }).map((e) => e.outerHTML));
      expect(unlabelled).toEqual([]);
      // Tab reaches the search box; typing and Enter search
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("q");
      await page.keyboard.type(QUERY);
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => ((globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results.image ?? []).length > 0);
    } finally {
      await context.close();
    }
  }, 120_000);
});
