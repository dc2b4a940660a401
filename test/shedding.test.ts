// Load shedding (src/server/plugins/shedding.ts) and bounded body work per turn (src/server/turns.ts): a service
// whose event loop runs late refuses new work with 503 + Retry-After before reading its body, in each route's own
// error shape, while /healthz, /readyz and /metrics answer; and it takes work again once the loop has caught up.
import { connect, type AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import type { startService as StartService } from "../src/server/app.js";
import shedding from "../src/server/plugins/shedding.js";
import errors from "../src/server/plugins/errors.js";
import { createMetrics } from "../src/server/metrics.js";
import { TurnBudget } from "../src/server/turns.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("TurnBudget", () => {
  it("runs queued work in order, at most bytesPerTurn a turn, a larger job alone", async () => {
    const b = new TurnBudget(100);
    const ran: string[] = [];
    for (const [name, bytes] of [
      ["a", 60],
      ["b", 40],
      ["c", 30],
      ["big", 500],
      ["d", 10],
    ] as const)
      b.defer(bytes, () => ran.push(name));
    expect(ran).toEqual([]); // never in the caller's turn
    const perTurn: string[][] = [];
    for (let i = 0; i < 5; i++) {
      await turn();
      perTurn.push(ran.splice(0));
    }
    expect(perTurn.filter((t) => t.length)).toEqual([["a", "b"], ["c"], ["big"], ["d"]]);
  });

  it("says how long the oldest body has waited, and 0 once none waits", async () => {
    const b = new TurnBudget(1);
    expect(b.oldestWaitMs()).toBe(0);
    b.defer(1, () => {});
    b.defer(1, () => {});
    const t0 = performance.now();
    while (performance.now() - t0 < 30); // the loop is held: the bodies wait
    expect(b.oldestWaitMs()).toBeGreaterThanOrEqual(29);
    await turn();
    await turn();
    await turn();
    expect(b.oldestWaitMs()).toBe(0);
  });
});

/**
 * A bare app with the shedding plugin over a body backlog the test sets (waited, ms), a JSON parser that counts
 * the bodies it parses, the service's error handler and POST /work.
 */
async function backlogApp() {
  const t = {
    waited: 0,
    parsed: 0,
    app: Fastify(),
    metrics: createMetrics({ depth: () => 0, busy: () => 0, stopped: () => 0 }),
  };
  t.app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    t.parsed++;
    done(null, JSON.parse(body as string));
  });
  await t.app.register(shedding, {
    maxEventLoopDelayMs: 0,
    maxEventLoopUtilization: 0,
    maxBodyWaitMs: 500,
    sampleIntervalMs: 100,
    minInFlight: 0,
    turns: { oldestWaitMs: () => t.waited } as TurnBudget,
    metrics: t.metrics,
  });
  await t.app.register(errors, { metrics: t.metrics });
  t.app.post("/work", async () => ({ done: true }));
  return t;
}

