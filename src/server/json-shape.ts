// A JSON body's shape checked in one linear pass before it is parsed: JSON.parse of a body of a million keys takes
// seconds of the event loop (every other request waits), and a value nested thousands deep overflows the stack of
// whatever walks it.  The pass skips string contents with indexOf (a 10 MB body of base64 costs a few ms) and counts
// only the structure outside strings.
import { HttpError } from "./errors.js";

export interface JsonShapeLimits {
  /** deepest nesting of objects and arrays (default 32) */
  maxDepth: number;
  /** most members and elements in the whole body: each `,` and `:` outside strings (default 100,000) */
  maxValues: number;
}
export const JSON_SHAPE_DEFAULTS: JsonShapeLimits = { maxDepth: 32, maxValues: 100_000 };

/** Throws HttpError 400 naming the limit when `text` nests deeper or holds more values than allowed. */
export function checkJsonShape(text: string, limits: JsonShapeLimits = JSON_SHAPE_DEFAULTS): void {
  let depth = 0,
    values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // to the closing quote: one not preceded by an odd number of backslashes
      for (;;) {
        const q = text.indexOf('"', i + 1);
        if (q < 0) return; // unterminated: JSON.parse says so
        let b = 0;
        while (text.charCodeAt(q - 1 - b) === 92) b++;
        i = q;
        if (b % 2 === 0) break;
      }
    } else if (c === 123 || c === 91) {
      if (++depth > limits.maxDepth)
        throw new HttpError(400, `the JSON body nests deeper than ${limits.maxDepth} levels`, "body");
    } else if (c === 125 || c === 93) {
      depth--;
    } else if (c === 44 || c === 58) {
      if (++values > limits.maxValues)
        throw new HttpError(400, `the JSON body holds more than ${limits.maxValues} values`, "body");
    }
  }
}
