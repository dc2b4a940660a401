// A regular-expression engine whose time is linear in the text for each match: a Pike VM (Thompson's NFA
// simulation with thread priorities), for the JS patterns onig.ts translates from tokenizer.json.  JS's RegExp
// backtracks, so a pattern like `(a+)+$` from a tokenizer.json takes exponential time on 40 characters; here every
// position of the text is visited once per match by at most one thread per instruction.  Priorities give exactly
// the match a backtracking engine returns (leftmost, then the first alternative / the greedy or lazy choice), so a
// pattern means the same on either engine: onig.ts's patternOf runs safe patterns on RegExp (fast) and the rest here.
//
// Syntax: the `u`-mode subset the translator emits — literals and escapes, character classes (tested by RegExp
// itself, one code point at a time, so `\p{..}`, ranges and negation mean what they mean there), `.`, groups
// (capturing or not), alternation, `* + ? {n} {n,} {n,m}` greedy or lazy, `^ $ \b \B`, lookahead and lookbehind.
// Backreferences cannot be matched in linear time and are refused by name.  Two corners differ from RegExp (and
// neither is Oniguruma's rule either): a repeated group whose body can match empty (JS fails such an iteration,
// here the empty iteration simply ends the loop) and empty matches inside a surrogate pair (positions here are code
// points).  Every real tokenizer.json pattern is safe for RegExp and runs there; test/linear-regex.test.ts checks
// this engine against RegExp on thousands of random patterns outside those corners and on every real pattern.

type Node =
  | { t: "char"; test: (cp: number) => boolean }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; alts: Node[] }
  | { t: "rep"; node: Node; min: number; max: number; greedy: boolean }
  | { t: "assert"; kind: "^" | "$" | "b" | "B" }
  | { t: "look"; node: Node; behind: boolean; neg: boolean };

/** Counted repetition is expanded into copies: this bounds the program a pattern may make. */
const MAX_PROGRAM = 20_000;

export class PatternError extends Error {}

/** A predicate for one code point, by asking RegExp itself (memoised per code point). */
function charTest(source: string): (cp: number) => boolean {
  const re = new RegExp(`^${source}$`, "u"),
    memo = new Map<number, boolean>();
  return (cp) => {
    let v = memo.get(cp);
    if (v === undefined) {
      v = re.test(String.fromCodePoint(cp));
      if (memo.size < 65536) memo.set(cp, v);
    }
    return v;
  };
}

