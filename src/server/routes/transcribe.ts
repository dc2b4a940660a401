// POST /v1/transcribe: a WAV file (base64 in JSON, or the raw body) through the lineup's recogniser.
import type { FastifyPluginAsync } from "fastify";
import type { WithContext } from "../context.js";
import { HttpError } from "../errors.js";
import { bodyBytes, decodeBase64Field, rawKind } from "../inputs.js";
import { RAW_TYPES } from "../schemas.js";
import { field, numberField, onlyFields, type FormToBody } from "../plugins/multipart.js";

type Task = "transcribe" | "translate" | undefined;

/** A form: one audio file, and beam, model, language and task fields. */
const form: FormToBody = (parts) => {
  const files = onlyFields(parts, ["beam", "model", "language", "task"]).filter((p) => "file" in p);
  if (files.length !== 1) throw new HttpError(400, `a transcribe form holds one audio file, got ${files.length}`);
  const named = Object.fromEntries(
    ["model", "language", "task"].flatMap((k) => {
      const v = field(parts, k);
      return v === undefined ? [] : [[k, v]];
    }),
  );
  return { audio: (files[0] as { file: Uint8Array }).file, beam: numberField(parts, "beam") ?? 1, ...named };
};

const transcribeRoutes: FastifyPluginAsync<WithContext> = async (app, { ctx }) => {
  app.post("/v1/transcribe", { schema: ctx.schemas.transcribe, config: { form } }, async (req) => {
    let audio: Uint8Array, beam: number, model: string | undefined, language: string | undefined, task: Task;
    if (Buffer.isBuffer(req.body)) {
      if (rawKind(req) !== "audio") {
        const audio = Object.entries(RAW_TYPES).flatMap(([t, k]) => (k === "audio" ? [t] : []));
        throw new HttpError(415, `a raw transcribe body must be audio (${audio.join(", ")})`);
      }
      audio = bodyBytes(req.body);
      const q = req.query as { beam?: string; model?: string; language?: string; task?: Task };
      beam = Number(q.beam ?? 1);
      ({ model, language, task } = q);
    } else {
      const b = req.body as {
        audio: string | Uint8Array;
        beam: number;
        model?: string;
        language?: string;
        task?: Task;
      };
      audio = decodeBase64Field(b.audio, "body.audio");
      beam = b.beam;
      ({ model, language, task } = b);
    }
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
      { model: asr.name, op: "transcribe", kind: "audio", inputs: [audio], beam, language, task },
      req.deadline,
    );
    if ("error" in r) throw new HttpError(400, `body.audio: ${r.error}`, "body.audio");
    if (!("transcript" in r)) throw new Error("a transcribe job returned no transcript");
    return r.transcript;
  });
};

export default transcribeRoutes;
