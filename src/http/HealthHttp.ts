import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { InstanceRegistry } from "../services/InstanceRegistry.js"
import { InstanceStore } from "../services/InstanceStore.js"
import { Lifecycle } from "../services/Lifecycle.js"
import { Api } from "./Api.js"
import { NotReady } from "./HealthApi.js"

export const HealthHttp = HttpApiBuilder.group(Api, "health", (handlers) =>
  Effect.gen(function* () {
    const lifecycle = yield* Lifecycle
    const registry = yield* InstanceRegistry
    const store = yield* InstanceStore
    return handlers
      .handle("health", () => Effect.succeed({ status: "healthy" as const }))
      .handle("ready", () => {
        if (lifecycle.isDraining()) return Effect.fail(new NotReady({ error: "shutting down" }))
        // Without the shared store this replica cannot serve the fleet's instances: take it out of rotation.
        if (!store.available()) return Effect.fail(new NotReady({ error: "state store unavailable" }))
        const { connected, failing } = registry.readiness()
        // Aliases only: a connection string, even redacted, never leaves the server.
        if (failing.length > 0) {
          return Effect.fail(
            new NotReady({
              error: `database ${failing.map((alias) => `"${alias}"`).join(", ")} not connected`
            })
          )
        }
        return Effect.succeed({ status: "ready" as const, databases: connected })
      })
  })
)
