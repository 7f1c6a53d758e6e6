import type { ServerResponse } from "node:http"
import type { ClientError } from "../domain/Errors.js"
import type { RequestRecord } from "./RequestRecord.js"

/** The one error body of the contract, as `errorWire` (domain/Errors.ts) describes it. */
export const errorBody = (error: ClientError, requestId: string): string =>
  JSON.stringify({ code: error.code, error: error.message, requestId })

export const errorHeaders = (error: ClientError): Record<string, string> => {
  switch (error._tag) {
    case "RateLimited":
      return { "retry-after": String(Math.max(1, Math.ceil(error.retryAfterSeconds))) }
    case "MethodNotAllowed":
      return { allow: error.allow.join(", ") }
    default:
      return {}
  }
}

/**
 * A refusal sent before the request's body was read (too large, wrong type, unauthenticated, rate
 * limited) closes the connection: the rest of the body would otherwise have to be read and thrown away
 * before the connection could serve another request, or a client reusing it would wait for nothing.
 */
export const bodyUnread = (res: ServerResponse): boolean => res.req !== undefined && !res.req.complete

/** Answers with a JSON error, or cuts the connection when a response had already begun. */
export const writeError = (res: ServerResponse, error: ClientError, requestId: string): void => {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = errorBody(error, requestId)
  res.writeHead(error.status, {
    ...errorHeaders(error),
    ...(bodyUnread(res) ? { connection: "close" } : {}),
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body)
  })
  res.end(body)
}

/** Answers with one of the contract's errors, which the record keeps for the logs and metrics. */
export const answerError = (res: ServerResponse, record: RequestRecord, error: ClientError): void => {
  record.failed(error.code)
  writeError(res, error, record.requestId)
}
