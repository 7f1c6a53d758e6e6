import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Logger, Redacted } from "effect"
import { gcraPolicy, makeMemoryRateLimitStore, type RateDecision } from "../../src/services/RateLimitStore.js"
import { makeRedisRateLimitStore, rateLimitKeyPrefix } from "../../src/services/RedisRateLimitStore.js"
import { connectRedis } from "../../src/services/SharedState.js"
import { capturedLogger } from "../support/Logs.js"
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/Redis.js"

const skip = skipWithoutRedis("Redis rate-limit store")
let server: RedisServer | undefined
if (!skip) {
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.dispose()
  })
}

const tuning = {
  commandTimeout: Duration.seconds(1),
  pingEvery: Duration.millis(100),
  maxReconnectDelay: Duration.millis(100),
  startupWait: Duration.seconds(2)
}

/** One replica's store: its own connection and its own in-memory fallback. */
const replicaStore = () =>
  Effect.map(connectRedis(Redacted.make(server!.url), tuning), (redis) =>
    makeRedisRateLimitStore(redis, makeMemoryRateLimitStore({ maxKeys: 1_000 }))
  ).pipe(Effect.provide(capturedLogger))

// T = 10 s: nothing refills while a test runs.
const policy = gcraPolicy(6, 2)
const allowedCount = (decisions: ReadonlyArray<RateDecision>) => decisions.filter((d) => d.allowed).length

const collectLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => {
    lines.push(JSON.stringify(message))
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe.skipIf(skip)("the Redis rate-limit store", () => {
  it.scopedLive("gives two replicas one bucket per client: burst + 1 in total", () =>
    Effect.gen(function* () {
      const [a, b] = [yield* replicaStore(), yield* replicaStore()]
      const decisions: Array<RateDecision> = []
      for (let i = 0; i < 4; i++) {
        decisions.push(yield* a.consume("203.0.113.1", Date.now() * 1000, policy))
        decisions.push(yield* b.consume("203.0.113.1", Date.now() * 1000, policy))
      }
      expect(allowedCount(decisions)).toBe(3)
      expect(decisions.slice(3).every((decision) => !decision.allowed)).toBe(true)
      expect(decisions[3]).toMatchObject({ allowed: false, retryAfterSeconds: expect.any(Number) })
      expect(yield* Effect.promise(() => server!.client.exists(`${rateLimitKeyPrefix}203.0.113.1`))).toBe(1)
    })
  )

  it.scopedLive(
    "fails open to each replica's own buckets while Redis is down, said once; shares again after",
    () => {
      const logs = collectLogs()
      return Effect.gen(function* () {
        const [a, b] = [yield* replicaStore(), yield* replicaStore()]
        yield* Effect.promise(() => server!.stop())
        yield* Effect.sleep(Duration.millis(300))
        const down: Array<RateDecision> = []
        for (let i = 0; i < 5; i++) {
          down.push(yield* a.consume("203.0.113.2", Date.now() * 1000, policy))
          down.push(yield* b.consume("203.0.113.2", Date.now() * 1000, policy))
        }
        // Each replica alone: burst + 1 each, so at most N times the limit across N replicas.
        expect(allowedCount(down)).toBe(6)
        expect(a.sharing()).toBe(false)
        expect(logs.lines.filter((line) => line.includes("rate limits are per replica"))).toHaveLength(2)

        yield* Effect.promise(() => server!.start())
        yield* Effect.sleep(Duration.millis(500))
        const back: Array<RateDecision> = []
        for (let i = 0; i < 4; i++) {
          back.push(yield* a.consume("203.0.113.3", Date.now() * 1000, policy))
          back.push(yield* b.consume("203.0.113.3", Date.now() * 1000, policy))
        }
        expect(allowedCount(back)).toBe(3)
        expect(a.sharing() && b.sharing()).toBe(true)
        expect(logs.lines.filter((line) => line.includes("rate limits are shared again"))).toHaveLength(2)
      }).pipe(Effect.provide(logs.layer))
    }
  )
})
