// Every error answered as {statusCode, error, message, field}: the error family's code decides the status (one
// table: http-status.ts), fastify's own errors carry theirs, a schema violation is a 400 naming the field; a full
// queue says when to retry.  Rejections (429, 504) are counted.
import { STATUS_CODES } from "node:http";
import fp from "fastify-plugin";
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { PolymodalError } from "../../util/errors.js";
import { httpStatusOf } from "../http-status.js";
import type { ServiceMetrics } from "../metrics.js";
import { QueueFullError } from "../pool.js";

export type ServiceError = Error & {
  statusCode?: number;
  validation?: Array<{ instancePath: string; message?: string; params: Record<string, unknown> }>;
  validationContext?: string;
  field?: string;
};

/** A schema violation's field (body.inputs[0].text) and message. */
function describeValidation(err: ServiceError): { field: string; message: string } {
  const v = err.validation![0];
  const extra = v.params.additionalProperty
    ? ` (${JSON.stringify(v.params.additionalProperty)})`
    : v.params.allowedValues
      ? `: ${(v.params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(", ")}`
      : "";
  const field = `${err.validationContext ?? "body"}${v.instancePath.replace(/\//g, ".").replace(/\.(\d+)/g, "[$1]")}`;
  return { field, message: `${field} ${v.message ?? "is invalid"}${extra}` };
}

/** "POST /v1/embed takes application/json, multipart/form-data, ...": the body types a route's schema lists. */
export function routeTakes(req: FastifyRequest): string {
  const content = (req.routeOptions.schema?.body as { content?: Record<string, unknown> } | undefined)?.content;
  const takes = content ? Object.keys(content).join(", ") : "application/json";
  return `${req.method} ${req.routeOptions.url ?? req.url} takes ${takes}`;
}

/** An error's status, message and field, with its side effects: Retry-After on a full queue, rejections counted. */
export function classifyError(
  err: ServiceError & { code?: string },
  req: FastifyRequest,
  reply: FastifyReply,
  metrics: ServiceMetrics,
  log: FastifyBaseLogger,
): { status: number; message: string; field?: string } {
  let status = err instanceof PolymodalError ? httpStatusOf(err) : (err.statusCode ?? 500),
    message = err.message,
    field = err.field;
  if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    // a body of a type this route does not take: say which it does
    message = `${routeTakes(req)}; got ${JSON.stringify(req.headers["content-type"] ?? "")}`;
  } else if (err.validation?.length) {
    ({ field, message } = describeValidation(err));
    status = 400;
  } else if (err instanceof QueueFullError) {
    reply.header("retry-after", String(err.retryAfterSeconds));
    metrics.rejected.inc({ reason: "queue_full" });
  }
  if (status === 504) metrics.rejected.inc({ reason: "deadline" });
  if (status >= 500 && status !== 503 && status !== 504) log.error(err);
  return { status, message, ...(field ? { field } : {}) };
}

const errors: FastifyPluginAsync<{ metrics: ServiceMetrics }> = async (app, { metrics }) => {
  app.setErrorHandler((err: ServiceError, req, reply) => {
    const { status, message, field } = classifyError(err, req, reply, metrics, app.log);
    void reply
      .status(status)
      .send({ statusCode: status, error: STATUS_CODES[status] ?? "Error", message, ...(field ? { field } : {}) });
  });
};

export default fp(errors, { name: "polymodal-errors" });
