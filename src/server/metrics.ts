// The service's Prometheus metrics (prom-client, on a registry of the service's own so two services in one
// process never share counters).  GET /metrics serves registry.metrics().
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface ServiceMetrics {
  registry: Registry;
  requests: Counter<"route" | "method" | "status">;
  latency: Histogram<"route">;
  inFlight: Gauge<"route">;
  batchSize: Histogram<"model" | "kind">;
  queueDepth: Gauge;
  workersBusy: Gauge;
  workersStopped: Gauge;
  workerBusySeconds: Counter<"worker">;
  cacheHits: Counter<"layer">;
  cacheMisses: Counter;
  cacheErrors: Counter;
  rejected: Counter<"reason">;
}

export function createMetrics(sample: {
  depth: () => number;
  busy: () => number;
  stopped: () => number;
}): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "polymodal_" });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "polymodal_http_requests_total",
      help: "HTTP requests answered, by route, method and status",
      labelNames: ["route", "method", "status"],
      registers,
    }),
    latency: new Histogram({
      name: "polymodal_http_request_duration_seconds",
      help: "Time from request to response, by route",
      labelNames: ["route"],
      registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    inFlight: new Gauge({
      name: "polymodal_http_requests_in_flight",
      help: "Requests received and not yet answered, by route",
      labelNames: ["route"],
      registers,
    }),
    batchSize: new Histogram({
      name: "polymodal_batch_size",
      help: "Inputs per batch a worker ran, by model and input kind",
      labelNames: ["model", "kind"],
      registers,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    }),
    queueDepth: new Gauge({
      name: "polymodal_queue_depth",
      help: "Inputs waiting for a worker",
      registers,
      collect() {
        this.set(sample.depth());
      },
    }),
    workersBusy: new Gauge({
      name: "polymodal_workers_busy",
      help: "Workers running a batch now",
      registers,
      collect() {
        this.set(sample.busy());
      },
    }),
    workersStopped: new Gauge({
      name: "polymodal_workers_stopped_total",
      help: "Workers stopped and replaced because their work ran past every deadline",
      registers,
      collect() {
        this.set(sample.stopped());
      },
    }),
    workerBusySeconds: new Counter({
      name: "polymodal_worker_busy_seconds_total",
      help: "Seconds each worker spent running batches",
      labelNames: ["worker"],
      registers,
    }),
    cacheHits: new Counter({
      name: "polymodal_cache_hits_total",
      help: "Embeddings answered from a cache, by layer (lru, redis)",
      labelNames: ["layer"],
      registers,
    }),
    cacheMisses: new Counter({ name: "polymodal_cache_misses_total", help: "Embeddings no cache held", registers }),
    cacheErrors: new Counter({
      name: "polymodal_cache_errors_total",
      help: "Redis cache commands that failed (counted as misses)",
      registers,
    }),
    rejected: new Counter({
      name: "polymodal_rejected_total",
      help: "Requests refused before running: queue full (429) or past their deadline (504)",
      labelNames: ["reason"],
      registers,
    }),
  };
}
