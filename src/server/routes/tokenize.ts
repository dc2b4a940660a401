// POST /tokenize: texts as a model reads them (ids and tokens, special tokens included, truncated at its length),
// as text-embeddings-inference's route of that name does; the ids embed through /v1/embeddings to the text's own
// embedding.
import type { FastifyPluginAsync } from "fastify";
import { embedsKind } from "../../pipelines/pipeline.js";
import type { WithContext } from "../context.js";
import { HttpError } from "../errors.js";

const tokenizeRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  app.post("/tokenize", { schema: ctx.schemas.tokenize }, async (req) => {
    const b = req.body as { model: string; inputs: string | string[] };
    const ref = ctx.lineup.get(b.model)!;
    if (!embedsKind(ref.tasks, "text"))
      throw new HttpError(
        400,
        `${b.model} reads no text (it embeds ${ref.tasks.embed?.kinds.join(", ") || "nothing"})`,
        "body.model",
      );
    const texts = typeof b.inputs === "string" ? [b.inputs] : b.inputs;
    const results = await ctx.pool.run({ model: ref.name, op: "tokenize", kind: "text", inputs: texts }, req.deadline);
    return {
      model: b.model,
      tokens: results.map((r, i) => {
        if ("tokenized" in r) return r.tokenized;
        throw new HttpError(400, `body.inputs[${i}]: ${"error" in r ? r.error : "not tokenized"}`, `body.inputs[${i}]`);
      }),
    };
  });
};

export default tokenizeRoutes;
