// Whisper generation as transformers' WhisperGenerationMixin does it for one recording (reference:
// reference/hf_whisper_generate.py): the prompt, the logits processors (begin_suppress_tokens, suppress_tokens, the
// timestamp rules), greedy decoding, beam search (transformers' vectorised beam search: 2 x beams candidates a step,
// length penalty 1, its early-stopping heuristic), sampling at a temperature (top-k 50), and long-form reading:
// windows sliced from the whole recording's features at `seek`, timestamps forced, the temperature fallback on
// compression ratio and average log-probability, no-speech skipping, segments split at timestamp pairs and the next
// window starting at the last complete one.  Sampling draws from a seeded xorshift32 (the same tokens on every
// engine); the compression ratio is zlib's (pako 2.1 deflates byte for byte as zlib 1.2.13 does).
import { deflate } from "pako/lib/deflate.js";
import { Tensor } from "../tensor.js";
import { exp, log } from "../util/detmath.js";

/** What generation_config.json (or config.json) says about decoding. */
export interface WhisperGeneration {
  decoderStart: number;
  eos: number;
  noTimestamps: number | null;
  /** "<|en|>" -> id; empty for English-only checkpoints */
  langToId: Record<string, number>;
  taskToId: Record<string, number>;
  suppress: number[];
  beginSuppress: number[];
  maxLength: number;
  /** the latest first timestamp, in timestamp steps (null: any) */
  maxInitialTimestamp: number | null;
  /** num_beams (1: greedy) */
  numBeams: number;
  /** the fallback's thresholds (null: not checked) */
  compressionRatioThreshold: number | null;
  logprobThreshold: number | null;
  noSpeechThreshold: number | null;
  /** top_k of sampling (transformers' default 50) */
  topK: number;
}

const ids = (v: unknown, where: string, k: string): number[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x) || x < 0))
    throw new Error(`${where}: ${k} must be a list of token ids, got ${JSON.stringify(v)}`);
  return v as number[];
};

/** generation_config.json (null: absent) over config.json -> how to decode; ids checked against the vocabulary. */
export function whisperGenerationFromJSON(
  gen: unknown,
  config: unknown,
  vocab: number,
  where: string,
): WhisperGeneration {
  const g = { ...((config as object) ?? {}), ...((gen as object) ?? {}) } as Record<string, unknown>;
  const id = (k: string, required: boolean): number | null => {
    const v = g[k];
    if (v === undefined || v === null) {
      if (required) throw new Error(`${where}: generation_config.json / config.json give no ${k}`);
      return null;
    }
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= vocab)
      throw new Error(`${where}: ${k} ${JSON.stringify(v)} is not a token id below vocab_size ${vocab}`);
    return v as number;
  };
  const map = (k: string): Record<string, number> => {
    const m = g[k];
    if (m === undefined || m === null) return {};
    if (
      typeof m !== "object" ||
      Array.isArray(m) ||
      Object.values(m).some((x) => !Number.isInteger(x) || x < 0 || x >= vocab)
    )
      throw new Error(`${where}: ${k} must map tokens to ids below vocab_size ${vocab}`);
    return m as Record<string, number>;
  };
  const int = (k: string, dflt: number, min: number): number => {
    const v = g[k] ?? dflt;
    if (!Number.isInteger(v) || (v as number) < min)
      throw new Error(`${where}: ${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const threshold = (k: string): number | null => {
    const v = g[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`${where}: ${k} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    decoderStart: id("decoder_start_token_id", true)!,
    eos: id("eos_token_id", true)!,
    noTimestamps: id("no_timestamps_token_id", false),
    langToId: map("lang_to_id"),
    taskToId: map("task_to_id"),
    suppress: ids(g.suppress_tokens, where, "suppress_tokens").filter((t) => t < vocab),
    beginSuppress: ids(g.begin_suppress_tokens, where, "begin_suppress_tokens").filter((t) => t < vocab),
    maxLength: int("max_length", 448, 2),
    maxInitialTimestamp: Number.isInteger(g.max_initial_timestamp_index)
      ? (g.max_initial_timestamp_index as number)
      : null,
    numBeams: int("num_beams", 1, 1),
    compressionRatioThreshold: threshold("compression_ratio_threshold"),
    logprobThreshold: threshold("logprob_threshold"),
    noSpeechThreshold: threshold("no_speech_threshold"),
    topK: int("top_k", 50, 1),
  };
}