class Parser {
  i = 0;
  constructor(readonly src: string) {}
  fail(why: string): never {
    throw new PatternError(`pattern ${JSON.stringify(this.src.slice(0, 200))}: ${why} at ${this.i}`);
  }
  parse(): Node {
    const n = this.alt();
    if (this.i < this.src.length) this.fail("unbalanced )");
    return n;
  }
  alt(): Node {
    const alts = [this.cat()];
    while (this.src[this.i] === "|") {
      this.i++;
      alts.push(this.cat());
    }
    return alts.length === 1 ? alts[0] : { t: "alt", alts };
  }
  cat(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== "|" && this.src[this.i] !== ")")
      items.push(this.quantified(this.atom()));
    return items.length === 1 ? items[0] : { t: "cat", items };
  }
  quantified(node: Node): Node {
    for (;;) {
      const c = this.src[this.i];
      let min: number, max: number;
      if (c === "*") {
        min = 0;
        max = Infinity;
        this.i++;
      } else if (c === "+") {
        min = 1;
        max = Infinity;
        this.i++;
      } else if (c === "?") {
        min = 0;
        max = 1;
        this.i++;
      } else if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
        if (!m) return node; // a literal brace (not in u mode, but harmless)
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (max < min) this.fail("a count range runs backwards");
        if (min > 1000 || (max !== Infinity && max > 1000)) this.fail("a count above 1000");
        this.i += m[0].length;
      } else return node;
      if (node.t === "assert" || node.t === "look") this.fail("a quantified assertion");
      let greedy = true;
      if (this.src[this.i] === "?") {
        greedy = false;
        this.i++;
      }
      node = { t: "rep", node, min, max, greedy };
    }
  }
  atom(): Node {
    const s = this.src,
      c = s[this.i];
    if (c === "(") {
      let look: { behind: boolean; neg: boolean } | null = null;
      if (s.startsWith("(?:", this.i)) this.i += 3;
      else if (s.startsWith("(?=", this.i) || s.startsWith("(?!", this.i)) {
        look = { behind: false, neg: s[this.i + 2] === "!" };
        this.i += 3;
      } else if (s.startsWith("(?<=", this.i) || s.startsWith("(?<!", this.i)) {
        look = { behind: true, neg: s[this.i + 3] === "!" };
        this.i += 4;
      } else if (s.startsWith("(?<", this.i)) {
        const end = s.indexOf(">", this.i);
        if (end < 0) this.fail("an unterminated group name");
        this.i = end + 1;
      } else if (s[this.i + 1] === "?") this.fail("an unsupported group");
      else this.i++;
      const inner = this.alt();
      if (s[this.i] !== ")") this.fail("a missing )");
      this.i++;
      if (look) return { t: "look", node: inner, ...look };
      // a group around an assertion may be quantified (an assertion itself may not)
      return inner.t === "assert" || inner.t === "look" ? { t: "cat", items: [inner] } : inner;
    }
    if (c === "[") {
      const start = this.i;
      this.i++;
      if (s[this.i] === "^") this.i++;
      while (this.i < s.length && s[this.i] !== "]") this.i += s[this.i] === "\\" ? 2 : 1;
      if (this.i >= s.length) this.fail("an unterminated character class");
      this.i++;
      return { t: "char", test: charTest(s.slice(start, this.i)) };
    }
    if (c === "^" || c === "$") {
      this.i++;
      return { t: "assert", kind: c };
    }
    if (c === ".") {
      this.i++;
      return { t: "char", test: charTest(".") };
    }
    if (c === "\\") {
      const m = /^\\(?:[pP]\{[^}]*\}|u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|c[A-Za-z]|[\s\S])/u.exec(
        s.slice(this.i),
      );
      if (!m) this.fail("a dangling backslash");
      const e = m[0];
      if (e === "\\b" || e === "\\B") {
        this.i += 2;
        return { t: "assert", kind: e[1] as "b" | "B" };
      }
      if (/^\\[1-9k]/.test(e)) this.fail("a backreference (it cannot be matched in linear time)");
      this.i += e.length;
      return { t: "char", test: charTest(e) };
    }
    if (c === ")" || c === "|" || c === undefined) this.fail("an empty atom");
    if (c === "*" || c === "+" || c === "?") this.fail("nothing to repeat");
    const cp = s.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return { t: "char", test: (x) => x === cp };
  }
}

enum Op {
  Char,
  Split,
  Jmp,
  Match,
  Assert,
  Look,
}
interface Inst {
  op: Op;
  test?: (cp: number) => boolean;
  x?: number;
  y?: number;
  kind?: string;
  look?: Program;
  neg?: boolean;
  id?: number;
}
interface Program {
  insts: Inst[];
  behind: boolean;
}

/** Reverses a lookbehind's pattern, so it runs backwards from the position it looks behind. */
function reversed(n: Node): Node {
  switch (n.t) {
    case "cat":
      return { t: "cat", items: n.items.map(reversed).reverse() };
    case "alt":
      return { t: "alt", alts: n.alts.map(reversed) };
    case "rep":
      return { ...n, node: reversed(n.node) };
    default:
      return n; // characters and assertions; a lookaround inside keeps its own direction
  }
}

