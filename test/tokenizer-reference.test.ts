// polymodal's Tokenizer against Hugging Face's own (the `tokenizers` Rust crate, run by
// scripts/fixtures/gen_tokenizer_cases.mjs): every case — a tokenizer.json configured as today's model families
// configure theirs — encodes every line of test/fixtures/tokenizers/corpus.txt (accents, Greek final sigma, CJK,
// Arabic, emoji and ZWJ sequences, U+2028/2029, BOMs, private-use and control characters, code) to the reference's
// ids and tokens, and decodes them to the reference's text: 100%, not a rate.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Tokenizer, onigToRegExp } from "../src/index.js";

/** One corpus line as the reference encodes it: without special tokens (ids, tokens, decode), and with them (the
 * post-processor's ids, and their decode skipping special tokens). */
interface Line {
  text: string;
  ids: number[];
  tokens: string[];
  decoded: string;
  withSpecials: number[];
  decodedSkipping: string;
}

function expectLine(tok: Tokenizer, line: Line): void {
  const e = tok.encode(line.text, { addSpecialTokens: false });
  expect({ line: line.text, tokens: e.tokens }).toEqual({ line: line.text, tokens: line.tokens });
  expect(e.ids).toEqual(line.ids);
  expect(tok.decode(line.ids, { skipSpecialTokens: false })).toBe(line.decoded);
  expect({ line: line.text, withSpecials: tok.encode(line.text).ids }).toEqual({
    line: line.text,
    withSpecials: line.withSpecials,
  });
  expect(tok.decode(line.withSpecials, { skipSpecialTokens: true })).toBe(line.decodedSkipping);
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixture = JSON.parse(readFileSync(join(root, "test/fixtures/tokenizers/cases.json"), "utf8")) as {
  reference: string;
  cases: Record<string, { tokenizer: object; lines: Line[] }>;
};

describe(`Tokenizer vs ${fixture.reference}`, () => {
  it("covers the cases the fixture script writes", () => {
    expect(Object.keys(fixture.cases).length).toBeGreaterThanOrEqual(10);
  });
  for (const [name, c] of Object.entries(fixture.cases)) {
    it(`${name}: the reference's ids, tokens and decodes on every corpus line`, () => {
      const tok = Tokenizer.fromJSON(c.tokenizer);
      for (const line of c.lines) expectLine(tok, line);
    });
  }
});

describe("Oniguruma patterns read as the reference reads them", () => {
  it("\\s is Unicode White_Space (U+0085 and U+2028 yes, U+FEFF no); (?i:...) is case-insensitive", () => {
    const ws = onigToRegExp("\\s+");
    expect("a\u0085b\u2028c\ufeffd".split(ws)).toEqual(["a", "b", "c\ufeffd"]);
    expect("IT'S it's".match(onigToRegExp("(?i:'s|'t)"))).toEqual(["'S", "'s"]);
    expect("a b".match(onigToRegExp("\\S+"))).toEqual(["a", "b"]);
  });
  it("a tokenizer.json using what this build does not read yet is refused, naming it", () => {
    const base = JSON.parse(JSON.stringify(Object.values(fixture.cases)[0].tokenizer));
    expect(() => Tokenizer.fromJSON({ ...base, added_tokens: [{ id: 0, content: "<mask>", lstrip: "yes" }] })).toThrow(
      /added_tokens\[0\]\.lstrip must be true or false, got "yes"/,
    );
    expect(() => Tokenizer.fromJSON({ ...base, model: { ...base.model, type: "Lattice" } })).toThrow(
      /model type "Lattice" is not supported/,
    );
    expect(() => Tokenizer.fromJSON({ ...base, model: { ...base.model, dropout: 0.1 } })).toThrow(
      /BPE dropout 0.1 is not supported/,
    );
    expect(() => Tokenizer.fromJSON({ ...base, decoder: { type: "CTC" } })).toThrow(/decoder "CTC" is not supported/);
    expect(() =>
      Tokenizer.fromJSON({ ...base, normalizer: { type: "Precompiled", precompiled_charsmap: "AAAA" } }),
    ).toThrow(/Precompiled normalizer: the charsmap has 3 bytes, fewer than its header/);
    expect(() =>
      Tokenizer.fromJSON({
        ...base,
        post_processor: { type: "Sequence", processors: [{ type: "ByteLevel" }, { type: "Pairwise" }] },
      }),
    ).toThrow(/post-processor "Pairwise" is not supported in this build \(supported: .*Sequence\)/);
    expect(() =>
      Tokenizer.fromJSON({
        ...base,
        pre_tokenizer: { type: "Split", pattern: { Regex: "[[:alpha:]]" }, behavior: "Isolated" },
      }),
    ).toThrow(/POSIX classes are not supported/);
  });

  it("refuses what it cannot read the same way, naming it", () => {
    expect(() => onigToRegExp("[a[b]]")).toThrow(/nested character classes are not supported/);
    expect(() => onigToRegExp("[[:alpha:]]")).toThrow(/POSIX classes are not supported/);
    expect(() => onigToRegExp("\\Aabc")).toThrow(/Oniguruma escape \\A is not supported/);
    expect(() => onigToRegExp("(?<name>x)")).toThrow(/group \(\?<n is not supported/);
  });
});

const real = JSON.parse(readFileSync(join(root, "test/fixtures/tokenizers/real.json"), "utf8")) as {
  reference: string;
  families: Record<
    string,
    { package: string; vocab: number; fullVocab: number; merges: number; fullMerges: number; lines: Line[] }
  >;
};

describe(`real tokenizer.json files vs ${real.reference}`, () => {
  // each file is the family's own (from the npm package named), reduced by the fixture script to the vocabulary and
  // merges the corpus touches; the script checked the reference encodes the corpus identically with both
  it(
    "holds GPT-3.5/4 (cl100k), GPT-4o, gpt-oss, Llama 2, Llama 3 and 3.1, Qwen3, DeepSeek-V3, Gemma 3, Claude " +
      "and Gemini",
    () => {
      expect(Object.keys(real.families).sort()).toEqual([
        "claude",
        "deepseek_v3",
        "gemini",
        "gemma3",
        "gpt35turbo",
        "gpt4o",
        "gptoss",
        "llama2",
        "llama3",
        "llama3_1",
        "qwen3",
      ]);
    },
  );
  for (const [fam, f] of Object.entries(real.families)) {
    it(`${fam} (${f.package}): the reference's ids, tokens and decodes on every corpus line`, () => {
      const tok = Tokenizer.fromJSON(
        readFileSync(join(root, "test/fixtures/tokenizers/real", `${fam}.tokenizer.json`), "utf8"),
      );
      for (const line of f.lines) expectLine(tok, line);
    });
  }
});
