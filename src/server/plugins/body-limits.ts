// What a body may be: JSON whose shape is bounded in one linear pass before fastify's own parser (which also
// refuses __proto__ keys), or a raw upload (the file's bytes, its kind from the Content-Type; text/plain is
// fastify's own).  The byte limit is fastify's bodyLimit (app.ts).
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";
import { checkJsonShape } from "../json-shape.js";
import { RAW_TYPES } from "../schemas.js";

const bodies: FastifyPluginAsync = async (app) => {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    try {
      checkJsonShape(body as string);
    } catch (e) {
      done(e as Error, undefined);
      return;
    }
    parseJson(req, body as string, done);
  });
  const raw = Object.keys(RAW_TYPES).filter((t) => t !== "text/plain");
  app.addContentTypeParser(raw, { parseAs: "buffer" }, (_req, body, done) => done(null, body));
};

export default fp(bodies, { name: "polymodal-bodies" });
