// A MultimodalServingPipeline inside a Worker (a browser Web Worker or a Node worker_threads Worker), so the model
// runs off the page's or the server's main thread.  The worker calls exposeServingPipeline(pipeline); the main
// thread talks to it through RemoteServingPipeline, which has the same submit() and getMetrics() (async).
//   main -> worker  { id, op: "submit", request } | { id, op: "metrics" }
//   worker -> main  { id, ok: true, value } | { id, ok: false, error, code? }
// Tensors inside a request cross as { __tensor: dtype, data, shape } and are rebuilt on the other side; bytes,
// strings, typed arrays and nested arrays cross as they are (structured clone).
import { Tensor, type DType } from "../tensor.js";
import { ServingQueueFullError, ServingTimeoutError, type MultimodalRequest, type MultimodalResponse, type ServingMetrics } from "./pipeline.js";

/** What both ends need of a Worker / worker scope / MessagePort: postMessage and a message listener. */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  /** browsers (Worker, DedicatedWorkerGlobalScope) and Node's MessagePort */
  addEventListener?(type: "message", listener: (event: { data: unknown }) => void): void;
  /** Node's Worker and parentPort (EventEmitter) */
  on?(type: "message", listener: (data: unknown) => void): void;
}

interface Submitter {
  submit(request: MultimodalRequest): Promise<MultimodalResponse>;
  getMetrics(): ServingMetrics;
}

type Wire = { __tensor: DType; data: Float32Array | Int32Array; shape: number[] };

function listen(end: MessageEndpoint, f: (data: unknown) => void): void {
  if (typeof end.on === "function") end.on("message", f);
  else if (typeof end.addEventListener === "function") end.addEventListener("message", (e) => f(e.data));
  else throw new Error("serving worker: the endpoint has neither on() nor addEventListener()");
}

const toWire = (modalities: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(modalities).map(([k, v]) => [k, v instanceof Tensor ? ({ __tensor: v.dtype, data: v.data, shape: [...v.shape] } as Wire) : v]));
const fromWire = (modalities: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(modalities).map(([k, v]) => [k, v && typeof v === "object" && "__tensor" in v ? new Tensor((v as Wire).data, (v as Wire).shape) : v]));

/**
 * In the worker: answers the main thread's requests with `pipeline` (default endpoint: the worker's own scope, or
 * pass Node's `parentPort`).
 * @example
 * // worker.mjs
 * const { parentPort } = await import("node:worker_threads");
 * import { init, loadPretrained, MultimodalServingPipeline, exposeServingPipeline } from "polymodal";
 * await init();
 * const clip = await loadPretrained("clip-scenes");
 * exposeServingPipeline(new MultimodalServingPipeline(clip.model, { batchSize: 8, maxWaitMs: 2 }), parentPort);
 */
export function exposeServingPipeline(pipeline: Submitter, endpoint: MessageEndpoint = globalThis as unknown as MessageEndpoint): void {
  listen(endpoint, (data) => {
    const m = data as { id: number; op: string; request?: MultimodalRequest };
    const reply = (ok: boolean, value: unknown): void => {
      if (ok) { endpoint.postMessage({ id: m.id, ok, value }); return; }
      const e = value as Error & { code?: string };
      endpoint.postMessage({ id: m.id, ok, error: e?.message ?? String(value), code: e?.code });
    };
    if (m.op === "metrics") { reply(true, pipeline.getMetrics()); return; }
    if (m.op !== "submit" || !m.request) { reply(false, new Error(`serving worker: unknown message ${JSON.stringify(m.op)}`)); return; }
    const r = m.request;
    let p: Promise<MultimodalResponse>;
    try {
      p = pipeline.submit({ ...r, modalities: fromWire(r.modalities ?? {}) });
    } catch (e) {
      reply(false, e);
      return;
    }
    p.then((v) => reply(true, v), (e) => reply(false, e));
  });
}

/**
 * On the main thread: a MultimodalServingPipeline that runs in `worker` (which called exposeServingPipeline).
 * Errors come back as Errors with the worker's message; a full queue or a timeout as ServingQueueFullError /
 * ServingTimeoutError.
 * @example
 * const { Worker } = await import("node:worker_threads");
 * import { RemoteServingPipeline } from "polymodal";
 * const serving = new RemoteServingPipeline(new Worker(new URL("./worker.mjs", import.meta.url)));
 * const r = await serving.submit({ requestId: "1", modalities: { image: pngBytes }, task: "embedding" });
 */
export class RemoteServingPipeline {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  constructor(readonly worker: MessageEndpoint) {
    listen(worker, (data) => {
      const m = data as { id: number; ok: boolean; value?: unknown; error?: string; code?: string };
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(m.code === "queue_full" ? new ServingQueueFullError(m.error) : m.code === "timeout" ? new ServingTimeoutError(m.error) : new Error(m.error));
    });
    // a worker that dies fails what it had, instead of leaving those promises pending forever
    const fail = (why: string): void => {
      for (const p of this.pending.values()) p.reject(new Error(`RemoteServingPipeline: the worker ${why}`));
      this.pending.clear();
    };
    const w = worker as MessageEndpoint & { on?(t: string, f: (x: any) => void): void; addEventListener?(t: string, f: (x: any) => void): void };
    if (typeof w.on === "function") {
      w.on("error", (e: Error) => fail(`failed: ${e?.message ?? e}`));
      w.on("exit", (code: number) => fail(`exited (code ${code})`));
    } else if (typeof w.addEventListener === "function") {
      w.addEventListener("error", (e: { message?: string }) => fail(`failed: ${e?.message ?? "error"}`));
    }
  }

  private call<T>(message: Record<string, unknown>): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  submit(request: MultimodalRequest): Promise<MultimodalResponse> {
    return this.call({ op: "submit", request: { ...request, modalities: toWire(request.modalities ?? {}) } });
  }

  getMetrics(): Promise<ServingMetrics> {
    return this.call({ op: "metrics" });
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number { return this.pending.size; }
}
