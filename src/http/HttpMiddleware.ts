import {
  HttpApiBuilder,
  HttpApiError,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Cause, Effect, Layer, Option } from "effect"
import {
  type ClientError,
  Internal,
  InvalidRequest,
  isClientError,
  PayloadTooLarge,
  Unauthorized
} from "../domain/Errors.js"
import { unauthorizedMessage } from "../services/Authenticator.js"
import { Authentication } from "./Authentication.js"
import { NotReady } from "./HealthApi.js"
import { currentRequest } from "./RequestRecord.js"
import { errorBody, errorHeaders } from "./Responses.js"
import { allowedMethods, unroutedError } from "./Routes.js"

/**
 * The principal the gateway authenticated on the request's route; handlers of the groups that carry
 * `Authentication` receive it. Without one (which the route table rules out) the answer is the
 * gateway's own 401, word for word.
 */
export const AuthenticationLive = Layer.succeed(
  Authentication,
  Effect.flatMap(currentRequest, (record) =>
    record?.principal === undefined
      ? Effect.fail(new Unauthorized({ message: unauthorizedMessage }))
      : Effect.succeed(record.principal)
  )
)

const typeWords: Record<string, string> = {
  number: "a number",
  string: "a string",
  boolean: "true or false",
  null: "null"
}

/** What a schema expected, as the contract's other messages say it (`query: expected a string`). */
const expectedWords = (expected: string): string => {
  if (typeWords[expected] !== undefined) return typeWords[expected]
  if (/^"[^"]*"(?: \| "[^"]*")*$/.test(expected))
    return `one of ${expected.replaceAll('"', "").split(" | ").join(", ")}`
  // A struct is described by its type or its identifier; either way the client sent something else.
  if (expected.startsWith("{") || /^[A-Z][A-Za-z]*$/.test(expected)) return "an object"
  return expected
}

/**
 * The framework's first issue in the contract's style: `where: expected …` in lower case without
 * quoting the value back, `where: is required`, `unknown field "…"`, as the query route words them.
 */
const decodeMessage = (error: HttpApiError.HttpApiDecodeError): string => {
  const first = error.issues[0]
  if (first === undefined) return "the request does not match the expected shape"
  const path = first.path.map(String)
  if (first._tag === "Unexpected") {
    const where = path.length > 1 ? `${path.slice(0, -1).join(".")}: ` : ""
    return `${where}unknown field "${(path.at(-1) ?? "").slice(0, 64)}"`
  }
  const where = path.length > 0 ? `${path.join(".")}: ` : ""
  const typed = /^Expected (.+?), actual /s.exec(first.message)
  const text =
    first._tag === "Missing"
      ? "is required"
      : typed !== null
        ? `expected ${expectedWords(typed[1]!)}`
        : first.message.charAt(0).toLowerCase() + first.message.slice(1)
  return `${where}${text}`.slice(0, 300)
}

const isStackOverflow = (value: unknown) =>
  value instanceof RangeError && value.message.includes("Maximum call stack size exceeded")

/** A failure the HttpApi application produced, as a client error of the contract. */
const classify = (cause: Cause.Cause<unknown>): ClientError | NotReady | undefined => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (isClientError(error) || error instanceof NotReady) return error
    if (error instanceof HttpApiError.HttpApiDecodeError)
      return new InvalidRequest({ message: decodeMessage(error) })
    if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
      const incoming = NodeHttpServerRequest.toIncomingMessage(error.request)
      const allow = allowedMethods(incoming.url ?? "/")
      // A path the router could not take even with an allowed method (a malformed segment) is unknown.
      return unroutedError(allow.includes(incoming.method ?? "GET") ? [] : allow)
    }
    return undefined
  }
  const defect = Cause.dieOption(cause)
  // Schema's error formatter recurses through the value it rejects: a body nested 100,000 deep
  // overflows the stack while the framework describes it. Bodies are the only input that deep.
  if (Option.isSome(defect) && isStackOverflow(defect.value)) {
    return new InvalidRequest({ message: "the request body is nested too deeply" })
  }
  if (
    Option.isSome(defect) &&
    HttpServerError.isServerError(defect.value) &&
    defect.value._tag === "RequestError"
  ) {
    const reason = defect.value.cause
    if (reason instanceof Error && reason.message === "maxBytes exceeded") {
      return new PayloadTooLarge({ message: "the request body is too large" })
    }
    return new InvalidRequest({ message: "the request body is not valid JSON" })
  }
  return undefined
}

/**
 * Every error of the HttpApi application leaves as the contract's JSON body, never the framework's
 * own; what is not a client error is logged with the request id and answered `500 internal`.
 */
export const ErrorMiddlewareLive = HttpApiBuilder.middleware((app) =>
  Effect.catchAllCause(app, (cause) =>
    Effect.gen(function* () {
      if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
      const record = yield* currentRequest
      const requestId = record?.requestId ?? "unknown"
      const error = classify(cause)
      if (error instanceof NotReady) {
        return HttpServerResponse.unsafeJson(
          { status: "not_ready", error: error.error },
          { status: NotReady.status }
        )
      }
      if (error === undefined) {
        yield* Effect.logError("request failed", cause).pipe(Effect.annotateLogs({ request_id: requestId }))
      }
      const clientError = error ?? new Internal({ message: "internal error" })
      record?.failed(clientError.code)
      const incoming = NodeHttpServerRequest.toIncomingMessage(yield* HttpServerRequest.HttpServerRequest)
      return HttpServerResponse.text(errorBody(clientError, requestId), {
        status: clientError.status,
        contentType: "application/json",
        headers: { ...errorHeaders(clientError), ...(incoming.complete ? {} : { connection: "close" }) }
      })
    })
  )
)
