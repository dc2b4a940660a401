// POST /v1/index: items (an id, one media file, metadata) embedded by the model of their space and upserted.
import type { FastifyPluginAsync } from "fastify";
import { SPACES } from "../../pipelines/pipeline.js";
import { needStore, type WithContext } from "../context.js";
import { HttpError } from "../errors.js";
import { decodeBase64Field, type Input } from "../inputs.js";

const itemRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  app.post("/v1/index", { schema: ctx.schemas.index }, async (req) => {
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
      const m = media[0];
      if (!ctx.lineup.forSpace(m)) throw new HttpError(400, `no model here embeds ${m} items`, `${at}.${m}`);
      const input: Input = { kind: m, value: decodeBase64Field(it[m] as string, `${at}.${m}`), field: `${at}.${m}` };
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
