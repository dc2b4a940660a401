// One error family for what polymodal refuses or fails at, thrown where the thing fails, each with a stable code.
// The command line (cli/exit-codes.ts) and the service (server/http-status.ts) each map codes in one table;
// nothing below them knows an exit code or an HTTP status, and no layer rewrites another's message.

export const ERROR_CODES = [
  /** an input's bytes are not what they claim: a corrupt image, a truncated WAV, audio too short for the model */
  "bad_input",
  /** an input of a kind or format that is not read (HEIC, an unknown extension) */
  "unsupported_input",
  /** an input past a limit (pixels, seconds, bytes) */
  "too_large",
  /** a file or folder that is not there */
  "not_found",
  /** a command line or option that does not make sense */
  "usage",
  /** a model asked for a task it does not declare */
  "unsupported_task",
  /** an index built by other models than the ones here */
  "version_mismatch",
  /** a resource another process holds (an index's writer lock) */
  "locked",
  /** a bounded queue is full: try again later */
  "busy",
  /** a deadline passed */
  "timeout",
  /** stored data that fails its checks */
  "damaged",
  /** something the environment lacks (ffmpeg, a Redis server) */
  "unavailable",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class PolymodalError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The code of anything thrown: its own, or "internal" for an error outside the family (a bug, an fs failure). */
export function errorCode(e: unknown): ErrorCode | "internal" {
  return e instanceof PolymodalError ? e.code : "internal";
}
