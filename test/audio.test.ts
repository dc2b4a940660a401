// The audio front end against torchaudio 0.13 (scripts/fixtures/gen_audio.py over espeak-ng speech at 16,
// 22.05 and 44.1 kHz, tones and noise), plus streaming, CTC and WAV robustness properties.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init,
  Tensor,
  loadSafetensors,
  Spectrogram,
  MelSpectrogram,
  AmplitudeToDB,
  MFCC,
  resample,
  decodeWav,
  encodeWav,
  downmix,
  ctcLoss,
  ctcBeamSearch,
  ctcGreedyDecode,
  CTCVocabulary,
  StreamingMelSpectrogram,
  camelConfig,
} from "../src/index.js";
import { ctcAlign } from "../src/audio/ctc.js";
import { logAddExp } from "../src/util/detmath.js";
import { compare, maxRelAbove } from "./harness/compare.js";
import { lcg } from "./harness/workloads.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const manifest = JSON.parse(readFileSync(join(dir, "audio.json"), "utf8"));
const tensors = loadSafetensors(readFileSync(join(dir, "audio.safetensors")));

interface AudioCase {
  id: string;
  kind: string;
  inputs: Record<string, string>;
  outputs: string[];
  opts: Record<string, any>;
}

const camelOpts = (o: Record<string, any>, drop: string[] = []): Record<string, any> =>
  camelConfig(Object.fromEntries(Object.entries(o).filter(([k]) => !drop.includes(k))));

function run(c: AudioCase, t: Record<string, Tensor>): Tensor | number[] {
  const o = c.opts;
  switch (c.kind) {
    case "spectrogram":
      return new Spectrogram(camelOpts(o, ["signal"])).forward(t.x);
    case "mel":
      return new MelSpectrogram(camelOpts(o, ["signal"])).forward(t.x);
    case "amplitude_to_db":
      return new AmplitudeToDB(camelOpts(o) as any).forward(t.x);
    case "mfcc":
      return new MFCC({ sampleRate: 16000, ...camelOpts(o, ["signal"]) }).forward(t.x);
    case "resample":
      return resample(t.x, o.orig, o.new, camelOpts(o, ["orig", "new"]));
    case "ctc_loss": {
      const lp = t.log_probs;
      const r = ctcLoss(lp, t.targets, Array.from(t.input_lengths.data), Array.from(t.target_lengths.data), {
        reduction: o.reduction,
      });
      return typeof r === "number" ? [r] : Array.from(r);
    }
    case "wav_decode": {
      const d = decodeWav(readFileSync(join(dir, "audio", o.file)));
      expect(d.sampleRate).toBe(o.sample_rate);
      if (o.frames) expect(d.channels[0].length).toBe(o.frames);
      const n = o.prefix ? 8000 : d.channels[0].length;
      const out = new Float32Array(d.channels.length * n);
      d.channels.forEach((ch, i) => out.set(ch.subarray(0, n), i * n));
      return new Tensor(out, [d.channels.length, n]);
    }
    default:
      throw new Error(`no runner for ${c.kind}`);
  }
}

/**
 * Tolerances.  Power/magnitude spectra: relative error <= 1e-4 wherever the reference exceeds 1e-6 of its
 * maximum (the FFT's error is ~log2(n) ulp of the largest bin, so far smaller bins carry relative error that
 * says nothing about correctness).  dB and MFCC: absolute, since 10 log10 turns a 1e-4 relative error into
 * 4.3e-4 dB and the ortho DCT sums nMels such values.  Resampling: a 475-tap f32 filter whose taps come from
 * a sin/cos that may differ from glibc's by an ulp: 2e-6 absolute on signals of magnitude < 1.  CTC: 1e-5
 * relative (float64 recursion vs torch's float32).  WAV decoding: exact.
 */
