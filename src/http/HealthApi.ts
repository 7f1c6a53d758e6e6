import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { wireOf } from "../domain/Errors.js"
import { Probe } from "./RouteAnnotations.js"
import { Health, Ready } from "./Schemas.js"

/** `/ready` when the server cannot serve: starting, draining, or a pre-attached database down. */
export class NotReady extends Schema.TaggedError<NotReady>()("NotReady", { error: Schema.String }) {
  static readonly status = 503
  /** Answered as the probe's own body, not as the contract's error body. */
  static readonly wire = wireOf(
    Schema.Struct({
      status: Schema.Literal("not_ready"),
      error: Schema.String.annotations({
        description: "Why: starting, shutting down, or which database is down"
      })
    }),
    NotReady,
    "NotReady",
    NotReady.status
  )
}

/** Probes for orchestrators: open, never rate limited. */
export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/health").annotate(OpenApi.Summary, "Liveness probe").addSuccess(Health)
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .annotate(OpenApi.Summary, "Readiness probe")
      .addSuccess(Ready)
      .addError(NotReady.wire)
  )
  .annotate(Probe, true)
  .annotate(OpenApi.Description, "Liveness and readiness probes") {}
