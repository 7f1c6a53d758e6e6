import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Probe } from "./RouteAnnotations.js"
import { Health, Ready } from "./Schemas.js"

/** `/ready` when the server cannot serve: starting, draining, or a pre-attached database down. */
export class NotReady extends Schema.TaggedError<NotReady>()(
  "NotReady",
  { error: Schema.String },
  HttpApiSchema.annotations({ status: 503, description: '`{"status":"not_ready","error":"…"}`' })
) {}

/** Probes for orchestrators: open, never rate limited. */
export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/health").annotate(OpenApi.Summary, "Liveness probe").addSuccess(Health)
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .annotate(OpenApi.Summary, "Readiness probe")
      .addSuccess(Ready)
      .addError(NotReady)
  )
  .annotate(Probe, true)
  .annotate(OpenApi.Description, "Liveness and readiness probes") {}
