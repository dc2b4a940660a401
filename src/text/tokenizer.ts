// Text tokenizers: Hugging Face tokenizer.json (WordPiece with the BERT normaliser and pre-tokeniser, byte-level
// BPE as GPT-2/RoBERTa/CLIP-style models use) and a dependency-free byte-level default.  Encodings come with
// padding, truncation and attention masks, and batch straight into the int32 Tensors the text encoders take.
import { Tensor } from "../tensor.js";

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

type Json = any;

function bad(msg: string): never {
  throw new Error(`Tokenizer: ${msg}`);
}

// ---- patterns as the reference reads them -------------------------------------------------------------------
// tokenizer.json regexes are Oniguruma's (the Rust crate uses onig); JS RegExp differs in two ways that change
// results on real text, both translated here: `\s` is Unicode White_Space in Oniguruma (JS adds U+FEFF and drops
// U+0085), and JS before ES2025 has no inline case-insensitive group `(?i:...)`.  Anything else Oniguruma-only
// is refused by name rather than read differently.
const WHITE = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
/** Oniguruma's Unicode word characters: letters, marks, decimal digits, connector punctuation. */
const WORD = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u200c\\u200d";
/** Rust's char::is_whitespace (Unicode White_Space), for Strip and friends. */
const WHITE_RE = new RegExp(`[${WHITE}]`, "u");

/** An Oniguruma pattern from tokenizer.json as an equivalent JS RegExp (global, Unicode). */
export function onigToRegExp(pattern: string): RegExp {
  let out = "", inClass = 0, ci = 0;
  const groups: boolean[] = []; // per open group: whether it opened a (?i:
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      const n = pattern[i + 1];
      if (n === undefined) bad(`pattern ${JSON.stringify(pattern)} ends with a backslash`);
      if (n === "s") { out += inClass ? WHITE : `[${WHITE}]`; i++; continue; }
      // \w and \d are Unicode in Oniguruma, ASCII in JS
      if (n === "w") { out += inClass ? WORD : `[${WORD}]`; i++; continue; }
      if (n === "d") { out += "\\p{Nd}"; i++; continue; }
      if (n === "W" || n === "D") { if (inClass) bad(`pattern ${JSON.stringify(pattern)}: \\${n} inside a character class is not supported`); out += n === "W" ? `[^${WORD}]` : "\\P{Nd}"; i++; continue; }
      if (n === "S") { if (inClass) bad(`pattern ${JSON.stringify(pattern)}: \\S inside a character class is not supported`); out += `[^${WHITE}]`; i++; continue; }
      if (n === "p" || n === "P" || n === "u" || n === "x") {
        // \p{..} / \u.... / \x.. pass through whole
        const m = pattern.slice(i).match(/^\\[pP]\{[^}]*\}|^\\u[0-9a-fA-F]{4}|^\\u\{[0-9a-fA-F]+\}|^\\x[0-9a-fA-F]{2}|^\\x\{[0-9a-fA-F]+\}/);
        if (!m) bad(`pattern ${JSON.stringify(pattern)}: unsupported escape at ${i}`);
        out += m[0].replace(/^\\x\{/, "\\u{");
        i += m[0].length - 1;
        continue;
      }
      if (/[AzZGhHRXKyYk]/.test(n)) bad(`pattern ${JSON.stringify(pattern)}: Oniguruma escape \\${n} is not supported`);
      out += c + n; i++;
      continue;
    }
    if (inClass) {
      if (c === "[") bad(`pattern ${JSON.stringify(pattern)}: ${pattern[i + 1] === ":" ? "POSIX classes" : "nested character classes"} are not supported`);
      if (c === "]") { inClass = 0; out += c; continue; }
      out += c;
      continue;
    }
    if (c === "[") { inClass = 1; out += c; if (pattern[i + 1] === "^") { out += "^"; i++; } if (pattern[i + 1] === "]") { out += "\\]"; i++; } continue; }
    if (c === "(") {
      if (pattern.startsWith("(?i:", i)) { groups.push(true); ci++; out += "(?:"; i += 3; continue; }
      if (pattern[i + 1] === "?" && !/^\(\?(?::|=|!|<=|<!)/.test(pattern.slice(i))) bad(`pattern ${JSON.stringify(pattern)}: group ${pattern.slice(i, i + 4)} is not supported`);
      groups.push(false); out += c; continue;
    }
    if (c === ")") { if (groups.pop()) ci--; out += c; continue; }
    if (ci && /\p{L}/u.test(c) && c.toLowerCase() !== c.toUpperCase()) { out += `[${c.toLowerCase()}${c.toUpperCase()}]`; continue; }
    out += c;
  }
  try {
    return new RegExp(out, "gu");
  } catch (e) {
    bad(`pattern ${JSON.stringify(pattern)} cannot be read (${(e as Error).message})`);
  }
}

/** A tokenizer.json pattern ({ String } literal or { Regex }) as a global RegExp. */
function patternOf(what: string, p: Json): RegExp {
  if (p && typeof p.String === "string") return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  if (p && typeof p.Regex === "string") return onigToRegExp(p.Regex);
  bad(`${what}: pattern must be { "String": ... } or { "Regex": ... }, got ${JSON.stringify(p)}`);
}

