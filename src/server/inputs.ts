// A request's inputs as the routes read them: JSON fields (text, or a file's bytes in base64) and raw bodies (the
// file's bytes, its kind from the Content-Type).
import type { FastifyRequest } from "fastify";
import type { InputKind } from "./jobs.js";
import { HttpError } from "./errors.js";
import { RAW_TYPES } from "./schemas.js";

/** One input of a request: text (or its token ids), or a file's bytes; field names it in errors. */
export type Input = { kind: InputKind; value: string | Uint8Array | readonly number[]; field: string };

/** Strict base64 (standard alphabet, padded): anything else is a 400 naming the field.  A form's file: its bytes. */
export function decodeBase64Field(s: string | Uint8Array, field: string): Uint8Array {
  if (s instanceof Uint8Array) return s; // a form's file part: its bytes already
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new HttpError(
      400,
      `${field} is not valid base64 (standard alphabet, padded to a multiple of 4 characters)`,
      field,
    );
  }
  const b = Buffer.from(s, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** One JSON input object ({text} or {image|audio|video: base64}). */
export function parseInput(o: Record<string, string | Uint8Array>, field: string): Input {
  const kind = Object.keys(o)[0] as InputKind;
  return {
    kind,
    value: kind === "text" ? String(o.text) : decodeBase64Field(o[kind], `${field}.${kind}`),
    field: `${field}.${kind}`,
  };
}

/** A raw body's input kind, from its Content-Type. */
export function rawKind(req: FastifyRequest): InputKind {
  const t = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  const k = RAW_TYPES[t];
  if (!k)
    throw new HttpError(
      415,
      `a raw body needs a Content-Type of ${Object.keys(RAW_TYPES).join(", ")}; got ${JSON.stringify(t)}`,
    );
  return k;
}
