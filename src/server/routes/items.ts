// POST /v1/index: items (an id, one media file or a passage of text, metadata) embedded by the model of their space
// and upserted.
import type { FastifyPluginAsync } from "fastify";
import { SPACES, withPrompt } from "../../pipelines/pipeline.js";
import { needStore, type WithContext } from "../context.js";
import { HttpError } from "../errors.js";
import { decodeBase64Field, type Input } from "../inputs.js";
import { fileKind, onlyFields, type FormPart, type FormToBody } from "../plugins/multipart.js";

/** A form: files, each with the id field (and optional metadata field, JSON) at its position among the others. */
const form: FormToBody = (parts) => {
  const of = (name: string) =>
    onlyFields(parts, ["id", "metadata"]).flatMap((p) => (p.name === name && "value" in p ? [p.value] : []));
  const files = parts.filter((p): p is Extract<FormPart, { file: Uint8Array }> => "file" in p);
  const ids = of("id"),
    metas = of("metadata");
  if (ids.length !== files.length || metas.length > files.length)
    throw new HttpError(
      400,
      `an index form pairs each file with an id field: ${files.length} files, ${ids.length} ids`,
    );
  return {
    items: files.map((f, i) => {
      let metadata: unknown;
      try {
        metadata = metas[i] === undefined ? undefined : JSON.parse(metas[i]);
      } catch {
        throw new HttpError(400, `form field metadata #${i + 1} is not JSON`, "metadata");
      }
      return { id: ids[i], [fileKind(f)]: f.file, ...(metadata === undefined ? {} : { metadata }) };
    }),
  };
};

const itemRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  app.post("/v1/index", { schema: ctx.schemas.index, config: { form } }, async (req) => {
    const st = needStore(ctx);
    const items = (req.body as { items: Array<Record<string, unknown>> }).items;
    const seen = new Set<string>();
    const parsed = items.map((it, i) => {
      const id = it.id as string,
        at = `body.items[${i}]`;
      if (seen.has(id))
        throw new HttpError(400, `${at}.id ${JSON.stringify(id)} appears twice in this request`, `${at}.id`);
      seen.add(id);
      const media = SPACES.filter((m) => it[m] !== undefined);
      if (media.length !== 1)
        throw new HttpError(400, `${at} needs exactly one of ${SPACES.join(", ")} (got ${media.length})`, at);
      const m = media[0],
        ref = ctx.lineup.forSpace(m);
      if (!ref) throw new HttpError(400, `no model here embeds ${m} items`, `${at}.${m}`);
      const input: Input = {
        kind: m,
        // a passage, as its model embeds documents; a file's bytes
        value:
          m === "text"
            ? withPrompt(ref.tasks, "document", it.text as string)
            : decodeBase64Field(it[m] as string | Uint8Array, `${at}.${m}`),
        field: `${at}.${m}`,
      };
      return { id, modality: m, input, metadata: (it.metadata ?? {}) as Record<string, unknown> };
    });
    const embeddings = new Map<number, Float32Array>();
    for (const m of SPACES) {
      const at = parsed.flatMap((p, i) => (p.modality === m ? [i] : []));
      if (!at.length) continue;
      const e = await ctx.embedder.embed(
        ctx.lineup.forSpace(m)!.name,
        at.map((i) => parsed[i].input),
        req.deadline,
      );
      at.forEach((i, j) => embeddings.set(i, e[j]));
    }
    const vs = Object.fromEntries(
      SPACES.flatMap((m) => {
        const v = ctx.spaceVersion(m);
        return v ? [[m, v]] : [];
      }),
    );
    await st.upsert(
      parsed.map((p, i) => ({ id: p.id, modality: p.modality, embedding: embeddings.get(i)!, metadata: p.metadata })),
      vs,
    );
    return { added: parsed.length, counts: await st.counts() };
  });
};

export default itemRoutes;
