// CTC: greedy and prefix beam-search decoding, token ids <-> text, and the loss as
// torch.nn.functional.ctc_loss computes it.  Log-space arithmetic in float64 with the deterministic
// exp/log of detmath.ts, so results are the same on every engine.
import { Tensor, fmtShape } from "../tensor.js";
import { exp, log, logAddExp } from "../util/detmath.js";

function logProbsArg(who: string, lp: unknown): Tensor {
  if (!(lp instanceof Tensor) || lp.ndim !== 3 || lp.dtype !== "float32") {
    throw new Error(
      `${who}: logProbs must be a float32 Tensor (batch, time, vocab), ` +
        `got ${lp instanceof Tensor ? `${lp.dtype} ${fmtShape(lp.shape)}` : typeof lp}`,
    );
  }
  return lp;
}

/**
 * Greedy CTC decoding (the reference design's): per-frame argmax (first maximum), repeats collapsed, blanks
 * dropped.
 */
export function ctcGreedyDecode(
  logProbs: Tensor,
  options: { blank?: number; lengths?: ArrayLike<number> } = {},
): number[][] {
  const lp = logProbsArg("ctcGreedyDecode", logProbs);
  const [B, T, V] = lp.shape;
  const blank = options.blank ?? 0;
  const out: number[][] = [];
  for (let b = 0; b < B; b++) {
    const len = options.lengths ? options.lengths[b] : T;
    const tokens: number[] = [];
    let prev = -1;
    for (let t = 0; t < len; t++) {
      let best = 0,
        bv = -Infinity;
      const o = (b * T + t) * V;
      for (let v = 0; v < V; v++)
        if (lp.data[o + v] > bv) {
          bv = lp.data[o + v];
          best = v;
        }
      if (best !== prev && best !== blank) tokens.push(best);
      prev = best;
    }
    out.push(tokens);
  }
  return out;
}

export interface BeamHypothesis {
  tokens: number[];
  /** log P(tokens | audio), summed over alignments */
  logProb: number;
}

/**
 * Prefix beam search: keeps the beamWidth best prefixes, merging alignments that collapse to the same token
 * sequence (blank-ending and non-blank-ending probabilities tracked apart).  Per frame only the beamWidth most
 * likely tokens are expanded (tokenPrune); ties are broken by the token sequence, so results are deterministic.
 * Returns, per batch item, up to nBest hypotheses, best first.
 */
/** The widest beam ctcBeamSearch accepts. */
export const MAX_BEAM = 1024;

