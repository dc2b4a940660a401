// tokenizer.json normalisers, as the reference runs them.
import { bad, type Json } from "./tokenizer-error.js";
import { WHITE, WHITE_RE, patternOf, replaceAll } from "./onig.js";
import { precompiledNormalizer } from "./precompiled.js";

/** Lower-casing character by character, as the reference does (a final Σ becomes σ, not ς). */
export const lowercase = (s: string): string => {
  let o = "";
  for (const c of s) o += c.toLowerCase();
  return o;
};

// as the reference's BertNormalizer: "other" characters (control, format, private use, unassigned, surrogates) are
// removed, and whitespace is Unicode White_Space (U+2028 and U+2029 too)
const isControl = (c: string): boolean =>
  c !== "\t" && c !== "\n" && c !== "\r" && /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u.test(c);
export const isWhite = (c: string): boolean => c === "\t" || c === "\n" || c === "\r" || WHITE_RE.test(c);
function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export function normalizer(n: Json): (s: string) => string {
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
          if (n.clean_text !== false && isWhite(c)) {
            out += " ";
            continue;
          }
          if (n.handle_chinese_chars !== false && isChinese(cp)) {
            out += ` ${c} `;
            continue;
          }
          out += c;
        }
        if (strip) out = out.normalize("NFD").replace(/\p{Mn}/gu, "");
        if (lower) out = lowercase(out);
        return out;
      };
    }
    case "Lowercase":
      return lowercase;
    case "Replace": {
      const re = patternOf("Replace normalizer", n.pattern),
        content = String(n.content ?? "");
      return (s) => replaceAll(s, re, content);
    }
    case "Prepend": {
      const pre = String(n.prepend ?? "");
      return (s) => (s.length ? pre + s : s);
    }
    case "Strip": {
      const left = n.strip_left ?? true,
        right = n.strip_right ?? true;
      const l = new RegExp(`^[${WHITE}]+`, "u"),
        r = new RegExp(`[${WHITE}]+$`, "u");
      return (s) => {
        if (left) s = s.replace(l, "");
        if (right) s = s.replace(r, "");
        return s;
      };
    }
    case "NFD":
    case "NFC":
    case "NFKD":
    case "NFKC":
      return (s) => s.normalize(n.type);
    case "StripAccents":
      return (s) => s.normalize("NFD").replace(/\p{Mn}/gu, "");
    case "Precompiled":
      return precompiledNormalizer(n.precompiled_charsmap);
    case "Sequence": {
      const fs = (n.normalizers as Json[]).map(normalizer);
      return (s) => fs.reduce((a, f) => f(a), s);
    }
    default:
      bad(`normalizer ${JSON.stringify(n.type)} is not supported in this build`);
  }
}
