// Tokenizers against Hugging Face's own (scripts/fixtures/gen_tokenizers.cjs; the Rust library's Node binding):
// the same tokenizer.json files, the same ids and tokens on a corpus of accents, CJK, emoji, control and
// zero-width characters, contractions, over-long words and unknown characters.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { init, Tokenizer, ByteTokenizer, TextEncoder as PMTextEncoder } from "../src/index.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "text");
const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8"));
const wp = Tokenizer.fromJSON(readFileSync(join(dir, "wordpiece.tokenizer.json"), "utf8"));
const bpe = Tokenizer.fromJSON(readFileSync(join(dir, "bpe.tokenizer.json"), "utf8"));

beforeAll(async () => {
  await init();
});

describe("WordPiece (BERT normaliser + pre-tokeniser) matches Hugging Face", () => {
  it.each(
    (expected.wordpiece as Array<{ text: string; ids: number[]; tokens: string[]; decoded: string }>).map(
      (c) => [JSON.stringify(c.text).slice(0, 40), c] as const,
    ),
  )("%s", (_n, c) => {
    const e = wp.encode(c.text);
    expect(e.tokens).toEqual(c.tokens);
    expect(e.ids).toEqual(c.ids);
    expect(wp.decode(e.ids)).toBe(c.decoded);
  });

  it.each(
    (expected.truncated as Array<{ text: string; ids: number[]; attentionMask: number[] }>).map(
      (c) => [c.text, c] as const,
    ),
  )("truncated and padded to 8: %s", (_n, c) => {
    const e = wp.encode(c.text, { maxLength: 8, padding: "max_length" });
    expect(e.ids).toEqual(c.ids);
    expect(e.attentionMask).toEqual(c.attentionMask);
  });
});

describe("byte-level BPE matches Hugging Face", () => {
  it.each(
    (expected.bpe as Array<{ text: string; ids: number[]; tokens: string[] }>).map(
      (c) => [JSON.stringify(c.text).slice(0, 40), c] as const,
    ),
  )("%s", (_n, c) => {
    const e = bpe.encode(c.text);
    expect(e.tokens).toEqual(c.tokens);
    expect(e.ids).toEqual(c.ids);
    expect(bpe.decode(e.ids)).toBe(c.text); // byte-level: lossless
  });
});

describe("batches, the byte default and errors", () => {
  it("encodeBatch gives int32 ids and masks a TextEncoder takes", () => {
    const { inputIds, attentionMask } = wp.encodeBatch(["a red circle", "two blue squares on the left"], {
      maxLength: 12,
      padding: "max_length",
    });
    expect(inputIds.shape).toEqual([2, 12]);
    expect(inputIds.dtype).toBe("int32");
    // [CLS] a red circle [SEP]
    expect(Array.from(attentionMask.data.subarray(0, 12)).filter((v) => v === 1).length).toBe(5);
    const enc = new PMTextEncoder({
      vocabSize: wp.vocabSize,
      maxSeqLen: 12,
      embedDim: 16,
      numHeads: 2,
      numLayers: 1,
      projectionDim: 8,
    });
    expect(enc.forward(inputIds, attentionMask).shape).toEqual([2, 8]);
    enc.dispose();
    const longest = wp.encodeBatch(["a", "a red circle"]);
    expect(longest.inputIds.shape).toEqual([2, 5]);
  });

  it("ByteTokenizer round-trips any text", () => {
    const b = new ByteTokenizer();
    for (const s of ["hello", "Zürich 東京 🙂", ""]) expect(b.decode(b.encode(s).ids)).toBe(s);
    const { inputIds } = b.encodeBatch(["ab", "abcd"], { maxLength: 5, padding: "max_length" });
    expect(Array.from(inputIds.data)).toEqual([1, 100, 101, 2, 0, 1, 100, 101, 102, 2]);
  });

  it("bad input gets clear Errors", () => {
    expect(() => Tokenizer.fromJSON("{not json")).toThrow(/tokenizer.json is not valid JSON/);
    expect(() => Tokenizer.fromJSON({ model: { type: "Lattice" } })).toThrow(
      /model type "Lattice" is not supported \(WordPiece, BPE, Unigram, WordLevel\)/,
    );
    expect(() => wp.encode(42 as unknown as string)).toThrow(/encode expects a string, got number/);
    expect(() => wp.encode("x", { maxLength: 0 })).toThrow(/maxLength must be a positive integer/);
    expect(() => wp.decode([99999])).toThrow(/id 99999 is outside the vocabulary/);
  });
});