export function ctcBeamSearch(
  logProbs: Tensor,
  options: {
    beamWidth?: number;
    blank?: number;
    nBest?: number;
    lengths?: ArrayLike<number>;
    tokenPrune?: number;
  } = {},
): BeamHypothesis[][] {
  const lp = logProbsArg("ctcBeamSearch", logProbs);
  const [B, T, V] = lp.shape;
  const beamWidth = options.beamWidth ?? 10,
    blank = options.blank ?? 0,
    nBest = options.nBest ?? 1;
  // the search keeps beamWidth prefixes per frame and extends each by up to tokenPrune tokens: bounded so a
  // request cannot ask for unbounded memory (beamWidth 1e9 used to abort Node)
  if (!Number.isInteger(beamWidth) || beamWidth < 1 || beamWidth > MAX_BEAM)
    throw new Error(`ctcBeamSearch: beamWidth must be an integer from 1 to ${MAX_BEAM}, got ${beamWidth}`);
  if (!Number.isInteger(nBest) || nBest < 1 || nBest > beamWidth)
    throw new Error(`ctcBeamSearch: nBest must be an integer from 1 to beamWidth (${beamWidth}), got ${nBest}`);
  if (options.tokenPrune !== undefined && (!Number.isInteger(options.tokenPrune) || options.tokenPrune < 1))
    throw new Error(`ctcBeamSearch: tokenPrune must be a positive integer, got ${options.tokenPrune}`);
  if (!Number.isInteger(blank) || blank < 0 || blank >= V)
    throw new Error(`ctcBeamSearch: blank must be in [0, ${V}), got ${blank}`);
  const prune = Math.min(V, options.tokenPrune ?? Math.max(beamWidth, 2));
  const results: BeamHypothesis[][] = [];
  // A prefix is a node of a trie (its last token and a link to the one before), so extending one is O(1) and a
  // search costs time linear in the frames (copying token arrays and joining them into keys made it quadratic).
  // Children are indexed under their parent while they may still be reached by another prefix's extension.
  interface Node {
    parent: Node | null;
    token: number;
    children: Map<number, Node> | null;
    rank: number;
    pb: number;
    pnb: number;
    frame: number;
  }
  const tokensOf = (n: Node): number[] => {
    const out: number[] = [];
    for (let x: Node | null = n; x?.parent; x = x.parent) out.push(x.token);
    return out.reverse();
  };
  const total = (b: Node): number => logAddExp(b.pb, b.pnb);
  // Equal scores (exact ties: identical frames make them) are ordered by where the prefix came from, in O(1): a
  // prefix that was a beam by that beam's place, before the extensions of that beam, those by token id.
  const tie = (a: Node, b: Node): number => {
    const ra = a.rank >= 0 ? 2 * a.rank : 2 * a.parent!.rank + 1,
      rb = b.rank >= 0 ? 2 * b.rank : 2 * b.parent!.rank + 1;
    return ra - rb || (a.rank >= 0 ? 0 : a.token - b.token);
  };
  const order = (a: Node, b: Node): number => (total(a) === total(b) ? tie(a, b) : total(b) - total(a));
  for (let bi = 0; bi < B; bi++) {
    const len = options.lengths ? options.lengths[bi] : T;
    const root: Node = { parent: null, token: -1, children: null, rank: 0, pb: 0, pnb: -Infinity, frame: -1 };
    let beams: Node[] = [root];
    for (let t = 0; t < len; t++) {
      const o = (bi * T + t) * V;
      // candidate tokens: the most likely `prune` of this frame (plus blank)
      const cand = Array.from({ length: V }, (_, v) => v)
        .sort((a, b) => lp.data[o + b] - lp.data[o + a] || a - b)
        .slice(0, prune);
      if (!cand.includes(blank)) cand.push(blank);
      const touched: Node[] = [];
      // this frame's scores of a prefix (reset the first time the frame touches it)
      const at = (n: Node): Node => {
        if (n.frame !== t) {
          n.frame = t;
          n.pb = -Infinity;
          n.pnb = -Infinity;
          touched.push(n);
        }
        return n;
      };
      const child = (n: Node, c: number): Node => {
        n.children ??= new Map();
        let x = n.children.get(c);
        if (!x) {
          x = { parent: n, token: c, children: null, rank: -1, pb: -Infinity, pnb: -Infinity, frame: -2 };
          n.children.set(c, x);
        }
        return at(x);
      };
      // the beams' scores from the last frame, read before any is reset for this one
      const prev = beams.map((b) => [b.pb, b.pnb] as const);
      beams.forEach((beam, i) => {
        const [pb, pnb] = prev[i];
        const last = beam.parent ? beam.token : -1;
        for (const c of cand) {
          const p = lp.data[o + c];
          if (c === blank) {
            const nb = at(beam);
            nb.pb = logAddExp(nb.pb, logAddExp(pb, pnb) + p);
          } else if (c === last) {
            const same = at(beam); // repeat without a blank collapses
            same.pnb = logAddExp(same.pnb, pnb + p);
            const ext = child(beam, c); // repeat after a blank is a new token
            ext.pnb = logAddExp(ext.pnb, pb + p);
          } else {
            const ext = child(beam, c);
            ext.pnb = logAddExp(ext.pnb, logAddExp(pb, pnb) + p);
          }
        }
      });
      const kept = touched.sort(order).slice(0, beamWidth),
        keep = new Set(kept);
      // Only the beams and their ancestors stay linked: every prefix a later frame can make extends a beam, so it is
      // found there if it exists.  A prefix that fell out (and leads to no beam) is unlinked, and so, upwards, is
      // each ancestor it leaves childless that is no beam: memory stays at most beamWidth chains.
      for (let n of touched) {
        while (!keep.has(n) && n.parent && !n.children?.size) {
          n.parent.children!.delete(n.token);
          n = n.parent;
        }
      }
      for (const b of beams) b.rank = -1;
      kept.forEach((b, i) => {
        b.rank = i;
      });
      beams = kept;
    }
    results.push(beams.slice(0, nBest).map((b) => ({ tokens: tokensOf(b), logProb: total(b) })));
  }
  return results;
}

/**
 * Token ids <-> text.  tokens[i] is the text of id i; blank (default id 0) never appears in text;
 * wordDelimiter (e.g. "|") becomes a space.
 * @example
 * const vocab = new CTCVocabulary(["<blank>", "|", "a", "b"], { wordDelimiter: "|" });
 * vocab.decode([2, 1, 3]); // "a b"
 */
