import type { IncomingMessage, ServerResponse } from "node:http"
import { HttpTraceContext } from "@effect/platform"
import { Context, Effect, Exit, Layer, Option, type Tracer } from "effect"
import { AppConfig } from "./AppConfig.js"

type Attribute = string | number | boolean

/**
 * One span of a request's trace, driven from plain code (the query path is mostly promises): a child
 * starts now and ends when told, with the client-facing error code if it failed. The code, never the
 * message: DuckDB's messages can quote the statement.
 */
export interface Traced {
  readonly span: Tracer.Span
  child(name: string): Traced
  attribute(key: string, value: Attribute | undefined): void
  end(errorCode?: string): void
}

/** A failure's client-facing code (every error of the contract has one); `internal` otherwise. */
const errorCodeOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error ? String(error.code) : "internal"

/** An effect's outcome as a span ends with it: undefined for success, else the failure's code. */
const codeOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  if (exit.cause._tag === "Fail") return errorCodeOf(exit.cause.error)
  return exit.cause._tag === "Interrupt" ? "interrupted" : "internal"
}

/** `effect` in a child span of `parent`; the effect itself when there is no trace (tracing off). */
export const spanned = <A, E, R>(
  parent: Traced | undefined,
  name: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  parent === undefined
    ? effect
    : Effect.suspend(() => {
        const child = parent.child(name)
        return Effect.withParentSpan(effect, child.span).pipe(
          Effect.onExit((exit) => Effect.sync(() => child.end(codeOf(exit))))
        )
      })

/** `run()` in a child span of `parent`, for promise code; `run()` itself when there is no trace. */
export const spannedPromise = <A>(
  parent: Traced | undefined,
  name: string,
  run: (child: Traced | undefined) => Promise<A>
): Promise<A> => {
  if (parent === undefined) return run(undefined)
  const child = parent.child(name)
  return run(child).then(
    (value) => {
      child.end()
      return value
    },
    (error: unknown) => {
      child.end(errorCodeOf(error))
      throw error
    }
  )
}

/** What a request's span reports of it: the request's own record, read when the response closes. */
export interface TracedRequest {
  readonly requestId: string
  readonly clientIp: string
  readonly method: string
  readonly path: string
  readonly instanceId: string | undefined
  readonly queryType: string | undefined
  readonly rowsReturned: number | undefined
  readonly truncated: boolean
  readonly queryText: string | undefined
  readonly incomplete: boolean
  readonly errorCode: string | undefined
}

/**
 * @effect/opentelemetry's `OtelTraceFlags` (a GenericTag, which its key identifies), declared here
 * so that a server that does not trace never loads that package. A caller's parent reaches the SDK's
 * sampler with these flags; without them it would always count as sampled.
 */
const OtelTraceFlags = Context.GenericTag<"OtelTraceFlags", number>(
  "@effect/opentelemetry/Tracer/OtelTraceFlags"
)

/**
 * Spans for requests when tracing is on (`settings.traces`); when it is off, `startRequest` is never
 * called: the gateway checks `enabled` once per request and does no span work at all.
 */
export class Tracing extends Effect.Service<Tracing>()("pondpilot/Tracing", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const tracer = yield* Effect.tracer
    const clock = yield* Effect.clock
    const enabled = config.traces !== undefined
    const logQueryText = config.audit.log_query_text

    const make = (span: Tracer.Span): Traced => ({
      span,
      child: (name) => {
        const child = tracer.span(
          name,
          Option.some(span),
          Context.empty(),
          [],
          clock.unsafeCurrentTimeNanos(),
          "internal"
        )
        return make(child)
      },
      attribute: (key, value) => {
        if (value !== undefined) span.attribute(key, value)
      },
      end: (errorCode) => {
        if (span.status._tag === "Ended") return
        if (errorCode !== undefined) span.attribute("error.type", errorCode)
        span.end(clock.unsafeCurrentTimeNanos(), errorCode === undefined ? Exit.void : Exit.fail(errorCode))
      }
    })

    /**
     * The request's span, a child of the caller's W3C `traceparent` when it sent one; the response
     * carries this span's own `traceparent`. Ends when the response closes, with what the request
     * left in its context (instance, statement type, rows, error code). A request the sampler left
     * out gets no child spans at all (undefined): they would be recorded by nobody.
     */
    const startRequest = (
      request: IncomingMessage,
      res: ServerResponse,
      context: TracedRequest,
      /** The OpenAPI template of the query route when this is a query; its span is named after it. */
      queryRoute: string | undefined
    ): Traced | undefined => {
      const isQuery = queryRoute !== undefined
      const parent = HttpTraceContext.w3c(request.headers as never)
      const span = tracer.span(
        isQuery ? `${context.method} ${queryRoute}` : context.method,
        parent,
        Option.isSome(parent) ? Context.make(OtelTraceFlags, parent.value.sampled ? 1 : 0) : Context.empty(),
        [],
        clock.unsafeCurrentTimeNanos(),
        "server"
      )
      span.attribute("http.request.method", context.method)
      span.attribute("url.path", context.path)
      if (isQuery) span.attribute("http.route", queryRoute)
      span.attribute("client.address", context.clientIp)
      span.attribute("pondpilot.request_id", context.requestId)
      const traced = make(span)
      res.setHeader("traceparent", `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`)
      res.once("close", () => {
        traced.attribute("http.response.status_code", res.statusCode)
        traced.attribute("pondpilot.instance_id", context.instanceId)
        traced.attribute("pondpilot.query_type", context.queryType)
        traced.attribute("pondpilot.rows", context.rowsReturned)
        if (context.truncated) traced.attribute("pondpilot.truncated", true)
        if (logQueryText) traced.attribute("db.query.text", context.queryText)
        // A result cut short after a 200 went out is a failure too; a refusal (4xx) already says why.
        const cut = context.incomplete && res.statusCode < 400
        const code = context.errorCode ?? (cut ? "incomplete" : undefined)
        if (code !== undefined) traced.attribute("error.type", code)
        // A client's mistake (4xx) is not the server's error: the span's status stays ok.
        traced.end(res.statusCode >= 500 || cut ? (code ?? "internal") : undefined)
      })
      return span.sampled ? traced : undefined
    }

    return { enabled, startRequest } as const
  })
}) {}

/**
 * Effect's OpenTelemetry tracer over the SDK's batch processor and OTLP/HTTP exporter when tracing
 * is on; nothing at all when it is off. The SDK is imported only then: a server that does not trace
 * neither evaluates nor holds it.
 */
export const TracingLive = Layer.unwrapEffect(
  Effect.flatMap(AppConfig, (config) => {
    const traces = config.traces
    if (traces === undefined) return Effect.succeed(Layer.empty)
    return Effect.map(
      Effect.promise(() => import("./TracingSdk.js")),
      (sdk) => sdk.exportLayer(traces)
    )
  })
)
