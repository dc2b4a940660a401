// `npm run bench -- serve`: the HTTP service under load (autocannon, loopback only, every phase bounded in time)
// against the same model called in this process on the same machine.  Ratios are the result:
//   1. sustainable /v1/embed throughput (text and image, cache off) with 1 worker vs one in-process caller (one
//      core each), and with one worker per core vs in-process callers on every core (worker threads);
//   2. overload: 10x the sustainable concurrency with a small queue: only 2xx and 429, and /healthz latency probed
//      from another process meanwhile;
//   3. resident memory over 100,000 requests (cache on, 1,000 distinct texts).
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import autocannon from "autocannon";
import { init, loadPretrained, encodePng } from "../dist/index.js";
import { makeScene, SIZE } from "../scripts/scenes.mjs";

const bin = fileURLToPath(new URL("../bin/polymodal.js", import.meta.url));
const SECONDS = Number(process.env.BENCH_SERVE_SECONDS ?? 8);
const cores = availableParallelism();

const png = encodePng({ width: SIZE, height: SIZE, channels: 3, data: makeScene(4242).pixels });
const bodies = {
  text: JSON.stringify({ model: "clip-scenes", inputs: [{ text: "two small red circles on the left" }] }),
  image: JSON.stringify({ model: "clip-scenes", inputs: [{ image: Buffer.from(png).toString("base64") }] }),
};

function startServe(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const t = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error("polymodal serve did not start in 60 s"));
    }, 60_000);
    p.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) {
        clearTimeout(t);
        resolve({
          url: m[1],
          stop: () =>
            new Promise((r) => {
              p.once("exit", r);
              p.kill("SIGTERM");
            }),
        });
      }
    });
    p.once("exit", (c) => {
      clearTimeout(t);
      reject(new Error(`polymodal serve exited (${c})`));
    });
  });
}

const cannon = (url, body, o) =>
  autocannon({ url: `${url}/v1/embed`, method: "POST", headers: { "content-type": "application/json" }, body, ...o });

