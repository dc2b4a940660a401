// A document cut into passages a text encoder reads whole: chunks of at most `maxTokens` tokens, each starting
// `overlapTokens` (or fewer) tokens before the previous one ended, cut between words, so every chunk is a span of
// the document itself with its byte and line range.
//
// Words (a run of non-space characters) are the units: a chunk's tokens are counted word by word (the BERT, Metaspace
// and byte-level pre-tokenizers all split at spaces, so a chunk's tokens are its words' tokens, near enough), then
// the chunk is counted whole and shortened by a word while it is still too long.  A word longer than a chunk
// (a base64 blob) is cut into pieces that fit.

export interface ChunkOptions {
  /** the most tokens in one chunk (a text encoder's longest sequence less its special tokens and prompt) */
  maxTokens: number;
  /** tokens a chunk repeats from the end of the one before it (default maxTokens / 8, at most maxTokens / 2) */
  overlapTokens?: number;
  /** a text's tokens (no special tokens, not truncated) */
  countTokens(text: string): number;
}

export interface TextChunk {
  /** the chunk's text: text.slice(start, end) */
  text: string;
  /** UTF-16 offsets into the text */
  start: number;
  end: number;
  /** UTF-8 byte offsets into the text's encoding (end exclusive) */
  byteStart: number;
  byteEnd: number;
  /** 1-based lines of its first and last character */
  line: number;
  endLine: number;
  tokens: number;
}

interface Word {
  start: number;
  end: number;
  tokens: number;
}

/** The longest prefix of s that fits in max tokens (at least one code point), by bisection over code points. */
function fittingPrefix(s: string, max: number, count: (t: string) => number): number {
  // a token covers at least a byte (byte fallback), so max tokens never hold more than 4 x max UTF-16 units
  let lo = 1,
    hi = Math.min(s.length, 4 * max);
  if (s.codePointAt(0)! > 0xffff) lo = 2;
  while (lo < hi) {
    let mid = (lo + hi + 1) >> 1;
    // never split a surrogate pair
    if (mid < s.length && (s.charCodeAt(mid) & 0xfc00) === 0xdc00) mid--;
    if (mid <= lo) break;
    if (count(s.slice(0, mid)) <= max) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The words of a text, each counted (one count per distinct word); a word too long for a chunk cut into pieces. */
function wordsOf(text: string, max: number, count: (t: string) => number): Word[] {
  const seen = new Map<string, number>();
  const counted = (w: string): number => {
    let n = seen.get(w);
    if (n === undefined) {
      n = count(w);
      if (seen.size < 1 << 16) seen.set(w, n);
    }
    return n;
  };
  const out: Word[] = [];
  for (const m of text.matchAll(/\S+/g)) {
    let start = m.index,
      w = m[0];
    let n = counted(w);
    while (n > max) {
      const k = fittingPrefix(w, max, count);
      out.push({ start, end: start + k, tokens: count(w.slice(0, k)) });
      start += k;
      w = w.slice(k);
      n = counted(w);
    }
    if (w.length) out.push({ start, end: start + w.length, tokens: n });
  }
  return out;
}

/** UTF-8 byte offsets of sorted UTF-16 offsets, in one pass over the text. */
function byteOffsets(text: string, at: number[]): Map<number, number> {
  const out = new Map<number, number>();
  let i = 0,
    b = 0;
  for (const p of at) {
    for (; i < p; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) b += 1;
      else if (c < 0x800) b += 2;
      else if ((c & 0xfc00) === 0xd800 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        b += 4;
        i++;
      } else b += 3;
    }
    out.set(p, b);
  }
  return out;
}

/** The 1-based line of each offset: 1 + the newlines before it. */
function lineOf(newlines: number[], at: number): number {
  let lo = 0,
    hi = newlines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (newlines[mid] < at) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/** A text's chunks, in order; none for a text of only spaces. */
export function chunkText(text: string, o: ChunkOptions): TextChunk[] {
  const max = o.maxTokens;
  if (!Number.isInteger(max) || max < 1) throw new Error(`chunkText: maxTokens must be a positive integer, got ${max}`);
  const overlap = o.overlapTokens ?? Math.floor(max / 8);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > max / 2)
    throw new Error(`chunkText: overlapTokens must be an integer from 0 to maxTokens / 2 (${max / 2}), got ${overlap}`);
  const words = wordsOf(text, max, o.countTokens);
  const spans: Array<{ start: number; end: number; tokens: number }> = [];
  let a = 0;
  while (a < words.length) {
    // as many words as their counts allow, then shortened while the chunk counted whole is too long
    let b = a,
      sum = 0;
    while (b < words.length && sum + words[b].tokens <= max) sum += words[b++].tokens;
    if (b === a) b = a + 1; // (a piece always fits; kept for safety)
    let tokens = o.countTokens(text.slice(words[a].start, words[b - 1].end));
    while (tokens > max && b > a + 1) tokens = o.countTokens(text.slice(words[a].start, words[--b - 1].end));
    spans.push({ start: words[a].start, end: words[b - 1].end, tokens });
    if (b >= words.length) break;
    // the next chunk starts as far back as the overlap allows, and always past this one's start
    let next = b,
      back = 0;
    while (next - 1 > a && back + words[next - 1].tokens <= overlap) back += words[--next].tokens;
    a = next;
  }
  const newlines: number[] = [];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) newlines.push(i);
  const bytes = byteOffsets(
    text,
    [...new Set(spans.flatMap((s) => [s.start, s.end]))].sort((x, y) => x - y),
  );
  return spans.map((s) => ({
    text: text.slice(s.start, s.end),
    start: s.start,
    end: s.end,
    byteStart: bytes.get(s.start)!,
    byteEnd: bytes.get(s.end)!,
    line: lineOf(newlines, s.start),
    endLine: lineOf(newlines, s.end - 1),
    tokens: s.tokens,
  }));
}
