// Worker threads that run kernels on the same shared WASM memory.  The main thread posts one job per thread
// (a kernel and its numeric arguments) through a small SharedArrayBuffer, runs its own share, then waits for
// the others.  Callers split work along output rows / columns only, so every output element is summed in the
// same order whatever the thread count: results are bit-identical to one thread.

import { PARALLEL_KERNELS, type ParallelKernel } from "./kernels.js";
import { isNode, nodeImport, nodeSpecifier } from "../util/runtime.js";

export { PARALLEL_KERNELS, type ParallelKernel };

const MAX_ARGS = 16;

// Runs inside each worker (Node worker_threads with eval, or a browser Worker from a Blob URL).
const WORKER_SOURCE = `
"use strict";
let post;
function start(d) {
  const inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
  const fns = d.names.map((n) => inst.exports[n]);
  const ctrl = new Int32Array(d.sab, 0, 4), jobs = new Int32Array(d.sab, 16, 64);
  const args = new Float64Array(d.sab, 512 + d.index * ${MAX_ARGS * 8}, ${MAX_ARGS});
  post("ready");
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, 0, seen);
    seen = Atomics.load(ctrl, 0);
    const f = jobs[d.index];
    if (f === -2) return;
    if (f >= 0) {
      try { fns[f](...args); } catch (e) { Atomics.add(ctrl, 2, 1); }
    }
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
  }
}
if (typeof self === "undefined" && typeof require === "function") {
  // (built at run time: no bundler sees it)
  const { parentPort } = require(${JSON.stringify(nodeSpecifier("worker_threads"))});
  post = (m) => parentPort.postMessage(m);
  parentPort.once("message", start);
} else {
  post = (m) => self.postMessage(m);
  self.onmessage = (e) => start(e.data);
}
`;

/**
 * Splits rows [0, n) into at most `threads` ranges whose starts are multiples of `align`, and returns them as
 * [start, count] pairs (empty ranges dropped).
 */
export function splitRows(n: number, threads: number, align = 1): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const units = Math.ceil(n / align);
  for (let i = 0; i < threads; i++) {
    const a = Math.floor((units * i) / threads) * align,
      b = Math.min(n, Math.floor((units * (i + 1)) / threads) * align);
    if (b > a) out.push([a, b - a]);
  }
  return out;
}

interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
  unref?: () => void;
}

export class ThreadPool {
  private readonly ctrl: Int32Array; // [0] job sequence, [1] jobs done, [2] failures, [3] workers gone
  private readonly jobs: Int32Array; // per worker: kernel index, -1 none, -2 stop
  private readonly sab: SharedArrayBuffer;
  private readonly canWait: boolean;

  private constructor(
    readonly size: number,
    private readonly workers: AnyWorker[],
    sab: SharedArrayBuffer,
    private readonly main: Record<string, (...a: number[]) => unknown>,
  ) {
    this.sab = sab;
    this.ctrl = new Int32Array(sab, 0, 4);
    this.jobs = new Int32Array(sab, 16, 64);
    // Atomics.wait may block Node's main thread and any worker, but not a browser page's main thread
    this.canWait = typeof (globalThis as { window?: unknown }).window === "undefined";
  }

  /** Starts size - 1 workers on module + memory (shared); main: the main thread's own instance exports. */
  static async create(
    size: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    main: Record<string, unknown>,
  ): Promise<ThreadPool> {
    if (size > 64) throw new Error(`polymodal.init: at most 64 threads, got ${size}`);
    const sab = new SharedArrayBuffer(512 + size * MAX_ARGS * 8);
    const workers: AnyWorker[] = [];
    const ready: Promise<void>[] = [];
    const gone = (): void => {
      // a worker that exits would never report: wake the main thread with an Error
      const ctrl = new Int32Array(sab, 0, 4);
      Atomics.add(ctrl, 3, 1);
      Atomics.notify(ctrl, 1);
    };
    for (let index = 1; index < size; index++) {
      const w = await spawn(gone);
      workers.push(w.worker);
      ready.push(w.ready);
      w.worker.postMessage({ module, memory, sab, index, names: [...PARALLEL_KERNELS] });
    }
    await Promise.all(ready);
    return new ThreadPool(size, workers, sab, main as Record<string, (...a: number[]) => unknown>);
  }

  /**
   * Runs kernel `name` once per argument list, the first on this thread and the rest on workers, and returns
   * when all have finished.  At most `size` lists.
   */
  run(name: ParallelKernel, argLists: number[][]): void {
    const n = argLists.length;
    if (n > this.size) throw new Error(`internal: ${n} jobs for ${this.size} threads`);
    const id = PARALLEL_KERNELS.indexOf(name);
    for (let w = 1; w < this.size; w++) {
      if (w < n) {
        this.jobs[w] = id;
        new Float64Array(this.sab, 512 + w * MAX_ARGS * 8, MAX_ARGS).set(argLists[w]);
      } else this.jobs[w] = -1;
    }
    Atomics.store(this.ctrl, 1, 0);
    Atomics.store(this.ctrl, 2, 0);
    Atomics.add(this.ctrl, 0, 1);
    Atomics.notify(this.ctrl, 0);
    let failure: unknown = null;
    try {
      this.main[name](...argLists[0]);
    } catch (e) {
      failure = e;
    }
    const others = this.size - 1;
    for (let d = Atomics.load(this.ctrl, 1); d < others; d = Atomics.load(this.ctrl, 1)) {
      if (Atomics.load(this.ctrl, 3))
        throw new Error("polymodal: a worker thread exited; init a new page or process to use threads again");
      if (this.canWait) Atomics.wait(this.ctrl, 1, d, 1000);
    }
    if (failure) throw failure;
    if (Atomics.load(this.ctrl, 2)) throw new Error(`polymodal: a worker thread failed in ${name}`);
  }

  /** Stops the workers. */
  close(): void {
    for (let w = 1; w < this.size; w++) this.jobs[w] = -2;
    Atomics.add(this.ctrl, 0, 1);
    Atomics.notify(this.ctrl, 0);
    for (const w of this.workers) void w.terminate();
  }
}

async function spawn(gone: () => void): Promise<{ worker: AnyWorker; ready: Promise<void> }> {
  // Browsers (a page or a worker) use Web Workers from a Blob URL; Node uses worker_threads.
  if (!isNode && typeof Worker !== "undefined" && typeof Blob !== "undefined" && typeof URL !== "undefined") {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(url);
    let started = false;
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = () => {
        started = true;
        resolve();
      };
      worker.onerror = (e) => {
        if (started) gone();
        else reject(new Error(`polymodal.init: a worker failed to start (${e.message})`));
      };
    });
    return { worker, ready };
  }
  let wt: {
    Worker: new (code: string, o: { eval: boolean }) => AnyWorker & { once(ev: string, f: (x: unknown) => void): void };
  };
  try {
    wt = await nodeImport("worker_threads");
  } catch {
    throw new Error("polymodal.init: threads need Web Workers (a browser) or node:worker_threads (Node)");
  }
  const worker = new wt.Worker(WORKER_SOURCE, { eval: true });
  worker.unref?.(); // idle workers must not keep Node running
  let started = false;
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("message", () => {
      started = true;
      resolve();
    });
    worker.once("error", (e) =>
      reject(new Error(`polymodal.init: a worker failed to start (${(e as Error).message})`)),
    );
    worker.once("exit", () =>
      started ? gone() : reject(new Error("polymodal.init: a worker exited before it started")),
    );
  });
  return { worker, ready };
}