/**
 * transformers' WhisperTimeStampLogitsProcessor on one step's logits (in place), `generated` the tokens after the
 * prompt: <|notimestamps|> never; timestamps come in pairs (after a pair, text; after a lone timestamp, another or
 * the end); they never go back; the first token is a timestamp, no later than maxInitial steps; and a timestamp
 * whenever the timestamps' total probability beats the likeliest text token's (log-space, deterministic exp/log).
 */
export function timestampRules(
  lg: Float32Array,
  generated: readonly number[],
  tsBegin: number,
  eos: number,
  noTimestamps: number,
  maxInitial: number | null,
): void {
  lg[noTimestamps] = -Infinity;
  const n = generated.length;
  const lastTs = n >= 1 && generated[n - 1] >= tsBegin,
    penultTs = n < 2 || generated[n - 2] >= tsBegin;
  if (lastTs) {
    if (penultTs) lg.fill(-Infinity, tsBegin);
    else lg.fill(-Infinity, 0, eos);
  }
  const stamps = generated.filter((t) => t >= tsBegin);
  if (stamps.length) {
    const last = stamps[stamps.length - 1];
    lg.fill(-Infinity, tsBegin, lastTs && !penultTs ? last : last + 1);
  }
  if (n === 0) {
    lg.fill(-Infinity, 0, tsBegin);
    if (maxInitial !== null) lg.fill(-Infinity, tsBegin + maxInitial + 1);
  }
  // log_softmax: the timestamps' logsumexp against the best text token (both over the same normaliser)
  let m = -Infinity;
  for (const v of lg) if (v > m) m = v;
  if (m === -Infinity) return;
  let z = 0,
    zt = 0,
    bestText = -Infinity;
  for (let v = 0; v < lg.length; v++) {
    if (lg[v] === -Infinity) continue;
    const e = exp(lg[v] - m);
    z += e;
    if (v >= tsBegin) zt += e;
    else if (lg[v] > bestText) bestText = lg[v];
  }
  const lz = log(z);
  const tsLogProb = zt > 0 ? log(zt) - lz : -Infinity,
    textLogProb = bestText - m - lz;
  if (tsLogProb > textLogProb) lg.fill(-Infinity, 0, tsBegin);
}

/** xorshift32 -> uniform [0, 1) with 24 bits: the sampler's draws, the same on every engine. */
export class Xorshift32 {
  private x: number;
  constructor(seed = 0) {
    this.x = seed >>> 0 || 0x9e3779b9;
  }
  uniform(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return (this.x >>> 8) / 16777216;
  }
}

/** zlib's compression ratio of the tokens as little-endian integers of the vocabulary's width (transformers'). */
export function compressionRatio(tokens: readonly number[], vocab: number): number {
  const width = ((31 - Math.clz32(vocab)) >> 3) + 1,
    bytes = new Uint8Array(tokens.length * width);
  tokens.forEach((t, i) => {
    for (let b = 0; b < width; b++) bytes[i * width + b] = (t >>> (8 * b)) & 255;
  });
  return bytes.length / deflate(bytes).length;
}

/** The chosen tokens' mean log-probability, the end token not counted, over (tokens + 1) (transformers'). */
export function avgLogprob(tokens: readonly number[], logprobs: readonly number[], eos: number): number {
  let sum = 0,
    n = 0;
  tokens.forEach((t, i) => {
    if (t !== eos) {
      sum += logprobs[i];
      n++;
    }
  });
  return sum / (n + 1);
}

