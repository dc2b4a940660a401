// What a body may be: JSON whose shape is bounded in one linear pass before fastify's own parser (which also
// refuses __proto__ keys), or a raw upload (the file's bytes, its kind from the Content-Type; text/plain is
// fastify's own).  The byte limit is fastify's bodyLimit (app.ts).  JSON and raw bodies are handled a bounded number
// of bytes per event-loop turn (turns.ts), so a flood of uploads cannot hold the loop away from its sockets.
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";
import { checkJsonShape } from "../json-shape.js";
import { RAW_TYPES } from "../schemas.js";
import type { TurnBudget } from "../turns.js";

const bodies: FastifyPluginAsync<{ turns: TurnBudget }> = async (app, { turns }) => {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const text = body as string;
    turns.defer(text.length, () => {
      try {
        checkJsonShape(text);
      } catch (e) {
        done(e as Error, undefined);
        return;
      }
      parseJson(req, text, done);
    });
  });
  const raw = Object.keys(RAW_TYPES).filter((t) => t !== "text/plain");
  // (a raw upload is not parsed, but its handler hashes it for the cache key: its turn comes the same way)
  app.addContentTypeParser(raw, { parseAs: "buffer" }, (_req, body, done) =>
    turns.defer((body as Buffer).length, () => done(null, body)),
  );
};

export default fp(bodies, { name: "polymodal-bodies" });
