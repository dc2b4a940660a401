// Load shedding: the worker queue's bound (429) protects the workers, but the event loop saturates first under a
// flood of uploads (every body is read, parsed and decoded here), and then every answer waits — /healthz too, so
// probes fail and orchestrators restart a service that was only busy.  A new request is answered 503 with
// Retry-After in its onRequest hook — before its body is parsed, so a refusal costs the loop little — while
//   - the event loop's mean delay over the last sample passes maxEventLoopDelayMs, or its utilisation passes
//     maxEventLoopUtilization (measured by @fastify/under-pressure), or
//   - the oldest request body queued for its turn (turns.ts) has waited longer than maxBodyWaitMs: the loop keeps
//     its sockets answered by parsing bodies a slice per turn, so an excess of uploads shows up as this backlog.
// Only requests whose refusal costs less than their admission are shed: those with at most 64 KiB of body, and
// uploads whose client asked first (`Expect: 100-continue`, as curl does for bodies over 1 MB), refused before
// they send a byte.  A larger upload sent unasked is admitted (the queue's 429 and its deadline still bound it):
// Node reads a refused body anyway to keep the connection, and clients that retry at once would send it again
// right away — measured, shedding those multiplied the bytes the loop read by 40 and cut answered uploads by 6.
// Nothing is shed while at most minInFlight requests are in flight: then the lateness comes from elsewhere (another
// process's CPU, a pause of the collector) and refusing work cannot help — on a busy 2-core machine a loop runs
// 20 ms late with a handful of requests, and a service must not refuse them.  Routes marked
// `config: { alwaysAnswer: true }` (/healthz, /readyz, /metrics) are never shed.
import type { IncomingMessage, ServerResponse } from "node:http";
import fp from "fastify-plugin";
import underPressure from "@fastify/under-pressure";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "../errors.js";
import type { ServiceMetrics } from "../metrics.js";
import type { TurnBudget } from "../turns.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** answered even while the service sheds load (health and metrics routes) */
    alwaysAnswer?: boolean;
  }
}

export interface SheddingOptions {
  /** shed while the event loop's mean delay over the last sample exceeds this (ms; 0: never on delay) */
  maxEventLoopDelayMs: number;
  /** shed while the event loop's utilisation over the last sample exceeds this (0..1; 0: never on utilisation) */
  maxEventLoopUtilization: number;
  /** shed while a request body has waited longer than this for its turn to be parsed (ms; 0: never on it) */
  maxBodyWaitMs: number;
  /** how often the loop is measured (ms): how fast shedding starts and stops */
  sampleIntervalMs: number;
  /** never shed while at most this many requests (not counting health routes) are in flight */
  minInFlight: number;
  turns: TurnBudget;
  metrics: ServiceMetrics;
}

/** Seconds a shed client is told to wait: the loop's state is re-measured every sample, so soon. */
const RETRY_AFTER_SECONDS = 1;
/** Marks a request that asked `Expect: 100-continue` while the service was shedding: refused, no body read. */
const REFUSED_UNSENT = Symbol("polymodal.refusedUnsent");
type Raw = IncomingMessage & { [REFUSED_UNSENT]?: string };
/** The most body a refused request may send unasked: Node reads it to keep the connection. */
const UNASKED_BODY_BYTES = 64 * 1024;

/** Whether refusing `req` saves the loop work: it has a small body (or none), or it waits for leave to send one. */
function cheapToRefuse(req: FastifyRequest): boolean {
  if ((req.raw as Raw)[REFUSED_UNSENT] !== undefined) return true;
  const length = req.headers["content-length"];
  if (length === undefined) return req.headers["transfer-encoding"] === undefined;
  return Number(length) <= UNASKED_BODY_BYTES;
}

const shedding: FastifyPluginAsync<SheddingOptions> = async (app, o) => {
  const delayLimited = o.maxEventLoopDelayMs > 0 || o.maxEventLoopUtilization > 0;
  if (!delayLimited && o.maxBodyWaitMs <= 0) return;
  // the refusal is thrown: each route's own error handler words it (OpenAI's shape on /v1/embeddings)
  const refuse = (reply: FastifyReply, why: string): never => {
    o.metrics.rejected.inc({ reason: "overloaded" });
    void reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    throw new HttpError(503, `the service is overloaded: ${why}; retry after ${RETRY_AFTER_SECONDS} s`);
  };
  const bodiesWait = (): string | null => {
    const waited = o.turns.oldestWaitMs();
    return o.maxBodyWaitMs > 0 && waited > o.maxBodyWaitMs
      ? `request bodies wait ${Math.round(waited)} ms to be read (limit ${o.maxBodyWaitMs} ms)`
      : null;
  };
  const loopLate = (type: string, value: number | undefined): string =>
    type === "eventLoopDelay"
      ? // (no tick at all in a sample reads as an infinite delay)
        `its event loop runs ${Number.isFinite(value) ? `${Math.round(value ?? 0)} ms` : "a whole sample"} ` +
        `late (limit ${o.maxEventLoopDelayMs} ms)`
      : `its event loop is ${Math.round((value ?? 0) * 100)}% busy (limit ${o.maxEventLoopUtilization * 100}%)`;

  const pressure = (): string => {
    const m = app.memoryUsage();
    return o.maxEventLoopDelayMs > 0 && m.eventLoopDelay > o.maxEventLoopDelayMs
      ? loopLate("eventLoopDelay", m.eventLoopDelay)
      : loopLate("eventLoopUtilization", m.eventLoopUtilized);
  };
  let inFlight = 0;
  /** more than minInFlight requests in flight, counting `arriving` not yet counted */
  const crowded = (arriving = 0): boolean => inFlight + arriving > o.minInFlight;
  // A client that asks before sending its body: while shedding, it is told 503 instead of 100 Continue and its
  // connection closes after the answer (a body it sends anyway is never read as a next request).
  app.server.on("checkContinue", (req: Raw, res: ServerResponse) => {
    const why = !crowded(1) ? null : (bodiesWait() ?? (delayLimited && app.isUnderPressure() ? pressure() : null));
    if (why) req[REFUSED_UNSENT] = why;
    else res.writeContinue();
    app.server.emit("request", req, res);
  });
  app.addHook("onRequest", async (req, reply) => {
    const raw = req.raw as Raw,
      unsent = raw[REFUSED_UNSENT];
    if (!req.routeOptions.config.alwaysAnswer) {
      inFlight++;
      reply.raw.once("close", () => inFlight--); // answered, or its connection dropped
    }
    if (unsent !== undefined && req.routeOptions.config.alwaysAnswer) {
      reply.raw.writeContinue(); // (withheld above: the body is wanted after all)
      delete raw[REFUSED_UNSENT];
      return;
    }
    if (req.routeOptions.config.alwaysAnswer || !cheapToRefuse(req)) return;
    if (unsent !== undefined) {
      void reply.header("connection", "close");
      refuse(reply, unsent);
    }
    const why = crowded() ? bodiesWait() : null;
    if (why) refuse(reply, why);
  });
  if (!delayLimited) return;
  await app.register(underPressure, {
    maxEventLoopDelay: o.maxEventLoopDelayMs,
    maxEventLoopUtilization: o.maxEventLoopUtilization,
    eventLoopUtilizationMode: "interval",
    sampleInterval: o.sampleIntervalMs,
    async pressureHandler(req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) {
      if (!req.routeOptions.config.alwaysAnswer && crowded() && cheapToRefuse(req))
        refuse(reply, loopLate(type, value));
    },
  });
};

export default fp(shedding, { name: "polymodal-shedding" });
