// `npm run bench -- serve`: the HTTP service under load (autocannon, loopback only, every phase bounded in time)
// against the same model called in this process on the same machine.  Ratios are the result:
//   1. sustainable /v1/embed throughput (text and image, cache off) with 1 worker vs one in-process caller (one
//      core each), and with one worker per core vs in-process callers on every core (worker threads);
//   2. overload: 200 connections against a 64-input queue: only 2xx, 429 and 503 (with Retry-After), /healthz probed
//      from another process meanwhile;
//   3. slowloris: connections dribbling headers or stalling a body are closed within their deadlines (<= 15 s);
//   4. resident memory over 100,000 requests (cache on, 1,000 distinct texts).
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import autocannon from "autocannon";
import { init, loadPretrained, encodePng } from "../dist/index.js";
import { makeScene, SIZE } from "../scripts/scenes.mjs";

const bin = fileURLToPath(new URL("../bin/polymodal.js", import.meta.url));
const SECONDS = Number(process.env.BENCH_SERVE_SECONDS ?? 8);
const cores = availableParallelism();
// BENCH_SERVE_PHASES=overload,slowloris runs only those (throughput, workers, overload, slowloris, memory);
// BENCH_SERVE_ARGS="--max-loop-delay-ms 0" adds flags to the overload rows' services
const only = process.env.BENCH_SERVE_PHASES?.split(",");
const phase = (name) => !only || only.includes(name);