/** Lower-casing character by character, as the reference does (a final Σ becomes σ, not ς). */
const lowercase = (s: string): string => { let o = ""; for (const c of s) o += c.toLowerCase(); return o; };

// ---- normalisers --------------------------------------------------------------------------------------------
// as the reference's BertNormalizer: "other" characters (control, format, private use, unassigned, surrogates) are
// removed, and whitespace is Unicode White_Space (U+2028 and U+2029 too)
const isControl = (c: string): boolean => c !== "\t" && c !== "\n" && c !== "\r" && /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u.test(c);
const isWhite = (c: string): boolean => c === "\t" || c === "\n" || c === "\r" || WHITE_RE.test(c);
function isChinese(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

function normalizer(n: Json): (s: string) => string {
  if (!n) return (s) => s;
  switch (n.type) {
    case "BertNormalizer": {
      const lower = n.lowercase ?? true;
      const strip = n.strip_accents ?? lower;
      return (s) => {
        let out = "";
        for (const c of s) {
          const cp = c.codePointAt(0)!;
          if (n.clean_text !== false && (cp === 0 || cp === 0xfffd || isControl(c))) continue;
          if (n.clean_text !== false && isWhite(c)) { out += " "; continue; }
          if (n.handle_chinese_chars !== false && isChinese(cp)) { out += ` ${c} `; continue; }
          out += c;
        }
        if (strip) out = out.normalize("NFD").replace(/\p{Mn}/gu, "");
        if (lower) out = lowercase(out);
        return out;
      };
    }
    case "Lowercase": return lowercase;
    case "Replace": {
      const re = patternOf("Replace normalizer", n.pattern), content = String(n.content ?? "");
      return (s) => s.replace(re, () => content);
    }
    case "Prepend": { const pre = String(n.prepend ?? ""); return (s) => (s.length ? pre + s : s); }
    case "Strip": {
      const left = n.strip_left ?? true, right = n.strip_right ?? true;
      const l = new RegExp(`^[${WHITE}]+`, "u"), r = new RegExp(`[${WHITE}]+$`, "u");
      return (s) => { if (left) s = s.replace(l, ""); if (right) s = s.replace(r, ""); return s; };
    }
    case "NFD": case "NFC": case "NFKD": case "NFKC": return (s) => s.normalize(n.type);
    case "StripAccents": return (s) => s.normalize("NFD").replace(/\p{Mn}/gu, "");
    case "Sequence": { const fs = (n.normalizers as Json[]).map(normalizer); return (s) => fs.reduce((a, f) => f(a), s); }
    default: bad(`normalizer ${JSON.stringify(n.type)} is not supported in this build`);
  }
}

// ---- pre-tokenisers ---------------------------------------------------------------------------------------
const isPunct = (c: string): boolean => /[!-/:-@[-`{-~]/.test(c) || /\p{P}/u.test(c);
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const map: string[] = new Array(256);
  bs.forEach((b, i) => (map[b] = String.fromCodePoint(cs[i])));
  return map;
}
const B2U = byteToUnicode();
const U2B = new Map(B2U.map((u, b) => [u, b]));

function preTokenizer(p: Json): (s: string) => string[] {
  if (!p) return (s) => [s];
  switch (p.type) {
    case "BertPreTokenizer":
      return (s) => {
        const out: string[] = [];
        let cur = "";
        for (const c of s) {
          if (isWhite(c)) { if (cur) out.push(cur); cur = ""; }
          else if (isPunct(c)) { if (cur) out.push(cur); out.push(c); cur = ""; }
          else cur += c;
        }
        if (cur) out.push(cur);
        return out;
      };
    case "Whitespace": { const re = onigToRegExp("\\w+|[^\\w\\s]+"); return (s) => s.match(re) ?? []; }
    case "WhitespaceSplit": { const re = new RegExp(`[${WHITE}]+`, "u"); return (s) => s.split(re).filter(Boolean); }
    case "ByteLevel": {
      const prefix = p.add_prefix_space ?? false, regex = p.use_regex ?? true;
      const enc = new TextEncoder();
      return (s) => {
        const t = prefix && s.length && s[0] !== " " ? " " + s : s;
        const parts = regex ? (t.match(GPT2_SPLIT) ?? []) : [t];
        return parts.map((w) => Array.from(enc.encode(w), (b) => B2U[b]).join(""));
      };
    }
    case "Split": {
      const re = patternOf("Split pre-tokenizer", p.pattern), invert = p.invert === true;
      return splitter(p.behavior ?? "Isolated", (s) => {
        const marks: Array<[number, number, boolean]> = [];
        let at = 0;
        for (const m of s.matchAll(re)) {
          if (m[0].length === 0) continue;
          if (m.index! > at) marks.push([at, m.index!, invert]);
          marks.push([m.index!, m.index! + m[0].length, !invert]);
          at = m.index! + m[0].length;
        }
        if (at < s.length) marks.push([at, s.length, invert]);
        return marks;
      });
    }
    case "Punctuation": return splitter(p.behavior ?? "Isolated", charMarks(isPunct));
    case "Metaspace": {
      const rep: string = p.replacement ?? "▁", scheme: string = p.prepend_scheme ?? (p.add_prefix_space === false ? "never" : "always");
      if (!["always", "first", "never"].includes(scheme)) bad(`Metaspace prepend_scheme ${JSON.stringify(scheme)} is not supported`);
      const split = p.split ?? true;
      const at = splitter("MergedWithNext", charMarks((c) => c === rep));
      return (s) => {
        let t = s.replace(/ /g, rep);
        // "first": only the text's first piece (added tokens split a text into pieces); here every text is one piece
        if (scheme !== "never" && !t.startsWith(rep)) t = rep + t;
        return split ? at(t) : [t];
      };
    }
    case "Digits": return splitter(p.individual_digits ? "Isolated" : "Contiguous", charMarks((c) => /\p{N}/u.test(c)), !p.individual_digits);
    case "Sequence": {
      const fs = (p.pretokenizers as Json[]).map(preTokenizer);
      return (s) => fs.reduce((words: string[], f) => words.flatMap((w) => f(w)), [s]);
    }
    default: bad(`pre-tokenizer ${JSON.stringify(p.type)} is not supported in this build`);
  }
}

/** Each character as its own segment, marked by `test` (adjacent characters of one kind are joined later if asked). */
function charMarks(test: (c: string) => boolean): (s: string) => Array<[number, number, boolean]> {
  return (s) => {
    const out: Array<[number, number, boolean]> = [];
    let at = 0;
    for (const c of s) { out.push([at, at + c.length, test(c)]); at += c.length; }
    // runs of non-matching characters are one segment, as the reference's find_matches gives them
    const merged: Array<[number, number, boolean]> = [];
    for (const m of out) {
      const last = merged[merged.length - 1];
      if (last && !last[2] && !m[2]) last[1] = m[1];
      else merged.push(m);
    }
    return merged;
  };
}

/**
 * A pre-tokenizer splitting by marked segments (start, end, matched), with the reference's behaviours: Removed
 * drops matches; Isolated keeps every segment; MergedWithPrevious / MergedWithNext attach a match to the segment
 * before / after it (unless that is a match too); Contiguous joins runs of the same kind.  Empty pieces are dropped.
 */
function splitter(behavior: string, marks: (s: string) => Array<[number, number, boolean]>, contiguousDigits = false): (s: string) => string[] {
  if (!["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"].includes(behavior)) bad(`split behavior ${JSON.stringify(behavior)} is not supported`);
  void contiguousDigits;
  return (s) => {
    const ms = marks(s);
    let segs: Array<[number, number]> = [];
    if (behavior === "Removed") segs = ms.filter((m) => !m[2]).map((m) => [m[0], m[1]]);
    else if (behavior === "Isolated") segs = ms.map((m) => [m[0], m[1]]);
    else if (behavior === "MergedWithPrevious") {
      let prev = false;
      for (const [a, b, m] of ms) {
        if (m && !prev && segs.length) segs[segs.length - 1][1] = b; else segs.push([a, b]);
        prev = m;
      }
    } else if (behavior === "MergedWithNext") {
      let prev = false;
      for (let i = ms.length - 1; i >= 0; i--) {
        const [a, b, m] = ms[i];
        if (m && !prev && segs.length) segs[segs.length - 1][0] = a; else segs.push([a, b]);
        prev = m;
      }
      segs.reverse();
    } else {
      let prev: boolean | null = null;
      for (const [a, b, m] of ms) {
        if (m === prev && segs.length) segs[segs.length - 1][1] = b; else segs.push([a, b]);
        prev = m;
      }
    }
    return segs.filter(([a, b]) => b > a).map(([a, b]) => s.slice(a, b));
  };
}

// ---- models ---------------------------------------------------------------------------------------------------
interface Model { tokenize(word: string): string[]; vocab: Map<string, number>; unk: string | null }

interface TrieNode { next: Map<string, TrieNode>; end: boolean }

/** A character trie of the pieces (with the continuation prefix stripped from continuation pieces). */
function trieOf(pieces: Iterable<string>): TrieNode {
  const root: TrieNode = { next: new Map(), end: false };
  for (const p of pieces) {
    let n = root;
    for (const ch of p) {
      let c = n.next.get(ch);
      if (!c) { c = { next: new Map(), end: false }; n.next.set(ch, c); }
      n = c;
    }
    n.end = true;
  }
  return root;
}

function wordPiece(m: Json): Model {
  const vocab = new Map<string, number>(Object.entries(m.vocab as Record<string, number>));
  const unk = m.unk_token ?? "[UNK]", pre = m.continuing_subword_prefix ?? "##", maxChars = m.max_input_chars_per_word ?? 100;
  // longest match by walking a trie: O(piece length) per piece, so a long word costs time linear in its length
  // (3,000 characters with a huge max_input_chars_per_word took 71 s with a substring search per candidate end)
  const first = trieOf(vocab.keys());
  const cont = trieOf([...vocab.keys()].filter((k) => k.startsWith(pre) && k.length > pre.length).map((k) => k.slice(pre.length)));
  return {
    vocab, unk,
    tokenize(word) {
      const chars = Array.from(word);
      if (chars.length > maxChars) return [unk];
      const out: string[] = [];
      let start = 0;
      while (start < chars.length) {
        let node: TrieNode | undefined = start > 0 ? cont : first, end = -1;
        for (let i = start; i < chars.length && node; i++) {
          node = node.next.get(chars[i]);
          if (node?.end) end = i + 1;
        }
        if (end < 0) return [unk];
        const piece = chars.slice(start, end).join("");
        out.push(start > 0 ? pre + piece : piece);
        start = end;
      }
      return out;
    },
  };
}

/**
 * Unigram (SentencePiece): the segmentation of highest total score (Viterbi over a trie of pieces), as the
 * reference computes it: scores summed in float64, a candidate replacing the best only when strictly greater
 * (shorter pieces are tried first), a character no piece starts with scored as the unknown token (the lowest
 * score minus 10), and consecutive unknown characters fused into one.  A piece outside the vocabulary becomes its
 * bytes' <0xXX> tokens with byte_fallback, else the unknown token.
 */
function unigram(m: Json): Model {
  if (!Array.isArray(m.vocab)) bad("Unigram model.vocab must be an array of [piece, score]");
  const pieces = m.vocab as Array<[string, number]>;
  const vocab = new Map<string, number>(), scores: number[] = [];
  pieces.forEach(([p, sc], i) => {
    if (typeof p !== "string" || typeof sc !== "number" || !Number.isFinite(sc)) bad(`Unigram model.vocab[${i}] must be [piece, finite score], got ${JSON.stringify([p, sc])}`);
    if (!vocab.has(p)) vocab.set(p, i);
    scores.push(sc);
  });
  const unkId: number | null = m.unk_id ?? null;
  if (unkId !== null && (!Number.isInteger(unkId) || unkId < 0 || unkId >= pieces.length)) bad(`Unigram unk_id ${unkId} is outside the vocabulary`);
  const unk = unkId === null ? null : pieces[unkId][0];
  const byteFallback = m.byte_fallback === true;
  const minScore = scores.reduce((a, b) => Math.min(a, b), Infinity);
  const unkScore = minScore - 10;
  const trie = trieOf(vocab.keys());
  const enc = new TextEncoder();
  return {
    vocab, unk,
    tokenize(word) {
      const cs = Array.from(word), n = cs.length;
      const best = new Float64Array(n + 1), from = new Int32Array(n + 1).fill(-1), id = new Int32Array(n + 1);
      for (let start = 0; start < n; start++) {
        if (start > 0 && from[start] < 0) continue; // unreachable (cannot happen: every character is covered)
        const base = best[start];
        let single = false, node: TrieNode | undefined = trie;
        for (let i = start; i < n && node; i++) {
          node = node.next.get(cs[i]);
          if (!node?.end) continue;
          const piece = cs.slice(start, i + 1).join(""), pid = vocab.get(piece)!, cand = scores[pid] + base;
          if (from[i + 1] < 0 || cand > best[i + 1]) { best[i + 1] = cand; from[i + 1] = start; id[i + 1] = pid; }
          if (i === start) single = true;
        }
        if (!single) {
          if (unkId === null) bad(`Unigram: ${JSON.stringify(cs[start])} has no piece and the model has no unk_id`);
          const cand = unkScore + base;
          if (from[start + 1] < 0 || cand > best[start + 1]) { best[start + 1] = cand; from[start + 1] = start; id[start + 1] = unkId; }
        }
      }
      // back from the end; unknown runs fused
      const parts: string[] = [];
      let fused: string[] = [];
      for (let end = n; end > 0; end = from[end]) {
        const piece = cs.slice(from[end], end).join("");
        if (unkId !== null && id[end] === unkId) { fused.push(piece); continue; }
        if (fused.length) { parts.push(fused.reverse().join("")); fused = []; }
        parts.push(piece);
      }
      if (fused.length) parts.push(fused.reverse().join(""));
      parts.reverse();
      const out: string[] = [];
      for (const p of parts) {
        if (vocab.has(p)) { out.push(p); continue; }
        if (byteFallback) {
          const bs = Array.from(enc.encode(p), (b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
          if (bs.every((b) => vocab.has(b))) { out.push(...bs); continue; }
        }
        // as the reference: the token keeps its text, its id is the unknown token's
        if (unk !== null) out.push(p);
      }
      return out;
    },
  };
}

/** WordLevel: each pre-tokenised word is a token, or the unknown token. */
function wordLevel(m: Json): Model {
  const vocab = new Map<string, number>(Object.entries(m.vocab as Record<string, number>));
  const unk: string | null = m.unk_token ?? null;
  return { vocab, unk, tokenize: (w) => (vocab.has(w) ? [w] : unk !== null ? [unk] : bad(`WordLevel: ${JSON.stringify(w)} is not in the vocabulary and there is no unk_token`)) };
}

/** A binary min-heap of candidate merges (rank, then left position: lowest rank first, leftmost on ties). */
class MergeHeap {
  private rank: number[] = [];
  private pos: number[] = [];
  get size(): number { return this.rank.length; }
  private less(a: number, b: number): boolean { return this.rank[a] < this.rank[b] || (this.rank[a] === this.rank[b] && this.pos[a] < this.pos[b]); }
  private swap(a: number, b: number): void {
    [this.rank[a], this.rank[b]] = [this.rank[b], this.rank[a]];
    [this.pos[a], this.pos[b]] = [this.pos[b], this.pos[a]];
  }
  push(rank: number, pos: number): void {
    this.rank.push(rank); this.pos.push(pos);
    for (let i = this.rank.length - 1; i > 0;) { const p = (i - 1) >> 1; if (!this.less(i, p)) break; this.swap(i, p); i = p; }
  }
  /** [rank, pos] of the best candidate, removed. */
  pop(): [number, number] {
    const top: [number, number] = [this.rank[0], this.pos[0]];
    const r = this.rank.pop()!, q = this.pos.pop()!;
    if (this.rank.length) {
      this.rank[0] = r; this.pos[0] = q;
      for (let i = 0; ;) {
        const l = 2 * i + 1, rr = l + 1;
        let m = i;
        if (l < this.rank.length && this.less(l, m)) m = l;
        if (rr < this.rank.length && this.less(rr, m)) m = rr;
        if (m === i) break;
        this.swap(i, m); i = m;
      }
    }
    return top;
  }
}

function bpe(m: Json): Model {
  const vocab = new Map<string, number>(Object.entries(m.vocab as Record<string, number>));
  const ranks = new Map<string, number>();
  (m.merges as Array<string | [string, string]>).forEach((mg, i) => ranks.set(typeof mg === "string" ? mg : mg.join(" "), i));
  const unk: string | null = m.unk_token ?? null;
  const ignoreMerges = m.ignore_merges === true;
  const prefix: string = m.continuing_subword_prefix ?? "", suffix: string = m.end_of_word_suffix ?? "";
  const byteFallback = m.byte_fallback === true, fuseUnk = m.fuse_unk === true;
  if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0) bad(`BPE dropout ${m.dropout} is not supported (it makes encoding random); use null`);
  const enc = new TextEncoder();
  const byteToken = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
  /**
   * A word's first symbols, as the reference builds them: each character (the continuing prefix on all but the
   * first, the end-of-word suffix on the last); one not in the vocabulary becomes its UTF-8 bytes' <0xXX> tokens
   * (byte_fallback), else the unknown token (consecutive ones fused into one with fuse_unk), else nothing.
   */
  const symbols = (word: string): string[] => {
    const cs = Array.from(word), out: string[] = [];
    let lastUnk = false;
    cs.forEach((c, i) => {
      const s = (i > 0 ? prefix : "") + c + (i === cs.length - 1 ? suffix : "");
      if (vocab.has(s)) { out.push(s); lastUnk = false; return; }
      if (byteFallback) {
        const bs = Array.from(enc.encode(c), byteToken);
        if (bs.every((b) => vocab.has(b))) { out.push(...bs); lastUnk = false; return; }
      }
      if (unk === null) return;
      if (!(fuseUnk && lastUnk)) out.push(unk);
      lastUnk = true;
    });
    return out;
  };
  const cache = new Map<string, string[]>();
  return {
    vocab, unk,
    tokenize(word) {
      const hit = cache.get(word);
      if (hit) return hit;
      if (ignoreMerges && vocab.has(word + suffix)) return [word + suffix]; // a whole word in the vocabulary is one token
      // merge the lowest-ranked adjacent pair (leftmost on ties) until none is in the merge list: symbols in a linked
      // list, candidate pairs in a heap keyed by their left symbol's first character, so a word of n characters
      // costs O(n log n) (one 20,000-character word took 48.7 s with a rescan per merge)
      const sym = symbols(word);
      const n = sym.length;
      const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
      const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
      const alive = new Uint8Array(n).fill(1);
      const heap = new MergeHeap();
      const consider = (i: number): void => {
        const j = i >= 0 ? next[i] : -1;
        if (i < 0 || j < 0) return;
        const r = ranks.get(sym[i] + " " + sym[j]);
        if (r !== undefined) heap.push(r, i);
      };
      for (let i = 0; i + 1 < n; i++) consider(i);
      while (heap.size) {
        const [r, i] = heap.pop();
        const j = alive[i] ? next[i] : -1;
        // stale entry: its left symbol was merged away or changed, or the pair is no longer this rank
        if (j < 0 || ranks.get(sym[i] + " " + sym[j]) !== r) continue;
        sym[i] = sym[i] + (prefix && sym[j].startsWith(prefix) ? sym[j].slice(prefix.length) : sym[j]);
        alive[j] = 0;
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        consider(prev[i]);
        consider(i);
      }
      const out: string[] = [];
      for (let i = 0; i >= 0 && i < n; i = next[i]) out.push(sym[i]);
      if (cache.size < 100000 && n <= 256) cache.set(word, out);
      return out;
    },
  };
}

/** The models by tokenizer.json type. */
const MODELS: Record<string, (m: Json) => Model> = { WordPiece: wordPiece, BPE: bpe, Unigram: unigram, WordLevel: wordLevel };

// ---- schema checks ---------------------------------------------------------------------------------------------
const MAX_ID = 2 ** 31 - 1;
const MAX_DEPTH = 32;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** A component (normalizer, pre-tokenizer, post-processor, decoder): null or { type }, Sequences nested <= 32 deep. */
function checkComponent(what: string, c: unknown, depth = 0): void {
  if (c === null || c === undefined) return;
  if (depth > MAX_DEPTH) bad(`${what} is nested more than ${MAX_DEPTH} deep`);
  if (!isObj(c) || typeof c.type !== "string") bad(`${what} must be null or an object with a string "type", got ${JSON.stringify(c)?.slice(0, 80)}`);
  for (const key of ["normalizers", "pretokenizers", "processors", "decoders"]) {
    if (key in c) {
      const list = c[key];
      if (!Array.isArray(list)) bad(`${what}.${key} must be an array`);
      list.forEach((x, i) => checkComponent(`${what}.${key}[${i}]`, x, depth + 1));
    }
  }
}

/** The parts of tokenizer.json the tokenizer reads, checked before anything is built (a malformed file names its fault). */
function checkSchema(j: Record<string, unknown>): void {
  const m = j.model;
  if (!isObj(m) || !(typeof m.type === "string" && m.type in MODELS)) bad(`model type ${JSON.stringify(isObj(m) ? m.type : undefined)} is not supported (${Object.keys(MODELS).join(", ")})`);
  if (m.type === "Unigram") { if (!Array.isArray(m.vocab)) bad("Unigram model.vocab must be an array of [piece, score]"); }
  else if (!isObj(m.vocab)) bad("model.vocab must be an object of token -> id");
  if (isObj(m.vocab)) for (const [t, id] of Object.entries(m.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) > MAX_ID) bad(`model.vocab[${JSON.stringify(t)}] must be an id from 0 to ${MAX_ID}, got ${JSON.stringify(id)}`);
  }
  if (m.type === "BPE") {
    if (!Array.isArray(m.merges)) bad("model.merges must be an array");
    m.merges.forEach((mg, i) => {
      const ok = typeof mg === "string" ? mg.split(" ").length === 2 : Array.isArray(mg) && mg.length === 2 && mg.every((x) => typeof x === "string");
      if (!ok) bad(`model.merges[${i}] must be "a b" or ["a", "b"], got ${JSON.stringify(mg)}`);
    });
  }
  for (const k of ["unk_token", "continuing_subword_prefix"]) if (m[k] !== undefined && m[k] !== null && typeof m[k] !== "string") bad(`model.${k} must be a string`);
  if (m.max_input_chars_per_word !== undefined && (!Number.isInteger(m.max_input_chars_per_word) || (m.max_input_chars_per_word as number) < 1)) bad("model.max_input_chars_per_word must be a positive integer");
  if (j.added_tokens !== undefined && j.added_tokens !== null) {
    if (!Array.isArray(j.added_tokens)) bad("added_tokens must be an array");
    j.added_tokens.forEach((t, i) => {
      if (!isObj(t) || typeof t.content !== "string" || t.content === "") bad(`added_tokens[${i}] must have a non-empty string "content"`);
      if (!Number.isInteger(t.id) || (t.id as number) < 0 || (t.id as number) > MAX_ID) bad(`added_tokens[${i}].id must be an id from 0 to ${MAX_ID}, got ${JSON.stringify(t.id)}`);
      // matched as written, before normalisation: a token asking for anything else is refused rather than misread
      for (const flag of ["lstrip", "rstrip", "single_word", "normalized"]) {
        if (t[flag] === true) bad(`added token ${JSON.stringify(t.content)} has ${flag}: true, which this build does not support yet`);
      }
    });
  }
  for (const k of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) checkComponent(k, j[k]);
  if (j.padding !== undefined && j.padding !== null) {
    if (!isObj(j.padding)) bad("padding must be null or an object");
    if (j.padding.pad_id !== undefined && (!Number.isInteger(j.padding.pad_id) || (j.padding.pad_id as number) < 0 || (j.padding.pad_id as number) > MAX_ID)) bad("padding.pad_id must be an id");
    if (j.padding.pad_token !== undefined && typeof j.padding.pad_token !== "string") bad("padding.pad_token must be a string");
  }
}

// ---- the tokenizer -------------------------------------------------------------------------------------------
/**
 * A Hugging Face tokenizer.json (WordPiece or BPE) in pure TypeScript.
 * @example
 * const tok = Tokenizer.fromJSON(await (await fetch("tokenizer.json")).text());
 * const { inputIds, attentionMask } = tok.encodeBatch(["a red circle", "two blue squares"], { maxLength: 77, padding: "max_length" });
 * const emb = clip.encodeText(inputIds, attentionMask);
 */
export class Tokenizer {
  private readonly model: Model;
  private readonly normalize: (s: string) => string;
  private readonly preTokenize: (s: string) => string[];
  private readonly special: Map<string, number>;
  private readonly specialRe: RegExp | null;
  private readonly idToToken: string[];
  private readonly post: Json;
  private readonly decodeTokens: DecodeStep;
  readonly padId: number;
  readonly padToken: string;

  private constructor(json: Json) {
    const m = json.model;
    this.model = MODELS[m.type as string](m);
    this.normalize = normalizer(json.normalizer);
    this.preTokenize = preTokenizer(json.pre_tokenizer);
    this.special = new Map();
    for (const t of (json.added_tokens ?? []) as Json[]) { this.special.set(t.content, t.id); this.model.vocab.set(t.content, t.id); }
    this.specialRe = this.special.size ? new RegExp(`(${[...this.special.keys()].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "u") : null;
    this.idToToken = [];
    for (const [t, id] of this.model.vocab) this.idToToken[id] = t;
    this.post = json.post_processor ?? null;
    this.decodeTokens = decoderOf(json.decoder ?? null);
    const pad = json.padding ?? null;
    this.padToken = pad?.pad_token ?? (this.model.vocab.has("[PAD]") ? "[PAD]" : this.model.vocab.has("<pad>") ? "<pad>" : "");
    this.padId = pad?.pad_id ?? this.model.vocab.get(this.padToken) ?? 0;
  }

  /** Parses a tokenizer.json (string or object). */
  static fromJSON(json: string | object): Tokenizer {
    let j: Json;
    try { j = typeof json === "string" ? JSON.parse(json) : json; } catch (e) { bad(`tokenizer.json is not valid JSON (${(e as Error).message})`); }
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

  get vocabSize(): number { return this.idToToken.length; }

  tokenToId(t: string): number | undefined { return this.model.vocab.get(t); }

  private tokensOf(text: string): string[] {
    const pieces = this.specialRe ? text.split(this.specialRe) : [text];
    const out: string[] = [];
    pieces.forEach((piece, i) => {
      if (this.specialRe && i % 2 === 1) { out.push(piece); return; } // a special token, matched before normalisation
      // one push per token: spreading a long word's tokens into push() overflows the stack (a 1,000,000-character word)
      for (const w of this.preTokenize(this.normalize(piece))) for (const t of this.model.tokenize(w)) out.push(t);
    });
    return out;
  }

  private withSpecials(tokens: string[], budget: number | null): string[] {
    const p = this.post;
    let pre: string[] = [], suf: string[] = [];
    if (p?.type === "BertProcessing" || p?.type === "RobertaProcessing") { pre = [p.cls[0]]; suf = [p.sep[0]]; }
    else if (p?.type === "TemplateProcessing") {
      // special tokens before the sequence item go in front, those after it behind
      let afterSeq = false;
      for (const item of p.single as Json[]) {
        if (item.Sequence) afterSeq = true;
        else if (item.SpecialToken) (afterSeq ? suf : pre).push(item.SpecialToken.id);
      }
    } else if (p && p.type !== "ByteLevel") bad(`post-processor ${JSON.stringify(p.type)} is not supported in this build`);
    const room = budget === null ? tokens.length : Math.max(0, budget - pre.length - suf.length);
    return [...pre, ...tokens.slice(0, room), ...suf];
  }

  /** One text -> ids, tokens and attention mask. */
  encode(text: string, options: EncodeOptions = {}): Encoding {
    if (typeof text !== "string") bad(`encode expects a string, got ${typeof text}`);
    const max = options.maxLength ?? null;
    if (max !== null && (!Number.isInteger(max) || max < 1)) bad(`maxLength must be a positive integer, got ${max}`);
    let tokens = this.tokensOf(text);
    tokens = options.addSpecialTokens === false ? (max === null ? tokens : tokens.slice(0, max)) : this.withSpecials(tokens, max);
    const ids = tokens.map((t) => {
      const id = this.model.vocab.get(t) ?? (this.model.unk !== null ? this.model.vocab.get(this.model.unk) : undefined);
      if (id === undefined) bad(`token ${JSON.stringify(t)} is not in the vocabulary and there is no unknown token`);
      return id;
    });
    const enc = { ids, tokens, attentionMask: ids.map(() => 1) };
    if (options.padding === "max_length" && max !== null) this.pad(enc, max);
    return enc;
  }

  private pad(e: Encoding, n: number): void {
    while (e.ids.length < n) { e.ids.push(this.padId); e.tokens.push(this.padToken); e.attentionMask.push(0); }
  }

  /** Texts -> inputIds and attentionMask Tensors (B, L) int32, padded (to maxLength, or the longest). */
  encodeBatch(texts: string[], options: EncodeOptions = {}): { inputIds: Tensor; attentionMask: Tensor; encodings: Encoding[] } {
    if (!Array.isArray(texts) || texts.length === 0) bad("encodeBatch expects a non-empty array of strings");
    const encs = texts.map((t) => this.encode(t, { ...options, padding: false }));
    const L = options.padding === "max_length" && options.maxLength ? options.maxLength : Math.max(...encs.map((e) => e.ids.length));
    for (const e of encs) this.pad(e, L);
    const ids = new Int32Array(encs.length * L), mask = new Int32Array(encs.length * L);
    encs.forEach((e, b) => { ids.set(e.ids, b * L); mask.set(e.attentionMask, b * L); });
    return { inputIds: new Tensor(ids, [encs.length, L]), attentionMask: new Tensor(mask, [encs.length, L]), encodings: encs };
  }

  /** Ids -> text, as the tokenizer's decoder does (WordPiece joins ## pieces; ByteLevel maps back to UTF-8). */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const specialIds = new Set(this.special.values());
    const toks: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const t = this.idToToken[ids[i]];
      if (t === undefined) bad(`id ${ids[i]} is outside the vocabulary`);
      if (skip && (specialIds.has(ids[i]) || ids[i] === this.padId && t === this.padToken)) continue;
      toks.push(t);
    }
    return this.decodeTokens(toks).join("");
  }
}

/** A decoder as the reference runs it: tokens in, pieces out (joined at the end); null joins tokens with spaces. */
type DecodeStep = (tokens: string[]) => string[];
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true }); // a leading BOM is text, as the reference keeps it

