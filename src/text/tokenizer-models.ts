// tokenizer.json models (WordPiece, BPE, Unigram, WordLevel), as the reference runs them: a word -> its tokens.
import { bad, type Json } from "./tokenizer-error.js";

export interface Model {
  tokenize(word: string): string[];
  vocab: Map<string, number>;
  unk: string | null;
}

interface TrieNode {
  next: Map<string, TrieNode>;
  end: boolean;
}

/** A character trie of the pieces (with the continuation prefix stripped from continuation pieces). */
function trieOf(pieces: Iterable<string>): TrieNode {
  const root: TrieNode = { next: new Map(), end: false };
  for (const p of pieces) {
    let n = root;
    for (const ch of p) {
      let c = n.next.get(ch);
      if (!c) {
        c = { next: new Map(), end: false };
        n.next.set(ch, c);
      }
      n = c;
    }
    n.end = true;
  }
  return root;
}

function wordPiece(m: Json): Model {
  const vocab = new Map<string, number>(Object.entries(m.vocab as Record<string, number>));
  const unk = m.unk_token ?? "[UNK]",
    pre = m.continuing_subword_prefix ?? "##",
    maxChars = m.max_input_chars_per_word ?? 100;
  // longest match by walking a trie: O(piece length) per piece, so a long word costs time linear in its length
  // (3,000 characters with a huge max_input_chars_per_word took 71 s with a substring search per candidate end)
  const first = trieOf(vocab.keys());
  const cont = trieOf(
    [...vocab.keys()].filter((k) => k.startsWith(pre) && k.length > pre.length).map((k) => k.slice(pre.length)),
  );
  return {
    vocab,
    unk,
    tokenize(word) {
      const chars = Array.from(word);
      if (chars.length > maxChars) return [unk];
      const out: string[] = [];
      let start = 0;
      while (start < chars.length) {
        let node: TrieNode | undefined = start > 0 ? cont : first,
          end = -1;
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
  const vocab = new Map<string, number>(),
    scores: number[] = [];
  pieces.forEach(([p, sc], i) => {
    if (typeof p !== "string" || typeof sc !== "number" || !Number.isFinite(sc))
      bad(`Unigram model.vocab[${i}] must be [piece, finite score], got ${JSON.stringify([p, sc])}`);
    if (!vocab.has(p)) vocab.set(p, i);
    scores.push(sc);
  });
  const unkId: number | null = m.unk_id ?? null;
  if (unkId !== null && (!Number.isInteger(unkId) || unkId < 0 || unkId >= pieces.length))
    bad(`Unigram unk_id ${unkId} is outside the vocabulary`);
  const unk = unkId === null ? null : pieces[unkId][0];
  const byteFallback = m.byte_fallback === true;
  const minScore = scores.reduce((a, b) => Math.min(a, b), Infinity);
  const unkScore = minScore - 10;
  const trie = trieOf(vocab.keys());
  const enc = new TextEncoder();
  return {
    vocab,
    unk,
    tokenize(word) {
      const cs = Array.from(word),
        n = cs.length;
      const best = new Float64Array(n + 1),
        from = new Int32Array(n + 1).fill(-1),
        id = new Int32Array(n + 1);
      for (let start = 0; start < n; start++) {
        if (start > 0 && from[start] < 0) continue; // unreachable (cannot happen: every character is covered)
        const base = best[start];
        let single = false,
          node: TrieNode | undefined = trie;
        for (let i = start; i < n && node; i++) {
          node = node.next.get(cs[i]);
          if (!node?.end) continue;
          const piece = cs.slice(start, i + 1).join(""),
            pid = vocab.get(piece)!,
            cand = scores[pid] + base;
          if (from[i + 1] < 0 || cand > best[i + 1]) {
            best[i + 1] = cand;
            from[i + 1] = start;
            id[i + 1] = pid;
          }
          if (i === start) single = true;
        }
        if (!single) {
          if (unkId === null) bad(`Unigram: ${JSON.stringify(cs[start])} has no piece and the model has no unk_id`);
          const cand = unkScore + base;
          if (from[start + 1] < 0 || cand > best[start + 1]) {
            best[start + 1] = cand;
            from[start + 1] = start;
            id[start + 1] = unkId;
          }
        }
      }
      // back from the end; unknown runs fused
      const parts: string[] = [];
      let fused: string[] = [];
      for (let end = n; end > 0; end = from[end]) {
        const piece = cs.slice(from[end], end).join("");
        if (unkId !== null && id[end] === unkId) {
          fused.push(piece);
          continue;
        }
        if (fused.length) {
          parts.push(fused.reverse().join(""));
          fused = [];
        }
        parts.push(piece);
      }
      if (fused.length) parts.push(fused.reverse().join(""));
      parts.reverse();
      const out: string[] = [];
      for (const p of parts) {
        if (vocab.has(p)) {
          out.push(p);
          continue;
        }
        if (byteFallback) {
          const bs = Array.from(enc.encode(p), (b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
          if (bs.every((b) => vocab.has(b))) {
            out.push(...bs);
            continue;
          }
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
  return {
    vocab,
    unk,
    tokenize: (w) =>
      vocab.has(w)
        ? [w]
        : unk !== null
          ? [unk]
          : bad(`WordLevel: ${JSON.stringify(w)} is not in the vocabulary and there is no unk_token`),
  };
}

/** A binary min-heap of candidate merges (rank, then left position: lowest rank first, leftmost on ties). */
class MergeHeap {
  private rank: number[] = [];
  private pos: number[] = [];
  get size(): number {
    return this.rank.length;
  }
  private less(a: number, b: number): boolean {
    return this.rank[a] < this.rank[b] || (this.rank[a] === this.rank[b] && this.pos[a] < this.pos[b]);
  }
  private swap(a: number, b: number): void {
    [this.rank[a], this.rank[b]] = [this.rank[b], this.rank[a]];
    [this.pos[a], this.pos[b]] = [this.pos[b], this.pos[a]];
  }
  push(rank: number, pos: number): void {
    this.rank.push(rank);
    this.pos.push(pos);
    for (let i = this.rank.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  /** [rank, pos] of the best candidate, removed. */
  pop(): [number, number] {
    const top: [number, number] = [this.rank[0], this.pos[0]];
    const r = this.rank.pop()!,
      q = this.pos.pop()!;
    if (this.rank.length) {
      this.rank[0] = r;
      this.pos[0] = q;
      for (let i = 0; ; ) {
        const l = 2 * i + 1,
          rr = l + 1;
        let m = i;
        if (l < this.rank.length && this.less(l, m)) m = l;
        if (rr < this.rank.length && this.less(rr, m)) m = rr;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

function bpe(m: Json): Model {
  const vocab = new Map<string, number>(Object.entries(m.vocab as Record<string, number>));
  const ranks = new Map<string, number>();
  (m.merges as Array<string | [string, string]>).forEach((mg, i) =>
    ranks.set(typeof mg === "string" ? mg : mg.join(" "), i),
  );
  const unk: string | null = m.unk_token ?? null;
  const ignoreMerges = m.ignore_merges === true;
  const prefix: string = m.continuing_subword_prefix ?? "",
    suffix: string = m.end_of_word_suffix ?? "";
  const byteFallback = m.byte_fallback === true,
    fuseUnk = m.fuse_unk === true;
  if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0)
    bad(`BPE dropout ${m.dropout} is not supported (it makes encoding random); use null`);
  const enc = new TextEncoder();
  const byteToken = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
  /**
   * A word's first symbols, as the reference builds them: each character (the continuing prefix on all but the
   * first, the end-of-word suffix on the last); one not in the vocabulary becomes its UTF-8 bytes' <0xXX> tokens
   * (byte_fallback), else the unknown token (consecutive ones fused into one with fuse_unk), else nothing.
   */
  const symbols = (word: string): string[] => {
    const cs = Array.from(word),
      out: string[] = [];
    let lastUnk = false;
    cs.forEach((c, i) => {
      const s = (i > 0 ? prefix : "") + c + (i === cs.length - 1 ? suffix : "");
      if (vocab.has(s)) {
        out.push(s);
        lastUnk = false;
        return;
      }
      if (byteFallback) {
        const bs = Array.from(enc.encode(c), byteToken);
        if (bs.every((b) => vocab.has(b))) {
          out.push(...bs);
          lastUnk = false;
          return;
        }
      }
      if (unk === null) return;
      if (!(fuseUnk && lastUnk)) out.push(unk);
      lastUnk = true;
    });
    return out;
  };
  const cache = new Map<string, string[]>();
  return {
    vocab,
    unk,
    tokenize(word) {
      const hit = cache.get(word);
      if (hit) return hit;
      // a whole word in the vocabulary is one token
      if (ignoreMerges && vocab.has(word + suffix)) return [word + suffix];
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
export const MODELS: Record<string, (m: Json) => Model> = {
  WordPiece: wordPiece,
  BPE: bpe,
  Unigram: unigram,
  WordLevel: wordLevel,
};
