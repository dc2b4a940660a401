// transformers' Wav2Vec2CTCTokenizer, for decoding (vocab.json, tokenizer_config.json, special_tokens_map.json):
// a CTC model's per-frame token ids -> text as its pipeline decodes them (skip_special_tokens): special tokens
// other than the pad dropped, repeats collapsed, the pad (the CTC blank) dropped, the word delimiter read as a
// space, the ends stripped, lower-cased with do_lower_case.  Each token kept also keeps the frames it spans, so
// words come with their times.  Reference: reference/hf_wav2vec2.py ctc_decode.

/** A token of a decoded transcript and the frames [start, end) of its run. */
export interface CTCSegment {
  id: number;
  start: number;
  end: number;
}

/** A word: its text, and its first and last segment (indices into the segments it came from). */
export interface CTCWord {
  text: string;
  first: number;
  last: number;
}

/** A special token's name in tokenizer_config.json / special_tokens_map.json: a string, or {content}. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string")
    return (v as { content: string }).content;
  return undefined;
}

/** Most entries a vocab.json may hold (character vocabularies have tens; phoneme and BPE ones thousands). */
const MAX_VOCAB = 1 << 20;

export class CTCTokenizer {
  private constructor(
    /** id -> token */
    readonly tokens: readonly string[],
    readonly padId: number,
    readonly delimiterId: number,
    /** ids dropped before decoding: the special tokens other than the pad */
    readonly dropped: ReadonlySet<number>,
    readonly lowerCase: boolean,
  ) {}

  /** From the folder's files (tokenizer_config.json and special_tokens_map.json may be null). */
  static fromFiles(
    vocab: unknown,
    tokenizerConfig: unknown,
    specialTokensMap: unknown,
    where = "vocab.json",
  ): CTCTokenizer {
    if (!vocab || typeof vocab !== "object" || Array.isArray(vocab))
      throw new Error(`${where}: expected an object of token -> id`);
    const entries = Object.entries(vocab as Record<string, unknown>);
    if (entries.length === 0 || entries.length > MAX_VOCAB)
      throw new Error(`${where}: expected 1 to ${MAX_VOCAB} tokens, got ${entries.length}`);
    const tokens: string[] = [];
    for (const [t, id] of entries) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= MAX_VOCAB)
        throw new Error(`${where}: token ${JSON.stringify(t)} has id ${JSON.stringify(id)}; ids are integers >= 0`);
      if (tokens[id] !== undefined)
        throw new Error(`${where}: id ${id} is given to both ${JSON.stringify(tokens[id])} and ${JSON.stringify(t)}`);
      tokens[id] = t;
    }
    const cfg = { ...((specialTokensMap as object) ?? {}), ...((tokenizerConfig as object) ?? {}) } as Record<
      string,
      unknown
    >;
    const idOf = (name: string, dflt: string): number | undefined => {
      const t = tokenName(cfg[name]) ?? dflt;
      const i = tokens.indexOf(t);
      return i < 0 ? undefined : i;
    };
    const padId = idOf("pad_token", "<pad>");
    if (padId === undefined)
      throw new Error(
        `${where}: has no pad token ${JSON.stringify(tokenName(cfg.pad_token) ?? "<pad>")} (the CTC blank)`,
      );
    const delimiterId = idOf("word_delimiter_token", "|") ?? -1;
    const dropped = new Set<number>();
    for (const [name, dflt] of [
      ["bos_token", "<s>"],
      ["eos_token", "</s>"],
      ["unk_token", "<unk>"],
    ] as const) {
      const i = idOf(name, dflt);
      if (i !== undefined && i !== padId) dropped.add(i);
    }
    return new CTCTokenizer(tokens, padId, delimiterId, dropped, cfg.do_lower_case === true);
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /** Per-frame ids (the argmax path) -> the transcript's tokens with their frames, as the decoding keeps them. */
  segments(frameIds: ArrayLike<number>): CTCSegment[] {
    const out: CTCSegment[] = [];
    let prev = -1;
    for (let t = 0; t < frameIds.length; t++) {
      const id = frameIds[t];
      if (this.dropped.has(id)) continue; // (gone before repeats are grouped)
      if (id === prev) out[out.length - 1].end = t + 1;
      else out.push({ id, start: t, end: t + 1 });
      prev = id;
    }
    return out.filter((s) => s.id !== this.padId);
  }

  /** The text of decoded segments. */
  text(segments: readonly CTCSegment[]): string {
    const s = segments
      .filter((x) => x.id !== this.padId && !this.dropped.has(x.id))
      .map((x) => (x.id === this.delimiterId ? " " : (this.tokens[x.id] ?? "")))
      .join("")
      .trim();
    return this.lowerCase ? s.toLowerCase() : s;
  }

  /** The words of decoded segments: runs between word delimiters. */
  words(segments: readonly CTCSegment[]): CTCWord[] {
    const out: CTCWord[] = [];
    let first = -1;
    const close = (last: number): void => {
      if (first < 0) return;
      const text = this.text(segments.slice(first, last + 1));
      if (text) out.push({ text, first, last });
      first = -1;
    };
    segments.forEach((s, i) => {
      if (s.id === this.delimiterId) close(i - 1);
      else if (first < 0) first = i;
    });
    close(segments.length - 1);
    return out;
  }
}
