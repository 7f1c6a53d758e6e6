import { randomBytes } from "node:crypto"
import type { IncomingMessage } from "node:http"
import type { Principal } from "../domain/Principal.js"
import type { Traced } from "../services/Tracing.js"

/** What the gateway learns about a request, read by handlers, the audit log and the metrics. */
export interface RequestContext {
  readonly requestId: string
  readonly clientIp: string
  readonly method: string
  /** The path without its query string. */
  readonly path: string
  /** `process.hrtime.bigint()` at arrival. */
  readonly startedAt: bigint
  principal: Principal | undefined
  instanceId: string | undefined
  queryType: string | undefined
  rowsReturned: number | undefined
  /** Set when a response failed; the client-facing code, for logs and metrics. */
  errorCode: string | undefined
  /** A result stream that ended early (error, timeout, cancel) after its headers were sent. */
  incomplete: boolean
  /** The query text, kept only when the audit log is told to log it. */
  queryText: string | undefined
  /** A result cut at `query.max_rows`. */
  truncated: boolean
  /** Why the gateway refused the request (authentication or rate limit), for the warn line. */
  refusal: string | undefined
  /** The request's span, only while tracing is on. */
  trace: Traced | undefined
}

const contexts = new WeakMap<IncomingMessage, RequestContext>()

export const attachContext = (request: IncomingMessage, context: RequestContext): void => {
  contexts.set(request, context)
}

export const contextOf = (request: IncomingMessage): RequestContext | undefined => contexts.get(request)

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/

// Unique per process (a random prefix) and per request (a counter): no entropy drawn per request.
const processPrefix = `req_${randomBytes(6).toString("base64url")}`
let requestCounter = 0

/** A client's `X-Request-ID` is kept when it is 1–128 chars of `[A-Za-z0-9._-]`; otherwise one is made. */
export const chooseRequestId = (header: string | Array<string> | undefined): string =>
  typeof header === "string" && requestIdPattern.test(header)
    ? header
    : `${processPrefix}${(requestCounter++).toString(36).padStart(6, "0")}`
