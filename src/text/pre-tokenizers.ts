// tokenizer.json pre-tokenisers, as the reference runs them: text -> words.
import { bad, type Json } from "./tokenizer-error.js";
import { WHITE, onigToRegExp, patternOf } from "./onig.js";
import { isWhite } from "./normalizers.js";

const isPunct = (c: string): boolean => /[!-/:-@[-`{-~]/.test(c) || /\p{P}/u.test(c);
/** ByteLevel's own split (GPT-2's), read as the reference reads it: \s is White_Space */
const GPT2_SPLIT = onigToRegExp("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  const map: string[] = new Array(256);
  bs.forEach((b, i) => (map[b] = String.fromCodePoint(cs[i])));
  return map;
}
export const B2U = byteToUnicode();
export const U2B = new Map(B2U.map((u, b) => [u, b]));

export function preTokenizer(p: Json): (s: string) => string[] {
  if (!p) return (s) => [s];
  switch (p.type) {
    case "BertPreTokenizer":
      return (s) => {
        const out: string[] = [];
        let cur = "";
        for (const c of s) {
          if (isWhite(c)) {
            if (cur) out.push(cur);
            cur = "";
          } else if (isPunct(c)) {
            if (cur) out.push(cur);
            out.push(c);
            cur = "";
          } else cur += c;
        }
        if (cur) out.push(cur);
        return out;
      };
    case "Whitespace": {
      const re = onigToRegExp("\\w+|[^\\w\\s]+");
      return (s) => s.match(re) ?? [];
    }
    case "WhitespaceSplit": {
      const re = new RegExp(`[${WHITE}]+`, "u");
      return (s) => s.split(re).filter(Boolean);
    }
    case "ByteLevel": {
      const prefix = p.add_prefix_space ?? false,
        regex = p.use_regex ?? true;
      const enc = new TextEncoder();
      return (s) => {
        const t = prefix && s.length && s[0] !== " " ? " " + s : s;
        const parts = regex ? (t.match(GPT2_SPLIT) ?? []) : [t];
        return parts.map((w) => Array.from(enc.encode(w), (b) => B2U[b]).join(""));
      };
    }
    case "Split": {
      const re = patternOf("Split pre-tokenizer", p.pattern),
        invert = p.invert === true;
      return splitter(p.behavior ?? "Isolated", (s) => {
        const marks: Array<[number, number, boolean]> = [];
        let at = 0;
        for (const [a, b] of re.matches(s)) {
          if (b === a) continue;
          if (a > at) marks.push([at, a, invert]);
          marks.push([a, b, !invert]);
          at = b;
        }
        if (at < s.length) marks.push([at, s.length, invert]);
        return marks;
      });
    }
    case "Punctuation":
      return splitter(p.behavior ?? "Isolated", charMarks(isPunct));
    case "Metaspace": {
      const rep: string = p.replacement ?? "▁",
        scheme: string = p.prepend_scheme ?? (p.add_prefix_space === false ? "never" : "always");
      if (!["always", "first", "never"].includes(scheme))
        bad(`Metaspace prepend_scheme ${JSON.stringify(scheme)} is not supported`);
      const split = p.split ?? true;
      const at = splitter(
        "MergedWithNext",
        charMarks((c) => c === rep),
      );
      return (s) => {
        let t = s.replace(/ /g, rep);
        // "first": only the text's first piece (added tokens split a text into pieces); here every text is one piece
        if (scheme !== "never" && !t.startsWith(rep)) t = rep + t;
        return split ? at(t) : [t];
      };
    }
    case "Digits":
      return splitter(
        p.individual_digits ? "Isolated" : "Contiguous",
        charMarks((c) => /\p{N}/u.test(c)),
      );
    case "Sequence": {
      const fs = (p.pretokenizers as Json[]).map(preTokenizer);
      return (s) => fs.reduce((words: string[], f) => words.flatMap((w) => f(w)), [s]);
    }
    default:
      bad(`pre-tokenizer ${JSON.stringify(p.type)} is not supported in this build`);
  }
}

/** Each character as its own segment, marked by `test` (adjacent characters of one kind are joined later if asked). */
function charMarks(test: (c: string) => boolean): (s: string) => Array<[number, number, boolean]> {
  return (s) => {
    const out: Array<[number, number, boolean]> = [];
    let at = 0;
    for (const c of s) {
      out.push([at, at + c.length, test(c)]);
      at += c.length;
    }
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
function splitter(behavior: string, marks: (s: string) => Array<[number, number, boolean]>): (s: string) => string[] {
  if (!["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"].includes(behavior))
    bad(`split behavior ${JSON.stringify(behavior)} is not supported`);
  return (s) => {
    const ms = marks(s);
    let segs: Array<[number, number]> = [];
    if (behavior === "Removed") segs = ms.filter((m) => !m[2]).map((m) => [m[0], m[1]]);
    else if (behavior === "Isolated") segs = ms.map((m) => [m[0], m[1]]);
    else if (behavior === "MergedWithPrevious") {
      let prev = false;
      for (const [a, b, m] of ms) {
        if (m && !prev && segs.length) segs[segs.length - 1][1] = b;
        else segs.push([a, b]);
        prev = m;
      }
    } else if (behavior === "MergedWithNext") {
      let prev = false;
      for (let i = ms.length - 1; i >= 0; i--) {
        const [a, b, m] = ms[i];
        if (m && !prev && segs.length) segs[segs.length - 1][0] = a;
        else segs.push([a, b]);
        prev = m;
      }
      segs.reverse();
    } else {
      let prev: boolean | null = null;
      for (const [a, b, m] of ms) {
        if (m === prev && segs.length) segs[segs.length - 1][1] = b;
        else segs.push([a, b]);
        prev = m;
      }
    }
    return segs.filter(([a, b]) => b > a).map(([a, b]) => s.slice(a, b));
  };
}
