import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, TestClock } from "effect"
import { PoolExhausted, ShuttingDown } from "../../src/domain/Errors.js"
import {
  awaitSoon,
  eventually,
  joinSoon,
  makePool,
  settle,
  stillRunning,
  validationsOf
} from "../support/Pools.js"

describe("size", () => {
  it.scoped("opens min_connections at start", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ minConnections: 2, maxConnections: 4 })
      expect(source.opened).toHaveLength(2)
      expect(pool.stats).toEqual({ inUse: 0, idle: 2 })
    })
  )

  it.scoped("lends idle connections first, then grows to max_connections under demand, never beyond", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ minConnections: 1, maxConnections: 3 })
      const first = yield* pool.acquire
      expect(first.raw).toBe(source.opened[0])
      expect(source.opened).toHaveLength(1)
      const lent = [first, yield* pool.acquire, yield* pool.acquire]
      expect(new Set(lent).size).toBe(3)
      expect(source.opened).toHaveLength(3)
      expect(pool.stats).toEqual({ inUse: 3, idle: 0 })

      const fourth = yield* Effect.fork(pool.acquire)
      expect(yield* stillRunning(fourth)).toBe(true)
      expect(source.opened).toHaveLength(3)
      for (const connection of lent) pool.release(connection)
      yield* joinSoon(fourth)
      expect(source.opened).toHaveLength(3)
    })
  )

  it.scoped("reports lent and idle connections in stats", () =>
    Effect.gen(function* () {
      const { pool } = yield* makePool({ minConnections: 2, maxConnections: 3 })
      expect(pool.stats).toEqual({ inUse: 0, idle: 2 })
      const a = yield* pool.acquire
      expect(pool.stats).toEqual({ inUse: 1, idle: 1 })
      const b = yield* pool.acquire
      const c = yield* pool.acquire
      expect(pool.stats).toEqual({ inUse: 3, idle: 0 })
      pool.release(a)
      expect(pool.stats).toEqual({ inUse: 2, idle: 1 })
      pool.discard(b)
      expect(pool.stats).toEqual({ inUse: 1, idle: 1 })
      pool.release(c)
      pool.release(c)
      expect(pool.stats).toEqual({ inUse: 0, idle: 2 })
    })
  )

  it.scoped("reuses the most recently returned connection", () =>
    Effect.gen(function* () {
      const { pool } = yield* makePool({ minConnections: 2 })
      const a = yield* pool.acquire
      const b = yield* pool.acquire
      pool.release(b)
      pool.release(a)
      expect(yield* pool.acquire).toBe(a)
    })
  )
})

describe("acquire_timeout", () => {
  it.scoped("fails with PoolExhausted when every connection stays lent past the timeout", () =>
    Effect.gen(function* () {
      const { pool } = yield* makePool({
        minConnections: 1,
        maxConnections: 1,
        acquireTimeout: Duration.seconds(5)
      })
      yield* pool.acquire
      const waiting = yield* Effect.fork(pool.acquire)
      yield* TestClock.adjust(Duration.millis(4_999))
      expect(yield* stillRunning(waiting)).toBe(true)
      yield* TestClock.adjust(Duration.millis(1))
      const exit = yield* awaitSoon(waiting)
      expect(exit).toEqual(Exit.fail(new PoolExhausted({ message: "no connection became free within 5s" })))
    })
  )

  it.scoped("gives a waiter the connection released before its timeout", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ minConnections: 1, maxConnections: 1 })
      const held = yield* pool.acquire
      const waiting = yield* Effect.fork(pool.acquire)
      yield* TestClock.adjust(Duration.seconds(4))
      expect(yield* stillRunning(waiting)).toBe(true)
      pool.release(held)
      expect(yield* joinSoon(waiting)).toBe(held)
      expect(source.opened).toHaveLength(1)
    })
  )

  it.scoped("serves waiters in arrival order", () =>
    Effect.gen(function* () {
      const { pool } = yield* makePool({ minConnections: 1, maxConnections: 1 })
      const held = yield* pool.acquire
      const first = yield* Effect.fork(pool.acquire)
      yield* stillRunning(first)
      const second = yield* Effect.fork(pool.acquire)
      yield* stillRunning(second)
      pool.release(held)
      const got = yield* joinSoon(first)
      expect(yield* stillRunning(second)).toBe(true)
      pool.release(got)
      expect(yield* joinSoon(second)).toBe(held)
    })
  )

  it.scoped(
    "times out an acquire made as QueryRunner makes it (acquireUseRelease) and leaves no waiter",
    () =>
      Effect.gen(function* () {
        const { pool } = yield* makePool({ minConnections: 1, maxConnections: 1 })
        const held = yield* pool.acquire
        // The acquire step of acquireUseRelease is uninterruptible.
        const query = Effect.acquireUseRelease(
          pool.acquire,
          () => Effect.void,
          (connection) => Effect.sync(() => pool.release(connection))
        )
        const waiting = yield* Effect.fork(query)
        yield* stillRunning(waiting)
        yield* TestClock.adjust(Duration.seconds(5))
        expect(yield* awaitSoon(waiting)).toEqual(
          Exit.fail(new PoolExhausted({ message: "no connection became free within 5s" }))
        )
        pool.release(held)
        yield* settle
        expect(pool.stats).toEqual({ inUse: 0, idle: 1 })
        expect(yield* pool.acquire).toBe(held)
      })
  )

  it.scoped("a waiter woken by discard opens a replacement", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ minConnections: 1, maxConnections: 1 })
      const held = yield* pool.acquire
      const waiting = yield* Effect.fork(pool.acquire)
      yield* stillRunning(waiting)
      pool.discard(held)
      expect(source.closed.has(held.raw)).toBe(true)
      const replacement = yield* joinSoon(waiting)
      expect(replacement).not.toBe(held)
      expect(source.opened).toHaveLength(2)
      expect(pool.stats).toEqual({ inUse: 1, idle: 0 })
    })
  )
})

