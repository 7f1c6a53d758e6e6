import { HttpApiBuilder } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Cause, Effect, Layer } from "effect"
import { StatementGate } from "../gate/StatementGate.js"
import { Api } from "../http/Api.js"
import { ApiDocsLive } from "../http/ApiDocs.js"
import { CatalogHttp } from "../http/CatalogHttp.js"
import { DatabasesHttp } from "../http/DatabasesHttp.js"
import { Gateway } from "../http/Gateway.js"
import { HealthHttp } from "../http/HealthHttp.js"
import { AuthenticationLive, ErrorMiddlewareLive } from "../http/HttpMiddleware.js"
import { InstancesHttp } from "../http/InstancesHttp.js"
import { MetricsHttp } from "../http/MetricsHttp.js"
import { Observer } from "../http/Observer.js"
import { QueriesHttp } from "../http/QueriesHttp.js"
import { QueryHttp } from "../http/QueryHttp.js"
import { QueryRoute } from "../http/QueryRoute.js"
import { ExitOnStuckShutdown, ServerLive } from "../http/Server.js"
import { AppConfig, announceGeneratedKeys, ConfigError } from "../services/AppConfig.js"
import { AuditLog } from "../services/AuditLog.js"
import { Authenticator } from "../services/Authenticator.js"
import { Catalog } from "../services/Catalog.js"
import { Engines } from "../services/Engines.js"
import { InstanceRegistry } from "../services/InstanceRegistry.js"
import { InstanceStore } from "../services/InstanceStore.js"
import { LoggingLive } from "../services/JsonLogger.js"
import { Lifecycle } from "../services/Lifecycle.js"
import { Metrics, poolInstanceLabel } from "../services/Metrics.js"
import { QueryRunner } from "../services/QueryRunner.js"
import { QueryTracker } from "../services/QueryTracker.js"
import { RateLimiter } from "../services/RateLimiter.js"
import { rateLimitStoreLayer } from "../services/RedisRateLimitStore.js"
import { SharedState } from "../services/SharedState.js"
import { Tracing, TracingLive } from "../services/Tracing.js"

/** Live instances and their pools, read by the metrics at each scrape. */
const MetricSourcesLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const metrics = yield* Metrics
    const registry = yield* InstanceRegistry
    const { metrics: settings } = yield* AppConfig
    const unregister = [
      metrics.registerInstanceSource(() => registry.all().length),
      metrics.registerPoolSource(() =>
        registry.all().map((instance) => ({
          instance: poolInstanceLabel(instance.id, instance.shared, settings.require_auth),
          ...instance.pool.stats
        }))
      )
    ]
    yield* Effect.addFinalizer(() => Effect.sync(() => unregister.forEach((stop) => stop())))
  })
)

/** The services behind the HTTP layer, given a configuration. */
export const ServicesLive = Layer.mergeAll(
  QueryRoute.Default,
  Authenticator.Default,
  RateLimiter.DefaultWithoutDependencies,
  Observer.Default,
  MetricSourcesLive
).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      InstanceRegistry.DefaultWithoutDependencies,
      QueryRunner.Default,
      Catalog.Default,
      QueryTracker.Default,
      rateLimitStoreLayer
    )
  ),
  Layer.provideMerge(Layer.mergeAll(Engines.Default, InstanceStore.DefaultWithoutDependencies)),
  Layer.provideMerge(
    Layer.mergeAll(
      StatementGate.Default,
      Lifecycle.Default,
      AuditLog.DefaultWithoutDependencies,
      Metrics.Default,
      SharedState.Default,
      Tracing.Default
    )
  )
)

const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide(
    Layer.mergeAll(HealthHttp, InstancesHttp, DatabasesHttp, CatalogHttp, QueryHttp, QueriesHttp, MetricsHttp)
  ),
  Layer.provide(AuthenticationLive)
)

/** The HTTP server with everything it serves, given a configuration. */
export const HttpLive = ServerLive.pipe(
  Layer.provide(ErrorMiddlewareLive),
  Layer.provide(ApiDocsLive),
  Layer.provide(ApiLive),
  Layer.provide(Gateway.Default),
  Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer, NodeHttpServer.layerContext]),
  Layer.provideMerge(ServicesLive),
  // Built first, so that every service and request runs with its tracer (when tracing is on).
  Layer.provide(TracingLive)
)

const AnnounceLive = Layer.effectDiscard(Effect.flatMap(AppConfig, announceGeneratedKeys))

export const MainLive = Layer.mergeAll(HttpLive, AnnounceLive).pipe(
  Layer.provide(AppConfig.layer),
  Layer.provide(LoggingLive)
)

/** The server until it is told to stop; a start-up failure is reported once, in plain words. */
export const program = Layer.launch(MainLive).pipe(
  Effect.provideService(ExitOnStuckShutdown, true),
  Effect.tapErrorCause((cause) => {
    const failure = Cause.failureOption(cause)
    const error = failure._tag === "Some" ? failure.value : undefined
    if (error instanceof ConfigError) {
      return Effect.sync(() => {
        for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`)
      })
    }
    return Effect.logError("the server stopped", cause)
  })
)
