import type { IncomingMessage, ServerResponse } from "node:http"
import { HttpServerError } from "@effect/platform"
import { Cause, Effect, Exit, type Fiber, Option, Runtime } from "effect"
import { type ClientError, Internal, isClientError, RateLimited, ShuttingDown } from "../domain/Errors.js"
import type { Principal } from "../domain/Principal.js"
import { AppConfig } from "../services/AppConfig.js"
import { Authenticator, authFailureReason } from "../services/Authenticator.js"
import { Lifecycle } from "../services/Lifecycle.js"
import { RateLimiter } from "../services/RateLimiter.js"
import type { RateDecision } from "../services/RateLimitStore.js"
import { spanned, Tracing } from "../services/Tracing.js"
import { hasBody, requireJson, tooLarge } from "./Body.js"
import { makeClientIpResolver, rateLimitKeyOf } from "./ClientIp.js"
import { makeCors } from "./Cors.js"
import { Observer } from "./Observer.js"
import { QueryRoute } from "./QueryRoute.js"
import { chooseRequestId, handOver, RequestRecord } from "./RequestRecord.js"
import { answerError as answer } from "./Responses.js"
import { canonicalUrl, type Match, matchRoute, openApiPath, routeById, unroutedError } from "./Routes.js"

export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void

/**
 * Admission's outcome: a refusal, the admitted principal's id (`undefined` for a route without
 * credentials), or the effect that decides (a shared rate-limit store, a token still to verify).
 */
type Admitted =
  | ClientError
  | { readonly principal: string | undefined }
  | Effect.Effect<string | undefined, ClientError>

const queryRoute = routeById("query.query")
const queryTemplate = openApiPath(queryRoute.path)
const instanceIdSegment = queryRoute.segments.indexOf(undefined)

/**
 * Every request passes here first, once: its route (src/http/Routes.ts), request id, client address,
 * draining, rate limit, body size and media type, then authentication as the matched route asks.
 * The query route is then served directly (its hot path has no router and no fiber); every
 * other matched route goes on to the HttpApi application under its canonical path, so the router
 * dispatches to the route that was authenticated and to no other; a path no route takes is answered
 * here. When the response closes, the observer writes its audit line and metrics.
 */
