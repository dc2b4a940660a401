// GET /healthz (the process answers), /readyz (workers loaded, Redis reachable; the models, the index's counts)
// and /metrics (Prometheus text); none of them is ever shed.
import { basename } from "node:path";
import type { FastifyPluginAsync } from "fastify";
import type { WithContext } from "../context.js";

/** Probes and scrapes are answered while the service sheds load (plugins/shedding.ts): they are how it is watched. */
const ALWAYS = { alwaysAnswer: true };

const healthRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  app.get("/healthz", { schema: ctx.schemas.healthz, config: ALWAYS }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: ctx.schemas.readyz, config: ALWAYS }, async (_req, reply) => {
    const { pool, store } = ctx,
      redis = ctx.redisReady();
    const body = {
      ready: pool.size > 0 && redis !== false,
      models: ctx.versions,
      // workers alive (a worker stopped at a deadline is replaced: it counts again once it has loaded its models)
      workers: pool.size,
      restarting: pool.restarting,
      // the folder's name, not its path: a probe's answer need not tell the file system's layout
      index: store
        ? {
            name: store.where.startsWith("lancedb:") ? "lancedb" : basename(store.where),
            mode: store.mode,
            counts: await store.counts(),
          }
        : null,
      redis: redis === null ? null : redis ? "ready" : "unreachable",
    };
    return reply.status(body.ready ? 200 : 503).send(body);
  });
  app.get("/metrics", { schema: ctx.schemas.metrics, config: ALWAYS }, async (_req, reply) => {
    void reply.header("content-type", ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
};

export default healthRoutes;
