import type { IncomingMessage, ServerResponse } from "node:http"
import { HttpServerError } from "@effect/platform"
import { Cause, Effect, Option, Runtime } from "effect"
import { type ClientError, Internal, isClientError, RateLimited, ShuttingDown } from "../domain/Errors.js"
import { AppConfig } from "../services/AppConfig.js"
import { Authenticator } from "../services/Authenticator.js"
import { Lifecycle } from "../services/Lifecycle.js"
import { RateLimiter } from "../services/RateLimiter.js"
import { requireJson } from "./Body.js"
import { QueryRoute } from "./QueryRoute.js"
import { attachContext, chooseRequestId, type RequestContext } from "./RequestContext.js"
import { writeError } from "./Responses.js"

export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void

const queryRoute = /^\/v1\/instances\/([A-Za-z0-9_-]{1,64})\/query$/
const probes = new Set(["/health", "/ready"])

/**
 * Every request passes here first, once: request id, client address, draining, rate limit, body
 * media type and authentication. The query route is then served directly (its hot path has no
 * router and no second fiber); everything else goes on to the HttpApi application.
 */
export class Gateway extends Effect.Service<Gateway>()("pondpilot/Gateway", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const lifecycle = yield* Lifecycle
    const authenticator = yield* Authenticator
    const limiter = yield* RateLimiter
    const queries = yield* QueryRoute
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const metricsNeedAuth = config.metrics.require_auth

    const needsAuth = (path: string) =>
      path.startsWith("/v1/") || path === "/v1" || (metricsNeedAuth && path === "/api/v1/metrics")

    const admit = (
      context: RequestContext,
      request: IncomingMessage
    ): Effect.Effect<string | undefined, ClientError> =>
      Effect.gen(function* () {
        const decision = yield* limiter.consume(context.clientIp)
        if (!decision.allowed) {
          return yield* new RateLimited({
            message: "too many requests; retry later",
            retryAfterSeconds: decision.retryAfterSeconds
          })
        }
        const unsupported = requireJson(request)
        if (unsupported !== undefined) return yield* unsupported
        if (!needsAuth(context.path)) return undefined
        const principal = yield* authenticator.authenticate(request.headers as never)
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
        clientIp: request.socket.remoteAddress ?? "unknown",
        method: request.method ?? "GET",
        path: query < 0 ? url : url.slice(0, query),
        startedAt: process.hrtime.bigint(),
        principal: undefined,
        instanceId: undefined,
        queryType: undefined,
        rowsReturned: undefined,
        errorCode: undefined,
        incomplete: false,
        queryText: undefined
      }
      attachContext(request, context)
      res.setHeader("x-request-id", context.requestId)
      lifecycle.enter()
      res.once("close", () => lifecycle.leave())

      if (probes.has(context.path)) {
        next(request, res)
        return
      }
      if (lifecycle.draining) {
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
      const fiber = runFork(work)
      res.once("close", () => {
        if (!res.writableEnded) fiber.unsafeInterruptAsFork(HttpServerError.clientAbortFiberId)
      })
    }

    return { handle } as const
  })
}) {}