function check(c: AudioCase, a: ArrayLike<number>, r: ArrayLike<number>, name = "y"): void {
  const e = compare(a, r);
  const line = `${c.id}.${name}: maxAbs ${e.maxAbs.toExponential(2)} nmse ${e.nmse.toExponential(2)}`;
  switch (c.kind) {
    case "spectrogram":
    case "mel": {
      // The floor is 1e-6 of the peak *power*: for |X|^p entries that is (1e-6)^(p/2) of their peak.  Against the
      // float64 reference (y64) our error is held to 1e-4; against torchaudio's float32 output (y), whose own
      // error is up to ~5e-5 there, to the sum of both budgets.
      const p = c.opts.power ?? 2;
      const rel = maxRelAbove(a, r, Math.pow(1e-6, p / 2));
      if (process.env.POLYMODAL_VERBOSE) console.log(`${line} rel ${rel.toExponential(2)}`);
      // MelSpectrogram meets 1e-4 against both references (measured <= 7.1e-5 vs torchaudio's float32).
      expect(rel, line).toBeLessThanOrEqual(name === "y64" || c.kind === "mel" ? 1e-4 : 2e-4);
      break;
    }
    case "amplitude_to_db":
      if (process.env.POLYMODAL_VERBOSE) console.log(line);
      expect(e.maxAbs, line).toBeLessThanOrEqual(2e-3);
      break;
    case "mfcc":
      if (process.env.POLYMODAL_VERBOSE) console.log(line);
      expect(e.maxAbs, line).toBeLessThanOrEqual(5e-3);
      expect(e.nmse, line).toBeLessThanOrEqual(1e-9);
      break;
    case "resample":
      if (process.env.POLYMODAL_VERBOSE) console.log(line);
      expect(e.maxAbs, line).toBeLessThanOrEqual(2e-6);
      break;
    case "ctc_loss":
      if (process.env.POLYMODAL_VERBOSE) console.log(line);
      expect(e.maxScaled, line).toBeLessThanOrEqual(1e-5);
      break;
    default:
      expect(Array.from(a), line).toEqual(Array.from(r));
  }
}

beforeAll(async () => {
  await init();
});

describe("audio matches torchaudio", () => {
  it.each((manifest.cases as AudioCase[]).map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([n, key]) => [n, tensors[key]]));
    const out = run(c, inputs);
    for (const name of [...c.outputs].reverse()) {
      // y64 (the truth) first, so a failure names our own error
      const ref = tensors[`${c.id}.${name}`];
      if (out instanceof Tensor) {
        expect(out.size, `${c.id} size`).toBe(ref.size);
        if (c.kind !== "wav_decode") expect(out.shape, `${c.id} shape`).toEqual(ref.shape);
        check(c, out.data, ref.data, name);
      } else {
        check(c, out, ref.data, name);
      }
    }
  });
});

describe("streaming mel spectrogram", () => {
  it("equals the offline transform bit for bit for random chunkings (property test)", () => {
    const sig = Float32Array.from(lcg(16000 * 2 + 123, 5), (v, i) => 0.4 * Math.sin(i * 0.03) + 0.1 * v);
    const configs = [
      { sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80 },
      {
        sampleRate: 16000,
        nFft: 512,
        winLength: 400,
        hopLength: 128,
        nMels: 40,
        power: 1 as const,
        norm: "slaney" as const,
        melScale: "slaney" as const,
      },
      { sampleRate: 16000, nFft: 401, hopLength: 100, nMels: 32 },
    ];
    let seed = 99;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return 1 + (seed % n);
    };
    for (const cfg of configs) {
      const offline = new MelSpectrogram(cfg).forward(Tensor.from(sig));
      const [M, Tt] = offline.shape;
      for (let trial = 0; trial < 8; trial++) {
        const s = new StreamingMelSpectrogram(cfg);
        const parts: Tensor[] = [];
        const maxChunk = [1, 7, 160, 1000, 5000, 40000, 3, 333][trial];
        for (let i = 0; i < sig.length; ) {
          const n = Math.min(sig.length - i, rnd(maxChunk));
          parts.push(s.push(sig.subarray(i, i + n)));
          i += n;
        }
        parts.push(s.flush());
        const total = parts.reduce((a, p) => a + p.shape[1], 0);
        expect(total).toBe(Tt);
        const joined = new Float32Array(M * Tt);
        let t0 = 0;
        for (const p of parts) {
          const n = p.shape[1];
          for (let m = 0; m < M; m++) joined.set((p.data as Float32Array).subarray(m * n, (m + 1) * n), m * Tt + t0);
          t0 += n;
        }
        expect(
          Buffer.from(joined.buffer).equals(Buffer.from((offline.data as Float32Array).buffer)),
          `config ${JSON.stringify(cfg)} max chunk ${maxChunk}`,
        ).toBe(true);
      }
    }
  });

  it("rejects use after flush and too-short streams, and resets", () => {
    const s = new StreamingMelSpectrogram({ nFft: 400, hopLength: 160, nMels: 8 });
    s.push(new Float32Array(100));
    expect(() => s.flush()).toThrow(/reflect padding of 200 needs more than 200 samples, got 100/);
    s.reset();
    s.push(new Float32Array(1000));
    s.flush();
    expect(() => s.push(new Float32Array(5))).toThrow(/was flushed; call reset\(\)/);
    expect(() => new StreamingMelSpectrogram().push(new Float32Array([NaN]))).toThrow(/sample 0 of the chunk is NaN/);
  });
});

