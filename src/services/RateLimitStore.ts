import { Context, Effect, Layer } from "effect"
import { RecencyMap } from "../collections/RecencyMap.js"
import type { StoreUnavailable } from "../domain/Errors.js"

/**
 * GCRA (generic cell rate algorithm), the "virtual scheduling" form. All times are integer
 * microseconds so that the in-memory store and the Redis script compute bit-identical results.
 *
 * - emission interval T = round(60 s / requests_per_minute): the sustained spacing of requests;
 * - tolerance τ = burst_size · T: how far ahead of schedule a client may run;
 * - per key, TAT (theoretical arrival time), initially "now".
 *
 * A request at `now` is allowed iff `now >= max(TAT, now) - τ`; then TAT becomes `max(TAT, now) + T`.
 * A refused request changes nothing and may retry after `max(TAT, now) - τ - now`. A fresh client may
 * therefore send burst_size + 1 requests at once, then one every T. Once `TAT <= now` a key's state
 * equals a fresh key's, so state is kept at most τ + T past the last allowed request.
 */
export interface GcraPolicy {
  readonly emissionIntervalMicros: number
  readonly toleranceMicros: number
}

export const gcraPolicy = (requestsPerMinute: number, burstSize: number): GcraPolicy => {
  const emissionIntervalMicros = Math.max(1, Math.round(60_000_000 / requestsPerMinute))
  return { emissionIntervalMicros, toleranceMicros: burstSize * emissionIntervalMicros }
}

export type GcraStep =
  | { readonly allowed: true; readonly tat: number }
  | { readonly allowed: false; readonly waitMicros: number }

/** One request against a key whose TAT is `tat` (undefined for an unknown key). */
export const gcraStep = (tat: number | undefined, nowMicros: number, policy: GcraPolicy): GcraStep => {
  const start = tat === undefined || tat < nowMicros ? nowMicros : tat
  const allowAt = start - policy.toleranceMicros
  return nowMicros < allowAt
    ? { allowed: false, waitMicros: allowAt - nowMicros }
    : { allowed: true, tat: start + policy.emissionIntervalMicros }
}

export type RateDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number }

export const allowed: RateDecision = { allowed: true }

/** `Retry-After` is whole seconds, rounded up and never 0 (a client told 0 would retry at once). */
export const refused = (waitMicros: number): RateDecision => ({
  allowed: false,
  retryAfterSeconds: Math.max(1, Math.ceil(waitMicros / 1_000_000))
})

/**
 * Where GCRA state lives. The in-memory store serves one replica; a shared store (Redis, running
 * `gcraLuaScript` atomically) makes several replicas enforce one limit per key.
 */
export class RateLimitStore extends Context.Tag("pondpilot/RateLimitStore")<
  RateLimitStore,
  {
    readonly consume: (
      key: string,
      nowMicros: number,
      policy: GcraPolicy
    ) => Effect.Effect<RateDecision, StoreUnavailable>
    /**
     * The same step answered at once, for a store that needs no I/O (this replica's memory): the
     * gateway then admits a request without an effect step.
     */
    readonly consumeNow?: (key: string, nowMicros: number, policy: GcraPolicy) => RateDecision
  }
>() {}

export interface MemoryRateLimitStoreOptions {
  /** Hard cap on tracked keys. */
  readonly maxKeys: number
}

export const defaultMaxTrackedKeys = 100_000

/** Entries expired per request at most: amortised cleanup that never stalls one request. */
const sweepPerRequest = 8
/** Least recently seen keys examined when the table is full. */
const evictionSample = 16

interface Bucket {
  tat: number
  lastSeen: number
}

/**
 * In-memory GCRA state, synchronous. A map kept in last-seen order (every request, refused ones
 * too, moves its key to the back; a `RecencyMap`, so that this costs no hash-table churn) gives two
 * cheap properties:
 *
 * - Idle expiry: a key unseen for τ + T has `TAT <= now` (TAT never runs more than τ + T ahead of
 *   the last allowed request), so its state equals a fresh key's. Such keys form a prefix of the map;
 *   each request drops up to a few of them, and any front key whose TAT has passed, from the front.
 * - Eviction at the cap: among the least recently seen keys, the one with the smallest TAT goes,
 *   i.e. the state closest to worthless. A client that wants its throttled bucket forgotten must
 *   stop sending (a key being hammered stays at the back) and then fill the whole table with keys
 *   carrying at least as much debt as its own, about maxKeys · (burst + 1) requests from maxKeys
 *   distinct addresses within τ + T, to save at most τ + T of waiting.
 */
export const makeMemoryRateLimitStore = (options: MemoryRateLimitStoreOptions) => {
  const maxKeys = Math.max(1, options.maxKeys)
  const buckets = new RecencyMap<string, Bucket>()

  /** Drops idle keys from the front, up to `keep` (the key being served, last in the order). */
  const expireIdle = (now: number, horizon: number, keep: string) => {
    for (let budget = sweepPerRequest; budget > 0; budget--) {
      const oldest = buckets.oldest()
      if (oldest === undefined) return
      const [key, bucket] = oldest
      if (key === keep || (bucket.tat > now && bucket.lastSeen + horizon > now)) return
      buckets.delete(key)
    }
  }

  const evictOne = () => {
    let victim: string | undefined
    let lowest = Number.POSITIVE_INFINITY
    let examined = 0
    for (const [key, bucket] of buckets.entries()) {
      if (bucket.tat < lowest) {
        lowest = bucket.tat
        victim = key
      }
      if (++examined === evictionSample) break
    }
    if (victim !== undefined) buckets.delete(victim)
  }

  const consumeNow = (key: string, now: number, policy: GcraPolicy): RateDecision => {
    // The key served is moved to the back before the sweep, so that a client sending below its rate
    // (whose state is a fresh key's every time) keeps its entry instead of a delete and an insert.
    let bucket = buckets.use(key)
    expireIdle(now, policy.toleranceMicros + policy.emissionIntervalMicros, key)
    const step = gcraStep(bucket?.tat, now, policy)
    if (bucket === undefined) {
      if (buckets.size >= maxKeys) evictOne()
      bucket = { tat: now, lastSeen: now }
      buckets.set(key, bucket)
    }
    bucket.lastSeen = now
    if (!step.allowed) return refused(step.waitMicros)
    bucket.tat = step.tat
    return allowed
  }

  return {
    consume: (key: string, nowMicros: number, policy: GcraPolicy) =>
      Effect.sync(() => consumeNow(key, nowMicros, policy)),
    consumeNow,
    trackedKeys: () => buckets.size
  }
}

export const memoryRateLimitStoreLayer = (
  options: MemoryRateLimitStoreOptions = { maxKeys: defaultMaxTrackedKeys }
): Layer.Layer<RateLimitStore> => Layer.sync(RateLimitStore, () => makeMemoryRateLimitStore(options))
