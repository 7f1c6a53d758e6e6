import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Lifecycle } from "../services/Lifecycle.js"
import { Api } from "./Api.js"
import { NotReady } from "./HealthApi.js"

export const HealthHttp = HttpApiBuilder.group(Api, "health", (handlers) =>
  Effect.gen(function* () {
    const lifecycle = yield* Lifecycle
    return handlers
      .handle("health", () => Effect.succeed({ status: "healthy" as const }))
      .handle("ready", () =>
        lifecycle.isDraining()
          ? Effect.fail(new NotReady({ error: "shutting down" }))
          : Effect.succeed({ status: "ready" as const, databases: 0 })
      )
  })
)