describe("CTC decoding", () => {
  function randomLogProbs(T: number, V: number, seed: number): Tensor {
    const x = lcg(T * V, seed, 3);
    for (let t = 0; t < T; t++) {
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, x[t * V + v]);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(x[t * V + v] - m);
      for (let v = 0; v < V; v++) x[t * V + v] = x[t * V + v] - m - Math.log(s);
    }
    return new Tensor(x, [1, T, V]);
  }

  it("prefix beam search finds the most probable label sequence (brute force over all alignments)", () => {
    for (const seed of [1, 2, 3, 4]) {
      const T = 6,
        V = 3;
      const lp = randomLogProbs(T, V, seed);
      const probs = new Map<string, number>();
      for (let a = 0; a < V ** T; a++) {
        let rest = a,
          p = 0,
          prev = -1;
        const seq: number[] = [];
        for (let t = 0; t < T; t++) {
          const c = rest % V;
          rest = Math.floor(rest / V);
          p += lp.data[t * V + c];
          if (c !== prev && c !== 0) seq.push(c);
          prev = c;
        }
        probs.set(seq.join(","), (probs.get(seq.join(",")) ?? 0) + Math.exp(p));
      }
      const best = [...probs].sort((x, y) => y[1] - x[1])[0];
      const [hyp] = ctcBeamSearch(lp, { beamWidth: 64, tokenPrune: V })[0];
      expect(hyp.tokens.join(",")).toBe(best[0]);
      expect(Math.exp(hyp.logProb)).toBeCloseTo(best[1], 10);
    }
  });

  it(
    "ctcBeamSearch gives the plain prefix search's hypotheses bit for bit (ties included), in time linear in the " +
      "frames",
    () => {
      // the obvious version: prefixes as token arrays keyed by their joined ids (quadratic in length, kept as the
      // truth); exact ties go to the prefix that was the better beam, then its extensions by token id
      const lae = logAddExp;
      const plain = (
        lp: Tensor,
        beamWidth: number,
        prune: number,
        nBest: number,
      ): Array<{ tokens: number[]; logProb: number }> => {
        const [, T, V] = lp.shape;
        type Beam = { tokens: number[]; pb: number; pnb: number };
        const key = (t: number[]): string => t.join(","),
          total = (b: Beam): number => lae(b.pb, b.pnb);
        let beams: Beam[] = [{ tokens: [], pb: 0, pnb: -Infinity }];
        for (let t = 0; t < T; t++) {
          const was = new Map(beams.map((b, i) => [key(b.tokens), i]));
          const rank = (b: Beam): [number, number] =>
            was.has(key(b.tokens))
              ? [2 * was.get(key(b.tokens))!, 0]
              : [2 * was.get(key(b.tokens.slice(0, -1)))! + 1, b.tokens[b.tokens.length - 1]];
          const order = (a: Beam, b: Beam): number =>
            total(a) === total(b) ? rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1] : total(b) - total(a);
          const cand = Array.from({ length: V }, (_, v) => v)
            .sort((a, b) => lp.data[t * V + b] - lp.data[t * V + a] || a - b)
            .slice(0, prune);
          if (!cand.includes(0)) cand.push(0);
          const next = new Map<string, Beam>();
          const get = (tokens: number[]): Beam => {
            let b = next.get(key(tokens));
            if (!b) {
              b = { tokens, pb: -Infinity, pnb: -Infinity };
              next.set(key(tokens), b);
            }
            return b;
          };
          for (const beam of beams) {
            const last = beam.tokens.length ? beam.tokens[beam.tokens.length - 1] : -1;
            for (const c of cand) {
              const p = lp.data[t * V + c];
              if (c === 0) {
                const nb = get(beam.tokens);
                nb.pb = lae(nb.pb, lae(beam.pb, beam.pnb) + p);
              } else if (c === last) {
                const same = get(beam.tokens);
                same.pnb = lae(same.pnb, beam.pnb + p);
                const ext = get([...beam.tokens, c]);
                ext.pnb = lae(ext.pnb, beam.pb + p);
              } else {
                const ext = get([...beam.tokens, c]);
                ext.pnb = lae(ext.pnb, lae(beam.pb, beam.pnb) + p);
              }
            }
          }
          beams = [...next.values()].sort(order).slice(0, beamWidth);
        }
        return beams.slice(0, nBest).map((b) => ({ tokens: b.tokens, logProb: total(b) }));
      };
      let cases = 0;
      for (const seed of [1, 2, 3, 4, 5, 6])
        for (const [T, V, beam, prune, nBest] of [
          [30, 5, 4, 3, 3],
          [40, 12, 10, 10, 5],
          [25, 4, 16, 4, 16],
          [60, 3, 2, 2, 2],
        ]) {
          const lp = randomLogProbs(T, V, seed * 31 + V);
          // quantised copies make exact score ties, which the ids' order must break the same way
          const tied = new Tensor(
            lp.data.map((x) => Math.round(x * 2) / 2),
            lp.shape,
          );
          for (const x of [lp, tied]) {
            const got = ctcBeamSearch(x, { beamWidth: beam, tokenPrune: prune, nBest })[0],
              want = plain(x, beam, prune, nBest);
            expect(got.map((h) => [h.tokens.join(","), h.logProb])).toEqual(
              want.map((h) => [h.tokens.join(","), h.logProb]),
            );
            cases++;
          }
        }
      expect(cases).toBe(48);
    },
  );

  it("ctcAlign finds the most probable alignment of given tokens (brute force over all alignments)", () => {
    const cases = [[1, 2], [2, 2], [1], [2, 1, 2], [1, 2, 1]].flatMap((tokens) =>
      [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => [seed, tokens] as const),
    );
    for (const [seed, tokens] of cases) {
      const T = 6,
        V = 3;
      const lp = randomLogProbs(T, V, seed);
      let best = -Infinity,
        bestPath = "";
      for (let a = 0; a < V ** T; a++) {
        let rest = a,
          p = 0,
          prev = -1;
        const seq: number[] = [],
          path: number[] = [];
        for (let t = 0; t < T; t++) {
          const c = rest % V;
          rest = Math.floor(rest / V);
          p += lp.data[t * V + c];
          if (c !== prev && c !== 0) seq.push(c);
          path.push(c === 0 ? -1 : seq.length - 1);
          prev = c;
        }
        if (seq.join(",") === tokens.join(",") && p > best) {
          best = p;
          bestPath = path.join(",");
        }
      }
      expect(
        Array.from(ctcAlign(lp.data as Float32Array, T, V, tokens)).join(","),
        `tokens ${tokens}, seed ${seed}`,
      ).toBe(bestPath);
    }
  });

  it("greedy decoding collapses repeats and drops blanks; the vocabulary maps ids to text", () => {
    const V = 4,
      seq = [1, 1, 0, 1, 2, 2, 0, 0, 3];
    const lp = new Tensor(
      Float32Array.from({ length: seq.length * V }, (_, i) => (i % V === seq[Math.floor(i / V)] ? 0 : -5)),
      [1, seq.length, V],
    );
    expect(ctcGreedyDecode(lp)).toEqual([[1, 1, 2, 3]]);
    const vocab = new CTCVocabulary(["<b>", "h", "|", "i"], { wordDelimiter: "|" });
    expect(vocab.decode([1, 1, 2, 3])).toBe("hh i");
    expect(vocab.encode("hh i")).toEqual([1, 1, 2, 3]);
    expect(() => vocab.decode([9])).toThrow(/id 9 at position 0 is outside \[0, 4\)/);
    expect(() => vocab.encode("x")).toThrow(/no token matches "x"/);
  });
});