export class Gateway extends Effect.Service<Gateway>()("pondpilot/Gateway", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const lifecycle = yield* Lifecycle
    const authenticator = yield* Authenticator
    const limiter = yield* RateLimiter
    const queries = yield* QueryRoute
    const observer = yield* Observer
    const tracing = yield* Tracing
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const clientIpOf = makeClientIpResolver(config.server.trusted_proxies)
    const cors = makeCors(config.server.cors_origins, config.security.authentication.api_key_header)
    const metricsNeedAuth = config.metrics.require_auth
    const maxBodySize = config.server.max_body_size

    const needsAuth = (match: Match) =>
      match.access === "credentials" || (match.access === "metrics" && metricsNeedAuth)

    /** The rate limit's verdict: a refusal, which the record keeps for the warn line, or nothing. */
    const limited = (record: RequestRecord, decision: RateDecision): RateLimited | undefined => {
      if (decision.allowed) return undefined
      record.refused("limit exceeded")
      return new RateLimited({
        message: "too many requests; retry later",
        retryAfterSeconds: decision.retryAfterSeconds
      })
    }

    const authenticated = (record: RequestRecord, principal: Principal): string => {
      record.authenticated(principal)
      return principal.id
    }

    /**
     * What follows the rate limit: body size and media type, then credentials as the route asks.
     * Answered at once (the principal's id, or `undefined` for a route without credentials, or a
     * refusal) when the credentials check is (API keys are), else as an effect.
     */
    const afterLimit = (record: RequestRecord, request: IncomingMessage, match: Match): Admitted => {
      if (Number(request.headers["content-length"] ?? 0) > maxBodySize) return tooLarge(maxBodySize)
      const unsupported = requireJson(request)
      if (unsupported !== undefined) return unsupported
      // A POST without a body is read as JSON `null`, so that `POST /v1/instances` alone works.
      if (request.method === "POST" && !hasBody(request)) request.headers["content-type"] = "application/json"
      if (!needsAuth(match)) return { principal: undefined }
      const checked = authenticator.authenticate(request.headers as never)
      // A success known at once is an exit; refusals and tokens still to verify take the effect path.
      if (record.trace === undefined && Exit.isExit(checked) && Exit.isSuccess(checked))
        return { principal: authenticated(record, checked.value as Principal) }
      return spanned(record.trace, "authenticate", checked).pipe(
        Effect.tapError((error) => Effect.sync(() => record.refused(authFailureReason(error) ?? "invalid"))),
        Effect.map((principal) => authenticated(record, principal))
      )
    }

    const admittedEffect = (admitted: Admitted): Effect.Effect<string | undefined, ClientError> =>
      isClientError(admitted)
        ? Effect.fail(admitted)
        : "principal" in admitted
          ? Effect.succeed(admitted.principal)
          : admitted

    /** Rate limit, then `afterLimit`: without an effect step when the limit's store is this process's memory. */
    const admit = (record: RequestRecord, request: IncomingMessage, match: Match): Admitted => {
      const key = rateLimitKeyOf(record.clientIp)
      if (limiter.consumeNow !== undefined)
        return limited(record, limiter.consumeNow(key)) ?? afterLimit(record, request, match)
      return Effect.flatMap(limiter.consume(key), (decision) => {
        const refusal = limited(record, decision)
        return refusal !== undefined
          ? Effect.fail(refusal)
          : admittedEffect(afterLimit(record, request, match))
      })
    }

    const renderFailure = (record: RequestRecord, res: ServerResponse) => (cause: Cause.Cause<ClientError>) =>
      Effect.gen(function* () {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure) && isClientError(failure.value)) return answer(res, record, failure.value)
        yield* Effect.logError("request failed", cause).pipe(
          Effect.annotateLogs({ request_id: record.requestId })
        )
        answer(res, record, new Internal({ message: "internal error" }))
      })

    /** Hands a matched route to the HttpApi application, under the path its router is given. */
    const dispatch = (
      request: IncomingMessage,
      res: ServerResponse,
      next: NodeHandler,
      record: RequestRecord,
      match: Match
    ): void => {
      request.url = canonicalUrl(match, request.url ?? "/")
      handOver(request, record)
      next(request, res)
    }

    /**
     * An admitted request: a query is taken by the query route, which serves it without a fiber and
     * returns the function that stops it; other routes go to the application.
     */
    const proceed = (
      request: IncomingMessage,
      res: ServerResponse,
      next: NodeHandler,
      record: RequestRecord,
      match: Match,
      principal: string | undefined
    ): (() => void) | undefined => {
      if (match.route === queryRoute) {
        const instanceId = match.segments[instanceIdSegment]!
        const defect = (thrown: unknown) => runFork(renderFailure(record, res)(Cause.die(thrown)))
        return queries.accept({ record, request, res, instanceId, principal: principal!, defect })
      }
      if (match.route === undefined) answer(res, record, unroutedError(match.allow))
      else dispatch(request, res, next, record, match)
      return undefined
    }

    const handle = (request: IncomingMessage, res: ServerResponse, next: NodeHandler): void => {
      const url = request.url ?? "/"
      const query = url.indexOf("?")
      const method = request.method ?? "GET"
      const path = query < 0 ? url : url.slice(0, query)
      const match = matchRoute(method, path)
      const record = new RequestRecord(
        chooseRequestId(request.headers["x-request-id"]),
        clientIpOf(request.socket.remoteAddress, request.headers as never),
        method,
        path,
        match.label
      )
      // The one check tracing costs when it is off.
      if (tracing.enabled)
        record.traced(
          tracing.startRequest(request, res, record, match.route === queryRoute ? queryTemplate : undefined)
        )
      res.setHeader("x-request-id", record.requestId)
      lifecycle.enter()
      // One close listener per response (it runs on every request): what to stop when the client
      // goes away is set below (the admission's fiber, when admission took one; the query).
      let fiber: Fiber.RuntimeFiber<void, never> | undefined
      let stopQuery: (() => void) | undefined
      res.once("close", () => {
        if (fiber !== undefined && !res.writableEnded) {
          fiber.unsafeInterruptAsFork(HttpServerError.clientAbortFiberId)
        }
        stopQuery?.()
        lifecycle.leave()
        observer.finished(record, res.statusCode)
      })

      if (cors.apply(request, res)) return
      if (match.route?.probe === true) {
        dispatch(request, res, next, record, match)
        return
      }
      if (lifecycle.isDraining()) {
        res.setHeader("connection", "close")
        answer(res, record, new ShuttingDown({ message: "the server is shutting down" }))
        return
      }
      // Admission is taken here outside any fiber when it can be at once (the usual case: the
      // rate limit's memory store, API keys); a shared store or a token to verify takes a fiber.
      try {
        const admitted = admit(record, request, match)
        if (isClientError(admitted)) {
          answer(res, record, admitted)
          return
        }
        if ("principal" in admitted) {
          stopQuery = proceed(request, res, next, record, match, admitted.principal)
          return
        }
        fiber = runFork(
          admitted.pipe(
            Effect.flatMap((principal) =>
              Effect.sync(() => {
                stopQuery = proceed(request, res, next, record, match, principal)
              })
            ),
            Effect.catchAllCause(renderFailure(record, res))
          )
        )
      } catch (defect) {
        fiber = runFork(renderFailure(record, res)(Cause.die(defect)))
      }
    }

    return { handle } as const
  })
}) {}