/** log(sum(exp(s))) of one row in float64 (deterministic exp/log); -Infinity when every entry is -Infinity. */
function logNormaliser(s: Float32Array): number {
  let m = -Infinity;
  for (const v of s) if (v > m) m = v;
  if (m === -Infinity) return -Infinity;
  let z = 0;
  for (const v of s) if (v !== -Infinity) z += exp(v - m);
  return m + log(z);
}

/** float32 log-softmax of one row (float64 sums, deterministic exp/log). */
export function logSoftmax(s: Float32Array): Float32Array {
  const lz = logNormaliser(s),
    out = new Float32Array(s.length);
  if (lz === -Infinity) return out.fill(-Infinity);
  for (let i = 0; i < s.length; i++) out[i] = s[i] === -Infinity ? -Infinity : Math.fround(s[i] - lz);
  return out;
}

/** logSoftmax(s)[t] without the row: one chosen token's log-probability (the greedy step's hot path). */
function logSoftmaxAt(s: Float32Array, t: number): number {
  const lz = logNormaliser(s);
  return lz === -Infinity || s[t] === -Infinity ? -Infinity : Math.fround(s[t] - lz);
}

/** The model's side of one window's decoding: steps over its KV cache. */
export interface WhisperSteps {
  /** tokens after those cached (beam 0) -> the last one's logits */
  prompt(ids: readonly number[]): Float32Array;
  /** forget all but the first n cached tokens (a retry from the prompt) */
  rewind(n: number): void;
  /** beam i continues beam parents[i] */
  reorder(parents: readonly number[]): void;
  /** one token per beam -> each beam's logits */
  next(tokens: readonly number[]): Float32Array[];
}

/** One decoding: the tokens after the prompt (the end token included when it came) and their log-probabilities. */
export interface Decoded {
  tokens: number[];
  logprobs: number[];
}

interface DecodeContext {
  g: WhisperGeneration;
  timestamps: boolean;
  /** the largest token count, prompt included */
  total: number;
  promptLength: number;
}

/** The logits processors in transformers' order, in place: begin-suppress, suppress, the timestamp rules. */
function processScores(s: Float32Array, generated: readonly number[], c: DecodeContext): Float32Array {
  const g = c.g;
  if (generated.length === 0) for (const t of g.beginSuppress) s[t] = -Infinity;
  for (const t of g.suppress) s[t] = -Infinity;
  if (c.timestamps) timestampRules(s, generated, g.noTimestamps! + 1, g.eos, g.noTimestamps!, g.maxInitialTimestamp);
  return s;
}

/** Greedy decoding (temperature 0) or sampling among the top-k at a temperature, from the prompt's logits. */
export function greedyOrSample(
  steps: WhisperSteps,
  first: Float32Array,
  c: DecodeContext,
  temperature: number,
  rng: Xorshift32,
): Decoded {
  const tokens: number[] = [],
    logprobs: number[] = [];
  let logits: Float32Array = first.slice();
  while (c.promptLength + tokens.length < c.total) {
    const s = processScores(logits, tokens, c);
    let t = 0,
      lp: number;
    if (temperature > 0) {
      const scaled = s.map((v) => v / temperature);
      const kth = kthLargest(scaled, Math.min(c.g.topK, scaled.length));
      let m = -Infinity;
      for (let v = 0; v < scaled.length; v++) {
        if (scaled[v] < kth) scaled[v] = -Infinity;
        if (scaled[v] > m) m = scaled[v];
      }
      const p = new Float64Array(scaled.length);
      let z = 0;
      for (let v = 0; v < scaled.length; v++) if (scaled[v] !== -Infinity) z += p[v] = exp(scaled[v] - m);
      const target = rng.uniform() * z;
      let acc = 0;
      for (t = 0; t < p.length; t++) {
        acc += p[t];
        if (acc > target) break;
      }
      while (t === p.length || p[t] === 0) t--; // (a target at the very top: the last possible token)
      lp = logSoftmaxAt(
        scaled.map((v) => v * temperature),
        t,
      );
    } else {
      for (let v = 1; v < s.length; v++) if (s[v] > s[t]) t = v;
      lp = logSoftmaxAt(s, t);
    }
    tokens.push(t);
    logprobs.push(lp);
    if (t === c.g.eos) break;
    logits = steps.next([t])[0];
  }
  return { tokens, logprobs };
}

