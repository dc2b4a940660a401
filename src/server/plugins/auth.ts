// Bearer-token authentication: with a token, every route but /healthz needs Authorization: Bearer <token>.
// Tokens are compared as SHA-256 digests in constant time, so neither their length nor a prefix leaks.
import { createHash, timingSafeEqual } from "node:crypto";
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";
import { HttpError } from "../errors.js";

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

const auth: FastifyPluginAsync<{ token?: string }> = async (app, options) => {
  if (!options.token) return;
  const token = digest(options.token);
  app.addHook("onRequest", async (req, reply) => {
    if (req.url === "/healthz") return;
    const m = /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? ""); // the scheme is case-insensitive (RFC 7235)
    const given = m ? digest(m[1]) : null;
    if (!given || !timingSafeEqual(given, token)) {
      reply.header("www-authenticate", 'Bearer realm="polymodal"');
      throw new HttpError(
        401,
        given ? "the bearer token is wrong" : "this service needs Authorization: Bearer <token>",
      );
    }
  });
};

export default fp(auth, { name: "polymodal-auth" });
