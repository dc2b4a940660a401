// POST /v1/embed: inputs of any kinds the named model embeds, as JSON (text or base64 files) or one raw file.
import type { FastifyPluginAsync } from "fastify";
import type { WithContext } from "../context.js";
import { HttpError } from "../errors.js";
import { bodyBytes, parseInput, rawKind, type Input } from "../inputs.js";
import { field, fileKind, onlyFields, type FormToBody } from "../plugins/multipart.js";

/** A form: a model field, then text fields and files, in order. */
const form: FormToBody = (parts) => ({
  model: field(onlyFields(parts, ["model", "text"]), "model"),
  inputs: parts.flatMap(
    (p): Array<Record<string, string | Uint8Array>> =>
      "file" in p ? [{ [fileKind(p)]: p.file }] : p.name === "text" ? [{ text: p.value }] : [],
  ),
});

const embedRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  app.post("/v1/embed", { schema: ctx.schemas.embed, config: { form } }, async (req) => {
    const q = req.query as { model?: string };
    let model: string, inputs: Input[];
    if (Buffer.isBuffer(req.body) || typeof req.body === "string") {
      if (!q.model) throw new HttpError(400, "a raw body needs ?model=<name>", "querystring.model");
      const kind = rawKind(req);
      model = q.model;
      inputs = [
        { kind, value: typeof req.body === "string" ? req.body : bodyBytes(req.body as Buffer), field: "body" },
      ];
    } else {
      const b = req.body as { model: string; inputs: Array<Record<string, string>> };
      model = b.model;
      inputs = b.inputs.map((x, i) => parseInput(x, `body.inputs[${i}]`));
    }
    // (a model embedding text and images gets both in one request: one batch per kind)
    const embeddings = await ctx.embedder.embedAll(model, inputs, req.deadline);
    return {
      model,
      version: ctx.versions[model],
      dim: embeddings[0].length,
      embeddings: embeddings.map((e) => Array.from(e)),
    };
  });
};

export default embedRoutes;
