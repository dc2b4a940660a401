// `polymodal serve`'s flags and help, apart from the service itself so that parsing a command line never loads fastify.
import { availableParallelism } from "node:os";

export const SERVE_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  index: { type: "string" },
  store: { type: "string" },
  workers: { type: "string" },
  "max-queue": { type: "string" },
  "timeout-ms": { type: "string" },
  "max-batch": { type: "string" },
  "max-body-mb": { type: "string" },
  "cache-size": { type: "string" },
  redis: { type: "string" },
  token: { type: "string" },
  cors: { type: "string" },
  log: { type: "boolean" },
  "read-only": { type: "boolean" },
  "max-connections": { type: "string" },
  "max-connections-per-client": { type: "string" },
  "headers-timeout-ms": { type: "string" },
  "body-timeout-ms": { type: "string" },
  "keep-alive-timeout-ms": { type: "string" },
  "max-loop-delay-ms": { type: "string" },
  "max-loop-busy-percent": { type: "string" },
  "max-body-wait-ms": { type: "string" },
} as const;

export const SERVE_HELP = `usage: polymodal serve [--host H] [--port P] [--index DIR] [--workers N] [--max-queue N]
                       [--timeout-ms N] [--redis URL] [--token T]
  An HTTP service on the shipped models (or --models DIR): POST /v1/embed, /v1/search, /v1/index, /v1/transcribe,
  OpenAI's /v1/embeddings and /v1/models, /tokenize; GET /healthz, /readyz, /metrics (Prometheus), /openapi.json.
  Models run in worker threads.
  --host H         interface to bind (default 127.0.0.1, this machine only; 0.0.0.0 for every interface)
  --port P         port (default 8080; 0 picks a free one)
  --index DIR      the index to search and add to (a folder \`polymodal index\` wrote, or a new one)
  --read-only      search --index DIR without ever writing it (POST /v1/index: 409); it follows whoever writes it
  --store URI      lancedb:DIR: vectors in a LanceDB that several services share (alone, or for a new --index)
  --workers N      worker threads running models (default: the number of cores, ${availableParallelism()} here)
  --max-queue N    inputs waiting for a worker before requests get 429 (default 256)
  --timeout-ms N   each request's deadline; past it 504 (default 30000)
  --max-batch N    most inputs per request and per batch (default 64)
  --max-body-mb N  largest request body (default 16)
  --max-connections N  most open connections; more are dropped at once (default 1024)
  --max-connections-per-client N  most open connections from one address (default: no cap of its own)
  --headers-timeout-ms N  a request's headers must arrive within this (default 10000; then 408 and closed)
  --body-timeout-ms N     a whole request, headers and body, must arrive within this (default 12000)
  --keep-alive-timeout-ms N  an idle keep-alive connection closes after this (default 5000)
  --max-loop-delay-ms N   shed load (503 + Retry-After; health routes exempt) while the event loop's delay over
                          the last 100 ms averages more than N ms (default 20; 0: never on delay)
  --max-loop-busy-percent N  shed load while the event loop was busy more than N% of the last 100 ms
                          (default 0: never on utilisation)
  --max-body-wait-ms N    shed load while a request body has waited more than N ms to be parsed (default
                          1000; 0: never on it)
  --cache-size N   in-process embedding cache entries (default 10000; 0 turns it off)
  --redis URL      shared embedding cache, e.g. redis://127.0.0.1:6379
  --token T        require Authorization: Bearer T on every route but /healthz (or set POLYMODAL_TOKEN)
  --cors ORIGINS   allow these browser origins (comma-separated); no CORS headers otherwise
  --log            log every request (JSON lines on stdout)
  --threads N (global) sets kernel threads per worker; --max-pixels N (global) the largest image decoded (default
  16000000 here: a service decodes strangers' images).`;
