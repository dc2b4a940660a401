// tokenizer.json decoders, chained as the reference chains them: tokens -> text.
import { bad, type Json } from "./tokenizer-error.js";
import { patternOf, replaceAll } from "./onig.js";
import { U2B } from "./pre-tokenizers.js";

/** A decoder as the reference runs it: tokens in, pieces out (joined at the end); null joins tokens with spaces. */
export type DecodeStep = (tokens: string[]) => string[];
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true }); // a leading BOM is text, as the reference keeps it

export function decoderOf(d: Json): DecodeStep {
  if (!d) return (t) => [t.join(" ")];
  switch (d.type) {
    case "ByteLevel":
      return (t) => [utf8.decode(new Uint8Array([...t.join("")].map((c) => U2B.get(c) ?? 63)))];
    case "WordPiece": {
      // strip the prefix or add a space, then clean up *each token*
      const prefix: string = d.prefix ?? "##",
        clean = d.cleanup !== false;
      return (t) =>
        t.map((tok, i) => {
          const p = tok.startsWith(prefix) ? tok.slice(prefix.length) : (i > 0 ? " " : "") + tok;
          return clean ? cleanup(p) : p;
        });
    }
    case "Metaspace": {
      const rep: string = d.replacement ?? "▁",
        scheme: string = d.prepend_scheme ?? (d.add_prefix_space === false ? "never" : "always");
      return (t) =>
        t.map((tok, i) => {
          const p = tok.split(rep).join(" ");
          return i === 0 && scheme !== "never" && p.startsWith(" ") ? p.slice(1) : p;
        });
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
          try {
            out.push(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes)));
          } catch {
            for (let k = 0; k < bytes.length; k++) out.push("\ufffd");
          }
          bytes = [];
        };
        for (const tok of t) {
          const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(tok);
          if (m) bytes.push(parseInt(m[1], 16));
          else {
            flush();
            out.push(tok);
          }
        }
        flush();
        return out;
      };
    case "Fuse":
      return (t) => [t.join("")];
    case "Strip": {
      const c: string = d.content ?? " ",
        start: number = d.start ?? 0,
        stop: number = d.stop ?? 0;
      return (t) =>
        t.map((tok) => {
          const cs = Array.from(tok);
          let a = 0,
            b = cs.length;
          for (let k = 0; k < start && a < b && cs[a] === c; k++) a++;
          for (let k = 0; k < stop && b > a && cs[b - 1] === c; k++) b--;
          return cs.slice(a, b).join("");
        });
    }
    case "Replace": {
      const re = patternOf("Replace decoder", d.pattern),
        content = String(d.content ?? "");
      return (t) => t.map((tok) => replaceAll(tok, re, content));
    }
    case "Sequence": {
      const steps = (d.decoders as Json[]).map(decoderOf);
      return (t) => steps.reduce((acc, f) => f(acc), t);
    }
    default:
      bad(`decoder ${JSON.stringify(d.type)} is not supported in this build`);
  }
}

function cleanup(x: string): string {
  return x
    .split(" .")
    .join(".")
    .split(" ?")
    .join("?")
    .split(" !")
    .join("!")
    .split(" ,")
    .join(",")
    .split(" ' ")
    .join("'")
    .split(" n't")
    .join("n't")
    .split(" 'm")
    .join("'m")
    .split(" do not")
    .join(" don't")
    .split(" 's")
    .join("'s")
    .split(" 've")
    .join("'ve")
    .split(" 're")
    .join("'re");
}