describe("idle_timeout", () => {
  it.scoped("closes connections idle longer than idle_timeout down to min_connections", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({
        minConnections: 1,
        maxConnections: 3,
        idleTimeout: Duration.seconds(10)
      })
      const lent = [yield* pool.acquire, yield* pool.acquire, yield* pool.acquire]
      for (const connection of lent) pool.release(connection)
      expect(pool.stats).toEqual({ inUse: 0, idle: 3 })
      yield* TestClock.adjust(Duration.seconds(9))
      yield* settle
      expect(pool.stats.idle).toBe(3)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* eventually(() => pool.stats.idle === 1, "two idle connections are closed")
      expect(source.closed.size).toBe(2)
      expect(source.opened).toHaveLength(3)
      yield* TestClock.adjust(Duration.minutes(5))
      yield* settle
      expect(pool.stats.idle).toBe(1)
    })
  )

  it.scoped("keeps a connection that was used within idle_timeout", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({
        minConnections: 0,
        maxConnections: 2,
        idleTimeout: Duration.seconds(10)
      })
      const a = yield* pool.acquire
      const b = yield* pool.acquire
      pool.release(a)
      yield* TestClock.adjust(Duration.seconds(6))
      pool.release(b)
      yield* TestClock.adjust(Duration.seconds(5))
      yield* eventually(() => pool.stats.idle === 1, "the older idle connection is closed")
      expect(source.closed.has(a.raw)).toBe(true)
      expect(source.closed.has(b.raw)).toBe(false)
    })
  )
})

describe("max_connection_age", () => {
  it.scoped("closes an aged connection when it is released, and refills to min_connections", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({
        minConnections: 1,
        maxConnections: 2,
        maxConnectionAge: Duration.seconds(30)
      })
      const old = yield* pool.acquire
      yield* TestClock.adjust(Duration.seconds(30))
      pool.release(old)
      expect(source.closed.has(old.raw)).toBe(true)
      expect(pool.stats).toEqual({ inUse: 0, idle: 0 })
      yield* TestClock.adjust(Duration.seconds(15))
      yield* eventually(() => pool.stats.idle === 1, "the pool is refilled")
      const fresh = yield* pool.acquire
      expect(fresh).not.toBe(old)
      expect(fresh.raw).toBe(source.opened[1])
    })
  )

  it.scoped("closes aged idle connections in maintenance and replaces them", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({
        minConnections: 2,
        maxConnections: 2,
        maxConnectionAge: Duration.seconds(30)
      })
      const [a, b] = source.opened
      yield* TestClock.adjust(Duration.seconds(30))
      yield* eventually(() => source.opened.length === 4 && pool.stats.idle === 2, "both are replaced")
      expect(source.closed).toEqual(new Set([a, b]))
      const lent = [yield* pool.acquire, yield* pool.acquire].map((connection) => connection.raw)
      expect(new Set(lent)).toEqual(new Set(source.opened.slice(2)))
    })
  )

  it.scoped("never lends an aged connection", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({
        minConnections: 1,
        maxConnections: 1,
        // Long maintenance interval: only acquire sees the age.
        idleTimeout: Duration.hours(1),
        maxConnectionAge: Duration.hours(1)
      })
      const [old] = source.opened
      yield* TestClock.setTime(Duration.toMillis(Duration.hours(1)))
      const connection = yield* pool.acquire
      expect(connection.raw).not.toBe(old)
      expect(source.closed.has(old!)).toBe(true)
    })
  )
})

