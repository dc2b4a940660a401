// `polymodal/worker`: a Worker script that serves a PipelineHost (src/serving/pipeline-host.ts) to whoever started
// it: a page's module Web Worker, or a Node worker_threads Worker (it answers on parentPort).  Call it with
// wrapWorker<PipelineHost>(worker); the first call should be init().
import { exposePipelineHost } from "./serving/pipeline-host.js";
import { isNode, nodeImport } from "./util/runtime.js";

if (isNode) {
  const { parentPort } = await nodeImport("worker_threads");
  if (!parentPort) throw new Error("polymodal/worker: run it as a Worker (new Worker(...)), not as a program");
  exposePipelineHost(parentPort);
} else {
  exposePipelineHost();
}

/** The API this worker serves: `wrapWorker<PipelineHost>(new Worker(...))` on the other side. */
export type { PipelineHost } from "./serving/pipeline-host.js";
