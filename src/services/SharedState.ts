import { createHash } from "node:crypto"
import { Duration, Effect, Redacted, Runtime, Schedule } from "effect"
import type { Redis, RedisOptions } from "ioredis"
import { StoreUnavailable } from "../domain/Errors.js"
import { AppConfig } from "./AppConfig.js"

/** A Lua script and its SHA-1, so that it is sent whole only when Redis does not know it yet. */
export interface LuaScript {
  readonly source: string
  readonly sha: string
}

export const luaScript = (source: string): LuaScript => ({
  source,
  sha: createHash("sha1").update(source, "utf8").digest("hex")
})

export interface RedisTuning {
  /** A command unanswered this long fails (a partition must not hang requests). */
  readonly commandTimeout: Duration.Duration
  /** How often the connection is checked with a PING. */
  readonly pingEvery: Duration.Duration
  /** Reconnect attempts back off up to this delay, and never stop. */
  readonly maxReconnectDelay: Duration.Duration
  /** How long start-up waits for the first connection before serving anyway (not ready). */
  readonly startupWait: Duration.Duration
}

export const defaultRedisTuning: RedisTuning = {
  commandTimeout: Duration.seconds(2),
  pingEvery: Duration.seconds(1),
  maxReconnectDelay: Duration.seconds(2),
  startupWait: Duration.seconds(5)
}

/** One Redis server shared by every replica: a command connection and a subscriber connection. */
export interface RedisConnection {
  /** Runs a script atomically; `NOSCRIPT` (Redis restarted, script cache empty) loads it again. */
  readonly script: (
    script: LuaScript,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>
  ) => Effect.Effect<unknown, StoreUnavailable>
  readonly command: <A>(run: (client: Redis) => Promise<A>) => Effect.Effect<A, StoreUnavailable>
  /**
   * Delivers the channel's messages to `onMessage`; `onResubscribed` runs each time the subscription
   * is re-established after a lost connection (messages sent meanwhile were missed).
   */
  readonly subscribe: (
    channel: string,
    onMessage: (message: string) => void,
    onResubscribed: () => void
  ) => Effect.Effect<void>
  /** Connected and answering PINGs: what readiness reports. */
  readonly available: () => boolean
  /** The subscriber connection is up: messages published now arrive. */
  readonly subscribed: () => boolean
}

export const storeUnavailable = () =>
  new StoreUnavailable({ message: "the shared state store is unavailable; retry shortly" })

const reasonOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : error instanceof Error && /timed? ?out/i.test(error.message)
      ? "timeout"
      : "unavailable"

/**
 * Opens the connections to `url` (`redis://` or `rediss://` for TLS; user and password in the URL).
 * Start-up does not fail when Redis is down: the replica serves, reports not ready, and keeps
 * reconnecting. Commands never queue while disconnected: they fail at once, so a request that needs
 * the store answers 503 instead of hanging. The URL is never logged.
 */
export const connectRedis = (url: Redacted.Redacted<string>, tuning: RedisTuning = defaultRedisTuning) =>
  Effect.gen(function* () {
    const options: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: Duration.toMillis(tuning.commandTimeout),
      connectTimeout: Duration.toMillis(tuning.startupWait),
      retryStrategy: (attempt) => Math.min(attempt * 100, Duration.toMillis(tuning.maxReconnectDelay))
    }
    // Loaded only when a Redis is configured: a single replica never pays for the client.
    const { Redis: RedisClient } = yield* Effect.promise(() => import("ioredis"))
    const client = new RedisClient(Redacted.value(url), options)
    // The subscriber queues its SUBSCRIBE until connected, and re-subscribes after each reconnect.
    const subscriber = client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined })
    // Connection errors show in `status` and in the health check below; the events need a listener.
    client.on("error", () => undefined)
    subscriber.on("error", () => undefined)
    let stopping = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stopping = true
      }).pipe(
        Effect.zipRight(Effect.promise(() => Promise.allSettled([client.quit(), subscriber.quit()]))),
        Effect.timeout(Duration.seconds(1)),
        Effect.ignore,
        Effect.ensuring(
          Effect.sync(() => {
            client.disconnect()
            subscriber.disconnect()
          })
        )
      )
    )

    // Healthy: the last PING was answered and the connection has not closed since. Transitions are
    // logged once each way, whether a PING or the connection noticed first.
    let healthy = false
    const available = () => healthy && client.status === "ready"
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const setHealth = (up: boolean, reason: string) =>
      Effect.suspend(() => {
        if (up === healthy) return Effect.void
        healthy = up
        return up
          ? Effect.logInfo("state store connected")
          : Effect.logWarning("state store unavailable").pipe(Effect.annotateLogs({ reason }))
      })
    const check = Effect.tryPromise(() => client.ping()).pipe(
      Effect.match({
        onFailure: (error) => setHealth(false, reasonOf(error)),
        onSuccess: () => setHealth(true, "")
      }),
      Effect.flatten
    )
    client.on("close", () => {
      if (!stopping) runFork(setHealth(false, "connection closed"))
    })
    client.on("ready", () => {
      if (!stopping) runFork(check)
    })

    yield* Effect.async<void>((resume) => {
      const ready = () => resume(Effect.void)
      if (client.status === "ready") ready()
      else client.once("ready", ready)
      return Effect.sync(() => client.off("ready", ready))
    }).pipe(Effect.timeout(tuning.startupWait), Effect.ignore)
    yield* check
    if (!healthy) yield* Effect.logWarning("state store not reachable at start; retrying in the background")
    yield* check.pipe(Effect.repeat(Schedule.spaced(tuning.pingEvery)), Effect.forkScoped)

    const command = <A>(run: (redis: Redis) => Promise<A>): Effect.Effect<A, StoreUnavailable> =>
      Effect.suspend(() =>
        available()
          ? Effect.tryPromise({ try: () => run(client), catch: storeUnavailable })
          : Effect.fail(storeUnavailable())
      )

    const script = (
      lua: LuaScript,
      keys: ReadonlyArray<string>,
      args: ReadonlyArray<string | number>
    ): Effect.Effect<unknown, StoreUnavailable> =>
      command(async (redis) => {
        try {
          return await redis.evalsha(lua.sha, keys.length, ...keys, ...args)
        } catch (error) {
          if (error instanceof Error && error.message.startsWith("NOSCRIPT"))
            return redis.eval(lua.source, keys.length, ...keys, ...args)
          throw error
        }
      })

    const subscribe = (channel: string, onMessage: (message: string) => void, onResubscribed: () => void) =>
      Effect.sync(() => {
        let subscribedBefore = false
        subscriber.on("message", (from: string, message: string) => {
          if (from === channel) onMessage(message)
        })
        subscriber.on("ready", () => {
          if (subscribedBefore) onResubscribed()
          subscribedBefore = true
        })
        if (subscriber.status === "ready") subscribedBefore = true
        subscriber.subscribe(channel).catch(() => undefined)
      })

    const subscribed = () => subscriber.status === "ready"

    return { script, command, subscribe, available, subscribed } satisfies RedisConnection
  })

/**
 * Where replicas share state: Redis when `state.redis_url` is set, otherwise nothing (each replica
 * keeps its own, in memory).
 */
export class SharedState extends Effect.Service<SharedState>()("pondpilot/SharedState", {
  scoped: Effect.gen(function* () {
    const url = (yield* AppConfig).state.redis_url
    const redis: RedisConnection | undefined = url === undefined ? undefined : yield* connectRedis(url)
    return { redis } as const
  })
}) {}
