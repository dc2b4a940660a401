// tokenizer.json patterns as the reference reads them (Oniguruma), as JS RegExps.
import { bad, type Json } from "./tokenizer-error.js";
import { LinearRegExp, backtracksBadly } from "./pike.js";
import { escapeRegExp } from "../util/escape-regexp.js";

// tokenizer.json regexes are Oniguruma's (the Rust crate uses onig); JS RegExp differs in two ways that change
// results on real text, both translated here: `\s` is Unicode White_Space in Oniguruma (JS adds U+FEFF and drops
// U+0085), and JS before ES2025 has no inline case-insensitive group `(?i:...)`.  Anything else Oniguruma-only
// is refused by name rather than read differently.
export const WHITE = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
/** Oniguruma's Unicode word characters: letters, marks, decimal digits, connector punctuation. */
export const WORD = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u200c\\u200d";
/** Rust's char::is_whitespace (Unicode White_Space), for Strip and friends. */
export const WHITE_RE = new RegExp(`[${WHITE}]`, "u");

/** An Oniguruma pattern from tokenizer.json as an equivalent JS RegExp (global, Unicode). */
export function onigToRegExp(pattern: string): RegExp {
  let out = "",
    inClass = 0,
    ci = 0;
  const groups: boolean[] = []; // per open group: whether it opened a (?i:
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      const n = pattern[i + 1];
      if (n === undefined) bad(`pattern ${JSON.stringify(pattern)} ends with a backslash`);
      if (n === "s") {
        out += inClass ? WHITE : `[${WHITE}]`;
        i++;
        continue;
      }
      // \w and \d are Unicode in Oniguruma, ASCII in JS
      if (n === "w") {
        out += inClass ? WORD : `[${WORD}]`;
        i++;
        continue;
      }
      if (n === "d") {
        out += "\\p{Nd}";
        i++;
        continue;
      }
      if (n === "W" || n === "D") {
        if (inClass) bad(`pattern ${JSON.stringify(pattern)}: \\${n} inside a character class is not supported`);
        out += n === "W" ? `[^${WORD}]` : "\\P{Nd}";
        i++;
        continue;
      }
      if (n === "S") {
        if (inClass) bad(`pattern ${JSON.stringify(pattern)}: \\S inside a character class is not supported`);
        out += `[^${WHITE}]`;
        i++;
        continue;
      }
      if (n === "p" || n === "P" || n === "u" || n === "x") {
        // \p{..} / \u.... / \x.. pass through whole
        const m = pattern
          .slice(i)
          .match(/^\\[pP]\{[^}]*\}|^\\u[0-9a-fA-F]{4}|^\\u\{[0-9a-fA-F]+\}|^\\x[0-9a-fA-F]{2}|^\\x\{[0-9a-fA-F]+\}/);
        if (!m) bad(`pattern ${JSON.stringify(pattern)}: unsupported escape at ${i}`);
        out += m[0].replace(/^\\x\{/, "\\u{");
        i += m[0].length - 1;
        continue;
      }
      if (/[AzZGhHRXKyYk]/.test(n)) bad(`pattern ${JSON.stringify(pattern)}: Oniguruma escape \\${n} is not supported`);
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === "[")
        bad(
          `pattern ${JSON.stringify(pattern)}: ` +
            `${pattern[i + 1] === ":" ? "POSIX classes" : "nested character classes"} are not supported`,
        );
      if (c === "]") {
        inClass = 0;
        out += c;
        continue;
      }
      out += c;
      continue;
    }
    if (c === "[") {
      inClass = 1;
      out += c;
      if (pattern[i + 1] === "^") {
        out += "^";
        i++;
      }
      if (pattern[i + 1] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (c === "(") {
      if (pattern.startsWith("(?i:", i)) {
        groups.push(true);
        ci++;
        out += "(?:";
        i += 3;
        continue;
      }
      if (pattern[i + 1] === "?" && !/^\(\?(?::|=|!|<=|<!)/.test(pattern.slice(i)))
        bad(`pattern ${JSON.stringify(pattern)}: group ${pattern.slice(i, i + 4)} is not supported`);
      groups.push(false);
      out += c;
      continue;
    }
    if (c === ")") {
      if (groups.pop()) ci--;
      out += c;
      continue;
    }
    if (ci && /\p{L}/u.test(c) && c.toLowerCase() !== c.toUpperCase()) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      continue;
    }
    out += c;
  }
  try {
    return new RegExp(out, "gu");
  } catch (e) {
    bad(`pattern ${JSON.stringify(pattern)} cannot be read (${(e as Error).message})`);
  }
}

/**
 * A pattern's matches in a string: UTF-16 [start, end) pairs, leftmost-first and non-overlapping, as matchAll finds
 * them.
 */
export interface TextPattern {
  matches(s: string): Iterable<[number, number]>;
}

/** Every match of `p` in `s` replaced by `content`. */
export function replaceAll(s: string, p: TextPattern, content: string): string {
  let out = "",
    at = 0;
  for (const [a, b] of p.matches(s)) {
    out += s.slice(at, a) + content;
    at = b;
  }
  return out + s.slice(at);
}

const onRegExp = (re: RegExp): TextPattern => ({
  *matches(s) {
    for (const m of s.matchAll(re)) yield [m.index!, m.index! + m[0].length];
  },
});

/**
 * A tokenizer.json pattern ({ String } literal or { Regex }).  A pattern that a backtracking engine could take
 * exponential (or cubic) time on — `(a+)+$` — runs on the linear-time engine (src/text/pike.ts), with the same
 * matches; every other runs on RegExp.  Either way no text makes it hang.
 */
export function patternOf(what: string, p: Json): TextPattern {
  if (p && typeof p.String === "string") return onRegExp(new RegExp(escapeRegExp(p.String), "gu"));
  if (p && typeof p.Regex === "string") {
    const re = onigToRegExp(p.Regex);
    try {
      return backtracksBadly(re.source) ? new LinearRegExp(re.source) : onRegExp(re);
    } catch (e) {
      bad(`${what}: ${(e as Error).message}`);
    }
  }
  bad(`${what}: pattern must be { "String": ... } or { "Regex": ... }, got ${JSON.stringify(p).slice(0, 200)}`);
}
