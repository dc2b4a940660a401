// Calls into a Worker as if it were an object: the worker exposes an object's methods (exposeWorker), the main
// thread gets a proxy whose every method returns a Promise of the worker's result (wrapWorker).  The same in a
// browser (Web Worker, its global scope) and in Node (worker_threads: the Worker and parentPort), so a page or a
// server keeps its main thread free while a model runs.
//   main -> worker  { id, method, args }
//   worker -> main  { id, ok: true, value } | { id, ok: false, error, code? }
// Arguments and results cross by structured clone (typed arrays, bytes, strings, plain objects and arrays); an
// Error crosses as its message and its `code`, and is rebuilt as an Error on the main thread.

/** What both ends need of a Worker / worker scope / MessagePort: postMessage and a message listener. */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  /** browsers (Worker, DedicatedWorkerGlobalScope) and Node's MessagePort */
  addEventListener?(type: "message", listener: (event: { data: unknown }) => void): void;
  /** Node's Worker and parentPort (EventEmitter) */
  on?(type: "message", listener: (data: unknown) => void): void;
}

export function listen(end: MessageEndpoint, f: (data: unknown) => void): void {
  if (typeof end.on === "function") end.on("message", f);
  else if (typeof end.addEventListener === "function") end.addEventListener("message", (e) => f(e.data));
  else throw new Error("worker: the endpoint has neither on() nor addEventListener()");
}

/** The methods of T as the main thread sees them: the same arguments, a Promise of the result. */
export type Remote<T> = {
  [K in keyof T as T[K] extends (...a: never[]) => unknown ? K : never]: T[K] extends (...a: infer A) => infer R
    ? (...a: A) => Promise<Awaited<R>>
    : never;
};

/** An Error from the worker: its message, and its `code` when it had one. */
export class WorkerCallError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface ExposeOptions {
  /** buffers of a result to move rather than copy (the result's owner gives them up: e.g. fresh embeddings) */
  transfer?(value: unknown): ArrayBuffer[];
}

/**
 * In the worker: answers calls of `target`'s methods (sync or async) from the main thread.
 * @example
 * // worker.ts (a Web Worker; in Node pass parentPort from node:worker_threads)
 * import { init, loadPretrained, exposeWorker } from "polymodal";
 * await init();
 * const clip = await loadPretrained("clip-scenes");
 * exposeWorker({ embedTexts: (texts: string[]) => clip.embedTexts(texts) });
 */
export function exposeWorker(
  target: object,
  endpoint: MessageEndpoint = globalThis as unknown as MessageEndpoint,
  options: ExposeOptions = {},
): void {
  listen(endpoint, (data) => {
    const m = data as { id: number; method: string; args: unknown[] };
    const fail = (value: unknown): void => {
      const e = value as Error & { code?: string };
      endpoint.postMessage({
        id: m.id,
        ok: false,
        error: e?.message ?? String(value),
        code: typeof e?.code === "string" ? e.code : undefined,
      });
    };
    const reply = (ok: boolean, value: unknown): void => {
      if (!ok) {
        fail(value);
        return;
      }
      try {
        const transfer = options.transfer?.(value);
        // every endpoint (Worker, worker scope, MessagePort) takes a transfer list second; the interface leaves it out
        // because the DOM's and Node's overloads of it do not unify
        if (transfer?.length)
          (endpoint.postMessage as (msg: unknown, t: ArrayBuffer[]) => void).call(
            endpoint,
            { id: m.id, ok, value },
            transfer,
          );
        else endpoint.postMessage({ id: m.id, ok, value });
      } catch (e) {
        fail(new Error(`worker: the result of ${m.method} cannot be sent (${(e as Error).message})`)); // not cloneable
      }
    };
    // a method of the object (own or its class's), never one every object has (constructor, toString, ...)
    const f = typeof m.method === "string" ? (target as Record<string, unknown>)[m.method] : undefined;
    if (
      typeof f !== "function" ||
      m.method === "constructor" ||
      f === (Object.prototype as unknown as Record<string, unknown>)[m.method]
    ) {
      reply(false, new Error(`worker: no method ${JSON.stringify(m.method)}`));
      return;
    }
    try {
      Promise.resolve(f.apply(target, Array.isArray(m.args) ? m.args : [])).then(
        (v) => reply(true, v),
        (e) => reply(false, e),
      );
    } catch (e) {
      reply(false, e);
    }
  });
}

/**
 * On the main thread: `worker`'s exposed methods, each returning a Promise.  A worker that fails or exits rejects
 * every call it had not answered (never a promise left pending).
 * @example
 * const w = wrapWorker<{ embedTexts(t: string[]): Float32Array[] }>(new Worker(new URL("./worker.js",
 * import.meta.url), { type: "module" }));
 * const [e] = await w.embedTexts(["a red circle"]);   // the page's main thread stays free meanwhile
 */
export interface WrapOptions {
  /** buffers of a call's arguments to move rather than copy (the caller gives them up: e.g. uploads, once sent) */
  transfer?(method: string, args: readonly unknown[]): ArrayBuffer[];
}

export function wrapWorker<T extends object>(
  worker: MessageEndpoint,
  options: WrapOptions = {},
): Remote<T> & { readonly inFlight: number } {
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  listen(worker, (data) => {
    const m = data as { id: number; ok: boolean; value?: unknown; error?: string; code?: string };
    const p = pending.get(m?.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new WorkerCallError(m.error ?? "worker: failed", m.code));
  });
  const fail = (why: string): void => {
    for (const p of pending.values()) p.reject(new WorkerCallError(`worker ${why}`, "worker_gone"));
    pending.clear();
  };
  const w = worker as MessageEndpoint & {
    on?(t: string, f: (x: any) => void): void;
    addEventListener?(t: string, f: (x: any) => void): void;
  };
  if (typeof w.on === "function") {
    w.on("error", (e: Error) => fail(`failed: ${e?.message ?? e}`));
    w.on("exit", (code: number) => fail(`exited (code ${code})`));
  } else if (typeof w.addEventListener === "function") {
    w.addEventListener("error", (e: { message?: string }) => fail(`failed: ${e?.message ?? "error"}`));
  }
  return new Proxy({} as Remote<T> & { inFlight: number }, {
    get(_t, method) {
      if (method === "inFlight") return pending.size;
      // not a thenable: await wrapWorker(...) is the proxy
      if (typeof method !== "string" || method === "then") return undefined;
      return (...args: unknown[]) =>
        new Promise((resolve, reject) => {
          const id = next++;
          pending.set(id, { resolve, reject });
          const transfer = options.transfer?.(method, args);
          if (transfer?.length)
            (worker.postMessage as (msg: unknown, t: ArrayBuffer[]) => void).call(
              worker,
              { id, method, args },
              transfer,
            );
          else worker.postMessage({ id, method, args });
        });
    },
  });
}
