import { Effect, Layer } from "effect"
import { gcraLuaScript } from "./RateLimitLua.js"
import {
  allowed,
  defaultMaxTrackedKeys,
  type GcraPolicy,
  makeMemoryRateLimitStore,
  type RateDecision,
  RateLimitStore,
  refused
} from "./RateLimitStore.js"
import { luaScript, type RedisConnection, SharedState } from "./SharedState.js"

const gcra = luaScript(gcraLuaScript)

export const rateLimitKeyPrefix = "pondpilot:rl:"

type LocalStore = ReturnType<typeof makeMemoryRateLimitStore>

/**
 * GCRA state in Redis, so that every replica draws on one bucket per client: the script of
 * `RateLimitLua.ts`, run atomically, on the Redis server's clock (replicas' clocks may drift).
 *
 * When Redis cannot answer, it fails open to this replica's own in-memory buckets: each replica
 * then enforces the limit by itself, so a client gets at most N times its limit across N replicas,
 * until Redis is back (said once in the log each way). Failing closed would turn a Redis outage into
 * a refusal of every request, including those that need nothing from Redis (queries on the shared
 * `default` instance); the limit exists to keep one client from crowding out others, and a bounded
 * N× limit for the length of an outage still does that.
 */
export const makeRedisRateLimitStore = (redis: RedisConnection, local: LocalStore) => {
  let shared = true

  const degrade = (key: string, nowMicros: number, policy: GcraPolicy) =>
    Effect.suspend(() => {
      const decision = local.consumeNow(key, nowMicros, policy)
      if (!shared) return Effect.succeed(decision)
      shared = false
      return Effect.as(
        Effect.logWarning("rate limits are per replica until the state store is back (failing open)"),
        decision
      )
    })

  const recovered = (decision: RateDecision) =>
    Effect.suspend(() => {
      if (shared) return Effect.succeed(decision)
      shared = true
      return Effect.as(Effect.logInfo("rate limits are shared again"), decision)
    })

  const consume = (key: string, nowMicros: number, policy: GcraPolicy): Effect.Effect<RateDecision> =>
    redis.available()
      ? redis
          .script(
            gcra,
            [`${rateLimitKeyPrefix}${key}`],
            ["", policy.emissionIntervalMicros, policy.toleranceMicros]
          )
          .pipe(
            Effect.map((reply): RateDecision => {
              const [ok, wait] = reply as [number, number]
              return ok === 1 ? allowed : refused(Number(wait))
            }),
            Effect.flatMap(recovered),
            Effect.catchAll(() => degrade(key, nowMicros, policy))
          )
      : degrade(key, nowMicros, policy)

  return { consume, sharing: () => shared } as const
}

/** The rate-limit store: shared in Redis when `state.redis_url` is set, else this replica's memory. */
export const rateLimitStoreLayer: Layer.Layer<RateLimitStore, never, SharedState> = Layer.effect(
  RateLimitStore,
  Effect.map(SharedState, ({ redis }) => {
    const local = makeMemoryRateLimitStore({ maxKeys: defaultMaxTrackedKeys })
    return redis === undefined ? local : makeRedisRateLimitStore(redis, local)
  })
)
