// OpenAI's embeddings API (POST /v1/embeddings, GET /v1/models), so the openai SDKs, LangChain and LlamaIndex talk to
// polymodal as they would to OpenAI, text-embeddings-inference or Infinity: text, token ids, and (as Infinity does)
// images, sounds and videos as data: URLs or with a `modality`.  Errors here are in OpenAI's shape,
// { error: { message, type, param, code } }, with the service's statuses (this plugin's own error handler).
import type { FastifyPluginAsync } from "fastify";
import { embedsKind, type InputKind } from "../../pipelines/pipeline.js";
import type { ServiceContext, WithContext } from "../context.js";
import { HttpError } from "../errors.js";
import { decodeBase64Field, type Input } from "../inputs.js";
import { classifyError, type ServiceError } from "../plugins/errors.js";
import { RAW_TYPES } from "../schemas.js";
import { field, fileKind, numberField, onlyFields, type FormToBody } from "../plugins/multipart.js";

/** A form's file among the inputs (plugins/multipart.ts): its bytes and kind. */
type FormFile = { file: Uint8Array; kind: InputKind };

/** A form: model and the other fields, then input fields (texts) and files, in order. */
const form: FormToBody = (parts) => {
  const names = ["model", "input", "encoding_format", "dimensions", "user", "modality"];
  onlyFields(parts, names);
  return {
    ...Object.fromEntries(
      names.flatMap((n) =>
        n === "input" || field(parts, n) === undefined
          ? []
          : [[n, n === "dimensions" ? numberField(parts, n) : field(parts, n)]],
      ),
    ),
    input: parts.flatMap(
      (p): Array<string | FormFile> =>
        "file" in p ? [{ file: p.file, kind: fileKind(p) }] : p.name === "input" ? [p.value] : [],
    ),
  };
};

interface EmbeddingsBody {
  input: string | Array<string | FormFile> | number[] | number[][];
  model: string;
  encoding_format?: "float" | "base64";
  dimensions?: number;
  user?: string;
  modality?: InputKind;
}

/** OpenAI's error type for a status. */
const ERROR_TYPE: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "not_found_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  429: "rate_limit_error",
  504: "timeout_error",
};

/** A request field as OpenAI's `param` names it: input[2], not body.input[2]. */
const param = (field: string | undefined): string | null =>
  field && field !== "body" ? field.replace(/^body\./, "") : null;

/** The model a request names, or a 404 OpenAI's SDKs recognise (code model_not_found). */
function servedModel(ctx: ServiceContext, name: string): string {
  const ref = ctx.lineup.get(name);
  if (!ref)
    throw new HttpError(
      404,
      `the model ${JSON.stringify(name)} does not exist here (served: ${ctx.lineup.names().join(", ")})`,
      "model",
      "model_not_found",
    );
  return name;
}

/** data:<type>;base64,<data> -> its kind (RAW_TYPES) and bytes; null when s is not a data: URL. */
function dataUrl(s: string, field: string): { kind: InputKind; bytes: Uint8Array } | null {
  const m = /^data:([^;,]*)((?:;[^;,]*)*),/.exec(s.slice(0, 256));
  if (!m) return null;
  const type = m[1].toLowerCase(),
    kind = RAW_TYPES[type];
  if (!kind || kind === "text")
    throw new HttpError(
      415,
      `${field}: a data: URL of ${JSON.stringify(type)}; files are ` +
        Object.keys(RAW_TYPES)
          .filter((t) => RAW_TYPES[t] !== "text")
          .join(", "),
      field,
    );
  if (!m[2].split(";").includes("base64")) throw new HttpError(400, `${field}: a data: URL must be base64`, field);
  return { kind, bytes: decodeBase64Field(s.slice(m[0].length), field) };
}

