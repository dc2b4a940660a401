// `polymodal serve`: starts the HTTP service (src/server/app.ts) and stops it gracefully on SIGTERM / SIGINT:
// no new connections, every accepted request answered, the index saved, workers stopped, then exit 0.
import { availableParallelism } from "node:os";
import { startService, type ServeOptions } from "../server/app.js";
import { intFlag, UsageError, type Values } from "./args.js";
import { limits } from "../util/limits.js";
import type { ProcessingOptions } from "../pipelines/pipeline.js";
import type { SimdBuild } from "../bindings/module.js";

/** the service's default --max-pixels (the command's is limits.maxPixels, 50 MP) */
export const SERVE_MAX_PIXELS = 16_000_000;

/** Runs until a signal stops it; resolves with the exit code. */
export async function serve(
  positional: string[],
  values: Values,
  modelsDir: string,
  threads: number,
  model?: string,
  processing: ProcessingOptions = {},
  simd: SimdBuild = "exact",
): Promise<number> {
  if (positional.length) throw new UsageError(`serve takes no arguments, got ${positional.join(" ")}`);
  const token = (values.token as string | undefined) ?? process.env.POLYMODAL_TOKEN;
  if (token !== undefined && token.length < 8) throw new UsageError("--token must be at least 8 characters");
  const options: ServeOptions = {
    host: (values.host as string | undefined) ?? "127.0.0.1",
    port: intFlag(values, "port", 8080, 0, 65535),
    modelsDir,
    model,
    textModel: values["text-model"] as string | undefined,
    exifTranspose: processing.exifTranspose,
    pooling: processing.pooling,
    indexDir: values.index as string | undefined,
    store: values.store as string | undefined,
    readOnly: !!values["read-only"],
    workers: intFlag(values, "workers", availableParallelism(), 1, 256),
    threads,
    simd,
    maxQueue: intFlag(values, "max-queue", 256, 0, 1_000_000),
    timeoutMs: intFlag(values, "timeout-ms", 30_000, 1, 2 ** 31 - 1),
    maxBatch: intFlag(values, "max-batch", 64, 1, 4096),
    maxBodyBytes: intFlag(values, "max-body-mb", 16, 1, 1024) * 1024 * 1024,
    maxConnections: intFlag(values, "max-connections", 1024, 1, 1_000_000),
    maxConnectionsPerClient: intFlag(values, "max-connections-per-client", 0, 0, 1_000_000),
    headersTimeoutMs: intFlag(values, "headers-timeout-ms", 10_000, 100, 600_000),
    bodyTimeoutMs: intFlag(values, "body-timeout-ms", 12_000, 100, 3_600_000),
    keepAliveTimeoutMs: intFlag(values, "keep-alive-timeout-ms", 5_000, 100, 600_000),
    maxEventLoopDelayMs: intFlag(values, "max-loop-delay-ms", 20, 0, 60_000),
    maxEventLoopUtilization: intFlag(values, "max-loop-busy-percent", 0, 0, 100) / 100,
    maxBodyWaitMs: intFlag(values, "max-body-wait-ms", 1000, 0, 600_000),
    cacheSize: intFlag(values, "cache-size", 10_000, 0, 10_000_000),
    redisUrl: values.redis as string | undefined,
    token,
    cors: values.cors
      ? String(values.cors)
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean)
      : undefined,
    logger: !!values.log,
  };
  // a service decodes strangers' images: a lower default budget per image than the command's (a 1 KB JPEG may claim
  // 7000 x 7000 pixels and cost a second of a worker before its data proves short)
  if (values["max-pixels"] === undefined) limits.maxPixels = SERVE_MAX_PIXELS;
  const service = await startService(options);
  const notes = [
    `${service.pool.size} workers`,
    ...(simd === "relaxed" ? ["relaxed SIMD"] : []),
    ...(options.indexDir ? [`index ${options.indexDir}`] : []),
    ...(options.redisUrl ? ["redis cache"] : []),
  ];
  process.stdout.write(`polymodal serve: listening on ${service.url} (${notes.join(", ")})\n`);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        process.stderr.write(`polymodal serve: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`polymodal serve: ${signal}: finishing accepted requests\n`);
      service.close().then(
        () => {
          process.stderr.write("polymodal serve: stopped\n");
          resolve(0);
        },
        (e) => {
          process.stderr.write(`polymodal serve: ${(e as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
