import { randomBytes } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { Context, Effect } from "effect"
import type { Principal } from "../domain/Principal.js"
import type { Traced, TracedRequest } from "../services/Tracing.js"

/**
 * What one request learns on its way, in one record: made by the gateway on arrival, written
 * through one method per fact, and read once when the response closes, by the observer (audit line,
 * metrics) and the request's span. Code on the gateway's path receives it as a value; HttpApi
 * handlers and middleware as the `CurrentRequest` service.
 */
export class RequestRecord implements TracedRequest {
  /** `process.hrtime.bigint()` at arrival. */
  readonly startedAt = process.hrtime.bigint()
  #principal: Principal | undefined = undefined
  #refusal: string | undefined = undefined
  #instanceId: string | undefined = undefined
  #queryText: string | undefined = undefined
  #queryType: string | undefined = undefined
  #rowsReturned: number | undefined = undefined
  #truncated = false
  #incomplete = false
  #errorCode: string | undefined = undefined
  #trace: Traced | undefined = undefined

  constructor(
    readonly requestId: string,
    readonly clientIp: string,
    readonly method: string,
    /** The path as sent, without its query string. */
    readonly path: string,
    /** The route table's metric label for the request. */
    readonly routeLabel: string
  ) {}

  /** The authenticated caller; set by the gateway. */
  get principal(): Principal | undefined {
    return this.#principal
  }
  authenticated(principal: Principal): void {
    this.#principal = principal
  }

  /** Why the gateway refused the request (authentication or rate limit), for the warn line. */
  get refusal(): string | undefined {
    return this.#refusal
  }
  refused(reason: string): void {
    this.#refusal = reason
  }

  get instanceId(): string | undefined {
    return this.#instanceId
  }
  /** The query text, kept only when the audit log is told to log it. */
  get queryText(): string | undefined {
    return this.#queryText
  }
  /** The statement the client sent; kept only when the audit log is told to log query text. */
  queryReceived(queryText: string): void {
    this.#queryText = queryText
  }
  /**
   * A query starts on `instanceId`. It is incomplete until the whole result is handed to the socket:
   * the audit line is written when the response closes, which for a client that went away is before
   * the query has stopped.
   */
  queryStarted(instanceId: string): void {
    this.#instanceId = instanceId
    this.#incomplete = true
  }

  /** DuckDB's statement type (`SELECT`, ...), or the refused statement's first keyword. */
  get queryType(): string | undefined {
    return this.#queryType
  }
  statementType(queryType: string): void {
    this.#queryType = queryType
  }

  get rowsReturned(): number | undefined {
    return this.#rowsReturned
  }
  rows(count: number): void {
    this.#rowsReturned = count
  }

  /** A result cut at `query.max_rows`. */
  get truncated(): boolean {
    return this.#truncated
  }
  /** A result stream that ended early (error, timeout, cancel) after its headers were sent. */
  get incomplete(): boolean {
    return this.#incomplete
  }
  /** The result's rows are all encoded; `truncated` when they stopped at `query.max_rows`. */
  resultEnds(truncated: boolean): void {
    this.#truncated = truncated
  }
  /** The whole result was handed to the socket. */
  resultSent(): void {
    this.#incomplete = false
  }
  /** The result had begun and was cut short. */
  resultBroken(): void {
    this.#incomplete = true
  }

  /** The client-facing code of the response's failure, for logs, metrics and the span. */
  get errorCode(): string | undefined {
    return this.#errorCode
  }
  failed(code: string): void {
    this.#errorCode = code
  }

  /** The request's span, only while tracing is on. */
  get trace(): Traced | undefined {
    return this.#trace
  }
  traced(trace: Traced | undefined): void {
    this.#trace = trace
  }
}

/** The record of the request an HttpApi handler or middleware is serving. */
export class CurrentRequest extends Context.Tag("pondpilot/CurrentRequest")<
  CurrentRequest,
  RequestRecord
>() {}

/** The current request's record, where a service's type leaves no room for requirements. */
export const currentRequest: Effect.Effect<RequestRecord | undefined> = Effect.map(
  Effect.serviceOption(CurrentRequest),
  (found) => (found._tag === "Some" ? found.value : undefined)
)

// The HttpApi application is entered through @effect/platform-node's handler, which takes only the
// node request: the gateway leaves the record here for the one place that provides it as a service.
const handedOver = new WeakMap<IncomingMessage, RequestRecord>()

export const handOver = (request: IncomingMessage, record: RequestRecord): void => {
  handedOver.set(request, record)
}

export const takeOver = (request: IncomingMessage): RequestRecord | undefined => handedOver.get(request)

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/

// Unique per process (a random prefix) and per request (a counter): no entropy drawn per request.
const processPrefix = `req_${randomBytes(6).toString("base64url")}`
let requestCounter = 0

/** A client's `X-Request-ID` is kept when it is 1–128 chars of `[A-Za-z0-9._-]`; otherwise one is made. */
export const chooseRequestId = (header: string | Array<string> | undefined): string =>
  typeof header === "string" && requestIdPattern.test(header)
    ? header
    : `${processPrefix}${(requestCounter++).toString(36).padStart(6, "0")}`
