// Text tokenizers: a Hugging Face tokenizer.json read as the reference (the `tokenizers` Rust crate) reads it, and
// a dependency-free byte-level default.  The file's parts live beside this one, one file per kind, each a registry
// by "type": normalizers.ts, pre-tokenizers.ts, tokenizer-models.ts, decoders.ts (patterns: onig.ts).  Here: the
// schema check, special tokens, post-processing, padding, truncation and attention masks, and batching into the
// int32 Tensors the text encoders take.
import { Tensor } from "../tensor.js";
import { bad, type Json } from "./tokenizer-error.js";
import { normalizer } from "./normalizers.js";
import { preTokenizer } from "./pre-tokenizers.js";
import { MODELS, type Model } from "./tokenizer-models.js";
import { decoderOf, type DecodeStep } from "./decoders.js";
import { AddedTokenMatcher, addedTokensOf, type Piece } from "./added-tokens.js";

export { onigToRegExp } from "./onig.js";

export interface Encoding {
  ids: number[];
  tokens: string[];
  attentionMask: number[];
}

export interface EncodeOptions {
  /** add the post-processor's special tokens (e.g. [CLS] ... [SEP]); default true */
  addSpecialTokens?: boolean;
  /** truncate to this many tokens (special tokens included) */
  maxLength?: number;
  /** "max_length": pad to maxLength; "longest": pad a batch to its longest; false: no padding */
  padding?: "max_length" | "longest" | false;
}

// ---- schema checks ---------------------------------------------------------------------------------------------
const MAX_ID = 2 ** 31 - 1;
const MAX_DEPTH = 32;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** A component (normalizer, pre-tokenizer, post-processor, decoder): null or { type }, Sequences nested <= 32 deep. */
function checkComponent(what: string, c: unknown, depth = 0): void {
  if (c === null || c === undefined) return;
  if (depth > MAX_DEPTH) bad(`${what} is nested more than ${MAX_DEPTH} deep`);
  if (!isObj(c) || typeof c.type !== "string")
    bad(`${what} must be null or an object with a string "type", got ${JSON.stringify(c)?.slice(0, 80)}`);
  for (const key of ["normalizers", "pretokenizers", "processors", "decoders"]) {
    if (key in c) {
      const list = c[key];
      if (!Array.isArray(list)) bad(`${what}.${key} must be an array`);
      list.forEach((x, i) => checkComponent(`${what}.${key}[${i}]`, x, depth + 1));
    }
  }
}

/**
 * The parts of tokenizer.json the tokenizer reads, checked before anything is built (a malformed file names its
 * fault).
 */
function checkSchema(j: Record<string, unknown>): void {
  const m = j.model;
  if (!isObj(m) || !(typeof m.type === "string" && m.type in MODELS))
    bad(
      `model type ${JSON.stringify(isObj(m) ? m.type : undefined)} is not supported ` +
        `(${Object.keys(MODELS).join(", ")})`,
    );
  if (m.type === "Unigram") {
    if (!Array.isArray(m.vocab)) bad("Unigram model.vocab must be an array of [piece, score]");
  } else if (!isObj(m.vocab)) bad("model.vocab must be an object of token -> id");
  if (isObj(m.vocab))
    for (const [t, id] of Object.entries(m.vocab)) {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) > MAX_ID)
        bad(`model.vocab[${JSON.stringify(t)}] must be an id from 0 to ${MAX_ID}, got ${JSON.stringify(id)}`);
    }
  if (m.type === "BPE") {
    if (!Array.isArray(m.merges)) bad("model.merges must be an array");
    m.merges.forEach((mg, i) => {
      const ok =
        typeof mg === "string"
          ? mg.split(" ").length === 2
          : Array.isArray(mg) && mg.length === 2 && mg.every((x) => typeof x === "string");
      if (!ok) bad(`model.merges[${i}] must be "a b" or ["a", "b"], got ${JSON.stringify(mg)}`);
    });
  }
  for (const k of ["unk_token", "continuing_subword_prefix"])
    if (m[k] !== undefined && m[k] !== null && typeof m[k] !== "string") bad(`model.${k} must be a string`);
  if (
    m.max_input_chars_per_word !== undefined &&
    (!Number.isInteger(m.max_input_chars_per_word) || (m.max_input_chars_per_word as number) < 1)
  )
    bad("model.max_input_chars_per_word must be a positive integer");
  if (j.added_tokens !== undefined && j.added_tokens !== null) {
    if (!Array.isArray(j.added_tokens)) bad("added_tokens must be an array");
    j.added_tokens.forEach((t, i) => {
      if (!isObj(t) || typeof t.content !== "string" || t.content === "")
        bad(`added_tokens[${i}] must have a non-empty string "content"`);
      if (!Number.isInteger(t.id) || (t.id as number) < 0 || (t.id as number) > MAX_ID)
        bad(`added_tokens[${i}].id must be an id from 0 to ${MAX_ID}, got ${JSON.stringify(t.id)}`);
      for (const flag of ["lstrip", "rstrip", "single_word", "normalized", "special"]) {
        if (t[flag] !== undefined && typeof t[flag] !== "boolean")
          bad(`added_tokens[${i}].${flag} must be true or false, got ${JSON.stringify(t[flag])}`);
      }
    });
  }
  for (const k of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) checkComponent(k, j[k]);
  if (j.padding !== undefined && j.padding !== null) {
    if (!isObj(j.padding)) bad("padding must be null or an object");
    if (
      j.padding.pad_id !== undefined &&
      (!Number.isInteger(j.padding.pad_id) || (j.padding.pad_id as number) < 0 || (j.padding.pad_id as number) > MAX_ID)
    )
      bad("padding.pad_id must be an id");
    if (j.padding.pad_token !== undefined && typeof j.padding.pad_token !== "string")
      bad("padding.pad_token must be a string");
  }
}

