import { HttpApiBuilder } from "@effect/platform"
import { Clock, Effect } from "effect"
import { QueryTracker } from "../services/QueryTracker.js"
import { Api } from "./Api.js"
import { CurrentPrincipal } from "./Authentication.js"
import { runningQueryView } from "./Views.js"

export const QueriesHttp = HttpApiBuilder.group(Api, "queries", (handlers) =>
  Effect.gen(function* () {
    const tracker = yield* QueryTracker
    return handlers
      .handle("list", () =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          const now = yield* Clock.currentTimeMillis
          return { queries: tracker.list(principal.id).map((query) => runningQueryView(query, now)) }
        })
      )
      .handle("cancel", ({ path }) =>
        Effect.flatMap(CurrentPrincipal, (principal) => tracker.cancel(path.id, principal.id))
      )
  })
)
