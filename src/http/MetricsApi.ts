import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"

/** Prometheus scrape endpoint; it asks for credentials only with `metrics.require_auth: true`. */
export class MetricsApi extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("metrics", "/api/v1/metrics")
      .addSuccess(Schema.String.annotations({ description: "Prometheus text exposition format 0.0.4" }))
      .annotate(OpenApi.Description, "Prometheus metrics (`text/plain; version=0.0.4`)")
  )
  .annotate(OpenApi.Description, "Operations") {}
