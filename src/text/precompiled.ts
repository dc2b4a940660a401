// SentencePiece's Precompiled normaliser (tokenizer.json's "Precompiled", XLM-RoBERTa's, T5's and mBART's files):
// the precompiled_charsmap of a SentencePiece model's normalizer_spec, run as Hugging Face's tokenizers runs it.
//
// The charsmap is [u32 LE: trie bytes][trie: u32 units of a darts-clone double array][normalised strings, each
// NUL-terminated].  A key is a UTF-8 byte string; a trie hit's value is the offset of its replacement.
// The reference walks the text by extended grapheme clusters: a cluster of fewer than 6 UTF-8 bytes whose bytes
// start with a key is replaced whole by the replacement of the *shortest* key that prefixes it; any other cluster
// is replaced code point by code point, each by its own key's replacement (or kept).  That is what transformers'
// converted tokenizers produce, so it is what this does.
import { bad } from "./tokenizer-error.js";

/** A charsmap's base64 -> its bytes (atob: Node and browsers alike). */
function fromBase64(s: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    bad("Precompiled normalizer: precompiled_charsmap is not base64");
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A code point's UTF-8 bytes into out at o; how many. */
function utf8(cp: number, out: Uint8Array, o: number): number {
  if (cp < 0x80) {
    out[o] = cp;
    return 1;
  }
  if (cp < 0x800) {
    out[o] = 0xc0 | (cp >> 6);
    out[o + 1] = 0x80 | (cp & 63);
    return 2;
  }
  if (cp < 0x10000) {
    out[o] = 0xe0 | (cp >> 12);
    out[o + 1] = 0x80 | ((cp >> 6) & 63);
    out[o + 2] = 0x80 | (cp & 63);
    return 3;
  }
  out[o] = 0xf0 | (cp >> 18);
  out[o + 1] = 0x80 | ((cp >> 12) & 63);
  out[o + 2] = 0x80 | ((cp >> 6) & 63);
  out[o + 3] = 0x80 | (cp & 63);
  return 4;
}

class Charsmap {
  private readonly units: Uint32Array;
  private readonly strings: Uint8Array;
  private readonly decoded = new Map<number, string>();

  constructor(bytes: Uint8Array) {
    if (bytes.length < 4) bad(`Precompiled normalizer: the charsmap has ${bytes.length} bytes, fewer than its header`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieBytes = view.getUint32(0, true);
    if (trieBytes % 4 !== 0 || trieBytes === 0 || 4 + trieBytes > bytes.length)
      bad(
        `Precompiled normalizer: the charsmap's trie is ${trieBytes} bytes, which is not a positive multiple of 4 ` +
          `within its ${bytes.length - 4} bytes`,
      );
    this.units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.strings = bytes.subarray(4 + trieBytes);
  }

  /**
   * The replacement of the shortest key that prefixes key[0, n) (darts-clone's commonPrefixSearch, first result);
   * null for none.  A NUL byte ends the key, as in the reference.
   */
  lookup(key: Uint8Array, n: number): string | null {
    const a = this.units;
    const offset = (u: number): number => (u >>> 10) << ((u & (1 << 9)) >>> 6);
    let pos = offset(a[0]);
    for (let i = 0; i < n; i++) {
      const c = key[i];
      if (c === 0) return null;
      pos ^= c;
      const u = a[pos];
      // past the array, or another label: no key continues here
      if (u === undefined || (u & 0x800000ff) !== c) return null;
      pos ^= offset(u);
      if ((u >>> 8) & 1) {
        const leaf = a[pos];
        if (leaf === undefined) return null;
        return this.replacement(leaf & 0x7fffffff);
      }
    }
    return null;
  }

  private replacement(at: number): string {
    let s = this.decoded.get(at);
    if (s === undefined) {
      if (at >= this.strings.length)
        bad(`Precompiled normalizer: a replacement at ${at} lies past the charsmap's ${this.strings.length} bytes`);
      let end = at;
      while (end < this.strings.length && this.strings[end] !== 0) end++;
      s = new TextDecoder().decode(this.strings.subarray(at, end));
      this.decoded.set(at, s);
    }
    return s;
  }
}

/** The normaliser of a tokenizer.json "Precompiled" entry (an empty charsmap changes nothing). */
export function precompiledNormalizer(charsmap: unknown): (s: string) => string {
  if (charsmap === null || charsmap === undefined || charsmap === "") return (s) => s;
  if (typeof charsmap !== "string") bad("Precompiled normalizer: precompiled_charsmap must be a base64 string");
  const map = new Charsmap(fromBase64(charsmap));
  if (typeof Intl === "undefined" || typeof Intl.Segmenter !== "function")
    bad("Precompiled normalizer: needs Intl.Segmenter (grapheme clusters), which this JavaScript engine lacks");
  const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const key = new Uint8Array(32);
  // a cluster's result, by the cluster (text repeats its characters)
  const seen = new Map<string, string>();
  const clusterOf = (g: string): string => {
    let n = 0;
    for (const ch of g) {
      if (n > 5) break;
      n += utf8(ch.codePointAt(0)!, key, n);
    }
    if (n < 6) {
      const whole = map.lookup(key, n);
      if (whole !== null) return whole;
    }
    let out = "";
    for (const ch of g) {
      const m = utf8(ch.codePointAt(0)!, key, 0);
      out += map.lookup(key, m) ?? ch;
    }
    return out;
  };
  return (s) => {
    let out = "";
    // V8's grapheme iterator takes time quadratic in its string's length: it runs over pieces cut where a cluster
    // always ends
    for (let at = 0; at < s.length; ) {
      const end = pieceEnd(s, at);
      for (const { segment } of graphemes.segment(s.slice(at, end))) {
        let r = seen.get(segment);
        if (r === undefined) {
          r = clusterOf(segment);
          if (seen.size < 1 << 16) seen.set(segment, r);
        }
        out += r;
      }
      at = end;
    }
    return out;
  };
}

/**
 * Characters between which an extended grapheme cluster always ends (UAX #29: neither is Extend, SpacingMark, ZWJ,
 * Prepend, a Hangul jamo or a regional indicator, and no CR LF pair): printable ASCII, CJK ideographs, kana.
 */
const plain = (c: number): boolean =>
  (c >= 0x20 && c < 0x7f) ||
  (c >= 0x4e00 && c <= 0x9fff) ||
  (c >= 0x3041 && c <= 0x3096) ||
  (c >= 0x30a1 && c <= 0x30fa);

/**
 * Where the piece of s from `at` ends: after a line feed or between two plain characters, from 256 characters on;
 * at 4096 characters without one (a run of combining marks that long is cut there).
 */
function pieceEnd(s: string, at: number): number {
  const limit = Math.min(s.length, at + 4096);
  for (let i = Math.min(s.length, at + 256); i < limit; i++) {
    const a = s.charCodeAt(i - 1);
    if (a === 0x0a || (plain(a) && plain(s.charCodeAt(i)))) return i;
  }
  // (never inside a surrogate pair)
  return limit < s.length && (s.charCodeAt(limit) & 0xfc00) === 0xdc00 ? limit + 1 : limit;
}
