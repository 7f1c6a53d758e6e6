import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { Cancelled, ForbiddenStatement } from "../domain/Errors.js"
import { parseSize } from "../domain/Units.js"
import { defaultInstanceId, InstanceRegistry } from "../services/InstanceRegistry.js"
import { QueryTracker } from "../services/QueryTracker.js"
import { Api } from "./Api.js"
import { CurrentPrincipal } from "./Authentication.js"
import { instanceView } from "./Views.js"

export const InstancesHttp = HttpApiBuilder.group(Api, "instances", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* InstanceRegistry
    const tracker = yield* QueryTracker
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          const requested = payload.settings
          const instance = yield* registry.create(principal.id, {
            threads: requested?.threads,
            memoryLimitBytes:
              requested?.memoryLimit === undefined
                ? undefined
                : Option.getOrUndefined(parseSize(requested.memoryLimit))
          })
          return instanceView(instance)
        })
      )
      .handle("list", () =>
        Effect.flatMap(CurrentPrincipal, (principal) =>
          Effect.map(registry.list(principal.id), (instances) => ({ instances: instances.map(instanceView) }))
        )
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          return instanceView(yield* registry.describe(path.id, principal.id))
        })
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          // Described, not built: deleting needs no engine on this replica.
          const instance = yield* registry.describe(path.id, principal.id)
          if (instance.id === defaultInstanceId) {
            return yield* new ForbiddenStatement({ message: "the default instance cannot be deleted" })
          }
          tracker.cancelInstance(instance.id, new Cancelled({ message: "the instance was deleted" }))
          yield* registry.remove(instance.id, principal.id)
        })
      )
  })
)
