// POST /v1/transcribe: a WAV file (base64 in JSON, or the raw body) through the lineup's recogniser.
import type { FastifyPluginAsync } from "fastify";
import type { WithContext } from "../context.js";
import { HttpError } from "../errors.js";
import { bodyBytes, decodeBase64Field, rawKind } from "../inputs.js";
import { RAW_TYPES } from "../schemas.js";
import { field, numberField, onlyFields, type FormToBody } from "../plugins/multipart.js";

/** A form: one audio file, and beam, model, language, task, timestamps and fallback fields. */
const form: FormToBody = (parts) => {
  const files = onlyFields(parts, ["beam", "model", "language", "task", "timestamps", "fallback"]).filter(
    (p) => "file" in p,
  );
  if (files.length !== 1) throw new HttpError(400, `a transcribe form holds one audio file, got ${files.length}`);
  const named = Object.fromEntries(
    ["model", "language", "task"].flatMap((k) => {
      const v = field(parts, k);
      return v === undefined ? [] : [[k, v]];
    }),
  );
  const flags = Object.fromEntries(
    ["timestamps", "fallback"].flatMap((k) => {
      const v = field(parts, k);
      if (v === undefined) return [];
      if (v !== "true" && v !== "false") throw new HttpError(400, `form field ${k} must be true or false, got ${v}`, k);
      return [[k, v === "true"]];
    }),
  );
  const beam = numberField(parts, "beam");
  return {
    audio: (files[0] as { file: Uint8Array }).file,
    ...(beam === undefined ? {} : { beam }),
    ...named,
    ...flags,
  };
};

interface Options {
  beam?: number;
  model?: string;
  language?: string;
  task?: "transcribe" | "translate";
  timestamps?: boolean;
  fallback?: boolean;
}

const transcribeRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  app.post("/v1/transcribe", { schema: ctx.schemas.transcribe, config: { form } }, async (req) => {
    let audio: Uint8Array, o: Options;
    if (Buffer.isBuffer(req.body)) {
      if (rawKind(req) !== "audio") {
        const audio = Object.entries(RAW_TYPES).flatMap(([t, k]) => (k === "audio" ? [t] : []));
        throw new HttpError(415, `a raw transcribe body must be audio (${audio.join(", ")})`);
      }
      audio = bodyBytes(req.body);
      const q = req.query as Record<string, string | undefined>;
      o = {
        ...(q.beam === undefined ? {} : { beam: Number(q.beam) }),
        model: q.model,
        language: q.language,
        task: q.task as Options["task"],
        timestamps: q.timestamps === "true",
        fallback: q.fallback === "true",
      };
    } else {
      const { audio: a, ...rest } = req.body as Options & { audio: string | Uint8Array };
      audio = decodeBase64Field(a, "body.audio");
      o = rest;
    }
    const { model, ...options } = o;
    const asr = model === undefined ? ctx.lineup.transcriber() : ctx.lineup.get(model);
    if (!asr) {
      const names = ctx.lineup.refs.filter((r) => r.tasks.transcribe).map((r) => r.name);
      throw new HttpError(
        model === undefined ? 404 : 400,
        model === undefined
          ? "no model here transcribes speech"
          : `model ${JSON.stringify(model)} is not served here; recognisers: ${names.join(", ") || "none"}`,
        "model",
      );
    }
    if (!asr.tasks.transcribe)
      throw new HttpError(400, `model ${JSON.stringify(asr.name)} does not transcribe speech`, "model");
    const [r] = await ctx.pool.run(
      {
        model: asr.name,
        op: "transcribe",
        kind: "audio",
        inputs: [audio],
        ...options,
        // false and absent are one batch key
        timestamps: options.timestamps || undefined,
        fallback: options.fallback || undefined,
      },
      req.deadline,
    );
    if ("error" in r) throw new HttpError(400, `body.audio: ${r.error}`, "body.audio");
    if (!("transcript" in r)) throw new Error("a transcribe job returned no transcript");
    return r.transcript;
  });
};

export default transcribeRoutes;