export class CTCVocabulary {
  readonly tokens: readonly string[];
  readonly blank: number;
  readonly wordDelimiter: string | null;
  private readonly index: Map<string, number>;
  constructor(tokens: string[], options: { blank?: number; wordDelimiter?: string | null } = {}) {
    if (!Array.isArray(tokens) || tokens.length < 2)
      throw new Error("CTCVocabulary: needs at least a blank and one token");
    this.tokens = Object.freeze([...tokens]);
    this.blank = options.blank ?? 0;
    this.wordDelimiter = options.wordDelimiter ?? null;
    this.index = new Map(tokens.map((t, i) => [t, i]));
  }
  get size(): number {
    return this.tokens.length;
  }

  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length)
        throw new Error(`CTCVocabulary.decode: id ${id} at position ${i} is outside [0, ${this.tokens.length})`);
      if (id === this.blank) continue;
      const t = this.tokens[id];
      s += t === this.wordDelimiter ? " " : t;
    }
    return s.replace(/ +/g, " ").trim();
  }

  /** Text -> ids by greedy longest match over the tokens; spaces map to the word delimiter. */
  encode(text: string): number[] {
    const out: number[] = [];
    const maxLen = Math.max(...this.tokens.map((t) => t.length));
    for (let i = 0; i < text.length; ) {
      if (text[i] === " " && this.wordDelimiter !== null) {
        out.push(this.index.get(this.wordDelimiter)!);
        i++;
        continue;
      }
      let found = -1,
        len = 0;
      for (let l = Math.min(maxLen, text.length - i); l >= 1; l--) {
        const id = this.index.get(text.slice(i, i + l));
        if (id !== undefined && id !== this.blank) {
          found = id;
          len = l;
          break;
        }
      }
      if (found < 0)
        throw new Error(
          `CTCVocabulary.encode: no token matches ${JSON.stringify(text.slice(i, i + 8))} at position ${i}`,
        );
      out.push(found);
      i += len;
    }
    return out;
  }
}

export interface CTCLossOptions {
  blank?: number;
  reduction?: "mean" | "sum" | "none";
  zeroInfinity?: boolean;
}

/**
 * torch.nn.functional.ctc_loss: logProbs (T, N, C) log-softmax outputs (torch's layout), targets (N, S) int32
 * padded or 1-D concatenated, inputLengths / targetLengths (N).  reduction "mean" divides each loss by its
 * target length and averages over the batch, as torch does.
 */