let lookIds = 0;
function compile(root: Node, behind: boolean): Program {
  const insts: Inst[] = [];
  const emit = (i: Inst): number => {
    if (insts.length >= MAX_PROGRAM)
      throw new PatternError(
        `pattern too large (more than ${MAX_PROGRAM} instructions once counted repetitions are expanded)`,
      );
    insts.push(i);
    return insts.length - 1;
  };
  const gen = (n: Node): void => {
    switch (n.t) {
      case "char":
        emit({ op: Op.Char, test: n.test });
        return;
      case "assert":
        emit({ op: Op.Assert, kind: n.kind });
        return;
      case "look":
        emit({ op: Op.Look, look: compile(n.behind ? reversed(n.node) : n.node, n.behind), neg: n.neg, id: lookIds++ });
        return;
      case "cat":
        for (const x of n.items) gen(x);
        return;
      case "alt": {
        const jumps: number[] = [];
        n.alts.forEach((a, k) => {
          if (k < n.alts.length - 1) {
            const split = emit({ op: Op.Split });
            insts[split].x = insts.length;
            gen(a);
            jumps.push(emit({ op: Op.Jmp }));
            insts[split].y = insts.length;
          } else gen(a);
        });
        for (const j of jumps) insts[j].x = insts.length;
        return;
      }
      case "rep": {
        for (let k = 0; k < n.min; k++) gen(n.node);
        if (n.max === Infinity) {
          const split = emit({ op: Op.Split });
          const body = insts.length;
          gen(n.node);
          emit({ op: Op.Jmp, x: split });
          const out = insts.length;
          insts[split].x = n.greedy ? body : out;
          insts[split].y = n.greedy ? out : body;
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            splits.push(emit({ op: Op.Split }));
            insts[splits[splits.length - 1]].x = insts.length; // provisional: the body follows
            gen(n.node);
          }
          const out = insts.length;
          for (const sp of splits) {
            const body = sp + 1;
            insts[sp].x = n.greedy ? body : out;
            insts[sp].y = n.greedy ? out : body;
          }
        }
        return;
      }
    }
  };
  gen(root);
  emit({ op: Op.Match });
  return { insts, behind };
}

