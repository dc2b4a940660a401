// The service's HTTP statuses, from the error family's codes (util/errors.ts): the one table that knows them.
import { errorCode, type ErrorCode } from "../util/errors.js";

export const HTTP_STATUS: Readonly<Record<ErrorCode | "internal", number>> = {
  usage: 400,
  bad_input: 400,
  unsupported_input: 415,
  unsupported_task: 400,
  too_large: 413,
  not_found: 404,
  version_mismatch: 409,
  locked: 409,
  busy: 429,
  timeout: 504,
  damaged: 500,
  unavailable: 503,
  internal: 500,
};

export function httpStatusOf(e: unknown): number {
  return HTTP_STATUS[errorCode(e)];
}
