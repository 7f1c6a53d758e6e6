import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Api } from "./Api.js"

/**
 * The query endpoint is in the contract for its documentation; the gateway serves every request the
 * route table matches to it (QueryRoute.ts) and hands the router only other routes' paths, so this
 * handler, which the HttpApi builder requires, is never reached.
 */
export const QueryHttp = HttpApiBuilder.group(Api, "query", (handlers) =>
  handlers.handleRaw("query", () => Effect.dieMessage("the query route is served by the gateway"))
)