// ---- the tokenizer -------------------------------------------------------------------------------------------
/**
 * A Hugging Face tokenizer.json (WordPiece or BPE) in pure TypeScript.
 * @example
 * const tok = Tokenizer.fromJSON(await (await fetch("tokenizer.json")).text());
 * const { inputIds, attentionMask } = tok.encodeBatch(["a red circle", "two blue squares"], { maxLength: 77,
 * padding: "max_length" });
 * const emb = clip.encodeText(inputIds, attentionMask);
 */
export class Tokenizer {
  private readonly model: Model;
  private readonly normalize: (s: string) => string;
  private readonly preTokenize: (s: string) => string[];
  private readonly special: Map<string, number>;
  private readonly rawAdded: AddedTokenMatcher;
  private readonly normalizedAdded: AddedTokenMatcher;
  /** an added token's matched text that is not its content (" <mask>") -> its id */
  private readonly matchedText = new Map<string, number>();
  private readonly idToToken: string[];
  /** the special tokens the post-processor puts before and after a single sequence */
  private readonly specials: { pre: string[]; suf: string[] };
  private readonly decodeTokens: DecodeStep;
  readonly padId: number;
  readonly padToken: string;

  private constructor(json: Json) {
    const m = json.model;
    this.model = MODELS[m.type as string](m);
    this.normalize = normalizer(json.normalizer);
    this.preTokenize = preTokenizer(json.pre_tokenizer);
    const added = addedTokensOf(json);
    for (const t of added) this.model.vocab.set(t.content, t.id);
    this.special = new Map(added.filter((t) => t.special).map((t) => [t.content, t.id]));
    // tokens with normalized: false are found in the raw text, the others in the normalised text
    this.rawAdded = new AddedTokenMatcher(
      added.filter((t) => !t.normalized).map((t) => ({ match: t.content, token: t })),
    );
    this.normalizedAdded = new AddedTokenMatcher(
      added.filter((t) => t.normalized).map((t) => ({ match: this.normalize(t.content), token: t })),
    );
    this.idToToken = [];
    for (const [t, id] of this.model.vocab) this.idToToken[id] = t;
    // the reference gives a normalized added token's id back as its normalised content ("Hello" -> "hello")
    for (const t of added) if (t.normalized) this.idToToken[t.id] = this.normalize(t.content);
    this.specials = specialsOf(json.post_processor ?? null);
    this.decodeTokens = decoderOf(json.decoder ?? null);
    const pad = json.padding ?? null;
    this.padToken =
      pad?.pad_token ?? (this.model.vocab.has("[PAD]") ? "[PAD]" : this.model.vocab.has("<pad>") ? "<pad>" : "");
    this.padId = pad?.pad_id ?? this.model.vocab.get(this.padToken) ?? 0;
  }

  /** Parses a tokenizer.json (string or object). */
  static fromJSON(json: string | object): Tokenizer {
    let j: Json;
    try {
      j = typeof json === "string" ? JSON.parse(json) : json;
    } catch (e) {
      bad(`tokenizer.json is not valid JSON (${(e as Error).message})`);
    }
    if (!isObj(j)) bad("tokenizer.json must be an object");
    checkSchema(j);
    try {
      return new Tokenizer(j);
    } catch (e) {
      // anything the schema check did not foresee still surfaces as a Tokenizer error, never a bare TypeError
      if (e instanceof Error && e.message.startsWith("Tokenizer: ")) throw e;
      bad(`tokenizer.json is malformed (${(e as Error).message})`);
    }
  }

