// Prometheus metrics of every request (in flight, answered by route/method/status, latency); GET /metrics serves
// them (routes/health.ts).  Registered before auth, so refused requests are counted too.
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";
import type { ServiceMetrics } from "../metrics.js";

const metricsPlugin: FastifyPluginAsync<{ metrics: ServiceMetrics }> = async (app, { metrics }) => {
  app.addHook("onRequest", async (req, reply) => {
    // 'close' fires once the answer is sent or the connection is gone, whichever way the request ended
    const route = { route: req.routeOptions.url ?? "unmatched" };
    metrics.inFlight.inc(route);
    reply.raw.once("close", () => metrics.inFlight.dec(route));
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });
};

export default fp(metricsPlugin, { name: "polymodal-metrics" });