function kthLargest(s: Float32Array, k: number): number {
  if (k >= s.length) return -Infinity;
  return Float32Array.from(s).sort().reverse()[k - 1];
}

interface Hypothesis {
  tokens: number[];
  logprobs: number[];
  score: number;
}

/**
 * transformers' beam search for one input, `beams` wide: every step the 2 x beams best continuations of all beams
 * (ties to the lower beam and token); those among the best `beams` that end (the end token, or the length limit) are
 * finished with their score over their length; the best `beams` that do not end run on.  It stops when the length
 * limit is reached or when, all `beams` finished places taken, the best running score over its length cannot beat
 * the worst finished.  Scores are float32 sums of processed log-probabilities, as transformers keeps them.
 */
export function beamSearch(steps: WhisperSteps, first: Float32Array, c: DecodeContext, beams: number): Decoded {
  const V = first.length,
    P = c.promptLength,
    eos = c.g.eos;
  steps.reorder(new Array(beams).fill(0)); // every beam starts as the prompt
  let stepLps = new Array<Float32Array>(beams).fill(processScores(logSoftmax(first), [], c));
  let running: Hypothesis[] = Array.from({ length: beams }, (_, b) => ({
    tokens: [],
    logprobs: [],
    score: b === 0 ? 0 : -1e9,
  }));
  let finished: Hypothesis[] = [];
  let unsatisfied = true;
  for (let cur = P; cur < c.total; ) {
    // the 2 x beams best (score, flat index) of every beam's continuations, ties to the lower index
    const K = 2 * beams,
      best: Array<{ v: number; i: number }> = [];
    for (let b = 0; b < beams; b++) {
      const lp = stepLps[b],
        base = Math.fround(running[b].score);
      for (let t = 0; t < V; t++) {
        const v = Math.fround(lp[t] + base);
        if (best.length === K && !(v > best[K - 1].v)) continue;
        let at = best.length;
        while (at > 0 && v > best[at - 1].v) at--;
        best.splice(at, 0, { v, i: b * V + t });
        if (best.length > K) best.pop();
      }
    }
    const cands = best.map(({ v, i }) => {
      const b = Math.floor(i / V),
        t = i % V;
      return {
        v,
        b,
        t,
        hyp: { tokens: [...running[b].tokens, t], logprobs: [...running[b].logprobs, stepLps[b][t]], score: v },
        ends: t === eos || cur + 1 >= c.total,
      };
    });
    if (unsatisfied) {
      const fresh = cands
        .slice(0, beams)
        .filter((x) => x.ends)
        .map((x) => ({ ...x.hyp, score: Math.fround(x.v / (cur + 1 - P)) }));
      finished = [...finished, ...fresh]
        .map((h, i) => ({ h, i }))
        .sort((a, b) => b.h.score - a.h.score || a.i - b.i)
        .slice(0, beams)
        .map((x) => x.h);
    }
    const next = cands.filter((x) => !x.ends).slice(0, beams);
    cur++;
    if (finished.length === beams && next.length > 0) {
      const bestRunning = Math.fround(next[0].v / (cur - P));
      unsatisfied = unsatisfied && bestRunning > Math.min(...finished.map((h) => h.score));
    }
    if (!unsatisfied || next.length === 0 || cur >= c.total) break;
    running = next.map((x) => x.hyp);
    steps.reorder(next.map((x) => x.b));
    stepLps = steps.next(next.map((x) => x.t)).map((row, b) => processScores(logSoftmax(row), running[b].tokens, c));
  }
  const top = finished[0] ?? running[0];
  return { tokens: top.tokens, logprobs: top.logprobs };
}

