// HNSW (Malkov & Yashunin) over a VectorStore's float32 rows, inner-product distance d = -dot on unit vectors.
// Neighbour lists live in typed arrays; the distances of a node's unvisited neighbours are computed in one WASM
// call.  Levels come from a seeded generator and a deterministic log, so the same inserts build the same graph
// on every engine.  Removed nodes stay in the graph for navigation and never appear in results; filters are
// applied during the search (filtered-out nodes are traversed, not returned).
import * as core from "../core/index.js";
import { log } from "../util/detmath.js";
import type { VectorStore } from "./store.js";
import { DistHeap } from "./heap.js";

export interface HNSWParams {
  m: number;
  efConstruction: number;
  efSearch: number;
  seed?: number;
}

/** Scratch ids/scores buffers in WASM memory, `cap` entries each (>= every list passed: links, entry points). */
interface Scratch {
  ids: number;
  scores: number;
  cap: number;
}

export class HNSW {
  readonly M: number;
  readonly maxM0: number;
  readonly efConstruction: number;
  efSearch: number;
  private readonly mL: number;
  levels = new Int32Array(0);
  links0 = new Int32Array(0); // (cap, maxM0 + 1): count, ids
  upper = new Map<number, Int32Array>(); // node -> levels 1..L, each (M + 1)
  entry = -1;
  maxLevel = -1;
  private visited = new Uint32Array(0);
  private epoch = 0;
  private rng: number;

  constructor(
    readonly store: VectorStore,
    p: HNSWParams,
  ) {
    this.M = p.m;
    this.maxM0 = 2 * p.m;
    this.efConstruction = p.efConstruction;
    this.efSearch = p.efSearch;
    this.mL = 1 / log(p.m);
    this.rng = (p.seed ?? 0x2545f491) >>> 0 || 1;
  }

  ensure(cap: number): void {
    if (this.levels.length >= cap) return;
    const n = Math.max(cap, this.levels.length * 2, 64);
    const lv = new Int32Array(n);
    lv.set(this.levels);
    this.levels = lv;
    const l0 = new Int32Array(n * (this.maxM0 + 1));
    l0.set(this.links0);
    this.links0 = l0;
    const vis = new Uint32Array(n);
    vis.set(this.visited);
    this.visited = vis;
  }

  private randomLevel(): number {
    // xorshift32 -> u in (0, 1]; level = floor(-ln(u) * mL)
    let x = this.rng;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.rng = x;
    const u = (x + 1) / 4294967296;
    return Math.floor(-log(u) * this.mL);
  }

  private linksAt(node: number, level: number): { arr: Int32Array; off: number } {
    if (level === 0) return { arr: this.links0, off: node * (this.maxM0 + 1) };
    return { arr: this.upper.get(node)!, off: (level - 1) * (this.M + 1) };
  }

  private scratch(ef: number): Scratch {
    const heap = core.heap();
    const cap = Math.max(this.maxM0, ef) + 2;
    return { ids: heap.alloc(cap * 4), scores: heap.alloc(cap * 4), cap };
  }

  private nextEpoch(): number {
    if (++this.epoch === 0xffffffff) {
      this.visited.fill(0);
      this.epoch = 1;
    }
    return this.epoch;
  }

  /**
   * Greedy/beam search on one level from the entry points.  q: pointer to the query (dim floats) in WASM
   * memory; ws: scratch for ids and scores (maxM0 + 1 each).  accept(id) decides which nodes may be results
   * (all are traversed).  Returns the result heap (max-heap by distance, size <= ef).
   */
  searchLayer(
    q: number,
    eps: number[],
    ef: number,
    level: number,
    ws: Scratch,
    accept: ((id: number) => boolean) | null,
    top: DistHeap,
    cand: DistHeap,
  ): DistHeap {
    const heap = core.heap();
    const D = this.store.dim;
    const ep = this.nextEpoch();
    top.clear();
    cand.clear();
    // Views made once: nothing allocates WASM memory during the search, so they stay valid.
    let idv = heap.i32(ws.ids, ws.cap),
      sv = heap.f32(ws.scores, ws.cap);
    // A user filter (accept) may run ops that grow WASM memory, which detaches views: refresh them then.
    const fresh = (): void => {
      if (sv.buffer !== heap.memory.buffer) {
        idv = heap.i32(ws.ids, ws.cap);
        sv = heap.f32(ws.scores, ws.cap);
      }
    };
    const X = this.store.f32,
      visited = this.visited;
    for (let i = 0; i < eps.length; i++) idv[i] = eps[i];
    core.scanF32Ids(q, X, D, D, ws.ids, eps.length, ws.scores);
    for (let i = 0; i < eps.length; i++) {
      const e = eps[i],
        d = -sv[i];
      visited[e] = ep;
      cand.push(d, e);
      if (!accept || accept(e)) top.push(d, e);
      fresh();
    }
    while (cand.size > 0) {
      const cd = cand.topD(),
        c = cand.topId();
      if (top.size >= ef && cd > top.topD()) break;
      cand.pop();
      const arr = level === 0 ? this.links0 : this.upper.get(c)!;
      const off = level === 0 ? c * (this.maxM0 + 1) : (level - 1) * (this.M + 1);
      const cnt = arr[off];
      let n = 0;
      for (let j = 1; j <= cnt; j++) {
        const nb = arr[off + j];
        if (visited[nb] === ep) continue;
        visited[nb] = ep;
        idv[n++] = nb;
      }
      if (n === 0) continue;
      core.scanF32Ids(q, X, D, D, ws.ids, n, ws.scores);
      for (let j = 0; j < n; j++) {
        const d = -sv[j],
          nb = idv[j];
        if (top.size < ef || d < top.topD()) {
          cand.push(d, nb);
          if (!accept || accept(nb)) {
            top.push(d, nb);
            if (top.size > ef) top.pop();
          }
          if (accept) fresh();
        }
      }
    }
    return top;
  }

