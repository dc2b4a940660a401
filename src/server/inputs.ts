// A request's inputs as the routes read them: JSON fields (text, or a file's bytes in base64) and raw bodies (the
// file's bytes, its kind from the Content-Type).
import type { FastifyRequest } from "fastify";
import type { InputKind } from "./jobs.js";
import { HttpError } from "./errors.js";
import { RAW_TYPES } from "./schemas.js";

/** One input of a request: text (or its token ids), or a file's bytes; field names it in errors. */
export type Input = { kind: InputKind; value: string | Uint8Array | readonly number[]; field: string };

/**
 * Strict base64 (standard alphabet, padded): anything else is a 400 naming the field.  A form's file: its bytes.
 * Checked without a pass of its own (a regular expression took 1.3 ms per MB, more than the decoding): Node's
 * decoder skips characters outside the alphabet, so a string of only ASCII, without the URL-safe `-` and `_` it
 * also takes, is valid exactly when it decodes to the length its characters and padding promise — each skipped
 * character (a stray `=` included) loses at least one byte of it.
 */
export function decodeBase64Field(s: string | Uint8Array, field: string): Uint8Array {
  if (s instanceof Uint8Array) return s; // a form's file part: its bytes already
  if (s.length === 0) throw new HttpError(400, `${field} is empty: expected a file's bytes in base64`, field);
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const b =
    s.length % 4 === 0 && Buffer.byteLength(s, "utf8") === s.length && s.indexOf("-") < 0 && s.indexOf("_") < 0
      ? Buffer.from(s, "base64")
      : null;
  if (!b || b.length !== (s.length / 4) * 3 - pad) {
    throw new HttpError(
      400,
      `${field} is not valid base64 (standard alphabet, padded to a multiple of 4 characters)`,
      field,
    );
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A raw body's bytes as a plain Uint8Array over the same memory: `new Uint8Array(buffer)` would copy them (3 ms a
 * MB on the event loop: a Buffer takes the constructor's slow path, 5x a plain copy), and a view of a body that
 * fills its own buffer moves to its worker uncopied.
 */
export const bodyBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

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