function decoderOf(d: Json): DecodeStep {
  if (!d) return (t) => [t.join(" ")];
  switch (d.type) {
    case "ByteLevel": return (t) => [utf8.decode(new Uint8Array([...t.join("")].map((c) => U2B.get(c) ?? 63)))];
    case "WordPiece": {
      // strip the prefix or add a space, then clean up *each token*
      const prefix: string = d.prefix ?? "##", clean = d.cleanup !== false;
      return (t) => t.map((tok, i) => { const p = tok.startsWith(prefix) ? tok.slice(prefix.length) : (i > 0 ? " " : "") + tok; return clean ? cleanup(p) : p; });
    }
    case "Metaspace": {
      const rep: string = d.replacement ?? "▁", scheme: string = d.prepend_scheme ?? (d.add_prefix_space === false ? "never" : "always");
      return (t) => t.map((tok, i) => { const p = tok.split(rep).join(" "); return i === 0 && scheme !== "never" && p.startsWith(" ") ? p.slice(1) : p; });
    }
    case "BPEDecoder": {
      const suffix: string = d.suffix ?? "</w>";
      return (t) => t.map((tok, i) => tok.split(suffix).join(i === t.length - 1 ? "" : " "));
    }
    case "ByteFallback":
      // runs of <0xXX> tokens become their UTF-8 text; bytes that are not UTF-8 become one U+FFFD each
      return (t) => {
        const out: string[] = [];
        let bytes: number[] = [];
        const flush = (): void => {
          if (!bytes.length) return;
          try { out.push(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes))); } catch { for (let k = 0; k < bytes.length; k++) out.push("\ufffd"); }
          bytes = [];
        };
        for (const tok of t) {
          const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(tok);
          if (m) bytes.push(parseInt(m[1], 16));
          else { flush(); out.push(tok); }
        }
        flush();
        return out;
      };
    case "Fuse": return (t) => [t.join("")];
    case "Strip": {
      const c: string = d.content ?? " ", start: number = d.start ?? 0, stop: number = d.stop ?? 0;
      return (t) => t.map((tok) => {
        const cs = Array.from(tok);
        let a = 0, b = cs.length;
        for (let k = 0; k < start && a < b && cs[a] === c; k++) a++;
        for (let k = 0; k < stop && b > a && cs[b - 1] === c; k++) b--;
        return cs.slice(a, b).join("");
      });
    }
    case "Replace": {
      const re = patternOf("Replace decoder", d.pattern), content = String(d.content ?? "");
      return (t) => t.map((tok) => tok.replace(re, () => content));
    }
    case "Sequence": {
      const steps = (d.decoders as Json[]).map(decoderOf);
      return (t) => steps.reduce((acc, f) => f(acc), t);
    }
    default: bad(`decoder ${JSON.stringify(d.type)} is not supported in this build`);
  }
}

