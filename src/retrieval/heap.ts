// Binary heaps of (distance, id) on typed arrays for the graph search.
export class DistHeap {
  d: Float64Array;
  id: Int32Array;
  size = 0;
  constructor(
    cap: number,
    private readonly max: boolean,
  ) {
    this.d = new Float64Array(cap);
    this.id = new Int32Array(cap);
  }
  private before(a: number, b: number): boolean {
    // max-heap: larger distance first; ties by larger id, so pops are deterministic
    const da = this.d[a],
      db = this.d[b];
    if (da !== db) return this.max ? da > db : da < db;
    return this.max ? this.id[a] > this.id[b] : this.id[a] < this.id[b];
  }
  private swap(a: number, b: number): void {
    const d = this.d[a];
    this.d[a] = this.d[b];
    this.d[b] = d;
    const i = this.id[a];
    this.id[a] = this.id[b];
    this.id[b] = i;
  }
  clear(): void {
    this.size = 0;
  }
  push(d: number, id: number): void {
    if (this.size === this.d.length) {
      const nd = new Float64Array(this.d.length * 2);
      nd.set(this.d);
      this.d = nd;
      const ni = new Int32Array(this.id.length * 2);
      ni.set(this.id);
      this.id = ni;
    }
    let i = this.size++;
    this.d[i] = d;
    this.id[i] = id;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  topD(): number {
    return this.d[0];
  }
  topId(): number {
    return this.id[0];
  }
  pop(): void {
    this.size--;
    if (this.size === 0) return;
    this.d[0] = this.d[this.size];
    this.id[0] = this.id[this.size];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let b = i;
      if (l < this.size && this.before(l, b)) b = l;
      if (r < this.size && this.before(r, b)) b = r;
      if (b === i) break;
      this.swap(i, b);
      i = b;
    }
  }
}