  /** hnswlib's neighbour heuristic: keep a candidate only if it is closer to the base than to every kept one. */
  private selectNeighbors(sorted: Array<[number, number]>, M: number, ws: Scratch): number[] {
    if (sorted.length <= M) return sorted.map(([, id]) => id);
    const heap = core.heap();
    const D = this.store.dim;
    const kept: number[] = [];
    for (const [dq, c] of sorted) {
      if (kept.length >= M) break;
      const idv = heap.i32(ws.ids, ws.cap);
      for (let i = 0; i < kept.length; i++) idv[i] = kept[i];
      let good = true;
      if (kept.length) {
        core.scanF32Ids(this.store.f32 + c * D * 4, this.store.f32, D, D, ws.ids, kept.length, ws.scores);
        const sv = heap.f32(ws.scores, kept.length);
        for (let i = 0; i < kept.length; i++)
          if (-sv[i] < dq) {
            good = false;
            break;
          }
      }
      if (good) kept.push(c);
    }
    return kept;
  }

  private setLinks(node: number, level: number, ids: number[]): void {
    const { arr, off } = this.linksAt(node, level);
    arr[off] = ids.length;
    for (let i = 0; i < ids.length; i++) arr[off + 1 + i] = ids[i];
  }

  insert(node: number): void {
    const heap = core.heap();
    const D = this.store.dim;
    this.ensure(node + 1);
    const level = this.randomLevel();
    this.levels[node] = level;
    this.links0[node * (this.maxM0 + 1)] = 0;
    if (level > 0) this.upper.set(node, new Int32Array(level * (this.M + 1)));
    if (this.entry < 0) {
      this.entry = node;
      this.maxLevel = level;
      return;
    }
    heap.scope(() => {
      const ws = this.scratch(this.efConstruction);
      const q = this.store.f32 + node * D * 4;
      const top = new DistHeap(this.efConstruction + 1, true),
        cand = new DistHeap(this.efConstruction * 4, false);
      let eps = [this.entry];
      for (let lev = this.maxLevel; lev > level; lev--) {
        const r = this.searchLayer(q, eps, 1, lev, ws, null, top, cand);
        eps = [this.bestOf(r)];
      }
      for (let lev = Math.min(level, this.maxLevel); lev >= 0; lev--) {
        const r = this.searchLayer(q, eps, this.efConstruction, lev, ws, null, top, cand);
        const sorted = this.sortedAsc(r);
        const nbs = this.selectNeighbors(sorted, this.M, ws);
        this.setLinks(node, lev, nbs);
        const cap = lev === 0 ? this.maxM0 : this.M;
        for (const nb of nbs) this.connect(nb, node, lev, cap, ws);
        eps = sorted.map(([, id]) => id);
      }
      if (level > this.maxLevel) {
        this.entry = node;
        this.maxLevel = level;
      }
    });
  }

  /** Adds `node` to nb's list at `level`; when full, re-selects nb's neighbours with the heuristic. */
  private connect(nb: number, node: number, level: number, cap: number, ws: Scratch): void {
    const { arr, off } = this.linksAt(nb, level);
    const cnt = arr[off];
    if (cnt < cap) {
      arr[off + 1 + cnt] = node;
      arr[off] = cnt + 1;
      return;
    }
    const heap = core.heap();
    const D = this.store.dim;
    const idv = heap.i32(ws.ids, ws.cap);
    for (let i = 0; i < cnt; i++) idv[i] = arr[off + 1 + i];
    idv[cnt] = node;
    core.scanF32Ids(this.store.f32 + nb * D * 4, this.store.f32, D, D, ws.ids, cnt + 1, ws.scores);
    const sv = heap.f32(ws.scores, cnt + 1),
      ids = heap.i32(ws.ids, cnt + 1);
    const cands: Array<[number, number]> = [];
    for (let i = 0; i <= cnt; i++) cands.push([-sv[i], ids[i]]);
    cands.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.setLinks(nb, level, this.selectNeighbors(cands, cap, ws));
  }

  private sortedAsc(h: DistHeap): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < h.size; i++) out.push([h.d[i], h.id[i]]);
    return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }

  private bestOf(h: DistHeap): number {
    let b = 0;
    for (let i = 1; i < h.size; i++) if (h.d[i] < h.d[b] || (h.d[i] === h.d[b] && h.id[i] < h.id[b])) b = i;
    return h.id[b];
  }

  /** k nearest accepted nodes to the query at pointer q: [distance, id] ascending. */
  search(q: number, k: number, ef: number, accept: ((id: number) => boolean) | null): Array<[number, number]> {
    if (this.entry < 0) return [];
    const heap = core.heap();
    return heap.scope(() => {
      const ws = this.scratch(ef);
      const top = new DistHeap(ef + 1, true),
        cand = new DistHeap(ef * 4, false);
      let ep = this.entry;
      for (let lev = this.maxLevel; lev > 0; lev--)
        ep = this.bestOf(this.searchLayer(q, [ep], 1, lev, ws, null, top, cand));
      const r = this.searchLayer(q, [ep], Math.max(ef, k), 0, ws, accept, top, cand);
      return this.sortedAsc(r).slice(0, k);
    });
  }
}