  get vocabSize(): number {
    return this.idToToken.length;
  }

  tokenToId(t: string): number | undefined {
    return this.model.vocab.get(t);
  }

  /**
   * The text's tokens; an added token keeps the text it matched (whitespace lstrip/rstrip swallowed included), as
   * the reference's do.
   */
  private tokensOf(text: string): string[] {
    const out: string[] = [];
    const added = (p: Piece): void => {
      out.push(p.text);
      if (p.text !== p.token!.content && this.matchedText.size < 4096) this.matchedText.set(p.text, p.token!.id);
    };
    for (const p of this.rawAdded.split(text)) {
      if (p.token) {
        added(p);
        continue;
      }
      for (const q of this.normalizedAdded.split(this.normalize(p.text))) {
        if (q.token) {
          added(q);
          continue;
        }
        // one push per token: spreading a long word's tokens into push() overflows the stack (a
        // 1,000,000-character word)
        for (const w of this.preTokenize(q.text)) for (const t of this.model.tokenize(w)) out.push(t);
      }
    }
    return out;
  }

  private withSpecials(tokens: string[], budget: number | null): string[] {
    const { pre, suf } = this.specials;
    const room = budget === null ? tokens.length : Math.max(0, budget - pre.length - suf.length);
    return [...pre, ...tokens.slice(0, room), ...suf];
  }

  /** One text -> ids, tokens and attention mask. */
  encode(text: string, options: EncodeOptions = {}): Encoding {
    if (typeof text !== "string") bad(`encode expects a string, got ${typeof text}`);
    const max = options.maxLength ?? null;
    if (max !== null && (!Number.isInteger(max) || max < 1)) bad(`maxLength must be a positive integer, got ${max}`);
    let tokens = this.tokensOf(text);
    tokens =
      options.addSpecialTokens === false
        ? max === null
          ? tokens
          : tokens.slice(0, max)
        : this.withSpecials(tokens, max);
    const ids = tokens.map((t) => {
      const id =
        this.model.vocab.get(t) ??
        this.matchedText.get(t) ??
        (this.model.unk !== null ? this.model.vocab.get(this.model.unk) : undefined);
      if (id === undefined) bad(`token ${JSON.stringify(t)} is not in the vocabulary and there is no unknown token`);
      return id;
    });
    const enc = { ids, tokens, attentionMask: ids.map(() => 1) };
    if (options.padding === "max_length" && max !== null) this.pad(enc, max);
    return enc;
  }

  private pad(e: Encoding, n: number): void {
    while (e.ids.length < n) {
      e.ids.push(this.padId);
      e.tokens.push(this.padToken);
      e.attentionMask.push(0);
    }
  }

  /** Texts -> inputIds and attentionMask Tensors (B, L) int32, padded (to maxLength, or the longest). */
  encodeBatch(
    texts: string[],
    options: EncodeOptions = {},
  ): { inputIds: Tensor; attentionMask: Tensor; encodings: Encoding[] } {
    if (!Array.isArray(texts) || texts.length === 0) bad("encodeBatch expects a non-empty array of strings");
    const encs = texts.map((t) => this.encode(t, { ...options, padding: false }));
    const batch = this.padBatch(encs, options);
    for (const e of encs) this.pad(e, batch.inputIds.shape[1]);
    return { ...batch, encodings: encs };
  }

  /**
   * Encodings (or ids a caller tokenized before, each with its mask) -> inputIds and attentionMask Tensors (B, L)
   * int32, padded with this tokenizer's pad token (to maxLength, or the longest).
   */
  padBatch(encs: Array<Pick<Encoding, "ids" | "attentionMask">>, options: EncodeOptions = {}): TokenBatch {
    return packBatch(encs, options, this.padId);
  }

  /** Ids -> text, as the tokenizer's decoder does (WordPiece joins ## pieces; ByteLevel maps back to UTF-8). */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const specialIds = new Set(this.special.values());
    const toks: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const t = this.idToToken[ids[i]];
      if (t === undefined) bad(`id ${ids[i]} is outside the vocabulary`);
      if (skip && (specialIds.has(ids[i]) || (ids[i] === this.padId && t === this.padToken))) continue;
      toks.push(t);
    }
    return this.decodeTokens(toks).join("");
  }
}