function cleanup(x: string): string {
  return x.split(" .").join(".").split(" ?").join("?").split(" !").join("!").split(" ,").join(",").split(" ' ").join("'")
    .split(" n't").join("n't").split(" 'm").join("'m").split(" do not").join(" don't").split(" 's").join("'s")
    .split(" 've").join("'ve").split(" 're").join("'re");
}

/**
 * The dependency-free default: UTF-8 bytes as tokens.  Ids: 0 pad, 1 start, 2 end, 3 + byte (259 in all).
 * @example
 * const { inputIds, attentionMask } = new ByteTokenizer().encodeBatch(["hello"], { maxLength: 16, padding: "max_length" });
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
    const enc = { ids, tokens: ids.map(String), attentionMask: ids.map(() => 1) };
    if (options.padding === "max_length" && max !== null) while (enc.ids.length < max) { enc.ids.push(0); enc.tokens.push("0"); enc.attentionMask.push(0); }
    return enc;
  }
  encodeBatch(texts: string[], options: EncodeOptions = {}): { inputIds: Tensor; attentionMask: Tensor } {
    const encs = texts.map((t) => this.encode(t, { ...options, padding: false }));
    const L = options.padding === "max_length" && options.maxLength ? options.maxLength : Math.max(...encs.map((e) => e.ids.length));
    const ids = new Int32Array(encs.length * L), mask = new Int32Array(encs.length * L);
    encs.forEach((e, b) => { ids.set(e.ids, b * L); mask.set(e.attentionMask, b * L); });
    return { inputIds: new Tensor(ids, [encs.length, L]), attentionMask: new Tensor(mask, [encs.length, L]) };
  }
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] >= 3) bytes.push(ids[i] - 3);
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array(bytes));
  }
}