/** Requests per second of one in-process caller embedding `kind` one input at a time, for `seconds`. */
async function inProcessRate(kind, seconds) {
  await init();
  const clip = await loadPretrained("clip-scenes");
  const run =
    kind === "text" ? () => clip.embedTexts(["two small red circles on the left"]) : () => clip.embedImages([png]);
  for (let i = 0; i < 50; i++) run();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    run();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** The same, in `k` worker threads at once (every core busy): the total rate. */
async function inProcessRateParallel(kind, seconds, k) {
  const src = `
    import { parentPort, workerData } from "node:worker_threads";
    import { init, loadPretrained } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
    await init();
    const clip = await loadPretrained("clip-scenes");
    const png = new Uint8Array(workerData.png);
    const run = workerData.kind === "text" ? () => clip.embedTexts(["two small red circles on the " +
      "left"]) : () => clip.embedImages([png]);
    for (let i = 0; i < 50; i++) run();
    parentPort.postMessage("ready");
    parentPort.once("message", () => {
      let n = 0; const t0 = performance.now();
      while (performance.now() - t0 < workerData.seconds * 1000) { run(); n++; }
      parentPort.postMessage(n / ((performance.now() - t0) / 1000));
    });`;
  const ws = Array.from(
    { length: k },
    () =>
      new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`), {
        workerData: { kind, seconds, png: Array.from(png) },
      }),
  );
  await Promise.all(ws.map((w) => new Promise((r) => w.once("message", r))));
  const rates = await Promise.all(
    ws.map(
      (w) =>
        new Promise((r) => {
          w.once("message", r);
          w.postMessage("go");
        }),
    ),
  );
  await Promise.all(ws.map((w) => w.terminate()));
  return rates.reduce((a, b) => a + b, 0);
}

/** /healthz latencies (ms) probed every 10 ms from a separate process for `seconds`: [p50, p99, max, failures]. */
function probeHealthz(url, seconds) {
  const src = `
    const lat = []; let failed = 0; const end = Date.now() + ${seconds * 1000};
    while (Date.now() < end) {
      const t0 = performance.now();
      try {
        const r = await fetch(${JSON.stringify(url)} + "/healthz");
        await r.text();
        if (r.status !== 200) failed++;
      } catch { failed++; }
      lat.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
    lat.sort((a, b) => a - b);
    const q = (p) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)];
    console.log(JSON.stringify([q(0.5), q(0.99), lat[lat.length - 1], failed, lat.length]));`;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--input-type=module", "-e", src], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.once("exit", () => resolve(JSON.parse(out)));
  });
}

async function rss(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.match(/^polymodal_process_resident_memory_bytes (\S+)/m)?.[1] ?? NaN);
}

export async function benchServe() {
  const lines = [];
  const f = (x) => x.toFixed(2);
  // 1. sustainable throughput, one core: 1 worker vs one in-process caller
  const single = {};
  for (const kind of ["text", "image"]) {
    const base = await inProcessRate(kind, Math.min(4, SECONDS));
    const s = await startServe(["--workers", "1", "--cache-size", "0", "--max-queue", "100000"]);
    await cannon(s.url, bodies[kind], { connections: 8, duration: 2 }); // warm-up
    const r = await cannon(s.url, bodies[kind], { connections: 8, duration: SECONDS });
    await s.stop();
    single[kind] = r.requests.average;
    lines.push(
      `/v1/embed ${kind}, 1 worker, 8 connections: ${r.requests.average.toFixed(0)} req/s ` +
        `= ${f(r.requests.average / base)}x one in-process caller's ${base.toFixed(0)}/s ` +
        `(target >= 0.8x); latency p50 ${r.latency.p50} ms, p97.5 ${r.latency.p97_5} ms, p99 ${r.latency.p99} ms; ` +
        `non-2xx ${r.non2xx}, errors ${r.errors}`,
    );
  }
  // one worker per core vs in-process callers on every core
  for (const kind of ["text", "image"]) {
    const base = await inProcessRateParallel(kind, Math.min(4, SECONDS), cores);
    const s = await startServe(["--workers", String(cores), "--cache-size", "0", "--max-queue", "100000"]);
    await cannon(s.url, bodies[kind], { connections: 16, duration: 2 });
    const r = await cannon(s.url, bodies[kind], { connections: 16, duration: SECONDS });
    await s.stop();
    lines.push(
      `/v1/embed ${kind}, ${cores} workers, 16 connections: ${r.requests.average.toFixed(0)} req/s ` +
        `= ${f(r.requests.average / base)}x ${cores} in-process callers' ${base.toFixed(0)}/s ` +
        `(the load generator and the event loop share these ${cores} cores); p50 ${r.latency.p50} ms, ` +
        `p99 ${r.latency.p99} ms`,
    );
  }
  // 2. overload: 10x the sustainable concurrency (8 -> 80 connections) with a 64-input queue
  {
    const s = await startServe(["--workers", String(cores), "--cache-size", "0", "--max-queue", "64"]);
    const probe = probeHealthz(s.url, SECONDS);
    const r = await cannon(s.url, bodies.image, { connections: 80, duration: SECONDS });
    const [p50, p99, max, failed, n] = await probe;
    await s.stop();
    const codes = Object.entries(r.statusCodeStats ?? {})
      .map(([c, v]) => `${c}: ${v.count}`)
      .join(", ");
    const other = Object.entries(r.statusCodeStats ?? {})
      .filter(([c]) => c !== "200" && c !== "429")
      .reduce((a, [, v]) => a + v.count, 0);
    lines.push(
      `overload (80 connections, queue 64): ${codes}; other statuses ${other}, errors ${r.errors}, ` +
        `timeouts ${r.timeouts}; ` +
        `/healthz meanwhile (${n} probes from another process): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ` +
        `ms (target <= 50), max ${max.toFixed(1)} ms, failed ${failed}`,
    );
  }
  // 3. resident memory over 100,000 requests (1,000 distinct texts, LRU cache on)
  {
    const s = await startServe(["--workers", String(cores)]);
    const requests = Array.from({ length: 1000 }, (_, i) => ({
      method: "POST",
      path: "/v1/embed",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "clip-scenes", inputs: [{ text: `caption number ${i}` }] }),
    }));
    const run = (amount) => autocannon({ url: s.url, connections: 16, amount, requests });
    await run(10_000); // warm-up: caches, JIT, pools
    const mib = [await rss(s.url)];
    const t0 = performance.now();
    let non2xx = 0;
    for (let i = 0; i < 4; i++) {
      non2xx += (await run(25_000)).non2xx;
      mib.push(await rss(s.url));
    }
    const secs = (performance.now() - t0) / 1000;
    await s.stop();
    const m = mib.map((x) => (x / 2 ** 20).toFixed(0));
    lines.push(
      `100,000 requests after a 10,000 warm-up (${(100_000 / secs).toFixed(0)} req/s, non-2xx ${non2xx}): ` +
        `resident memory ${m[0]} MiB, then ${m.slice(1).join(", ")} MiB ` +
        `after each 25,000 (last/first ${f(mib[4] / mib[0])}x, largest/first ${f(Math.max(...mib) / mib[0])}x)`,
    );
  }
  for (const l of lines) console.log("  " + l);
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchServe();
