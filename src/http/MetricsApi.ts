import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { CredentialsWhenMetricsRequireAuth } from "./RouteAnnotations.js"

/** Prometheus scrape endpoint; it asks for credentials only with `metrics.require_auth: true`. */
export class MetricsApi extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("metrics", "/api/v1/metrics")
      .annotate(OpenApi.Summary, "Prometheus metrics")
      .annotate(CredentialsWhenMetricsRequireAuth, true)
      .addSuccess(
        HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" }).annotations({
          description: "Prometheus text exposition format 0.0.4"
        })
      )
      .annotate(
        OpenApi.Description,
        "Prometheus metrics. Asks for the API key (or JWT) only with `metrics.require_auth: true`."
      )
  )
  .annotate(OpenApi.Description, "Operations") {}
