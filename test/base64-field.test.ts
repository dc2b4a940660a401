// decodeBase64Field's strictness without a regular expression (src/server/inputs.ts): it accepts exactly what
// /^[A-Za-z0-9+/]*={0,2}$/ with a length a multiple of 4 accepts, on every short string over an alphabet of valid,
// URL-safe, padding, whitespace and non-ASCII characters, and on valid encodings with one character changed.
import { describe, expect, it } from "vitest";
import { decodeBase64Field } from "../src/server/inputs.js";

const strict = (s: string): boolean => s.length > 0 && s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
const accepted = (s: string): boolean => {
  try {
    decodeBase64Field(s, "body.inputs[0].image");
    return true;
  } catch (e) {
    expect((e as Error).message).toMatch(/^body\.inputs\[0\]\.image is (not valid base64|empty)/);
    return false;
  }
};
const ALPHABET = "AB+/=-_ \n.é\u0141a9";

describe("decodeBase64Field", () => {
  it("accepts what the strict pattern accepts, on every string of up to 4 characters", () => {
    const disagree: string[] = [];
    const all = (len: number, pre: string): void => {
      if (pre.length === len) {
        if (strict(pre) !== accepted(pre)) disagree.push(pre);
        return;
      }
      for (const c of ALPHABET) all(len, pre + c);
    };
    for (let len = 0; len <= 4; len++) all(len, "");
    expect(disagree).toEqual([]);
  });

  it("decodes valid encodings to their bytes and refuses them with one character changed", () => {
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const disagree: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
      let s = bytes.toString("base64");
      if (s && strict(s)) expect(Buffer.from(decodeBase64Field(s, "f")).equals(bytes)).toBe(true);
      const k = Math.floor(rnd() * s.length);
      s = s.slice(0, k) + ALPHABET[Math.floor(rnd() * ALPHABET.length)] + s.slice(k + (rnd() < 0.5 ? 1 : 0));
      if (strict(s) !== accepted(s)) disagree.push(s);
    }
    expect(disagree).toEqual([]);
  });

  it("passes a form's bytes through", () => {
    const b = new Uint8Array([1, 2, 3]);
    expect(decodeBase64Field(b, "f")).toBe(b);
  });
});
