// A tokenizer.json's added tokens, found in text as the reference finds them: leftmost-longest, non-overlapping;
// `single_word` tokens only where no letter or digit touches them; `lstrip` / `rstrip` tokens swallowing the
// whitespace before / after them.  Tokens with `normalized: false` are looked for in the raw text, the others in
// the normalised text (their own content normalised too).
import type { Json } from "./tokenizer-error.js";
import { WHITE_RE } from "./onig.js";
import { escapeRegExp } from "../util/escape-regexp.js";

export interface AddedToken {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
  special: boolean;
}

/** A piece of text: an added token (whitespace it swallowed included), or text for the normaliser and model. */
export interface Piece {
  text: string;
  token: AddedToken | null;
}

const isWordChar = (c: string | undefined): boolean => c !== undefined && /[\p{Alphabetic}\p{N}]/u.test(c);
const isSpace = (c: string): boolean => WHITE_RE.test(c);

export function addedTokensOf(json: Json): AddedToken[] {
  return ((json.added_tokens ?? []) as Json[]).map((t) => ({
    content: t.content,
    id: t.id,
    lstrip: t.lstrip === true,
    rstrip: t.rstrip === true,
    singleWord: t.single_word === true,
    normalized: t.normalized ?? !t.special,
    special: t.special === true,
  }));
}

/** Finds `tokens` (by their `match` text) in text: the reference's find_matches. */
export class AddedTokenMatcher {
  private readonly re: RegExp | null;
  private readonly byText = new Map<string, AddedToken>();

  constructor(tokens: Array<{ match: string; token: AddedToken }>) {
    for (const t of tokens) if (t.match && !this.byText.has(t.match)) this.byText.set(t.match, t.token);
    const alts = [...this.byText.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.re = alts.length ? new RegExp(alts.join("|"), "gu") : null;
  }

  split(text: string): Piece[] {
    if (!this.re || !text) return [{ text, token: null }];
    const out: Piece[] = [];
    let from = 0;
    for (const m of text.matchAll(this.re)) {
      const token = this.byText.get(m[0])!;
      let start = m.index!,
        stop = start + m[0].length;
      if (token.singleWord && (isWordChar(lastChar(text, start)) || isWordChar(firstChar(text, stop)))) continue;
      if (token.lstrip) {
        let s = start;
        while (s > from && isSpace(lastChar(text, s)!)) s -= lastChar(text, s)!.length;
        start = s;
      }
      if (token.rstrip) {
        while (stop < text.length && isSpace(firstChar(text, stop)!)) stop += firstChar(text, stop)!.length;
      }
      if (from < start) out.push({ text: text.slice(from, start), token: null });
      out.push({ text: text.slice(start, stop), token });
      from = stop;
    }
    if (from < text.length) out.push({ text: text.slice(from), token: null });
    return out;
  }
}

function lastChar(s: string, end: number): string | undefined {
  if (end <= 0) return undefined;
  const c = s.charCodeAt(end - 1);
  return c >= 0xdc00 && c <= 0xdfff && end >= 2 ? s.slice(end - 2, end) : s[end - 1];
}
function firstChar(s: string, at: number): string | undefined {
  if (at >= s.length) return undefined;
  return String.fromCodePoint(s.codePointAt(at)!);
}