describe("validation", () => {
  // One connection: whether maintenance or acquire validates it first, acquire must lend that one.
  const validating = {
    minConnections: 1,
    maxConnections: 1,
    validateOnAcquire: true,
    validationInterval: Duration.seconds(10)
  }

  it.scoped("validates a connection idle past validation_interval before lending it", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool(validating)
      const connection = yield* pool.acquire
      yield* TestClock.adjust(Duration.seconds(12))
      pool.release(connection)
      expect(validationsOf(source)).toEqual([])
      expect(yield* pool.acquire).toBe(connection)
      expect(validationsOf(source)).toEqual([{ connection: connection.raw, sql: "SELECT 1" }])
    })
  )

  it.scoped("does not validate a connection validated within validation_interval", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool(validating)
      for (let i = 0; i < 3; i++) {
        const connection = yield* pool.acquire
        yield* TestClock.adjust(Duration.seconds(3))
        pool.release(connection)
      }
      yield* pool.acquire
      expect(validationsOf(source)).toEqual([])
    })
  )

  it.scoped("validates a connection returned as suspect, then trusts it again", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool(validating)
      const connection = yield* pool.acquire
      pool.release(connection, true)
      expect(connection.suspect).toBe(true)
      expect(yield* pool.acquire).toBe(connection)
      expect(validationsOf(source)).toHaveLength(1)
      expect(connection.suspect).toBe(false)
      pool.release(connection)
      yield* pool.acquire
      expect(validationsOf(source)).toHaveLength(1)
    })
  )

  it.scoped("replaces a connection that fails validation", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool(validating)
      const broken = yield* pool.acquire
      source.broken.add(broken.raw)
      pool.release(broken, true)
      const replacement = yield* pool.acquire
      expect(replacement).not.toBe(broken)
      expect(source.closed.has(broken.raw)).toBe(true)
      expect(source.opened).toHaveLength(2)
      expect(pool.stats).toEqual({ inUse: 1, idle: 0 })
    })
  )

  it.scoped("validates stale idle connections in maintenance, so that acquire need not", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool(validating)
      yield* TestClock.adjust(Duration.seconds(10))
      yield* eventually(() => validationsOf(source).length === 1, "the idle connection is validated")
      yield* eventually(() => pool.stats.idle === 1, "it is back in the pool")
      yield* pool.acquire
      expect(validationsOf(source)).toHaveLength(1)
    })
  )

  it.scoped("drops an idle connection that fails validation in maintenance and refills", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool(validating)
      const [broken] = source.opened
      source.broken.add(broken!)
      yield* TestClock.adjust(Duration.seconds(10))
      yield* eventually(() => source.opened.length === 2 && pool.stats.idle === 1, "it is replaced")
      expect(source.closed.has(broken!)).toBe(true)
    })
  )

  it.scoped("keeps within max_connections while maintenance validates", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ ...validating, minConnections: 2, maxConnections: 2 })
      source.hold = yield* Deferred.make<void>()
      yield* TestClock.adjust(Duration.seconds(10))
      yield* eventually(() => validationsOf(source).length >= 1, "maintenance is validating")
      const first = yield* Effect.fork(pool.acquire)
      const second = yield* Effect.fork(pool.acquire)
      yield* stillRunning(second)
      yield* Deferred.succeed(source.hold, undefined)
      source.hold = undefined
      const lent = [yield* joinSoon(first), yield* joinSoon(second)]
      expect(new Set(lent).size).toBe(2)
      expect(source.opened).toHaveLength(2)
      expect(pool.stats).toEqual({ inUse: 2, idle: 0 })
    })
  )

  it.scoped("runs no validation query at all when validate_on_acquire is off", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ ...validating, validateOnAcquire: false })
      const connection = yield* pool.acquire
      pool.release(connection, true)
      yield* TestClock.adjust(Duration.minutes(2))
      yield* settle
      expect(yield* pool.acquire).toBe(connection)
      expect(source.queries).toEqual([])
    })
  )
})

describe("failures while opening", () => {
  it.scoped("keeps maintaining the pool after a connection could not be opened", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({
        minConnections: 1,
        maxConnections: 1,
        maxConnectionAge: Duration.seconds(10)
      })
      source.failConnects = 1
      yield* TestClock.adjust(Duration.seconds(10))
      yield* eventually(() => source.failConnects === 0, "the refill was tried")
      expect(pool.stats.idle).toBe(0)
      yield* TestClock.adjust(Duration.seconds(5))
      yield* eventually(() => pool.stats.idle === 1, "the next pass refills")
    })
  )
})

