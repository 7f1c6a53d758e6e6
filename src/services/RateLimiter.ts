import { Clock, Effect } from "effect"
import type { StoreUnavailable } from "../domain/Errors.js"
import { AppConfig } from "./AppConfig.js"
import {
  type GcraPolicy,
  gcraPolicy,
  memoryRateLimitStoreLayer,
  type RateDecision,
  RateLimitStore
} from "./RateLimitStore.js"

/**
 * Per-client request rate: sustained `security.rate_limit.requests_per_minute`, with up to
 * `burst_size` extra requests at once (GCRA, see `RateLimitStore.ts`). Time comes from Effect's
 * `Clock`, so `TestClock` drives it. `RateLimiter.Default` keeps state in this process;
 * `RateLimiter.DefaultWithoutDependencies` takes any `RateLimitStore` (a shared one for replicas).
 */
export class RateLimiter extends Effect.Service<RateLimiter>()("pondpilot/RateLimiter", {
  effect: Effect.gen(function* () {
    const { requests_per_minute, burst_size } = (yield* AppConfig).security.rate_limit
    const store = yield* RateLimitStore
    const policy: GcraPolicy = gcraPolicy(requests_per_minute, burst_size)
    // Called on every request: one clock read and the store's step, no span, no async hop in memory.
    const consume = (key: string): Effect.Effect<RateDecision, StoreUnavailable> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => store.consume(key, now * 1000, policy))
    // A store that answers at once (memory) is asked outside any fiber, on the clock this service
    // was built with (the one `consume` reads too).
    const clock = yield* Effect.clock
    const consumeSync = store.consumeNow
    const consumeNow =
      consumeSync === undefined
        ? undefined
        : (key: string): RateDecision => consumeSync(key, clock.unsafeCurrentTimeMillis() * 1000, policy)
    return { consume, consumeNow, policy } as const
  }),
  dependencies: [memoryRateLimitStoreLayer()]
}) {}
