// SentencePiece's Precompiled normaliser against Hugging Face's tokenizers (the `tokenizers` npm package, its Rust
// code) on real charsmaps: SentencePiece models trained by Debian's python3-sentencepiece with the nmt_nfkc and
// nmt_nfkc_cf rules (scripts/fixtures/gen_precompiled.py; XLM-R's tokenizer.json carries nmt_nfkc's).  Every line of
// a corpus of hard cases and every code point from U+0000 to U+2FFFF (in runs), normalised; and the whole
// XLM-R-style tokenizer's ids on the corpus.
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Tokenizer } from "../src/index.js";
import { normalizer } from "../src/text/normalizers.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "text");
const CORPUS = readFileSync(join(FIXTURES, "precompiled-corpus.txt"), "utf8").split("\n").filter(Boolean);

type HFTokenizer = {
  getNormalizer(): { normalizeString(s: string): string };
  encode(s: string): Promise<{ getIds(): number[] }>;
};
let hf: { Tokenizer: { fromString(s: string): HFTokenizer } } | null = null;
try {
  hf = createRequire(import.meta.url)("tokenizers");
} catch {
  hf = null; // (a platform the package has no binary for)
}

/** Every code point from `from` below `to`, surrogates left out, in runs of `n`. */
function sweep(from: number, to: number, n: number): string[] {
  const out: string[] = [];
  let run = "";
  for (let cp = from; cp < to; cp++) {
    if (cp >= 0xd800 && cp < 0xe000) continue;
    run += String.fromCodePoint(cp);
    if ([...run].length === n) {
      out.push(run);
      run = "";
    }
  }
  if (run) out.push(run);
  return out;
}

describe.each(["nmt_nfkc", "nmt_nfkc_cf"])("Precompiled charsmap of SentencePiece's %s rule", (rule) => {
  const json = gunzipSync(readFileSync(join(FIXTURES, `spm-${rule}.tokenizer.json.gz`))).toString("utf8");
  const spec = JSON.parse(json);
  const ours = normalizer(spec.normalizer.normalizers[0]);

  it.skipIf(!hf)(
    "normalises every corpus line and every code point as Hugging Face's tokenizers",
    () => {
      const theirs = hf!.Tokenizer.fromString(
        JSON.stringify({ ...spec, normalizer: spec.normalizer.normalizers[0] }),
      ).getNormalizer();
      // code points one at a time (each its own cluster), and in runs (clusters of combining marks, ZWJ, jamo)
      const lines = [...CORPUS, ...sweep(0, 0x30000, 1), ...sweep(0, 0x30000, 7)];
      const wrong: string[] = [];
      for (const line of lines) {
        const want = theirs.normalizeString(line),
          got = ours(line);
        if (got !== want && wrong.length < 5)
          wrong.push(`${JSON.stringify(line)}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
      }
      expect(wrong).toEqual([]);
      // and the normaliser does something: full width, ligatures, circled digits, compatibility jamo
      // (ｶﾞ is one cluster of 6 bytes: mapped character by character, as the reference does)
      expect(ours("Ｆｕｌｌ ﬁne ① ㈱ ｶﾞ")).toBe(`${rule === "nmt_nfkc" ? "F" : "f"}ull fine 1 (株) \u30ab\u3099`);
      // a long text normalises as its lines do (it is segmented in pieces), in time linear in its length
      const long = CORPUS.join("\n").repeat(50);
      expect(ours(long)).toBe(theirs.normalizeString(long));
    },
    120_000,
  );

  it.skipIf(!hf)("an XLM-R-style tokenizer (Precompiled, Metaspace, Unigram) gives the reference's ids", async () => {
    const theirs = hf!.Tokenizer.fromString(json);
    const tok = Tokenizer.fromJSON(json);
    for (const line of CORPUS) {
      const want = (await theirs.encode(line)).getIds();
      expect(tok.encode(line, { addSpecialTokens: false }).ids, JSON.stringify(line)).toEqual(want);
    }
  });

  it("refuses a charsmap that is not one, by name", () => {
    const bad = (b64: string) => () => normalizer({ type: "Precompiled", precompiled_charsmap: b64 });
    expect(bad("AAAA")).toThrow(/fewer than its header/);
    expect(bad(Buffer.from([9, 0, 0, 0, 1, 2, 3]).toString("base64"))).toThrow(/not a positive multiple of 4/);
    expect(bad("not base64!")).toThrow(/not base64/);
    expect(normalizer({ type: "Precompiled", precompiled_charsmap: "" })("ｶ")).toBe("ｶ");
  });
});