describe("WAV I/O", () => {
  it("encode -> decode round-trips (16/24/32-bit PCM, float32), downmix averages channels", () => {
    const a = Float32Array.from(lcg(1001, 3, 0.9)),
      b = Float32Array.from(lcg(1001, 4, 0.5));
    for (const format of ["pcm16", "pcm24", "pcm32", "float32"] as const) {
      const d = decodeWav(encodeWav([a, b], 22050, { format }));
      expect(d.sampleRate).toBe(22050);
      const tol = format === "pcm16" ? 2 ** -15 : format === "pcm24" ? 2 ** -23 : format === "pcm32" ? 2 ** -30 : 0;
      for (let i = 0; i < a.length; i++) {
        expect(Math.abs(d.channels[0][i] - a[i])).toBeLessThanOrEqual(tol);
        expect(Math.abs(d.channels[1][i] - b[i])).toBeLessThanOrEqual(tol);
      }
    }
    expect(Array.from(downmix([new Float32Array([1, 0.5]), new Float32Array([0, -0.5])]))).toEqual([0.5, 0]);
  });

  it("fuzz: corrupted and truncated files always give an Error, never a crash or hang", () => {
    const good = encodeWav([Float32Array.from(lcg(500, 1, 0.5)), Float32Array.from(lcg(500, 2, 0.5))], 16000, {
      format: "pcm24",
    });
    let s = 777;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    let errors = 0;
    for (let iter = 0; iter < 3000; iter++) {
      let b = good.slice();
      const mode = rnd(3);
      if (mode === 0) b = b.subarray(0, rnd(b.length));
      else if (mode === 1) for (let j = 0, n = 1 + rnd(6); j < n; j++) b[rnd(b.length)] = rnd(256);
      else for (let j = 0; j < 4; j++) b[rnd(48)] = rnd(256); // header bytes
      try {
        const d = decodeWav(b);
        expect(d.channels.length).toBeGreaterThan(0);
        expect(d.channels[0].length).toBeLessThanOrEqual(b.length);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/^decodeWav: /);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(200);
  });

  it.each([
    ["not RIFF", new TextEncoder().encode("RIFX....WAVEfmt "), /not a RIFF\/WAVE file/],
    ["empty", new Uint8Array(3), /too short for a RIFF header/],
    [
      "no data",
      (() => {
        const w = encodeWav([new Float32Array(4)], 8000);
        return w.subarray(0, 36);
      })(),
      /no data chunk/,
    ],
    [
      "truncated data",
      (() => {
        const w = encodeWav([new Float32Array(400)], 8000);
        return w.subarray(0, 500);
      })(),
      /data chunk declares 800 bytes but only 456 follow \(truncated file\)/,
    ],
    [
      "mu-law",
      (() => {
        const w = encodeWav([new Float32Array(4)], 8000);
        new DataView(w.buffer).setUint16(20, 7, true);
        return w;
      })(),
      /unsupported encoding: format 7 with 16 bits/,
    ],
  ])("%s gives a clear Error", (_n, bytes, msg) => {
    expect(() => decodeWav(bytes)).toThrow(msg);
  });
});
