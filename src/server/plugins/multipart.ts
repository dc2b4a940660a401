// multipart/form-data uploads (`curl -F file=@photo.jpg`), as clients send files: @fastify/multipart reads the form
// within bounds (file size = the body limit, files = inputs per request, a few dozen fields), and a route that takes
// forms turns its parts into the same body its JSON takes (config.form), so one schema validates both (a file node
// holds the part's bytes instead of base64: schemas.ts formVariant) and one handler serves both.
import multipart from "@fastify/multipart";
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";
import { sniffMedia } from "../../pipelines/media-input.js";
import type { InputKind } from "../../pipelines/pipeline.js";
import { HttpError } from "../errors.js";
import { RAW_TYPES } from "../schemas.js";
import { routeTakes } from "./errors.js";

/** One part of a form, in order: a field's text, or a file's bytes with its declared type. */
export type FormPart =
  | { name: string; value: string }
  | { name: string; file: Uint8Array; type: string; filename: string };

/** What a route that takes forms declares (route config `form`): the parts -> its JSON body's shape. */
export type FormToBody = (parts: FormPart[]) => unknown;

/** A file's format (by its signature) -> the kind of input it is; MP4 is a video unless its part says audio. */
const FORMAT_KIND: Record<string, InputKind> = {
  PNG: "image",
  JPEG: "image",
  WebP: "image",
  GIF: "image",
  BMP: "image",
  TIFF: "image",
  HEIC: "image",
  AVIF: "image",
  WAV: "audio",
  MP3: "audio",
  FLAC: "audio",
  Ogg: "audio",
  Opus: "audio",
  M4A: "audio",
  Y4M: "video",
  MP4: "video",
  "Matroska/WebM": "video",
};

/**
 * A file part's kind: its field's name when that is a kind (image=@x), else its Content-Type when that names a
 * media type, else its bytes' signature; a 415 naming what is taken otherwise.
 */
export function fileKind(p: Extract<FormPart, { file: Uint8Array }>): InputKind {
  if (p.name === "image" || p.name === "audio" || p.name === "video") return p.name;
  const declared = RAW_TYPES[p.type.toLowerCase()];
  if (declared && declared !== "text") return declared;
  const sniffed = sniffMedia(p.file);
  if (sniffed && FORMAT_KIND[sniffed.format]) return FORMAT_KIND[sniffed.format];
  throw new HttpError(
    415,
    `form part ${JSON.stringify(p.name)} (${JSON.stringify(p.filename)}, ${p.type}) is not a file this service reads ` +
      `(${Object.keys(FORMAT_KIND).join(", ")})`,
    p.name,
  );
}

const forms: FastifyPluginAsync<{ maxFileBytes: number; maxFiles: number; maxFieldBytes: number }> = async (app, o) => {
  await app.register(multipart, {
    throwFileSizeLimit: true,
    limits: {
      fileSize: o.maxFileBytes,
      files: o.maxFiles,
      fields: 64,
      fieldSize: o.maxFieldBytes,
      parts: o.maxFiles + 64,
      headerPairs: 32,
    },
  });
  app.addHook("preValidation", async (req) => {
    if (!req.isMultipart()) return;
    const toBody = (req.routeOptions.config as { form?: FormToBody }).form;
    if (!toBody) throw new HttpError(415, `${routeTakes(req)}, not multipart/form-data`);
    const parts: FormPart[] = [];
    for await (const p of req.parts()) {
      if (p.type === "file")
        parts.push({
          name: p.fieldname,
          file: new Uint8Array(await p.toBuffer()),
          type: p.mimetype,
          filename: p.filename,
        });
      else parts.push({ name: p.fieldname, value: String(p.value) });
    }
    req.body = toBody(parts);
  });
};

export default fp(forms, { name: "polymodal-forms" });

/** The text of a form's field named `name` (the last one), or undefined. */
export function field(parts: FormPart[], name: string): string | undefined {
  const f = parts.filter((p): p is { name: string; value: string } => p.name === name && "value" in p);
  return f.at(-1)?.value;
}

/** A form's numeric field as a number (a non-number stays a string, for the schema to name). */
export function numberField(parts: FormPart[], name: string): number | string | undefined {
  const v = field(parts, name);
  return v !== undefined && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
}

/** Refuses a form field this route does not take (files may have any name), naming the ones it does. */
export function onlyFields(parts: FormPart[], names: readonly string[]): FormPart[] {
  for (const p of parts)
    if ("value" in p && !names.includes(p.name))
      throw new HttpError(
        400,
        `form field ${JSON.stringify(p.name)} is not taken here (fields: ${names.join(", ")})`,
        p.name,
      );
  return parts;
}