export function ctcLoss(
  logProbs: Tensor,
  targets: Tensor,
  inputLengths: ArrayLike<number>,
  targetLengths: ArrayLike<number>,
  options: CTCLossOptions = {},
): number | Float32Array {
  const who = "ctcLoss";
  if (!(logProbs instanceof Tensor) || logProbs.ndim !== 3 || logProbs.dtype !== "float32") {
    throw new Error(
      `${who}: logProbs must be a float32 Tensor (time, batch, classes), ` +
        `got ${logProbs instanceof Tensor ? fmtShape(logProbs.shape) : typeof logProbs}`,
    );
  }
  const [T, N, C] = logProbs.shape;
  const blank = options.blank ?? 0,
    reduction = options.reduction ?? "mean";
  if (!["mean", "sum", "none"].includes(reduction))
    throw new Error(`${who}: reduction must be "mean", "sum" or "none", got ${JSON.stringify(reduction)}`);
  if (inputLengths.length !== N || targetLengths.length !== N)
    throw new Error(
      `${who}: inputLengths and targetLengths must hold ${N} values, got ${inputLengths.length} ` +
        `and ${targetLengths.length}`,
    );
  if (!(targets instanceof Tensor) || targets.dtype !== "int32" || (targets.ndim !== 1 && targets.ndim !== 2))
    throw new Error(`${who}: targets must be an int32 Tensor (batch, S) or 1-D concatenated`);
  const losses = new Float32Array(N);
  let offset = 0;
  for (let n = 0; n < N; n++) {
    const Tn = inputLengths[n],
      S = targetLengths[n];
    if (!Number.isInteger(Tn) || Tn < 0 || Tn > T)
      throw new Error(`${who}: inputLengths[${n}] = ${Tn} must be an integer in [0, ${T}]`);
    const cap = targets.ndim === 2 ? targets.shape[1] : targets.size - offset;
    if (!Number.isInteger(S) || S < 0 || S > cap)
      throw new Error(`${who}: targetLengths[${n}] = ${S} must be an integer in [0, ${cap}]`);
    const tgt: number[] = [];
    for (let s = 0; s < S; s++) {
      const v = targets.ndim === 2 ? targets.data[n * targets.shape[1] + s] : targets.data[offset + s];
      if (v < 0 || v >= C || v === blank)
        throw new Error(
          `${who}: target ${v} (batch ${n}, position ${s}) must be in [0, ${C}) and not the blank ${blank}`,
        );
      tgt.push(v);
    }
    if (targets.ndim === 1) offset += S;
    // alpha over the extended label sequence l' = (blank, t1, blank, t2, ..., blank)
    const L = 2 * S + 1;
    const lab = (i: number): number => (i % 2 === 0 ? blank : tgt[(i - 1) >> 1]);
    const lpv = (t: number, c: number): number => logProbs.data[(t * N + n) * C + c];
    let alpha = new Float64Array(L).fill(-Infinity);
    if (Tn > 0) {
      alpha[0] = lpv(0, blank);
      if (L > 1) alpha[1] = lpv(0, lab(1));
    }
    for (let t = 1; t < Tn; t++) {
      const next = new Float64Array(L).fill(-Infinity);
      for (let i = 0; i < L; i++) {
        let a = alpha[i];
        if (i >= 1) a = logAddExp(a, alpha[i - 1]);
        if (i >= 2 && lab(i) !== blank && lab(i) !== lab(i - 2)) a = logAddExp(a, alpha[i - 2]);
        next[i] = a === -Infinity ? -Infinity : a + lpv(t, lab(i));
      }
      alpha = next;
    }
    const ll = Tn === 0 ? (S === 0 ? 0 : -Infinity) : L > 1 ? logAddExp(alpha[L - 1], alpha[L - 2]) : alpha[L - 1];
    let loss = -ll;
    if (loss === Infinity && options.zeroInfinity) loss = 0;
    losses[n] = loss;
  }
  if (reduction === "none") return losses;
  if (reduction === "sum") {
    let s = 0;
    for (const v of losses) s += v;
    return Math.fround(s);
  }
  let s = 0;
  for (let n = 0; n < N; n++) s += losses[n] / Math.max(1, targetLengths[n]);
  return Math.fround(s / N);
}

/**
 * The best CTC alignment (Viterbi) of exactly `tokens` through one utterance's log-probabilities: the max-product
 * twin of ctcLoss's alpha recursion over the same extended labels (blank, t1, blank, t2, ..., tn, blank).  Returns,
 * per frame, the index into `tokens` of the token that frame is aligned to, or -1 for a blank frame.  Ties keep
 * the state a frame is already in, so the greedy path (a best alignment of its own tokens) comes back unchanged.
 * Internal (not exported by the package): SpeechRecognizer's word confidences.
 */
export function ctcAlign(lp: Float32Array, T: number, V: number, tokens: readonly number[], blank = 0): Int32Array {
  const S = 2 * tokens.length + 1;
  const label = (j: number): number => (j % 2 === 0 ? blank : tokens[(j - 1) >> 1]);
  const score = new Float64Array(S).fill(-Infinity); // (S): best log-probability ending in each state
  const from = new Int32Array(T * S); // (T, S): the state each state came from at the frame before
  score[0] = lp[label(0)];
  if (S > 1) score[1] = lp[label(1)];
  for (let t = 1; t < T; t++) {
    for (let j = S - 1; j >= 0; j--) {
      // descending: score[j - 1], score[j - 2] still hold frame t - 1
      let best = score[j],
        arg = j;
      if (j >= 1 && score[j - 1] > best) {
        best = score[j - 1];
        arg = j - 1;
      }
      if (j >= 2 && j % 2 === 1 && label(j) !== label(j - 2) && score[j - 2] > best) {
        best = score[j - 2];
        arg = j - 2;
      }
      score[j] = best + lp[t * V + label(j)];
      from[t * S + j] = arg;
    }
  }
  const path = new Int32Array(T); // (T): token index per frame, -1 for blank
  let j = S > 1 && score[S - 2] > score[S - 1] ? S - 2 : S - 1; // end on the last token or the blank after it
  for (let t = T - 1; t >= 0; t--) {
    path[t] = j % 2 === 1 ? (j - 1) >> 1 : -1;
    if (t > 0) j = from[t * S + j];
  }
  return path;
}

export { exp as detExp, log as detLog };