/** One `input` entry -> an Input of its kind: text, token ids, or a file (data: URL, or base64 with a modality). */
function readInput(x: string | number[] | FormFile, field: string, modality: InputKind | undefined): Input {
  if (typeof x === "object" && !Array.isArray(x)) {
    if (modality && x.kind !== modality)
      throw new HttpError(400, `${field}: a ${x.kind} file, in a request of modality ${modality}`, field);
    return { kind: x.kind, value: x.file, field };
  }
  if (Array.isArray(x)) {
    if (modality && modality !== "text")
      throw new HttpError(400, `${field}: token ids are text; this request's modality is ${modality}`, field);
    return { kind: "text", value: x, field };
  }
  if (modality === "text") return { kind: "text", value: x, field };
  const url = dataUrl(x, field);
  if (url) {
    if (modality && url.kind !== modality)
      throw new HttpError(
        400,
        `${field}: a data: URL of a ${url.kind} file, in a request of modality ${modality}`,
        field,
      );
    return { kind: url.kind, value: url.bytes, field };
  }
  if (modality && /^https?:\/\//i.test(x.slice(0, 16)))
    throw new HttpError(400, `${field}: URLs are not fetched; send the file as a data: URL or base64`, field);
  if (modality) return { kind: modality, value: decodeBase64Field(x, field), field };
  return { kind: "text", value: x, field };
}

/** input -> one entry per embedding: a string, a list of strings, token ids, or a list of token-id lists. */
function entries(input: EmbeddingsBody["input"]): Array<string | number[] | FormFile> {
  if (typeof input === "string") return [input];
  if (input.length && typeof input[0] === "number") return [input as number[]];
  return input as Array<string | number[] | FormFile>;
}

/** Little-endian float32 bytes as base64 (OpenAI's encoding_format "base64"). */
function base64Floats(v: Float32Array): string {
  // (the platform's order: little-endian everywhere we run)
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

const openaiRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  // (this plugin's routes only: fastify encapsulates an error handler in the plugin that sets it)
  app.setErrorHandler((err: ServiceError & { code?: string }, req, reply) => {
    const { status, message, field } = classifyError(err, req, reply, ctx.metrics, app.log);
    const code = typeof err.code === "string" && !err.code.startsWith("FST_") ? err.code : null;
    void reply.status(status).send({
      error: { message, type: ERROR_TYPE[status] ?? "server_error", param: param(field), code },
    });
  });

  app.post("/v1/embeddings", { schema: ctx.schemas.embeddings, config: { form } }, async (req) => {
    const b = req.body as EmbeddingsBody;
    const model = servedModel(ctx, b.model);
    const inputs = entries(b.input).map((x, i) =>
      readInput(x, typeof b.input === "string" || typeof b.input[0] === "number" ? "input" : `input[${i}]`, b.modality),
    );
    // (a form's inputs are counted here: its schema cannot tell a list from one entry)
    if (inputs.length === 0 || inputs.length > ctx.settings.maxBatch)
      throw new HttpError(400, `input: 1 to ${ctx.settings.maxBatch} inputs, got ${inputs.length}`, "input");
    const tasks = ctx.lineup.get(model)!.tasks;
    for (const x of inputs) {
      if (typeof x.value === "string" && x.value.length > ctx.settings.maxTextLength)
        throw new HttpError(
          400,
          `${x.field}: a text of ${x.value.length} characters; at most ${ctx.settings.maxTextLength}`,
          x.field,
        );
      if (!embedsKind(tasks, x.kind))
        throw new HttpError(
          400,
          `${model} does not embed ${x.kind} (it embeds ${tasks.embed?.kinds.join(", ") || "nothing"})`,
          x.field,
        );
    }
    const texts = inputs.filter((x) => x.kind === "text" && typeof x.value === "string");
    // the tokens the model reads, for usage (token ids count as given)
    const counting = texts.length
      ? ctx.pool.run(
          { model: ctx.lineup.get(model)!.name, op: "tokenize", kind: "text", inputs: texts.map((x) => x.value) },
          req.deadline,
        )
      : Promise.resolve([]);
    const embedding = ctx.embedder.embedAll(model, inputs, req.deadline);
    const [embeddings, counted] = await Promise.all([embedding, counting]);
    const dim = embeddings[0].length;
    if (b.dimensions !== undefined && b.dimensions !== dim)
      throw new HttpError(
        400,
        `${model} gives ${dim}-dimensional embeddings and cannot shorten them (it was not trained to); ` +
          `leave dimensions out or pass ${dim}`,
        "dimensions",
      );
    let tokens = inputs.reduce((n, x) => n + (Array.isArray(x.value) ? x.value.length : 0), 0);
    for (const r of counted) if ("tokenized" in r) tokens += r.tokenized.ids.length;
    return {
      object: "list",
      data: embeddings.map((e, index) => ({
        object: "embedding",
        index,
        embedding: b.encoding_format === "base64" ? base64Floats(e) : Array.from(e),
      })),
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  const created = Math.floor(Date.now() / 1000);
  const card = (id: string) => ({ id, object: "model", created, owned_by: "polymodal" });
  app.get("/v1/models", { schema: ctx.schemas.models }, async () => ({
    object: "list",
    data: ctx.lineup.names().map(card),
  }));
  app.get("/v1/models/:model", { schema: ctx.schemas.model }, async (req) =>
    card(servedModel(ctx, (req.params as { model: string }).model)),
  );
};

export default openaiRoutes;