const isWord = (cp: number): boolean =>
  (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95;

/** The text as code points, with each one's UTF-16 offset (offs has one more entry: the end). */
interface Text {
  cps: Uint32Array;
  offs: Uint32Array;
  looks: Map<number, boolean>;
}
function textOf(s: string): Text {
  const cps = new Uint32Array(s.length),
    offs = new Uint32Array(s.length + 1);
  let n = 0;
  for (let i = 0; i < s.length; n++) {
    const cp = s.codePointAt(i)!;
    cps[n] = cp;
    offs[n] = i;
    i += cp > 0xffff ? 2 : 1;
  }
  offs[n] = s.length;
  return { cps: cps.subarray(0, n), offs: offs.subarray(0, n + 1), looks: new Map() };
}

class Vm {
  constructor(readonly prog: Program) {}

  private assert(kind: string, t: Text, pos: number): boolean {
    const n = t.cps.length;
    if (kind === "^") return pos === 0;
    if (kind === "$") return pos === n;
    const before = pos > 0 && isWord(t.cps[pos - 1]),
      after = pos < n && isWord(t.cps[pos]);
    return (before !== after) === (kind === "b");
  }

  private look(inst: Inst, t: Text, pos: number): boolean {
    const key = inst.id! * (t.cps.length + 1) + pos;
    let v = t.looks.get(key);
    if (v === undefined) {
      v = new Vm(inst.look!).run(t, pos, true, true) !== null;
      t.looks.set(key, v);
    }
    return v !== inst.neg;
  }

  /** Adds pc's thread and its epsilon closure to `list`, in priority order; `seen` marks pcs added at this step. */
  private add(
    list: Int32Array,
    len: { n: number },
    starts: Int32Array,
    seen: Uint8Array,
    pc: number,
    start: number,
    t: Text,
    pos: number,
  ): void {
    const stack: number[] = [pc];
    while (stack.length) {
      const p = stack.pop()!;
      if (seen[p]) continue;
      seen[p] = 1;
      const inst = this.prog.insts[p];
      switch (inst.op) {
        case Op.Jmp:
          stack.push(inst.x!);
          break;
        case Op.Split:
          stack.push(inst.y!, inst.x!);
          break; // x first: it is popped first
        case Op.Assert:
          if (this.assert(inst.kind!, t, pos)) stack.push(p + 1);
          break;
        case Op.Look:
          if (this.look(inst, t, pos)) stack.push(p + 1);
          break;
        default:
          list[len.n] = p;
          starts[len.n] = start;
          len.n++;
      }
    }
  }

  /**
   * The leftmost-first match at or after `from` (anchored: only at `from`), as [start, end] in code points, or
   * null.  A backward program (a lookbehind) reads the text from `from` down and returns [end, start].
   */
  run(t: Text, from: number, anchored: boolean, exists = false): [number, number] | null {
    const m = this.prog.insts.length,
      n = t.cps.length,
      back = this.prog.behind;
    let clist = new Int32Array(m),
      cstart = new Int32Array(m),
      nlist = new Int32Array(m),
      nstart = new Int32Array(m);
    const clen = { n: 0 },
      nlen = { n: 0 };
    const seen = new Uint8Array(m);
    let matched: [number, number] | null = null;
    let pos = from;
    this.add(clist, clen, cstart, seen, 0, from, t, pos);
    for (;;) {
      nlen.n = 0;
      const nseen = new Uint8Array(m);
      const atEnd = back ? pos === 0 : pos === n;
      const cp = atEnd ? -1 : t.cps[back ? pos - 1 : pos],
        next = back ? pos - 1 : pos + 1;
      for (let k = 0; k < clen.n; k++) {
        const inst = this.prog.insts[clist[k]];
        if (inst.op === Op.Match) {
          matched = [cstart[k], pos];
          if (exists) return matched; // a lookaround asks only whether there is one
          break; // lower-priority threads are cut; higher-priority ones (already in nlist) may still match longer
        }
        if (cp >= 0 && inst.test!(cp)) this.add(nlist, nlen, nstart, nseen, clist[k] + 1, cstart[k], t, next);
      }
      if (atEnd) break;
      pos = next;
      // a new thread for a match starting here, at the lowest priority, until one is found
      if (!anchored && matched === null) this.add(nlist, nlen, nstart, nseen, 0, pos, t, pos);
      if (nlen.n === 0) {
        if (matched !== null || anchored) break;
      }
      [clist, nlist] = [nlist, clist];
      [cstart, nstart] = [nstart, cstart];
      clen.n = nlen.n;
    }
    return matched;
  }
}

/**
 * Whether a backtracking engine could take more than quadratic time on this pattern: a repetition of something that
 * itself repeats or alternates (`(a+)+`, `(a|ab)*`: exponential), or three unbounded repetitions in a row
 * (`x+x+x+y`: cubic).  Such a pattern runs on LinearRegExp; any other on RegExp.
 */
export function backtracksBadly(source: string): boolean {
  const inner = (n: Node): boolean =>
    n.t === "alt" || n.t === "rep" || (n.t === "cat" && n.items.some(inner)) || (n.t === "look" && inner(n.node));
  const bad = (n: Node): boolean => {
    switch (n.t) {
      case "rep":
        return (n.max > 1 && inner(n.node)) || bad(n.node);
      case "cat":
        return n.items.filter((x) => x.t === "rep" && x.max === Infinity).length >= 3 || n.items.some(bad);
      case "alt":
        return n.alts.some(bad);
      case "look":
        return bad(n.node);
      default:
        return false;
    }
  };
  return bad(new Parser(source).parse());
}

/** A compiled pattern: its matches in a string, as UTF-16 [start, end) pairs, leftmost-first, non-overlapping. */
export class LinearRegExp {
  private readonly vm: Vm;
  constructor(readonly source: string) {
    this.vm = new Vm(compile(new Parser(source).parse(), false));
  }

  *matches(s: string): Generator<[number, number]> {
    const t = textOf(s);
    let from = 0;
    while (from <= t.cps.length) {
      const m = this.vm.run(t, from, false);
      if (!m) return;
      yield [t.offs[m[0]], t.offs[m[1]]];
      from = m[1] > m[0] ? m[1] : m[1] + 1; // an empty match moves on one code point, as RegExp's lastIndex does
    }
  }
}
