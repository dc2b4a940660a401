// POST /v1/search: a query of any kind against every indexed space a model of the lineup maps it into, answered as
// one ranked list per space (groups; and results, when there is one).
import type { FastifyPluginAsync } from "fastify";
import { withPrompt, type Space } from "../../pipelines/pipeline.js";
import type { FilterValue } from "../../retrieval/embedding-store.js";
import { needStore, type WithContext } from "../context.js";
import { HttpError } from "../errors.js";
import { parseInput } from "../inputs.js";

const searchRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  app.post("/v1/search", { schema: ctx.schemas.search }, async (req) => {
    const st = needStore(ctx);
    const b = req.body as {
      query: Record<string, string>;
      k: number;
      modality?: Space;
      filter?: Record<string, unknown>;
    };
    const q = parseInput(b.query, "body.query");
    const searchable = ctx.lineup.spacesFor(q.kind);
    const candidates = searchable.filter(({ space }) => !b.modality || space === b.modality);
    const spaces = (await Promise.all(candidates.map(async (c) => ((await st.has(c.space)) ? c : null)))).filter(
      (c) => c !== null,
    );
    if (b.modality && !candidates.length) {
      throw new HttpError(
        400,
        `a ${q.kind} query cannot search ${b.modality} items (it ` +
          `searches ${searchable.map((c) => c.space).join(", ")})`,
        "body.modality",
      );
    }
    // one ranked list per space: scores of different models are not comparable, so they are never merged
    const groups = await Promise.all(
      spaces.map(async ({ space: sp, ref }) => {
        await st.checkVersion(sp, ctx.stamp(ref));
        // a file's bytes move to the worker that embeds them (pool.ts): a query embedded in several spaces gives
        // each its own copy; a text query reads as its model asks a question (a text encoder's query prompt)
        const own =
          spaces.length > 1 && q.value instanceof Uint8Array
            ? { ...q, value: q.value.slice() }
            : typeof q.value === "string"
              ? { ...q, value: withPrompt(ref.tasks, "query", q.value) }
              : q;
        const [vec] = await ctx.embedder.embed(ref.name, [own], req.deadline);
        const hits = await st.search(sp, vec, b.k, b.filter as Record<string, FilterValue> | undefined);
        hits.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
        return {
          space: sp,
          model: ref.name,
          results: hits.slice(0, b.k).map((h) => ({
            id: h.id,
            score: h.score,
            modality: h.modality,
            space: sp,
            model: ref.name,
            metadata: h.metadata,
          })),
        };
      }),
    );
    // `results`: the one list, when the query searched one space
    return groups.length === 1 ? { groups, results: groups[0].results } : { groups };
  });
};

export default searchRoutes;
