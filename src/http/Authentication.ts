import { HttpApiMiddleware } from "@effect/platform"
import { Context } from "effect"
import { Unauthorized } from "../domain/Errors.js"
import type { Principal } from "../domain/Principal.js"

/** The authenticated caller of a `/v1` request. */
export class CurrentPrincipal extends Context.Tag("pondpilot/CurrentPrincipal")<
  CurrentPrincipal,
  Principal
>() {}

/**
 * Marks the groups that need a principal. The route table (src/http/Routes.ts) reads this mark, and
 * the gateway authenticates every request matched to such a route before any handler runs; this
 * middleware only hands its result to the handlers.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("pondpilot/Authentication", {
  failure: Unauthorized.wire,
  provides: CurrentPrincipal
}) {}
