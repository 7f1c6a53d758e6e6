import { HttpApiBuilder } from "@effect/platform"
import { Effect, Redacted } from "effect"
import { Engines } from "../services/Engines.js"
import { InstanceRegistry } from "../services/InstanceRegistry.js"
import { Api } from "./Api.js"
import { CurrentPrincipal } from "./Authentication.js"

export const DatabasesHttp = HttpApiBuilder.group(Api, "databases", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* InstanceRegistry
    const engines = yield* Engines
    const secretBox = engines.context.attach.secretBox
    return handlers
      .handle("attach", ({ path, payload }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          // Sealed at once: from here on the connection string exists only encrypted.
          const connectionString = yield* secretBox.seal(Redacted.make(payload.connectionString))
          yield* registry.attach(path.id, principal.id, {
            alias: payload.alias,
            type: payload.type,
            source: "api",
            connectionString
          })
          return { alias: payload.alias, type: payload.type }
        })
      )
      .handle("list", ({ path }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          const instance = yield* registry.describe(path.id, principal.id)
          return { databases: instance.databases.map(({ alias, type }) => ({ alias, type })) }
        })
      )
      .handle("detach", ({ path }) =>
        Effect.flatMap(CurrentPrincipal, (principal) => registry.detach(path.id, principal.id, path.alias))
      )
  })
)
