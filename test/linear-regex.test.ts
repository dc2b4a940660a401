// The linear-time pattern engine (src/text/pike.ts) against RegExp: the same matches on thousands of random
// patterns and strings (small enough that backtracking is quick), the same matches for every real tokenizer.json
// pattern on every corpus line, and the patterns that hang RegExp (found by an adversarial pass: `(a+)+$`,
// `(\s*\w*)*!`, `(x+x+)+y`) running through a Tokenizer in milliseconds with the matches an equivalent safe
// pattern gives.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { LinearRegExp, backtracksBadly } from "../src/text/pike.js";
import { onigToRegExp, patternOf } from "../src/text/onig.js";
import { Tokenizer } from "../src/text/tokenizer.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const spans = (re: RegExp, s: string): Array<[number, number]> =>
  [...s.matchAll(re)].map((m) => [m.index!, m.index! + m[0].length]);

const nullable = (src: string): boolean => new RegExp(`^(?:${src})$`, "u").test("");

/**
 * A seeded generator of small patterns over {a, b, c, space, é, 🙂}.  A group is repeated only when it cannot match
 * empty: there JS's rule (an iteration that matches nothing fails) and Oniguruma's differ, and the linear engine
 * follows neither exactly (see src/text/pike.ts).
 */
function patterns(seed: number): () => string {
  let x = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  const atom = (d: number): string => {
    const k = rnd(d > 2 ? 7 : 12);
    return ["a", "b", "c", " ", "é", "🙂", "[ab]", "[^a ]", "\\s", "\\p{L}", ".", "\\d"][k] ?? "a";
  };
  const expr = (d: number): string => {
    const parts: string[] = [];
    for (let i = 0, n = 1 + rnd(3); i < n; i++) {
      let a =
        d < 2 && rnd(4) === 0
          ? `(${alt(d + 1)})`
          : d < 2 && rnd(12) === 0
            ? `(?${["=", "!", "<=", "<!"][rnd(4)]}${alt(d + 1)})`
            : rnd(14) === 0
              ? ["^", "$"][rnd(2)]
              : atom(d);
      if (!/^(\^|\$|\\b|\\B|\(\?)/.test(a) && !(a.startsWith("(") && nullable(a)) && rnd(2) === 0)
        a += ["*", "+", "?", "{1,2}", "{2}", "{0,}"][rnd(6)] + (rnd(3) === 0 ? "?" : "");
      parts.push(a);
    }
    return parts.join("");
  };
  const alt = (d: number): string => (rnd(3) === 0 ? `${expr(d)}|${expr(d)}` : expr(d));
  return () => alt(0);
}
/**
 * Seeded strings; without astral characters (`bmp`) for patterns that may match empty, since V8 reports empty
 * matches inside surrogate pairs.
 */
function strings(seed: number): (bmp: boolean) => string {
  let x = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  return (bmp) =>
    Array.from({ length: rnd(10) }, () => ["a", "b", "c", " ", "é", bmp ? "ü" : "🙂", "1", "\n"][rnd(8)]).join("");
}

describe("LinearRegExp finds what RegExp finds", () => {
  it(
    "on 3,000 random patterns (alternation, greedy and lazy counts, classes, lookaround, anchors) x 8 strings " +
      "each",
    () => {
      const next = patterns(7),
        text = strings(11);
      let compared = 0;
      for (let i = 0; i < 3000; i++) {
        const src = next();
        const re = new RegExp(src, "gu"),
          lin = new LinearRegExp(src),
          bmp = nullable(src) || /\(\?|\^|\$/.test(src);
        for (let j = 0; j < 8; j++) {
          const s = text(bmp);
          expect(JSON.stringify({ src, s, m: [...lin.matches(s)] })).toBe(JSON.stringify({ src, s, m: spans(re, s) }));
          compared++;
        }
      }
      expect(compared).toBe(24_000);
    },
  );

  it(
    "for every real tokenizer.json pattern on every corpus line (run on the linear engine, though they are safe " +
      "for RegExp)",
    () => {
      const dir = join(root, "test/fixtures/tokenizers/real"),
        lines = readFileSync(join(root, "test/fixtures/tokenizers/corpus.txt"), "utf8").split("\n");
      const found = new Set<string>();
      const walk = (o: unknown): void => {
        if (Array.isArray(o)) o.forEach(walk);
        else if (o && typeof o === "object")
          for (const [k, v] of Object.entries(o))
            if (k === "Regex" && typeof v === "string") found.add(v);
            else if (k !== "model") walk(v);
      };
      for (const f of readdirSync(dir)) walk(JSON.parse(readFileSync(join(dir, f), "utf8")));
      expect(found.size).toBeGreaterThanOrEqual(5);
      for (const p of found) {
        const re = onigToRegExp(p),
          lin = new LinearRegExp(re.source);
        expect(backtracksBadly(re.source), p).toBe(false); // they stay on RegExp: the same bits as before, as fast
        for (const s of lines) expect([p, s, [...lin.matches(s)]]).toEqual([p, s, spans(re, s)]);
      }
    },
  );
});

describe("patterns that hang a backtracking engine", () => {
  const base = {
    version: "1.0",
    normalizer: null,
    post_processor: null,
    decoder: null,
    added_tokens: [],
    model: { type: "WordLevel", vocab: { "[UNK]": 0 }, unk_token: "[UNK]" },
  };
  const cases: Array<[string, string, RegExp]> = [
    ["(a+)+$", "a".repeat(40) + "!", /a+$/gu],
    ["(\\s*\\w*)*!", "a".repeat(44), /[\s\w]*!/gu],
    ["(x+x+)+y", "x".repeat(40), /x{2,}y/gu],
  ];
  for (const [pattern, attack, same] of cases) {
    it(
      `${pattern}: a Split pre-tokenizer and a Replace normalizer finish at once on ${attack.length} and 10,000 ` +
        `characters, with the matches of ${same.source}`,
      () => {
        expect(backtracksBadly(onigToRegExp(pattern).source)).toBe(true);
        const split = Tokenizer.fromJSON({
          ...base,
          pre_tokenizer: { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
        });
        const replace = Tokenizer.fromJSON({
          ...base,
          pre_tokenizer: null,
          normalizer: { type: "Replace", pattern: { Regex: pattern }, content: "" },
        });
        const p = patternOf("test", { Regex: pattern });
        for (const s of [
          attack,
          attack + " " + attack,
          attack.slice(0, -1).repeat(Math.ceil(10_000 / attack.length)) + attack.slice(-1),
          attack + "y",
        ]) {
          expect([...p.matches(s)]).toEqual(spans(same, s));
          split.encode(s);
          replace.encode(s);
        }
      },
    );
  }

  it("what cannot be matched in linear time is refused by name: backreferences, counts above 1000", () => {
    expect(() => patternOf("Split pre-tokenizer", { Regex: "(a+)+\\1" })).toThrow(
      /Split pre-tokenizer: .*a backreference \(it cannot be matched in linear time\)/,
    );
    expect(() => patternOf("Split pre-tokenizer", { Regex: "(a|b){2,5000}" })).toThrow(/a count above 1000/);
    expect(() => patternOf("Split pre-tokenizer", { Regex: "((a|b){1000}){1000}" })).toThrow(/pattern too large/);
  });
});
