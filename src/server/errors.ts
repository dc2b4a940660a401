// The service's own errors: a status and the request field concerned, sent as {statusCode, error, message, field}.

/** An error the client caused or must know about: its status, and the request field it concerns. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
    /** a machine-readable reason where an API defines one (OpenAI's "model_not_found") */
    readonly code?: string,
  ) {
    super(message);
  }
}
