// The web demo (`npm run demo:web`) as a person uses it, in Debian's Chromium driven by playwright-core: the page
// loads the shipped models over HTTP, searches the collection by text and by a chosen file, with the same results
// (ids and float scores, exactly) as Node on the same index bytes; 1 and 2 threads agree; a reload loads the
// models from the Cache API without a request; it works at 360 px wide with labelled controls.  A screenshot after
// a search is written to test-artifacts/web-demo.png.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allValues, chunkText, init, loadPretrained, MultimodalIndex, type Pipeline } from "../src/index.js";
import { writeSentenceFolder } from "./harness/sentence-folder.js";
import { writeCTCFolder } from "./harness/hf-speech.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const chromiumPath =
  process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (!chromiumPath && process.env.CI)
  throw new Error("web demo test: no Chromium found under CI (apt-get install chromium)");
// the flags a closed network needs (no background connections that would be refused) and a root user
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const QUERY = "two small red circles on the left";

type Demo = {
  ready: boolean;
  threads: number;
  simd: string;
  results: Record<string, Array<{ id: string; score: number }>>;
  timing: string;
};
let server: ChildProcess, url: string, data: string;
let browser: import("playwright-core").Browser;

beforeAll(async () => {
  if (!chromiumPath) return;
  data = mkdtempSync(join(tmpdir(), "pm-web-"));
  const { writeSampleCollection } = await import("../scripts/sample-collection.mjs");
  writeSampleCollection(data, { scenes: 36, sounds: 6, clips: 4, speech: 0 });
  server = spawn(process.execPath, [join(root, "scripts/demo-web.mjs"), "--port", "0", "--data", data], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "",
    err = "";
  server.stderr!.on("data", (d) => {
    err += d;
  });
  url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the demo server did not start in 120 s: ${err}`)), 120_000);
    server.stdout!.on("data", (d) => {
      out += d;
      const m = out.match(/polymodal web demo: (http:\S+)/);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    server.once("exit", (c) => {
      clearTimeout(t);
      reject(new Error(`the demo server exited (${c}): ${err}`));
    });
  });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: chromiumPath, args: ARGS, timeout: 60_000 });
  await init();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

async function open(
  context: import("playwright-core").BrowserContext,
  query = "",
): Promise<import("playwright-core").Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => {
    throw e;
  });
  await page.goto(url + query);
  await page.waitForFunction(
    () => (globalThis as unknown as { polymodalDemo?: Demo }).polymodalDemo?.ready === true,
    null,
    { timeout: 60_000 },
  );
  return page;
}

async function searchText(page: import("playwright-core").Page, q: string): Promise<Demo> {
  await page.fill("#q", q);
  await page.press("#q", "Enter");
  await page.waitForFunction(
    () => ((globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results.image ?? []).length > 0,
  );
  return page.evaluate(() => (globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo);
}

describe("browser index storage outside a browser", () => {
  it("names what is missing and what a name must be", async () => {
    const { saveIndex, loadIndex } = await import("../src/index.js");
    await expect(saveIndex(new MultimodalIndex(4), "x")).rejects.toThrow(
      /no IndexedDB \(in Node, use MultimodalIndex\.saveToFile\)/,
    );
    await expect(saveIndex(new MultimodalIndex(4), "x", { storage: "opfs" })).rejects.toThrow(
      /no origin private file system/,
    );
    await expect(loadIndex("../etc/passwd")).rejects.toThrow(/name must be 1 to 200 letters, digits/);
  });
});

describe.skipIf(!chromiumPath)("web demo in Chromium", () => {
  it("searches by text with exactly Node's results (ids, scores) at 1 and 2 threads; relaxed SIMD close", async () => {
    const clip = await loadPretrained("clip-scenes"),
      vt = await loadPretrained("video-text");
    const node = (space: string, q: Float32Array, k: number) =>
      MultimodalIndex.load(new Uint8Array(readFileSync(join(data, ".web", `${space}.pmx`))))
        .search(q, k, space)
        .map((h) => ({ id: h.itemId, score: h.score }));
    const want = {
      image: node("image", clip.embedTexts([QUERY])[0], 8),
      video: node("video", vt.embedTexts([QUERY])[0], 5),
    };
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
        expect(got.simd).toBe("exact");
        if (threads === 1) {
          mkdirSync(join(root, "test-artifacts"), { recursive: true });
          await page.screenshot({ path: join(root, "test-artifacts/web-demo.png"), fullPage: true });
        }
      } finally {
        await context.close();
      }
    }
    // ?simd=relaxed: the worker runs the relaxed build; the query embedding differs in its last bits only
    const context = await browser.newContext();
    try {
      const got = await searchText(await open(context, "?simd=relaxed"), QUERY);
      expect(got.simd).toBe("relaxed");
      expect(got.results.image.map((h) => h.id)).toEqual(want.image.map((h) => h.id));
      got.results.image.forEach((h, i) => expect(h.score).toBeCloseTo(want.image[i].score, 5));
    } finally {
      await context.close();
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
      for (const [folder, space] of [
        ["images", "image"],
        ["sounds", "audio"],
        ["videos", "video"],
      ] as const) {
        const f = (await import("node:fs")).readdirSync(join(data, folder)).sort()[1];
        await page.setInputFiles("#file", join(data, folder, f));
        await page.waitForFunction(
          (s) =>
            ((globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results[s] ?? [])[0]?.id !== undefined,
          space,
        );
        const got = await page.evaluate(
          (s) => (globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results[s],
          space,
        );
        expect(got[0].id, space).toBe(`${folder}/${f}`);
        expect(got[0].score).toBeGreaterThan(0.999);
        await page.evaluate(() => {
          (globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results = {};
        });
      }
      // not a media file: a clear message, the page goes on
      await page.setInputFiles("#file", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
      await expect.poll(() => page.textContent("#timing")).toMatch(/notes\.txt: not a PNG, JPEG, WAV or Y4M file/);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("a person's own files are added to the search and are still there after a reload (OPFS; IndexedDB)", async () => {
    const { makeScene, SIZE } = await import("../scripts/scenes.mjs");
    const { encodePng } = await import("../src/index.js");
    const s = makeScene(5_000_000); // not in the sample collection
    const png = join(data, "my-photo.png");
    (await import("node:fs")).writeFileSync(png, encodePng({ width: SIZE, height: SIZE, channels: 3, data: s.pixels }));
    const wav = join(data, "sounds", (await import("node:fs")).readdirSync(join(data, "sounds")).sort()[0]);
    for (const storage of ["opfs", "indexeddb"]) {
      const context = await browser.newContext();
      try {
        const page = await open(context, `?storage=${storage}`);
        const demo = (): Promise<Demo & { mine: number; storage: string }> =>
          page.evaluate(
            () => (globalThis as unknown as { polymodalDemo: Demo & { mine: number; storage: string } }).polymodalDemo,
          );
        expect((await demo()).storage).toBe(storage);
        const payload = (f: string, mimeType: string) => ({
          name: f.split("/").pop()!,
          mimeType,
          buffer: readFileSync(f),
        });
        if (storage === "opfs") {
          // dropped on the page, as a person does: a DataTransfer holding the files
          const files = [
            payload(png, "image/png"),
            { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("x") },
            payload(wav, "audio/wav"),
          ];
          const dt = await page.evaluateHandle(
            (fs) => {
              const d = new DataTransfer();
              for (const f of fs) d.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.mimeType }));
              return d;
            },
            files.map((f) => ({ name: f.name, mimeType: f.mimeType, bytes: [...f.buffer] })),
          );
          await page.dispatchEvent("#mine", "drop", { dataTransfer: dt });
        } else {
          await page.setInputFiles("#add", [
            payload(png, "image/png"),
            { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("x") },
            payload(wav, "audio/wav"),
          ]);
        }
        await page.waitForFunction(
          () => (globalThis as unknown as { polymodalDemo: { mine: number } }).polymodalDemo.mine === 2,
        );
        expect(await page.textContent("#timing")).toMatch(
          /added 2 file\(s\) .* skipped notes\.txt \(not a PNG, JPEG, WAV or Y4M file\)/,
        );
        await page.reload();
        await page.waitForFunction(
          () => (globalThis as unknown as { polymodalDemo?: Demo }).polymodalDemo?.ready === true,
        );
        expect((await demo()).mine).toBe(2);
        expect(await page.textContent("#mine-status")).toMatch(/1 images, 0 clips, 1 sounds/);
        await page.setInputFiles("#file", png);
        await page.waitForFunction(
          () => ((globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results.image ?? []).length > 0,
        );
        const hits = (await demo()).results.image;
        expect(hits[0].id).toBe("yours/my-photo.png");
        expect(hits[0].score).toBeGreaterThan(0.999);
        if (storage === "opfs") {
          // a damaged saved copy: the page says so and starts that space empty; nothing else is lost
          await page.evaluate(async () => {
            const f = await (await navigator.storage.getDirectory()).getFileHandle("mine-audio.pmx");
            const w = await f.createWritable();
            await w.write(new TextEncoder().encode("not an index"));
            await w.close();
          });
          await page.reload();
          await page.waitForFunction(
            () => (globalThis as unknown as { polymodalDemo?: Demo }).polymodalDemo?.ready === true,
          );
          expect(await page.textContent("#status")).toMatch(
            /your saved audio files could not be read \(loadIndex mine-audio \(opfs\): /,
          );
          expect(await page.textContent("#mine-status")).toMatch(/1 images, 0 clips, 0 sounds/);
        }
        await page.click("#forget");
        await page.waitForFunction(
          () => (globalThis as unknown as { polymodalDemo: { mine: number } }).polymodalDemo.mine === 0,
        );
        await page.reload();
        await page.waitForFunction(
          () => (globalThis as unknown as { polymodalDemo?: Demo }).polymodalDemo?.ready === true,
        );
        expect((await demo()).mine).toBe(0);
      } finally {
        await context.close();
      }
    }
  }, 120_000);

  it("the page keeps drawing while a ViT-B/16 embedding runs in its worker", async () => {
    const context = await browser.newContext();
    try {
      const page = await open(context);
      await page.click("#vit");
      await page.waitForFunction(
        () => (globalThis as unknown as { polymodalDemo: { vit: unknown } }).polymodalDemo.vit !== null,
        null,
        { timeout: 120_000 },
      );
      const vit = await page.evaluate(
        () => (globalThis as unknown as { polymodalDemo: { vit: { fps: number; ms: number } } }).polymodalDemo.vit,
      );
      console.log(
        `web demo: ViT-B/16 embedding ${vit.ms.toFixed(0)} ms in the worker; the page drew ${vit.fps.toFixed(0)} ` +
          `frames/s meanwhile`,
      );
      // the mechanism, not a speed target (npm run bench -- browser holds that): a page blocked by the model would
      // draw no frame at all until the embedding ends
      expect(vit.ms).toBeGreaterThan(0);
      expect(vit.fps).toBeGreaterThan(10);
      expect(await page.textContent("#timing")).toMatch(/ViT-B\/16 .* embedded a 224x224 image in \d+ ms/);
    } finally {
      await context.close();
    }
  }, 180_000);

  it("records the microphone (a WAV as Chromium's fake device): draws its log-mel as it streams and transcribes " +
    "it", async () => {
    const { chromium } = await import("playwright-core");
    const list = JSON.parse(readFileSync(join(root, "test/fixtures/speech/transcripts.json"), "utf8")) as Array<{
      file: string;
      text: string;
    }>;
    const { file, text } = list[1];
    // the fake device plays the file in a loop, so the live transcript holds the words, repeated
    const micBrowser = await chromium.launch({
      executablePath: chromiumPath,
      timeout: 60_000,
      args: [
        ...ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
        `--use-file-for-fake-audio-capture=${join(root, "test/fixtures/speech", file)}`,
      ],
    });
    try {
      const context = await micBrowser.newContext();
      await context.grantPermissions(["microphone"]);
      const page = await open(context);
      await page.click("#record");
      await page.waitForFunction(
        (want) =>
          (globalThis as unknown as { polymodalDemo: { transcript: string } }).polymodalDemo.transcript.includes(want),
        text,
        { timeout: 30_000 },
      );
      const frames = await page.evaluate(
        () => (globalThis as unknown as { polymodalDemo: { melFrames: number } }).polymodalDemo.melFrames,
      );
      console.log(
        `web demo microphone: ${file} ("${text}") transcribed live as "${await page.textContent("#transcript")}" ` +
          `after ${frames} log-mel frames`,
      );
      await page
        .locator("section[aria-labelledby=mic-h]")
        .screenshot({ path: join(root, "test-artifacts/web-demo-mic.png") });
      expect(frames).toBeGreaterThan(50); // 50 frames/s at hop 320: the spectrogram streamed for over a second
      await page.click("#record");
      await expect.poll(() => page.textContent("#mic-status")).toBe("stopped");
      expect(await page.getAttribute("#record", "aria-pressed")).toBe("false");
      // a Hugging Face folder the page serves, chosen in the page: loaded in the worker by its URL, then fed
      writeCTCFolder(join(data, "hf", "hubert"), "hubert");
      const asked: string[] = [];
      page.on("request", (r) => asked.push(new URL(r.url()).pathname));
      await page.fill("#asr-model", "/data/hf/hubert/");
      await page.click("#record");
      await expect
        .poll(() => page.textContent("#mic-status"), { timeout: 30_000 })
        .toMatch(/^listening \(http:\S+\/data\/hf\/hubert\/\)/);
      expect(asked).toEqual(
        expect.arrayContaining(["/data/hf/hubert/config.json", "/data/hf/hubert/model.safetensors"]),
      );
      await page.waitForTimeout(2500); // (a transcript a second)
      await page.click("#record");
      await expect.poll(() => page.textContent("#mic-status")).toBe("stopped");
      // the procedural HuBERT spells letters, not the shipped model's words
      expect(await page.textContent("#transcript")).not.toContain(text);
    } finally {
      await micBrowser.close();
    }
  }, 150_000);

  it("searches a dropped folder of notes with a text model the page serves: Node's ids and scores", async () => {
    const model = writeSentenceFolder(join(data, "hf", "st"), { maxSeqLength: 12, prompts: {} });
    const NOTES: Record<string, string> = {
      "notes/shapes.md":
        "# Shapes\nthe red circle is on the left\ntwo blue squares at the top\n\na small photo of a cat",
      "notes/hello.txt": "hello world, five stars",
      "notes/image.png": "not a note",
    };
    const context = await browser.newContext();
    try {
      const page = await open(context);
      await page.fill("#notes-model", "/data/hf/st/");
      // a folder chosen in the page: its files carry their paths in it
      for (const [name, text] of Object.entries(NOTES)) {
        mkdirSync(dirname(join(data, name)), { recursive: true });
        writeFileSync(join(data, name), text);
      }
      await page.setInputFiles("#notes-add", join(data, "notes"));
      const demo = () => page.evaluate(() => (globalThis as unknown as { polymodalDemo: any }).polymodalDemo);
      await expect.poll(async () => (await demo()).notesStatus, { timeout: 30_000 }).toMatch(/^Your notes: 2 file/);
      expect((await demo()).notesStatus).toMatch(/skipped notes\/image\.png \(not a text file\)/);
      // Node: the same chunks, embedded in the same batches, in the same index -> the same ids and scores, exactly
      const st = (await loadPretrained(model)) as unknown as Pipeline;
      const index = new MultimodalIndex(st.dim!, { kind: "flat" });
      for (const name of ["notes/hello.txt", "notes/shapes.md"]) {
        const chunks = chunkText(NOTES[name], {
          maxTokens: st.documents!.maxTokens,
          countTokens: (t) => st.documents!.countTokens(t),
        });
        for (let i = 0; i < chunks.length; i += 8) {
          const batch = chunks.slice(i, i + 8);
          allValues(
            st.embedBatch(
              "text",
              batch.map((c) => c.text),
            ),
          ).forEach((e, j) => index.add(`${name}#${i + j}`, e, "text", { file: name, line: batch[j].line }));
        }
      }
      const q = "two blue squares at the top";
      await page.fill("#notes-q", q);
      await page.press("#notes-q", "Enter");
      await expect.poll(async () => (await demo()).notes.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const got = (await demo()).notes as Array<{ file: string; line: number; score: number }>;
      const want = index.search(allValues(st.embedBatch("text", [q]))[0], 5, "text");
      expect(got.map((h) => [h.file, h.line, h.score])).toEqual(
        want.map((h) => [h.metadata.file, h.metadata.line, h.score]),
      );
      expect(got[0]).toMatchObject({ file: "notes/shapes.md", line: 3 });
      index.dispose();
    } finally {
      await context.close();
    }
  }, 90_000);

  it("the prebuilt polymodal/worker (dist/browser/worker.js) hosts a pipeline in a page's Worker with Node's " +
    "bits", async () => {
    const clip = await loadPretrained("clip-scenes");
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url);
      // the worker RPC's messages by hand: { id, method, args } -> { id, ok, value | error }
      const got = await page.evaluate(async () => {
        const w = new Worker("/polymodal/worker.js", { type: "module" });
        let next = 0;
        const call = (method: string, ...args: unknown[]) =>
          new Promise<any>((resolve, reject) => {
            const id = ++next;
            const on = (e: MessageEvent) => {
              if (e.data?.id !== id) return;
              w.removeEventListener("message", on);
              e.data.ok ? resolve(e.data.value) : reject(new Error(e.data.error));
            };
            w.addEventListener("message", on);
            w.postMessage({ id, method, args });
          });
        await call("init");
        await call("load", "clip-scenes", { baseUrl: "/models/" });
        const [e] = await call("embedTexts", "clip-scenes", ["two small red circles on the left"]);
        const err = await call("transcribe", "clip-scenes", new Uint8Array(4)).catch((x: Error) => x.message);
        w.terminate();
        return { e: Array.from(e as Float32Array), err };
      });
      expect(Float32Array.from(got.e)).toEqual(clip.embedTexts(["two small red circles on the left"])[0]);
      expect(got.err).toMatch(/clip-scenes does not transcribe speech/);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("works at 360 px wide, every control labelled and reachable by keyboard", async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    try {
      const page = await open(context);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      const unlabelled = await page.$$eval("input, button, progress", (els) =>
        els
          .filter((e) => {
            const el = e as HTMLInputElement;
            return !(
              el.labels?.length ||
              el.getAttribute("aria-label") ||
              (el.tagName === "BUTTON" && el.textContent?.trim())
            );
          })
          .map((e) => e.outerHTML),
      );
      expect(unlabelled).toEqual([]);
      // Tab reaches the search box; typing and Enter search
      for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.id)) !== "q"; i++)
        await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("q");
      await page.keyboard.type(QUERY);
      await page.keyboard.press("Enter");
      await page.waitForFunction(
        () => ((globalThis as unknown as { polymodalDemo: Demo }).polymodalDemo.results.image ?? []).length > 0,
      );
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe.skipIf(!chromiumPath)("the demo server serves only its own files", () => {
  it(
    "a URL that does not decode is a 404 (the server lives on); symlinks and escapes out of its folders are not " +
      "followed",
    async () => {
      symlinkSync("/etc/passwd", join(data, "passwd.png"));
      for (const path of [
        "models/%",
        "data/%E0%A4%A",
        "data/passwd.png",
        "data/..%2f..%2f..%2fetc%2fpasswd",
        "models/..%2fpackage.json",
        "data/%00x",
      ]) {
        const r = await fetch(`${url}${path}`);
        expect([path, r.status]).toEqual([path, 404]);
      }
      expect((await fetch(url)).status).toBe(200);
    },
  );
});
