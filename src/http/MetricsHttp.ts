import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { Metrics } from "../services/Metrics.js"
import { Api } from "./Api.js"

export const MetricsHttp = HttpApiBuilder.group(Api, "metrics", (handlers) =>
  Effect.gen(function* () {
    const metrics = yield* Metrics
    return handlers.handleRaw("metrics", () =>
      Effect.map(metrics.render(), ({ contentType, body }) => HttpServerResponse.text(body, { contentType }))
    )
  })
)
