import type { IncomingMessage, ServerResponse } from "node:http"
import { HttpServerError } from "@effect/platform"
import { Cause, Effect, type Fiber, Option, Runtime } from "effect"
import { type ClientError, Internal, isClientError, RateLimited, ShuttingDown } from "../domain/Errors.js"
import { AppConfig } from "../services/AppConfig.js"
import { Authenticator, authFailureReason } from "../services/Authenticator.js"
import { Lifecycle } from "../services/Lifecycle.js"
import { RateLimiter } from "../services/RateLimiter.js"
import { spanned, Tracing } from "../services/Tracing.js"
import { hasBody, requireJson, tooLarge } from "./Body.js"
import { makeClientIpResolver, rateLimitKeyOf } from "./ClientIp.js"
import { makeCors } from "./Cors.js"
import { Observer } from "./Observer.js"
import { QueryRoute } from "./QueryRoute.js"
import { attachContext, chooseRequestId, type RequestContext } from "./RequestContext.js"
import { writeError } from "./Responses.js"

export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void

const queryRoute = /^\/v1\/instances\/([A-Za-z0-9_-]{1,64})\/query$/
const probes = new Set(["/health", "/ready"])

/**
 * A path as the HttpApi router matches it: the router ignores case, repeated and trailing slashes and
 * anything after `;`, and decodes percent-escapes (all but `%2F`). Deciding whether a path needs
 * credentials on the raw text would let `//api/v1/metrics` or `/API/v1/Metrics` reach a protected
 * route unauthenticated, so the decision is made on this form. Over-matching only asks for
 * credentials where the router would answer 404 anyway.
 */
export const routerPath = (path: string): string => {
  const semicolon = path.indexOf(";")
  const cut = semicolon < 0 ? path : path.slice(0, semicolon)
  const decoded = cut.replace(/%(?![2][fF])([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16))
  )
  const collapsed = decoded.toLowerCase().replace(/\/{2,}/g, "/")
  return collapsed.length > 1 && collapsed.endsWith("/") ? collapsed.slice(0, -1) : collapsed
}

/**
 * Every request passes here first, once: request id, client address, draining, rate limit, body
 * size and media type, authentication. The query route is then served directly (its hot path has
 * no router and no second fiber); everything else goes on to the HttpApi application. When the
 * response closes, the observer writes its audit line and metrics.
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

    const needsAuth = (rawPath: string) => {
      const path = routerPath(rawPath)
      return path.startsWith("/v1/") || path === "/v1" || (metricsNeedAuth && path === "/api/v1/metrics")
    }

    const admit = (
      context: RequestContext,
      request: IncomingMessage
    ): Effect.Effect<string | undefined, ClientError> =>
      Effect.gen(function* () {
        const decision = yield* limiter.consume(rateLimitKeyOf(context.clientIp))
        if (!decision.allowed) {
          context.refusal = "limit exceeded"
          return yield* new RateLimited({
            message: "too many requests; retry later",
            retryAfterSeconds: decision.retryAfterSeconds
          })
        }
        if (Number(request.headers["content-length"] ?? 0) > maxBodySize) return yield* tooLarge(maxBodySize)
        const unsupported = requireJson(request)
        if (unsupported !== undefined) return yield* unsupported
        // A POST without a body is read as JSON `null`, so that `POST /v1/instances` alone works.
        if (request.method === "POST" && !hasBody(request))
          request.headers["content-type"] = "application/json"
        if (!needsAuth(context.path)) return undefined
        const principal = yield* spanned(
          context.trace,
          "authenticate",
          authenticator.authenticate(request.headers as never)
        ).pipe(
          Effect.tapError((error) =>
            Effect.sync(() => {
              context.refusal = authFailureReason(error) ?? "invalid"
            })
          )
        )
        context.principal = principal
        return principal.id
      })

    const renderFailure =
      (context: RequestContext, res: ServerResponse) => (cause: Cause.Cause<ClientError>) =>
        Effect.gen(function* () {
          if (Cause.isInterruptedOnly(cause)) return
          const failure = Cause.failureOption(cause)
          if (Option.isSome(failure) && isClientError(failure.value)) {
            context.errorCode = failure.value.code
            return writeError(res, failure.value, context.requestId)
          }
          context.errorCode = "internal"
          yield* Effect.logError("request failed", cause).pipe(
            Effect.annotateLogs({ request_id: context.requestId })
          )
          writeError(res, new Internal({ message: "internal error" }), context.requestId)
        })

    const handle = (request: IncomingMessage, res: ServerResponse, next: NodeHandler): void => {
      const url = request.url ?? "/"
      const query = url.indexOf("?")
      const context: RequestContext = {
        requestId: chooseRequestId(request.headers["x-request-id"]),
        clientIp: clientIpOf(request.socket.remoteAddress, request.headers as never),
        method: request.method ?? "GET",
        path: query < 0 ? url : url.slice(0, query),
        startedAt: process.hrtime.bigint(),
        principal: undefined,
        instanceId: undefined,
        queryType: undefined,
        rowsReturned: undefined,
        errorCode: undefined,
        incomplete: false,
        queryText: undefined,
        truncated: false,
        refusal: undefined,
        trace: undefined
      }
      attachContext(request, context)
      // The one check tracing costs when it is off.
      if (tracing.enabled)
        context.trace = tracing.startRequest(
          request,
          res,
          context,
          context.method === "POST" && queryRoute.test(context.path)
        )
      res.setHeader("x-request-id", context.requestId)
      lifecycle.enter()
      // One close listener per response (it runs on every request): the fiber to interrupt, when
      // one is forked, is set below.
      let fiber: Fiber.RuntimeFiber<void, never> | undefined
      res.once("close", () => {
        if (fiber !== undefined && !res.writableEnded) {
          fiber.unsafeInterruptAsFork(HttpServerError.clientAbortFiberId)
        }
        lifecycle.leave()
        observer.finished(context, res.statusCode)
      })

      if (cors.apply(request, res)) return
      if (probes.has(context.path)) {
        next(request, res)
        return
      }
      if (lifecycle.isDraining()) {
        res.setHeader("connection", "close")
        context.errorCode = "shutting_down"
        writeError(res, new ShuttingDown({ message: "the server is shutting down" }), context.requestId)
        return
      }
      const match = context.method === "POST" ? queryRoute.exec(context.path) : null
      const work = admit(context, request).pipe(
        Effect.flatMap((principal) =>
          match !== null && principal !== undefined
            ? queries.serve(context, request, res, match[1]!, principal)
            : Effect.sync(() => next(request, res))
        ),
        Effect.catchAllCause(renderFailure(context, res))
      )
      fiber = runFork(work)
    }

    return { handle } as const
  })
}) {}