/** How to decode one recording (beyond generation_config.json). */
export interface WhisperGenerateOptions {
  /** the language token (null: detected from the first window) */
  language: number | null;
  /** the task token (null: none) */
  task: number | null;
  /** timestamp mode (forced for recordings longer than a window) */
  timestamps: boolean;
  /** the fallback's temperatures, tried in order (default [0]) */
  temperatures: readonly number[];
  seed: number;
}

/** The model's side of long-form generation. */
export interface WhisperWindows {
  /** frames of one window's features */
  readonly frames: number;
  /** seconds per feature frame (hop / rate) */
  readonly frameSeconds: number;
  /** seconds per timestamp step (a window's seconds over its encoder frames) */
  readonly timestampSeconds: number;
  /** vocabulary size (the compression ratio's token width) */
  readonly vocab: number;
  /** largest token count the decoder takes */
  readonly maxTarget: number;
  /** one window's features (1, n_mels, frames) through the encoder: the steps over an empty cache for `beams` */
  begin(features: Tensor, beams: number): WhisperSteps;
}

export interface WhisperSegment {
  start: number;
  end: number;
  tokens: number[];
  logprobs: number[];
  /** the temperature the window's tokens came from, its average log-probability and compression ratio */
  temperature: number;
  avgLogprob: number;
  compressionRatio: number;
  /** the probability of <|nospeech|> after <|startoftranscript|> (0 when not computed) */
  noSpeechProb: number;
}

/**
 * Features (1, n_mels, F) of a whole recording -> its segments (tokens with times) and the language used.  One
 * window when F fits one (short-form), else windows at `seek` with timestamps forced.
 */
