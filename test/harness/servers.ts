// Servers the tests start themselves: `polymodal serve` and redis-server, each on a loopback port of its own,
// bounded in time (a server that does not come up within its limit fails the test, never hangs it) and stopped by
// PID.  Every started process is killed when the test process exits, whatever happened.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const started = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of started)
    try {
      p.kill("SIGKILL");
    } catch {
      /* gone */
    }
});

export interface Running {
  proc: ChildProcess;
  url: string;
  out: () => string;
  err: () => string;
  /** SIGTERM, then the exit code (SIGKILL after `ms`) */
  stop(ms?: number): Promise<number | null>;
}

function waitForLine(
  p: ChildProcess,
  re: RegExp,
  ms: number,
  what: string,
  logs: { out: string; err: string },
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`${what} did not start within ${ms} ms; stderr: ${logs.err.slice(-2000)}`));
    }, ms);
    const check = (): void => {
      const m = logs.out.match(re);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    p.stdout!.on("data", check);
    p.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with code ${code} before it was ready; stderr: ${logs.err.slice(-2000)}`));
    });
  });
}

function track(p: ChildProcess): { out: string; err: string } {
  const logs = { out: "", err: "" };
  p.stdout!.setEncoding("utf8").on("data", (d: string) => {
    logs.out += d;
  });
  p.stderr!.setEncoding("utf8").on("data", (d: string) => {
    logs.err += d;
  });
  started.add(p);
  p.once("exit", () => started.delete(p));
  return logs;
}

function stopper(p: ChildProcess): (ms?: number) => Promise<number | null> {
  return (ms = 30_000) =>
    new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) {
        resolve(p.exitCode);
        return;
      }
      const timer = setTimeout(() => p.kill("SIGKILL"), ms);
      p.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      p.kill("SIGTERM");
    });
}

/** `polymodal serve --port 0 ...args`, resolved once it prints the address it listens on. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}, ms = 60_000): Promise<Running> {
  const p = spawn(process.execPath, [join(root, "bin/polymodal.js"), "serve", "--port", "0", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs = track(p);
  const m = await waitForLine(p, /listening on (http:\/\/\S+)/, ms, "polymodal serve", logs);
  return { proc: p, url: m[1], out: () => logs.out, err: () => logs.err, stop: stopper(p) };
}

/** A free loopback port (the OS picks it; it is free again the moment this returns). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

export const hasRedis = (): boolean => spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

/** A throwaway redis-server on a free loopback port: no persistence, stopped by PID. */
export async function startRedis(ms = 20_000): Promise<Running> {
  const port = await freePort();
  const p = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const logs = track(p);
  await waitForLine(p, /Ready to accept connections/i, ms, "redis-server", logs);
  return { proc: p, url: `redis://127.0.0.1:${port}`, out: () => logs.out, err: () => logs.err, stop: stopper(p) };
}
