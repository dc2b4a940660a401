// Per-request deadlines and draining: every request gets a deadline at arrival (the pool drops or stops its work
// past it), and once shutdown begins every answer says Connection: close so keep-alive connections end with it.
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** performance.now() time past which the request's work is dropped (504) */
    deadline: number;
  }
  interface FastifyInstance {
    /** answers from now on close their connections (shutdown has begun) */
    beginShutdown(): void;
  }
}

const lifecycle: FastifyPluginAsync<{ timeoutMs: number }> = async (app, { timeoutMs }) => {
  let shuttingDown = false;
  app.decorateRequest("deadline", 0);
  app.decorate("beginShutdown", () => {
    shuttingDown = true;
  });
  app.addHook("onRequest", async (req) => {
    req.deadline = performance.now() + timeoutMs;
  });
  app.addHook("onSend", async (_req, reply) => {
    if (shuttingDown) void reply.header("connection", "close");
  });
};

export default fp(lifecycle, { name: "polymodal-lifecycle" });
