// A MultimodalServingPipeline inside a Worker (a browser Web Worker or a Node worker_threads Worker), so the model
// runs off the page's or the server's main thread.  The worker calls exposeServingPipeline(pipeline); the main
// thread talks to it through RemoteServingPipeline, which has the same submit() and getMetrics() (async).
// The calls cross by the worker RPC (worker-rpc.ts): submit(request) and metrics().
// Tensors inside a request cross as { __tensor: dtype, data, shape } and are rebuilt on the other side; bytes,
// strings, typed arrays and nested arrays cross as they are (structured clone).
import { Tensor, type DType } from "../tensor.js";
import {
  ServingQueueFullError,
  ServingTimeoutError,
  type MultimodalRequest,
  type MultimodalResponse,
  type ServingMetrics,
} from "./pipeline.js";
import { exposeWorker, wrapWorker, type MessageEndpoint, type Remote, type WorkerCallError } from "./worker-rpc.js";

type Wire = { __tensor: DType; data: Float32Array | Int32Array; shape: number[] };

const toWire = (modalities: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(modalities).map(([k, v]) => [
      k,
      v instanceof Tensor ? ({ __tensor: v.dtype, data: v.data, shape: [...v.shape] } as Wire) : v,
    ]),
  );
const fromWire = (modalities: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(modalities).map(([k, v]) => [
      k,
      v && typeof v === "object" && "__tensor" in v ? new Tensor((v as Wire).data, (v as Wire).shape) : v,
    ]),
  );

interface Submitter {
  submit(request: MultimodalRequest): Promise<MultimodalResponse>;
  getMetrics(): ServingMetrics;
}

/** What crosses: the pipeline's two calls, requests with their tensors as Wire. */
interface ServingWorker {
  submit(request: MultimodalRequest): Promise<MultimodalResponse>;
  metrics(): ServingMetrics;
}

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
export function exposeServingPipeline(
  pipeline: Submitter,
  endpoint: MessageEndpoint = globalThis as unknown as MessageEndpoint,
): void {
  const served: ServingWorker = {
    submit: (r) => pipeline.submit({ ...r, modalities: fromWire(r.modalities ?? {}) }),
    metrics: () => pipeline.getMetrics(),
  };
  exposeWorker(served, endpoint);
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
  private readonly remote: Remote<ServingWorker> & { readonly inFlight: number };

  constructor(readonly worker: MessageEndpoint) {
    this.remote = wrapWorker<ServingWorker>(worker);
  }

  submit(request: MultimodalRequest): Promise<MultimodalResponse> {
    return this.remote
      .submit({ ...request, modalities: toWire(request.modalities ?? {}) })
      .catch((e: WorkerCallError) => {
        throw e.code === "busy"
          ? new ServingQueueFullError(e.message)
          : e.code === "timeout"
            ? new ServingTimeoutError(e.message)
            : e.code === "worker_gone"
              ? new Error(`RemoteServingPipeline: the ${e.message}`)
              : new Error(e.message);
      });
  }

  getMetrics(): Promise<ServingMetrics> {
    return this.remote.metrics();
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.remote.inFlight;
  }
}
