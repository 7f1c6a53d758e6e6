import { Effect } from "effect"

// Provisional: replaced by the access work (issue 5), which owns this module.
export type RateDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number }

export class RateLimiter extends Effect.Service<RateLimiter>()("pondpilot/RateLimiter", {
  succeed: {
    consume: (_key: string): Effect.Effect<RateDecision> => Effect.succeed({ allowed: true })
  }
}) {}