const png = encodePng({ width: SIZE, height: SIZE, channels: 3, data: makeScene(4242).pixels });
/** A 512 x 512 photo-like PNG (noise does not compress): an upload as big as a phone's downscaled picture. */
function photoPng() {
  const n = 512 * 512 * 3,
    data = new Uint8Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = (s >>> 16) & 255;
  }
  return encodePng({ width: 512, height: 512, channels: 3, data });
}
const photoBytes = photoPng();
const bodies = {
  text: JSON.stringify({ model: "clip-scenes", inputs: [{ text: "two small red circles on the left" }] }),
  image: JSON.stringify({ model: "clip-scenes", inputs: [{ image: Buffer.from(png).toString("base64") }] }),
  photo: JSON.stringify({ model: "clip-scenes", inputs: [{ image: Buffer.from(photoBytes).toString("base64") }] }),
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

const JSON_TYPE = { "content-type": "application/json" };
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
async function inProcessRateParallel(kind, seconds, k, image = png) {
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
        workerData: { kind, seconds, png: Array.from(image) },
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

/**
 * Like autocannon, `connections` clients posting `body` back to back for SECONDS, but each asking first with
 * `Expect: 100-continue` (as curl does for bodies over 1 MB) and sending its body only when told to continue.
 */
async function expectingClients(url, body, connections) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const statusCodeStats = {};
  let errors = 0,
    refusedWithoutRetry = 0;
  const end = performance.now() + SECONDS * 1000;
  const one = () =>
    new Promise((resolve) => {
      const req = request(`${url}/v1/embed`, {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": body.length, expect: "100-continue" },
      });
      req.on("continue", () => req.end(body));
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => {
          const c = String(res.statusCode);
          statusCodeStats[c] = { count: (statusCodeStats[c]?.count ?? 0) + 1 };
          if ((c === "429" || c === "503") && !/^\d+$/.test(res.headers["retry-after"] ?? "")) refusedWithoutRetry++;
          if (!req.writableEnded) req.destroy(); // refused before the body: it is not sent
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  agent.destroy();
  return { statusCodeStats, errors, timeouts: 0, refusedWithoutRetry };
}

/** The overload table's line: statuses, refusals without Retry-After, drops, goodput, /healthz latency meanwhile. */
async function overload(connections, queue, body = bodies.image, label = "image embeds", expect = false, base = 0) {
  // a Buffer body goes raw, as the file itself (Content-Type image/png)
  const raw = Buffer.isBuffer(body),
    path = raw ? "/v1/embed?model=clip-scenes" : "/v1/embed",
    headers = { "content-type": raw ? "image/png" : "application/json" };
  const s = await startServe([
    "--workers",
    String(cores),
    "--cache-size",
    "0",
    "--max-queue",
    String(queue),
    ...(process.env.BENCH_SERVE_ARGS?.split(" ") ?? []),
  ]);
  await cannon(s.url, bodies.image, { connections: 8, duration: 2 }); // warm-up
  const probe = probeHealthz(s.url, SECONDS);
  let refusedWithoutRetry = 0;
  const r = expect
    ? await expectingClients(s.url, body, connections)
    : await autocannon({
        url: s.url,
        connections,
        duration: SECONDS,
        requests: [
          {
            method: "POST",
            path,
            headers,
            body,
            onResponse(status, _body, _ctx, headers) {
              if ((status === 429 || status === 503) && !/^\d+$/.test(headers["retry-after"] ?? ""))
                refusedWithoutRetry++;
            },
          },
        ],
      });
  refusedWithoutRetry += r.refusedWithoutRetry ?? 0;
  const [p50, p99, max, failed, n] = await probe;
  const m = await (await fetch(`${s.url}/metrics`)).text();
  const lag = (q) =>
    (Number(m.match(new RegExp(`^polymodal_nodejs_eventloop_lag_${q}_seconds (\\S+)`, "m"))?.[1]) * 1000).toFixed(0);
  await s.stop();
  const stats = Object.entries(r.statusCodeStats ?? {});
  const codes = stats.map(([c, v]) => `${c}: ${v.count}`).join(", ");
  const other = stats.filter(([c]) => !/^(2..|429|503)$/.test(c)).reduce((a, [, v]) => a + v.count, 0);
  const ok = stats.filter(([c]) => /^2/.test(c)).reduce((a, [, v]) => a + v.count, 0);
  return (
    `overload (${connections} connections of ${label}, queue ${queue}): ${codes}; other statuses ${other}, ` +
    `refusals without Retry-After ${refusedWithoutRetry}, errors ${r.errors}, timeouts ${r.timeouts}; ` +
    `2xx ${(ok / SECONDS).toFixed(0)}/s` +
    (base ? ` = ${(ok / SECONDS / base).toFixed(2)}x ${cores} in-process callers' ${base.toFixed(0)}/s; ` : "; ") +
    `/healthz meanwhile (${n} probes from another process): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ` +
    `ms (target <= 50), max ${max.toFixed(1)} ms, failed ${failed}; the service's own event-loop delay: ` +
    `p50 ${lag("p50")} ms, p99 ${lag("p99")} ms, max ${lag("max")} ms`
  );
}

/**
 * `n` slowloris connections, half dribbling their headers a byte a second, half sending headers that promise a
 * 100 kB body and then stalling, while one client embeds texts beside them: when the service closed each (s from
 * connecting; target <= 15), and whether the normal client was served meanwhile.
 */
async function slowloris(n) {
  const s = await startServe(["--workers", "1"]);
  const { hostname, port } = new URL(s.url);
  const t0 = performance.now();
  let stop = false;
  const normal = (async () => {
    let ok = 0;
    while (!stop) {
      const r = await fetch(`${s.url}/v1/embed`, { method: "POST", body: bodies.text, headers: JSON_TYPE });
      await r.arrayBuffer();
      if (r.ok) ok++;
      await new Promise((r) => setTimeout(r, 50));
    }
    return ok;
  })();
  const closedAfter = await new Promise((resolve) => {
    const times = [];
    for (let i = 0; i < n; i++) {
      const sock = connect(Number(port), hostname);
      const start = performance.now();
      const head = "POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
      let timer;
      sock.on("connect", () => {
        if (i % 2 === 0) {
          let k = 0;
          timer = setInterval(() => sock.write(head[k++ % head.length]), 1000);
        } else sock.write(`${head}Content-Length: 100000\r\n\r\n{"inputs":[`);
      });
      sock.on("error", () => {});
      sock.resume(); // (a paused socket never sees the server's FIN)
      sock.on("close", () => {
        clearInterval(timer);
        times.push((performance.now() - start) / 1000);
        if (times.length === n) resolve(times);
      });
      setTimeout(() => sock.destroy(), 30_000).unref(); // still open after 30 s: counted at 30
    }
  });
  stop = true;
  const served = await normal;
  const wall = (performance.now() - t0) / 1000;
  await s.stop();
  closedAfter.sort((a, b) => a - b);
  return (
    `slowloris (${n} connections: headers dribbled / body stalled): closed after ${closedAfter[0].toFixed(1)}-` +
    `${closedAfter[n - 1].toFixed(1)} s (target <= 15); a normal client meanwhile: ${served} embeds in ` +
    `${wall.toFixed(0)} s`
  );
}

export async function benchServe() {
  const lines = [];
  const f = (x) => x.toFixed(2);
  // 1. sustainable throughput, one core: 1 worker vs one in-process caller, interleaved in rounds (this machine's
  // speed drifts by a third between minutes): the median of the rounds' ratios
  for (const kind of phase("throughput") ? ["text", "image"] : []) {
    const s = await startServe(["--workers", "1", "--cache-size", "0", "--max-queue", "100000"]);
    await cannon(s.url, bodies[kind], { connections: 8, duration: 2 }); // warm-up
    const rounds = [];
    let last;
    for (let i = 0; i < 3; i++) {
      const base = await inProcessRate(kind, SECONDS / 3);
      last = await cannon(s.url, bodies[kind], { connections: 8, duration: Math.ceil(SECONDS / 3) });
      rounds.push({ base, rate: last.requests.average, non2xx: last.non2xx, errors: last.errors });
    }
    await s.stop();
    const ratios = rounds.map((x) => x.rate / x.base).sort((a, b) => a - b);
    lines.push(
      `/v1/embed ${kind}, 1 worker, 8 connections, 3 rounds interleaved with one in-process caller: ` +
        rounds.map((x) => `${x.rate.toFixed(0)} vs ${x.base.toFixed(0)}/s`).join(", ") +
        ` = ${ratios.map(f).join(", ")}x, median ${f(ratios[1])}x (target >= 0.8x); last round's latency p50 ` +
        `${last.latency.p50} ms, p99 ${last.latency.p99} ms; non-2xx ${rounds.reduce((a, x) => a + x.non2xx, 0)}, ` +
        `errors ${rounds.reduce((a, x) => a + x.errors, 0)}`,
    );
  }
  // one worker per core vs in-process callers on every core
  for (const kind of phase("workers") ? ["text", "image"] : []) {
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
  // 2. overload: 200 connections of image embeds against a 64-input queue (25x the sustainable concurrency), with
  // /healthz probed from another process meanwhile: only 2xx, 429 and 503, every refusal saying when to retry
  if (phase("overload")) {
    lines.push(await overload(200, 64));
    const photo = `${(bodies.photo.length / 1e6).toFixed(1)} MB photo embeds`,
      base = await inProcessRateParallel("image", Math.min(4, SECONDS), cores, photoBytes);
    lines.push(await overload(200, 64, bodies.photo, photo, false, base));
    lines.push(await overload(200, 64, bodies.photo, `${photo} asking first (Expect: 100-continue)`, true, base));
    const rawLabel = `${(photoBytes.length / 1e6).toFixed(1)} MB photo embeds sent raw (Content-Type: image/png)`;
    lines.push(await overload(200, 64, Buffer.from(photoBytes), rawLabel, false, base));
  }
  // 3. slowloris: connections that dribble their headers or promise a body and stall, beside normal traffic
  if (phase("slowloris")) lines.push(await slowloris(60));
  // 4. resident memory over 100,000 requests (1,000 distinct texts, LRU cache on)
  if (phase("memory")) {
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
