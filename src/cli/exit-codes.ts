// The command's exit codes, from the error family's codes (util/errors.ts): the one table that knows them.
//   0 ok, 1 failure, 2 bad usage (unknown command or flag), 3 missing or unsupported input file.
import { errorCode, type ErrorCode } from "../util/errors.js";

export const EXIT_CODES: Readonly<Record<ErrorCode | "internal", number>> = {
  usage: 2,
  not_found: 3,
  unsupported_input: 3,
  bad_input: 3,
  too_large: 1,
  unsupported_task: 1,
  version_mismatch: 1,
  locked: 1,
  busy: 1,
  timeout: 1,
  damaged: 1,
  unavailable: 1,
  internal: 1,
};

export function exitCodeOf(e: unknown): number {
  return EXIT_CODES[errorCode(e)];
}
