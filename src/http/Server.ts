import * as http from "node:http"
import type { AddressInfo } from "node:net"
import {
  HttpApiBuilder,
  HttpIncomingMessage,
  HttpMiddleware,
  HttpServer,
  HttpServerError,
  HttpServerRequest
} from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { ShuttingDown } from "../domain/Errors.js"
import { AppConfig } from "../services/AppConfig.js"
import { InstanceRegistry } from "../services/InstanceRegistry.js"
import { Lifecycle } from "../services/Lifecycle.js"
import { QueryTracker } from "../services/QueryTracker.js"
import { Gateway } from "./Gateway.js"
import { CurrentRequest, takeOver } from "./RequestRecord.js"

/** Past the drain deadline, queries still running get this long to answer before sockets are cut. */
export const lastWordsMillis = 1_000
/**
 * Past everything, a shutdown that still hangs is ended by force, this long after
 * `server.shutdown_timeout`; orchestrators' grace periods must be longer than the sum.
 */
export const hardStopMillis = 5_000

/**
 * Whether a shutdown that hangs may end the process. Only the launched program owns its process; a
 * server embedded elsewhere (a test worker) must not leave a timer that exits it later.
 */
export class ExitOnStuckShutdown extends Context.Reference<ExitOnStuckShutdown>()("ExitOnStuckShutdown", {
  defaultValue: () => false
}) {}

const listen = (server: http.Server, host: string, port: number) =>
  Effect.async<void, HttpServerError.ServeError>((resume) => {
    const onError = (cause: Error) => resume(Effect.fail(new HttpServerError.ServeError({ cause })))
    server.once("error", onError)
    server.listen({ host, port }, () => {
      server.off("error", onError)
      resume(Effect.void)
    })
  })

/**
 * The node HTTP server: every request goes through the gateway, which serves queries itself and
 * hands the rest to the HttpApi application. Closing it drains: readiness fails at once, new requests
 * get `503 shutting_down`, in-flight ones have `server.shutdown_timeout` to finish, then their queries
 * are interrupted, the listener closes and the remaining connections are cut.
 */
export const ServerLive = Layer.scoped(
  HttpServer.HttpServer,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const gateway = yield* Gateway
    const lifecycle = yield* Lifecycle
    const tracker = yield* QueryTracker
    const registry = yield* InstanceRegistry
    const app = yield* HttpApiBuilder.httpApp
    // The gateway's record of the request is the application's `CurrentRequest`, and its span (when
    // tracing is on) the parent of the application's work. The framework's own request span is off:
    // it would record every header and the full URL.
    const traced = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const record = takeOver(NodeHttpServerRequest.toIncomingMessage(request))
      if (record === undefined)
        return Effect.dieMessage("a request reached the application around the gateway")
      const served = Effect.provideService(app, CurrentRequest, record)
      return record.trace === undefined ? served : Effect.withParentSpan(served, record.trace.span)
    })
    const effectHandler = yield* NodeHttpServer.makeHandler(
      HttpIncomingMessage.withMaxBodySize(traced, Option.some(config.server.max_body_size))
    ).pipe(HttpMiddleware.withTracerDisabledWhenEffect(() => true))
    const readTimeout = Duration.toMillis(config.server.read_timeout)
    const server = http.createServer(
      {
        requestTimeout: readTimeout,
        headersTimeout: Math.min(readTimeout, 60_000),
        keepAliveTimeout: 5_000,
        // node checks both timeouts only this often (30 s by default): a slow client would get that long.
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(readTimeout / 2)))
      },
      (request, response) => gateway.handle(request, response, effectHandler)
    )

    const drain = Effect.gen(function* () {
      yield* lifecycle.beginDrain
      if (yield* ExitOnStuckShutdown) {
        const hardStop = setTimeout(() => {
          process.stderr.write("shutdown did not finish in time; exiting\n")
          process.exit(1)
        }, Duration.toMillis(config.server.shutdown_timeout) + hardStopMillis)
        hardStop.unref()
      }
      // Still listening while in-flight work finishes: probes get `503 not_ready` and stragglers
      // `503 shutting_down` with `Connection: close`, rather than a refused connection.
      server.closeIdleConnections()
      yield* Effect.logInfo("draining").pipe(Effect.annotateLogs({ in_flight: lifecycle.inFlight() }))
      const finished = yield* lifecycle.awaitIdle(config.server.shutdown_timeout)
      if (!finished) {
        yield* Effect.logWarning("shutdown timeout reached; interrupting running queries").pipe(
          Effect.annotateLogs({ in_flight: lifecycle.inFlight() })
        )
        tracker.cancelAll(new ShuttingDown({ message: "the server is shutting down" }))
        yield* registry.interruptAll
        yield* lifecycle.awaitIdle(Duration.millis(lastWordsMillis))
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      if (finished) server.closeIdleConnections()
      else server.closeAllConnections()
      yield* Effect.promise(() => closed).pipe(
        Effect.timeout(Duration.millis(lastWordsMillis)),
        Effect.ignore
      )
      yield* Effect.logInfo("stopped serving")
    })

    yield* Effect.acquireRelease(listen(server, config.server.host, config.server.port), () => drain)
    const address = server.address() as AddressInfo
    const hostname = address.address === "::" ? "0.0.0.0" : address.address
    yield* Effect.logInfo("listening").pipe(
      Effect.annotateLogs({
        address: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${address.port}`
      })
    )
    return HttpServer.make({
      address: { _tag: "TcpAddress", hostname, port: address.port },
      serve: () => Effect.dieMessage("requests are served through the gateway")
    })
  })
)
