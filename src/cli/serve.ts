// `polymodal serve`: starts the HTTP service (src/server/app.ts) and stops it gracefully on SIGTERM / SIGINT:
// no new connections, every accepted request answered, the index saved, workers stopped, then exit 0.
import { availableParallelism } from "node:os";
import { startService, type ServeOptions } from "../server/app.js";
import { intFlag, UsageError, type Values } from "./args.js";

export const SERVE_OPTIONS = {
  host: { type: "string" }, port: { type: "string" }, index: { type: "string" }, store: { type: "string" }, workers: { type: "string" },
  "max-queue": { type: "string" }, "timeout-ms": { type: "string" }, "max-batch": { type: "string" }, "max-body-mb": { type: "string" },
  "cache-size": { type: "string" }, redis: { type: "string" }, token: { type: "string" }, cors: { type: "string" }, log: { type: "boolean" },
} as const;

export const SERVE_HELP = `usage: polymodal serve [--host H] [--port P] [--index DIR] [--workers N] [--max-queue N] [--timeout-ms N] [--redis URL] [--token T]
  An HTTP service on the shipped models (or --models DIR): POST /v1/embed, /v1/search, /v1/index, /v1/transcribe;
  GET /healthz, /readyz, /metrics (Prometheus), /openapi.json.  Models run in worker threads.
  --host H         interface to bind (default 127.0.0.1, this machine only; 0.0.0.0 for every interface)
  --port P         port (default 8080; 0 picks a free one)
  --index DIR      the index to search and add to (a folder \`polymodal index\` wrote, or a new one)
  --store URI      lancedb:DIR: vectors in a LanceDB that several services share (alone, or for a new --index)
  --workers N      worker threads running models (default: the number of cores, ${availableParallelism()} here)
  --max-queue N    inputs waiting for a worker before requests get 429 (default 256)
  --timeout-ms N   each request's deadline; past it 504 (default 30000)
  --max-batch N    most inputs per request and per batch (default 64)
  --max-body-mb N  largest request body (default 16)
  --cache-size N   in-process embedding cache entries (default 10000; 0 turns it off)
  --redis URL      shared embedding cache, e.g. redis://127.0.0.1:6379
  --token T        require Authorization: Bearer T on every route but /healthz (or set POLYMODAL_TOKEN)
  --cors ORIGINS   allow these browser origins (comma-separated); no CORS headers otherwise
  --log            log every request (JSON lines on stdout)
  --threads N (global) sets kernel threads per worker.`;

/** Runs until a signal stops it; resolves with the exit code. */
export async function serve(positional: string[], values: Values, modelsDir: string, threads: number): Promise<number> {
  if (positional.length) throw new UsageError(`serve takes no arguments, got ${positional.join(" ")}`);
  const token = (values.token as string | undefined) ?? process.env.POLYMODAL_TOKEN;
  if (token !== undefined && token.length < 8) throw new UsageError("--token must be at least 8 characters");
  const options: ServeOptions = {
    host: (values.host as string | undefined) ?? "127.0.0.1",
    port: intFlag(values, "port", 8080, 0, 65535),
    modelsDir,
    indexDir: values.index as string | undefined,
    store: values.store as string | undefined,
    workers: intFlag(values, "workers", availableParallelism(), 1, 256),
    threads,
    maxQueue: intFlag(values, "max-queue", 256, 0, 1_000_000),
    timeoutMs: intFlag(values, "timeout-ms", 30_000, 1, 2 ** 31 - 1),
    maxBatch: intFlag(values, "max-batch", 64, 1, 4096),
    maxBodyBytes: intFlag(values, "max-body-mb", 16, 1, 1024) * 1024 * 1024,
    cacheSize: intFlag(values, "cache-size", 10_000, 0, 10_000_000),
    redisUrl: values.redis as string | undefined,
    token,
    cors: values.cors ? String(values.cors).split(",").map((x) => x.trim()).filter(Boolean) : undefined,
    logger: !!values.log,
  };
  const service = await startService(options);
  process.stdout.write(`polymodal serve: listening on ${service.url} (${service.pool.size} workers${options.indexDir ? `, index ${options.indexDir}` : ""}${options.redisUrl ? ", redis cache" : ""})\n`);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) { process.stderr.write(`polymodal serve: ${signal} again, exiting now\n`); process.exit(1); }
      stopping = true;
      process.stderr.write(`polymodal serve: ${signal}: finishing accepted requests\n`);
      service.close().then(() => { process.stderr.write("polymodal serve: stopped\n"); resolve(0); }, (e) => { process.stderr.write(`polymodal serve: ${(e as Error).message}\n`); resolve(1); });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