describe("shedding on the body backlog", () => {
  it("refuses work before reading its body while bodies wait too long; health routes, a calm loop pass", async () => {
    const t = await backlogApp(),
      { app, metrics } = t;
    app.get("/healthz", { config: { alwaysAnswer: true } }, async () => ({ status: "ok" }));
    const work = () => app.inject({ method: "POST", url: "/work", payload: { x: 1 } });

    expect((await work()).statusCode).toBe(200);
    t.waited = 501;
    const r = await work();
    expect(r.statusCode).toBe(503);
    expect(r.headers["retry-after"]).toBe("1");
    expect(r.json()).toMatchObject({
      statusCode: 503,
      message: expect.stringMatching(/overloaded: request bodies wait 501 ms to be read \(limit 500 ms\)/),
    });
    expect(t.parsed).toBe(1); // the refused request's body was never parsed
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect(await metrics.registry.getSingleMetricAsString("polymodal_rejected_total")).toMatch(
      /reason="overloaded"} 1/,
    );
    t.waited = 0;
    expect((await work()).statusCode).toBe(200);
    await app.close();
  });

  it("never sheds while at most minInFlight requests are in flight: a late loop is then not their doing", async () => {
    const metrics = createMetrics({ depth: () => 0, busy: () => 0, stopped: () => 0 });
    const app = Fastify();
    await app.register(shedding, {
      maxEventLoopDelayMs: 0,
      maxEventLoopUtilization: 0,
      maxBodyWaitMs: 500,
      sampleIntervalMs: 100,
      minInFlight: 2,
      turns: { oldestWaitMs: () => 5000 } as TurnBudget,
      metrics,
    });
    await app.register(errors, { metrics });
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    app.get("/hold", async () => {
      await held;
      return { done: true };
    });
    app.get("/quick", async () => ({ done: true }));
    expect((await app.inject({ url: "/quick" })).statusCode).toBe(200); // alone: answered
    const holding = [app.inject({ url: "/hold" }), app.inject({ url: "/hold" })];
    await new Promise((r) => setTimeout(r, 20));
    expect((await app.inject({ url: "/quick" })).statusCode).toBe(503); // the third at once: shed
    release();
    expect((await Promise.all(holding)).map((r) => r.statusCode)).toEqual([200, 200]);
    expect((await app.inject({ url: "/quick" })).statusCode).toBe(200);
    await app.close();
  });

  it("a client sending Expect: 100-continue is refused before it sends its body; its connection closes", async () => {
    const t = await backlogApp(),
      { app } = t;
    app.post("/healthz", { config: { alwaysAnswer: true } }, async () => ({ status: "ok" }));
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    /** Headers with Expect; the body only after a 100.  What came back, and whether the connection closed. */
    const ask = (path: string) =>
      new Promise<{ got: string; closed: boolean }>((resolve) => {
        const s = connect(port, "127.0.0.1");
        let got = "";
        s.on("data", (d) => {
          got += d.toString();
          if (/^HTTP\/1\.1 100 Continue\r\n\r\n$/.test(got)) s.write('{"x":1}');
          if (/\r\n\r\n\{.*\}$/s.test(got.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ""))) {
            setTimeout(() => {
              s.destroy();
              resolve({ got, closed: false });
            }, 100);
          }
        });
        s.on("close", () => resolve({ got, closed: true }));
        s.write(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n` +
            "Expect: 100-continue\r\n\r\n",
        );
      });
    try {
      const calm = await ask("/work");
      expect(calm.got).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
      expect(t.parsed).toBe(1);
      t.waited = 900;
      const shed = await ask("/work");
      expect(shed.got).toMatch(/^HTTP\/1\.1 503 /); // no 100 Continue: the body was never asked for
      expect(shed.got).toMatch(/retry-after: 1/i);
      expect(shed.got).toMatch(/request bodies wait 900 ms/);
      expect(shed.closed).toBe(true);
      expect(t.parsed).toBe(1);
      // a route that is always answered gets its 100 Continue even now
      const health = await ask("/healthz");
      expect(health.got).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    } finally {
      await app.close();
    }
  });
});

describe("the service sheds when its event loop runs late", () => {
  it("503 + Retry-After in each route's shape, health routes answered, work taken again after", async () => {
    // (the built service, in this process: holding this process's loop holds the service's)
    const { startService } = (await import(pathToFileURL(join(root, "dist/server/app.js")).href)) as {
      startService: typeof StartService;
    };
    // (shedMinInFlight 0: this test holds the loop with one request in flight; by default a lone request is never
    // shed, below)
    const s = await startService({
      modelsDir: join(root, "models"),
      port: 0,
      workers: 1,
      cacheSize: 0,
      shedMinInFlight: 0,
    });
    try {
      const embed = () =>
        s.app.inject({
          method: "POST",
          url: "/v1/embed",
          payload: { model: "clip-scenes", inputs: [{ text: "a red circle" }] },
        });
      expect((await embed()).statusCode).toBe(200);
      // hold the loop 400 ms: the delay measured over the next sample is far past the 20 ms default
      const t0 = performance.now();
      while (performance.now() - t0 < 400);
      const until = performance.now() + 2000;
      while (!s.app.isUnderPressure() && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
      expect(s.app.isUnderPressure()).toBe(true);

      const r = await embed();
      expect(r.statusCode).toBe(503);
      expect(r.headers["retry-after"]).toBe("1");
      expect(r.json()).toMatchObject({
        statusCode: 503,
        error: "Service Unavailable",
        message: expect.stringMatching(/overloaded: its event loop runs (\d+ ms|a whole sample) late \(limit 20 ms\)/),
      });
      const o = await s.app.inject({
        method: "POST",
        url: "/v1/embeddings",
        payload: { model: "clip-scenes", input: "a red circle" },
      });
      expect(o.statusCode).toBe(503);
      expect(o.json().error).toMatchObject({ message: expect.stringMatching(/overloaded/), type: expect.any(String) });
      for (const url of ["/healthz", "/readyz", "/metrics"])
        expect((await s.app.inject({ url })).statusCode, url).toBe(200);

      // the next calm samples end it
      const calm = performance.now() + 3000;
      while (s.app.isUnderPressure() && performance.now() < calm) await new Promise((r) => setTimeout(r, 20));
      expect((await embed()).statusCode).toBe(200);
    } finally {
      await s.close();
    }
  }, 60_000);
});
