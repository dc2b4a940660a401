// Hostile inputs at their bounds (#24), each measured against a peer on the same input in this process: the JSON
// body check against JSON.parse, beam search at twice the frames (linear: about 2x), the linear-time pattern engine
// against RegExp on a real tokenizer pattern, and a 12 MP JPEG embedded from its bytes (DCT-scaled decode, what every
// entry point now does) against a full decode.
import encodeJpeg from "jpeg-js/lib/encoder.js";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { Tensor, ctcBeamSearch, loadPretrained, decodeImage } from "../dist/index.js";
import { checkJsonShape } from "../dist/server/json-shape.js";
import { LinearRegExp } from "../dist/text/pike.js";
import { onigToRegExp } from "../dist/text/onig.js";

function median(fn, rounds = 5) {
  const t = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(rounds / 2)];
}

function logProbs(T, V, seed = 1) {
  const x = new Float32Array(T * V);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32) * 6;
  }
  for (let t = 0; t < T; t++) {
    let m = -Infinity,
      z = 0;
    for (let v = 0; v < V; v++) m = Math.max(m, x[t * V + v]);
    for (let v = 0; v < V; v++) z += Math.exp(x[t * V + v] - m);
    for (let v = 0; v < V; v++) x[t * V + v] -= m + Math.log(z);
  }
  return new Tensor(x, [1, T, V]);
}

export async function benchLimits() {
  const lines = [];
  // JSON bodies: the shape check before parsing, against the parse it guards
  const keys = "{" + Array.from({ length: 1_000_000 }, (_, i) => `"k${i}":0`).join(",") + "}";
  const b64 = JSON.stringify({
    model: "clip-scenes",
    inputs: Array.from({ length: 8 }, () => ({ image: "QUJD".repeat(300_000) })),
  });
  const refused = median(() => {
      try {
        checkJsonShape(keys);
      } catch {
        /* refused */
      }
    }),
    parsed = median(() => JSON.parse(keys), 3);
  lines.push(
    `JSON body of a million keys (${(keys.length / 1e6).toFixed(1)} MB): refused in ${refused.toFixed(1)} ms ` +
      `= ${(refused / parsed).toFixed(4)}x the ${parsed.toFixed(0)} ms JSON.parse would take`,
  );
  const ok = median(() => checkJsonShape(b64)),
    okParse = median(() => JSON.parse(b64));
  lines.push(
    `JSON body of 9.6 MB base64: the shape check costs ${(ok / okParse).toFixed(3)}x its JSON.parse ` +
      `(${ok.toFixed(1)} vs ${okParse.toFixed(1)} ms)`,
  );
  // beam search: linear in the frames
  const t1 = median(() => ctcBeamSearch(logProbs(1500, 21), { beamWidth: 99 }), 3),
    t2 = median(() => ctcBeamSearch(logProbs(3000, 21), { beamWidth: 99 }), 3);
  lines.push(
    `CTC beam search, beam 99, 21 tokens: 3,000 frames take ${(t2 / t1).toFixed(2)}x the time of 1,500 (linear: ` +
      `2x; ${(t1 / 1500).toFixed(2)} ms a frame)`,
  );
  // tokenizer patterns: the linear engine's cost where RegExp is safe, and what it does where RegExp is not
  const corpus = readFileSync("test/fixtures/tokenizers/corpus.txt", "utf8");
  const real = onigToRegExp(
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| " +
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  );
  const lin = new LinearRegExp(real.source);
  const re = median(() => [...corpus.matchAll(real)].length),
    pk = median(() => [...lin.matches(corpus)].length);
  lines.push(
    `tokenizer pattern (Llama 3's split) on the corpus: the linear engine takes ${(pk / re).toFixed(1)}x RegExp's ` +
      `time (real patterns stay on RegExp)`,
  );
  const evil = new LinearRegExp(onigToRegExp("(a+)+$").source),
    text = "a".repeat(10_000) + "!";
  lines.push(
    `(a+)+$ on 10,000 characters: ${median(() => [...evil.matches(text)].length).toFixed(1)} ms on the linear ` +
      `engine (RegExp: exponential, not measured)`,
  );
  // a 12 MP photo: from its bytes (what the CLI, the service and the library now do) vs a full decode
  const W = 4000,
    H = 3000,
    px = new Uint8Array(W * H * 4);
  let s = 7;
  for (let i = 0; i < px.length; i += 4) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    px[i] = (((i >> 2) % W) * 255) / W + (s & 31);
    px[i + 1] = (((i >> 2) / W) * 255) / H;
    px[i + 2] = s >>> 24;
    px[i + 3] = 255;
  }
  const jpg = new Uint8Array(encodeJpeg({ data: px, width: W, height: H }, 90).data);
  mkdirSync("bench/.cache", { recursive: true });
  writeFileSync("bench/.cache/photo-12mp.jpg", jpg);
  const clip = await loadPretrained("clip-scenes");
  const scaled = median(() => clip.embedImages([jpg]), 3),
    full = median(() => clip.embedImages([decodeImage(jpg)]), 3);
  lines.push(
    `12 MP JPEG embedded from its bytes (every entry point): ${scaled.toFixed(0)} ms ` +
      `= ${(scaled / full).toFixed(2)}x a full decode's ${full.toFixed(0)} ms`,
  );
  return lines;
}
