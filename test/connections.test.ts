// Connection deadlines (src/server/connections.ts), tried as a slowloris client would: a connection that sends
// nothing, headers dribbled a byte at a time, a body promised and stalled, an idle keep-alive connection -- each
// answered or closed within its deadline while the service keeps answering others; and the per-client cap.
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { startService as StartService } from "../src/server/app.js";
import { startServe, type Running } from "./harness/servers.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const HEADERS_MS = 1500,
  BODY_MS = 2500,
  IDLE_MS = 1000,
  PER_CLIENT = 12;
// Node checks the deadlines once a second; the rest is this machine's scheduling
const SLACK_MS = 1000 + 1500;
let svc: Running, host: string, port: number;

/** A raw connection: when it closed (ms after it opened), and what the server sent. */
function open(): Promise<{ socket: Socket; closed: Promise<{ ms: number; got: string }> }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = "";
    const socket = connect(port, host);
    const closed = new Promise<{ ms: number; got: string }>((done) => {
      socket.on("data", (d) => {
        got += d.toString("latin1");
      });
      socket.on("close", () => done({ ms: performance.now() - t0, got }));
    });
    socket.on("error", () => {
      /* a reset counts as closed */
    });
    socket.once("connect", () => resolve({ socket, closed }));
    socket.once("error", reject);
  });
}

beforeAll(async () => {
  svc = await startServe([
    "--workers",
    "1",
    "--headers-timeout-ms",
    String(HEADERS_MS),
    "--body-timeout-ms",
    String(BODY_MS),
    "--keep-alive-timeout-ms",
    String(IDLE_MS),
    "--max-connections-per-client",
    String(PER_CLIENT),
  ]);
  const u = new URL(svc.url);
  [host, port] = [u.hostname, Number(u.port)];
}, 90_000);
afterAll(async () => {
  await svc?.stop();
});

describe("connection deadlines", () => {
  it("silent, dribbling, stalled and idle connections close within their deadlines; others are served", async () => {
    const silent = await open();
    const dribble = await open();
    dribble.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const timer = setInterval(() => dribble.socket.writable && dribble.socket.write("a"), 200);
    const stalled = await open();
    stalled.socket.write(
      "POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" +
        '{"model":',
    );
    const idle = await open();
    idle.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    // meanwhile the service answers others at once
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(2000);
    const [s, d, b, k] = await Promise.all([silent.closed, dribble.closed, stalled.closed, idle.closed]);
    clearInterval(timer);
    expect(s.ms, "silent").toBeLessThan(HEADERS_MS + SLACK_MS);
    expect(d.ms, "dribbled headers").toBeLessThan(HEADERS_MS + SLACK_MS);
    expect(b.ms, "stalled body").toBeLessThan(BODY_MS + SLACK_MS);
    // a stalled request is told why (408) before it is closed
    expect(b.got).toMatch(/^HTTP\/1\.1 408/);
    expect(k.got).toMatch(/^HTTP\/1\.1 200/);
    expect(k.ms, "idle keep-alive").toBeLessThan(IDLE_MS + SLACK_MS);
    expect(k.ms).toBeGreaterThanOrEqual(IDLE_MS - 100);
  }, 30_000);

  it("one address holds at most --max-connections-per-client connections; slots free up as they close", async () => {
    const conns = await Promise.all(Array.from({ length: PER_CLIENT + 5 }, () => open()));
    // the ones over the cap are closed at once
    const early = await Promise.all(
      conns.map((c) => Promise.race([c.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))])),
    );
    expect(early.filter(Boolean).length).toBe(5);
    for (const c of conns) c.socket.destroy();
    await Promise.all(conns.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  }, 30_000);

  it("by default a stalled body is closed in 15 s: headers 10 s, the request 12 s, checked each second", async () => {
    // (the built service: its worker threads run dist/server/worker.js)
    const { startService } = (await import(pathToFileURL(join(root, "dist/server/app.js")).href)) as {
      startService: typeof StartService;
    };
    const s = await startService({ modelsDir: join(root, "models"), port: 0, workers: 1 });
    try {
      const server = s.app.server as typeof s.app.server & { connectionsCheckingInterval: number };
      expect([server.headersTimeout, server.requestTimeout, server.connectionsCheckingInterval]).toEqual([
        10_000, 12_000, 1000,
      ]);
      expect(server.requestTimeout + server.connectionsCheckingInterval).toBeLessThanOrEqual(15_000);
      expect(server.keepAliveTimeout).toBe(5000);
    } finally {
      await s.close();
    }
  }, 60_000);
});