export function generate(
  features: Tensor,
  model: WhisperWindows,
  g: WhisperGeneration,
  o: WhisperGenerateOptions,
): { segments: WhisperSegment[]; language: number | null } {
  const [, M, F] = features.shape,
    W = model.frames,
    data = features.data as Float32Array;
  const timestamps = o.timestamps || F > W,
    tsBegin = (g.noTimestamps ?? 0) + 1,
    multilingual = Object.keys(g.langToId).length > 0,
    rng = new Xorshift32(o.seed),
    temperatures = o.temperatures.length ? o.temperatures : [0];
  let lang = o.language;
  const segments: WhisperSegment[] = [];
  for (let seek = 0; seek < F; ) {
    const n = Math.min(W, F - seek);
    const x = new Float32Array(M * W);
    for (let m = 0; m < M; m++) x.set(data.subarray(m * F + seek, m * F + seek + n), m * W);
    const steps = model.begin(new Tensor(x, [1, M, W]), g.numBeams);
    // <|startoftranscript|> alone when its logits are needed: the language, the no-speech probability
    let prompt = [g.decoderStart],
      first: Float32Array | null = null,
      noSpeechProb = 0;
    if ((multilingual && lang === null) || (g.noSpeechThreshold !== null && g.noTimestamps !== null)) {
      first = steps.prompt(prompt);
      prompt = [];
      if (multilingual && lang === null) {
        let best = -Infinity;
        for (const id of Object.values(g.langToId))
          if (first[id] > best) {
            best = first[id];
            lang = id;
          }
      }
      if (g.noTimestamps !== null) noSpeechProb = exp(logSoftmaxAt(first, g.noTimestamps - 1));
    }
    if (multilingual) {
      prompt.push(lang!);
      if (o.task !== null) prompt.push(o.task);
    }
    if (g.noTimestamps !== null && !timestamps) prompt.push(g.noTimestamps);
    const promptLength = prompt.length + (first ? 1 : 0);
    if (prompt.length) first = steps.prompt(prompt);
    const c: DecodeContext = {
      g,
      timestamps,
      promptLength,
      total: Math.min(g.maxLength + Math.min(Math.floor(model.maxTarget / 2) - 1, promptLength - 1), model.maxTarget),
    };
    const final = seek + W >= F;
    let d: Decoded = { tokens: [], logprobs: [] },
      temperature = 0,
      cr = 0,
      alp = 0,
      skip = false;
    for (let i = 0; i < temperatures.length; i++) {
      temperature = temperatures[i];
      steps.rewind(promptLength);
      d =
        temperature === 0 && g.numBeams > 1
          ? beamSearch(steps, first!, c, g.numBeams)
          : greedyOrSample(steps, first!, c, temperature, rng);
      if (!final && d.tokens[d.tokens.length - 1] === g.eos)
        d = { tokens: d.tokens.slice(0, -1), logprobs: d.logprobs.slice(0, -1) };
      cr = compressionRatio(d.tokens, model.vocab);
      alp = avgLogprob(d.tokens, d.logprobs, g.eos);
      let needs = false;
      skip = false;
      if (g.compressionRatioThreshold !== null && cr > g.compressionRatioThreshold) needs = true;
      if (g.logprobThreshold !== null && alp < g.logprobThreshold) {
        needs = true;
        if (g.noSpeechThreshold !== null && noSpeechProb > g.noSpeechThreshold) {
          needs = false;
          skip = true;
        }
      }
      if (!needs) break;
    }
    const at = seek * model.frameSeconds,
      info = { temperature, avgLogprob: alp, compressionRatio: cr, noSpeechProb };
    if (skip) {
      seek += n;
      continue;
    }
    if (!timestamps) {
      segments.push({ start: at, end: at + n * model.frameSeconds, ...d, ...info });
      seek += n;
      continue;
    }
    const split = splitSegments(d, tsBegin, at, n, model);
    for (const s of split.segments) segments.push({ ...s, ...info });
    seek += split.advance;
  }
  return { segments, language: lang };
}

/**
 * transformers' _retrieve_segment: segments at timestamp pairs (the last complete one keeps its pair's second
 * token) and the frames to advance: past the last complete segment, or the whole window when it ended on a lone
 * timestamp or has no pair.
 */
export function splitSegments(
  d: Decoded,
  tsBegin: number,
  at: number,
  n: number,
  model: Pick<WhisperWindows, "frameSeconds" | "timestampSeconds">,
): { segments: Array<{ start: number; end: number; tokens: number[]; logprobs: number[] }>; advance: number } {
  const t = d.tokens,
    isTs = t.map((x) => x >= tsBegin),
    step = model.timestampSeconds;
  const single = t.length >= 2 && !isTs[t.length - 2] && isTs[t.length - 1];
  const slices = t.flatMap((_, i) => (i > 0 && isTs[i - 1] && isTs[i] ? [i] : []));
  if (slices.length) {
    if (single) slices.push(t.length);
    else slices[slices.length - 1] += 1;
    const segments = [];
    let last = 0;
    for (const cur of slices) {
      const s = t.slice(last, cur);
      segments.push({
        start: at + (s[0] - tsBegin) * step,
        end: at + (s[s.length - 1] - tsBegin) * step,
        tokens: s,
        logprobs: d.logprobs.slice(last, cur),
      });
      last = cur;
    }
    const frames = Math.round(step / model.frameSeconds); // feature frames per timestamp step (2)
    return { segments, advance: single ? n : (t[last - 1] - tsBegin) * frames };
  }
  const stamps = t.filter((x) => x >= tsBegin);
  let end = at + n * model.frameSeconds;
  if (stamps.length && stamps[stamps.length - 1] !== tsBegin) end = at + (stamps[stamps.length - 1] - tsBegin) * step;
  return { segments: [{ start: at, end, tokens: t, logprobs: d.logprobs }], advance: n };
}
