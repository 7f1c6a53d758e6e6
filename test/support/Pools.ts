import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { Deferred, Duration, Effect, Fiber } from "effect"
import { ConnectionPool, type PoolOptions } from "../../src/duckdb/ConnectionPool.js"

/** An in-memory DuckDB engine for the test's scope. */
export const engine = Effect.acquireRelease(
  Effect.promise(() => DuckDBInstance.create(undefined, { threads: "1" })),
  (instance) => Effect.sync(() => instance.closeSync())
)

/**
 * A `connect` over a real engine that records what the pool does with its connections and can be
 * told to misbehave.
 */
export interface Source {
  readonly connect: () => Promise<DuckDBConnection>
  readonly opened: Array<DuckDBConnection>
  readonly closed: Set<DuckDBConnection>
  readonly interrupted: Array<DuckDBConnection>
  /** Every SQL text run on a connection, with the connection it ran on. */
  readonly queries: Array<{ readonly connection: DuckDBConnection; readonly sql: string }>
  /** Connections whose `run` rejects. */
  readonly broken: Set<DuckDBConnection>
  /** While set, `SELECT 1` waits for it. */
  hold: Deferred.Deferred<void> | undefined
  /** How many of the next `connect` calls reject. */
  failConnects: number
}

export const makeSource = (instance: DuckDBInstance): Source => {
  const source: Source = {
    opened: [],
    closed: new Set(),
    interrupted: [],
    queries: [],
    broken: new Set(),
    hold: undefined,
    failConnects: 0,
    connect: async () => {
      if (source.failConnects > 0) {
        source.failConnects--
        throw new Error("cannot open a connection")
      }
      const connection = await instance.connect()
      const run = connection.run.bind(connection)
      connection.run = async (...args: Parameters<DuckDBConnection["run"]>) => {
        source.queries.push({ connection, sql: args[0] })
        const hold = source.hold
        if (hold !== undefined) await Effect.runPromise(Deferred.await(hold))
        if (source.broken.has(connection)) throw new Error("connection is broken")
        return run(...args)
      }
      const closeSync = connection.closeSync.bind(connection)
      connection.closeSync = () => {
        source.closed.add(connection)
        closeSync()
      }
      const interrupt = connection.interrupt.bind(connection)
      connection.interrupt = () => {
        source.interrupted.push(connection)
        interrupt()
      }
      source.opened.push(connection)
      return connection
    }
  }
  return source
}

export const validationsOf = (source: Source) => source.queries.filter((query) => query.sql === "SELECT 1")

export const poolOptions = (overrides: Partial<PoolOptions> = {}): PoolOptions => ({
  minConnections: 1,
  maxConnections: 3,
  idleTimeout: Duration.hours(1),
  acquireTimeout: Duration.seconds(5),
  validateOnAcquire: false,
  validationInterval: Duration.hours(1),
  maxConnectionAge: Duration.hours(10),
  ...overrides
})

/** A pool over a fresh engine, both closed with the test's scope. */
export const makePool = (overrides: Partial<PoolOptions> = {}) =>
  Effect.gen(function* () {
    const source = makeSource(yield* engine)
    const pool = yield* ConnectionPool.make(source.connect, poolOptions(overrides))
    return { source, pool }
  })

/**
 * Waits, in real time, until `condition` holds: DuckDB calls complete on their own threads, which the
 * TestClock does not drive. Fails the test after `attempts` tries.
 */
export const eventually = (condition: () => boolean, what: string, attempts = 500) =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (condition()) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    }
    return yield* Effect.die(new Error(`timed out waiting until ${what}`))
  })

/** Lets other fibers and pending DuckDB callbacks run, then says whether `fiber` is still running. */
export const stillRunning = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 5; i++) {
      yield* Effect.yieldNow()
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    }
    return fiber.unsafePoll() === null
  })

/** Lets fibers woken by the TestClock finish their DuckDB calls (real time, a few milliseconds). */
export const settle = Effect.gen(function* () {
  for (let i = 0; i < 10; i++) {
    yield* Effect.yieldNow()
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
  }
})

/** Joins `fiber`, failing the test instead of hanging when it does not end within real time. */
export const joinSoon = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.zipRight(
    eventually(() => fiber.unsafePoll() !== null, "the fiber ends"),
    Fiber.join(fiber)
  )

/** The fiber's exit, failing the test instead of hanging when it does not end within real time. */
export const awaitSoon = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.zipRight(
    eventually(() => fiber.unsafePoll() !== null, "the fiber ends"),
    Fiber.await(fiber)
  )
