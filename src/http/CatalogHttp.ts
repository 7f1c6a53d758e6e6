import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Catalog } from "../services/Catalog.js"
import { InstanceRegistry } from "../services/InstanceRegistry.js"
import { Api } from "./Api.js"
import { CurrentPrincipal } from "./Authentication.js"

export const CatalogHttp = HttpApiBuilder.group(Api, "catalog", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* InstanceRegistry
    const catalog = yield* Catalog
    return handlers.handle("get", ({ path }) =>
      Effect.gen(function* () {
        const principal = yield* CurrentPrincipal
        // Another principal's instance is indistinguishable from none, as on every instance route.
        const instance = yield* registry.get(path.id, principal.id)
        return yield* catalog.list(instance)
      })
    )
  })
)
