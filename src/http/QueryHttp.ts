import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { NotFound } from "../domain/Errors.js"
import { Api } from "./Api.js"

/**
 * The gateway serves every well-formed query request itself; a request that reaches the router
 * names an instance id no instance can have.
 */
export const QueryHttp = HttpApiBuilder.group(Api, "query", (handlers) =>
  handlers.handleRaw("query", () => Effect.fail(new NotFound({ message: "instance not found" })))
)