describe("interrupts and shutdown", () => {
  it.scoped("interruptAll interrupts and marks every lent connection, not idle ones", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ minConnections: 2 })
      const lent = yield* pool.acquire
      pool.interruptAll()
      expect(lent.interrupted).toBe(true)
      expect(source.interrupted).toEqual([lent.raw])
      const idle = yield* pool.acquire
      expect(idle.interrupted).toBe(false)
    })
  )

  it.scoped("interruptAll stops a query running on a lent connection", () =>
    Effect.gen(function* () {
      const { pool } = yield* makePool()
      const connection = yield* pool.acquire
      const running = connection.raw.run("SELECT count(*) FROM range(10000000000) a, range(1000) b")
      let settled = false
      running.then(
        () => {
          settled = true
        },
        () => {
          settled = true
        }
      )
      // The query starts on DuckDB's own thread; interrupt until it has noticed.
      for (let i = 0; i < 500 && !settled; i++) {
        pool.interruptAll()
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      }
      const outcome = yield* Effect.either(Effect.tryPromise(() => running))
      expect(outcome._tag).toBe("Left")
      expect(String(outcome._tag === "Left" ? outcome.left.cause : "")).toMatch(/interrupt/i)
    })
  )

  it.scoped("close interrupts lent connections, closes idle ones and fails waiters with ShuttingDown", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ minConnections: 2, maxConnections: 2 })
      const a = yield* pool.acquire
      const b = yield* pool.acquire
      pool.release(b)
      const c = yield* pool.acquire
      const waiting = yield* Effect.fork(pool.acquire)
      yield* stillRunning(waiting)
      pool.release(c)
      yield* joinSoon(waiting)
      const waiter = yield* Effect.fork(pool.acquire)
      yield* stillRunning(waiter)
      yield* pool.close
      expect(a.interrupted).toBe(true)
      expect(source.interrupted).toContain(a.raw)
      const exit = yield* awaitSoon(waiter)
      expect(exit).toEqual(Exit.fail(new ShuttingDown({ message: "the instance is closing" })))
      expect(yield* Effect.exit(pool.acquire)).toEqual(
        Exit.fail(new ShuttingDown({ message: "the instance is closing" }))
      )
      expect(source.closed.has(a.raw)).toBe(false)
      pool.release(a)
      expect(source.closed.has(a.raw)).toBe(true)
      expect(pool.stats.idle).toBe(0)
    })
  )

  it.scoped("close closes every idle connection and stops maintenance", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ minConnections: 3, maxConnections: 3 })
      yield* pool.close
      expect(source.closed).toEqual(new Set(source.opened))
      yield* TestClock.adjust(Duration.hours(2))
      yield* settle
      expect(source.opened).toHaveLength(3)
      expect(pool.stats).toEqual({ inUse: 0, idle: 0 })
    })
  )

  it.scoped("discard closes the connection and does not return it", () =>
    Effect.gen(function* () {
      const { source, pool } = yield* makePool({ minConnections: 1, maxConnections: 2 })
      const connection = yield* pool.acquire
      pool.discard(connection)
      expect(source.closed.has(connection.raw)).toBe(true)
      expect(pool.stats).toEqual({ inUse: 0, idle: 0 })
      const next = yield* pool.acquire
      expect(next).not.toBe(connection)
    })
  )
})

describe("prepared statement cache", () => {
  it.scoped("keeps the 128 most recently used statements of a connection", () =>
    Effect.gen(function* () {
      const { pool } = yield* makePool()
      const connection = yield* pool.acquire
      const prepare = (sql: string) => Effect.promise(() => connection.raw.prepare(sql))
      for (let i = 0; i < 128; i++) connection.cacheStatement(`SELECT ${i}`, yield* prepare(`SELECT ${i}`))
      // A hit makes SELECT 0 the most recent, so SELECT 1 is the one evicted next.
      expect(connection.cachedStatement("SELECT 0")).toBeDefined()
      connection.cacheStatement("SELECT 128", yield* prepare("SELECT 128"))
      expect(connection.cachedStatement("SELECT 1")).toBeUndefined()
      expect(connection.cachedStatement("SELECT 0")).toBeDefined()
      expect(connection.cachedStatement("SELECT 128")).toBeDefined()
      const cached = connection.cachedStatement("SELECT 2")!
      expect(yield* Effect.promise(async () => (await cached.run()).getRowsJS())).toEqual([[2]])
      connection.forgetStatement("SELECT 2")
      expect(connection.cachedStatement("SELECT 2")).toBeUndefined()
    })
  )
})