/** A ByteTokenizer id as a token: <pad>, <s>, </s>, a printable ASCII byte as itself, any other byte as <0xNN>. */
function byteToken(id: number): string {
  if (id < 3) return ["<pad>", "<s>", "</s>"][id];
  const b = id - 3;
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/**
 * The special tokens a post-processor adds around one sequence.  A Sequence applies its processors in order, each
 * wrapping what the ones before it produced.  ByteLevel only adjusts offsets, which encode() does not return.
 */
function specialsOf(p: Json | null): { pre: string[]; suf: string[] } {
  if (p === null || p.type === "ByteLevel") return { pre: [], suf: [] };
  if (p.type === "BertProcessing" || p.type === "RobertaProcessing") return { pre: [p.cls[0]], suf: [p.sep[0]] };
  if (p.type === "TemplateProcessing") {
    const pre: string[] = [],
      suf: string[] = [];
    let afterSeq = false;
    for (const item of p.single as Json[]) {
      if (item.Sequence) {
        afterSeq = true;
        continue;
      }
      if (!item.SpecialToken) continue;
      // a template names a special token; special_tokens says which token(s) it stands for
      const named = p.special_tokens?.[item.SpecialToken.id];
      const toks: string[] = named && Array.isArray(named.tokens) ? named.tokens : [item.SpecialToken.id];
      (afterSeq ? suf : pre).push(...toks);
    }
    return { pre, suf };
  }
  if (p.type === "Sequence" && Array.isArray(p.processors)) {
    let pre: string[] = [],
      suf: string[] = [];
    for (const q of p.processors as Json[]) {
      const s = specialsOf(q);
      pre = [...s.pre, ...pre];
      suf = [...suf, ...s.suf];
    }
    return { pre, suf };
  }
  bad(
    `post-processor ${JSON.stringify(p.type)} is not supported in this build (supported: BertProcessing, ` +
      `RobertaProcessing, TemplateProcessing, ByteLevel, Sequence)`,
  );
}

/**
 * The dependency-free default: UTF-8 bytes as tokens.  Ids: 0 pad, 1 start, 2 end, 3 + byte (259 in all).
 * @example
 * const { inputIds, attentionMask } = new ByteTokenizer().encodeBatch(["hello"], { maxLength: 16, padding:
 * "max_length" });
 */
export class ByteTokenizer {
  readonly vocabSize = 259;
  encode(text: string, options: EncodeOptions = {}): Encoding {
    if (typeof text !== "string") throw new Error(`ByteTokenizer: encode expects a string, got ${typeof text}`);
    const specials = options.addSpecialTokens !== false;
    let ids = Array.from(new TextEncoder().encode(text), (b) => b + 3);
    const max = options.maxLength ?? null;
    if (max !== null) ids = ids.slice(0, Math.max(0, max - (specials ? 2 : 0)));
    if (specials) ids = [1, ...ids, 2];
    const enc = { ids, tokens: ids.map(byteToken), attentionMask: ids.map(() => 1) };
    if (options.padding === "max_length" && max !== null)
      while (enc.ids.length < max) {
        enc.ids.push(0);
        enc.tokens.push(byteToken(0));
        enc.attentionMask.push(0);
      }
    return enc;
  }
  encodeBatch(texts: string[], options: EncodeOptions = {}): TokenBatch {
    return this.padBatch(
      texts.map((t) => this.encode(t, { ...options, padding: false })),
      options,
    );
  }
  /** Ids -> a batch padded with 0 (to maxLength, or the longest). */
  padBatch(encs: Array<Pick<Encoding, "ids" | "attentionMask">>, options: EncodeOptions = {}): TokenBatch {
    return packBatch(encs, options, 0);
  }
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] >= 3) bytes.push(ids[i] - 3);
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array(bytes));
  }
}

/** A batch as the text encoders take it: (B, L) int32 ids and attention mask. */
export interface TokenBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
}

/** Encodings -> (B, L) ids and mask, each padded with padId (mask 0) to L: maxLength, or the longest. */
function packBatch(
  encs: Array<Pick<Encoding, "ids" | "attentionMask">>,
  options: EncodeOptions,
  padId: number,
): TokenBatch {
  const L =
    options.padding === "max_length" && options.maxLength
      ? options.maxLength
      : Math.max(...encs.map((e) => e.ids.length));
  const ids = new Int32Array(encs.length * L).fill(padId),
    mask = new Int32Array(encs.length * L);
  encs.forEach((e, b) => {
    if (e.ids.length > L || e.attentionMask.length !== e.ids.length)
      bad(`a sequence of ${e.ids.length} ids (mask ${e.attentionMask.length}) does not fit a batch of length ${L}`);
    ids.set(e.ids, b * L);
    mask.set(e.attentionMask, b * L);
  });
  return { inputIds: new Tensor(ids, [encs.length, L]), attentionMask: new Tensor(mask, [encs.length, L]) };
}
