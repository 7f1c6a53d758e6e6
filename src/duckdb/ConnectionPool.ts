import type { DuckDBConnection } from "@duckdb/node-api"
import { type Clock, Duration, Effect, Runtime, Schedule, type Scope } from "effect"
import { LinkedList, type ListNode } from "../collections/LinkedList.js"
import type { ConnectionPoolConfig } from "../domain/Config.js"
import { PoolExhausted, ShuttingDown } from "../domain/Errors.js"
import { InstanceViews } from "./InstanceViews.js"
import { type ConnectionOwner, PooledConnection, type StatementBudget } from "./PooledConnection.js"

interface Waiter {
  readonly deadline: number
  node: ListNode<Waiter> | undefined
  settled: boolean
  readonly wake: () => void
  readonly expire: () => void
}

export interface PoolStats {
  readonly inUse: number
  readonly idle: number
}

export interface PoolOptions {
  readonly minConnections: number
  readonly maxConnections: number
  readonly idleTimeout: Duration.Duration
  readonly acquireTimeout: Duration.Duration
  readonly validateOnAcquire: boolean
  readonly validationInterval: Duration.Duration
  readonly maxConnectionAge: Duration.Duration
}

export const poolOptionsFromConfig = (config: ConnectionPoolConfig): PoolOptions => ({
  minConnections: config.min_connections,
  maxConnections: config.max_connections,
  idleTimeout: config.idle_timeout,
  acquireTimeout: config.acquire_timeout,
  validateOnAcquire: config.validate_on_acquire,
  validationInterval: config.validation_interval,
  maxConnectionAge: config.max_connection_age
})

/**
 * Connections of one DuckDB instance. Acquiring an idle connection is synchronous (no timer, no
 * fiber); only a caller that must wait or open a connection pays for an async step.
 *
 * Validation (`SELECT 1`) happens on acquire only for a connection that is suspect or has not been
 * validated within `validationInterval`, and in the background for idle ones: a DuckDB connection is
 * in-process, so checking it before every query would double the cost of small queries for nothing.
 */
export class ConnectionPool implements ConnectionOwner {
  private readonly idle: Array<PooledConnection> = []
  /** Lists, not sets: an entry per query comes and goes (see LinkedList). */
  private readonly lent = new LinkedList<PooledConnection>()
  /** Callers waiting for a release, oldest (earliest deadline) first. */
  private readonly waiters = new LinkedList<Waiter>()
  /** Fails waiters whose deadline passed; one fiber per pool, running only while someone waits. */
  private sweeping = false
  private runFork: (effect: Effect.Effect<void>) => void = () => {}
  /** Shared by this pool's connections: the instance's prepared statements, in characters of SQL. */
  readonly statementBudget: StatementBudget = { chars: 0 }
  /** The views clients created in this engine, as the gate weighs statements against them. */
  readonly views = new InstanceViews()
  private opening = 0
  private validating = 0
  private closed = false
  private readonly idleMillis: number
  private readonly ageMillis: number
  private readonly validationMillis: number

  private constructor(
    private readonly connect: () => Promise<DuckDBConnection>,
    private readonly options: PoolOptions,
    private readonly clock: Clock.Clock
  ) {
    this.idleMillis = Duration.toMillis(options.idleTimeout)
    this.ageMillis = Duration.toMillis(options.maxConnectionAge)
    this.validationMillis = Duration.toMillis(options.validationInterval)
  }

  /** A pool that fills to its minimum, keeps itself healthy in the background, and closes with its scope. */
  static readonly make = (
    connect: () => Promise<DuckDBConnection>,
    options: PoolOptions
  ): Effect.Effect<ConnectionPool, never, Scope.Scope> =>
    Effect.gen(function* () {
      const pool = new ConnectionPool(connect, options, yield* Effect.clock)
      const runtime = yield* Effect.runtime<never>()
      pool.runFork = (effect) => void Runtime.runFork(runtime)(effect)
      yield* Effect.addFinalizer(() => pool.close)
      yield* pool.maintain
      // A pass that fails (a connection that cannot be opened) must not end the upkeep for good.
      const pass = pool.maintain.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("connection pool maintenance failed", cause))
      )
      yield* pass.pipe(Effect.repeat(Schedule.spaced(pool.maintenanceInterval())), Effect.forkScoped)
      return pool
    })

  get stats(): PoolStats {
    return { inUse: this.lent.size, idle: this.idle.length }
  }

  private get size(): number {
    return this.idle.length + this.lent.size + this.opening + this.validating
  }

  private now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  private maintenanceInterval(): Duration.Duration {
    const shortest = Math.min(this.idleMillis, this.ageMillis, this.validationMillis)
    return Duration.millis(Math.max(1_000, Math.floor(shortest / 2)))
  }

  private needsValidation(connection: PooledConnection, now: number): boolean {
    return connection.suspect || now - connection.lastValidatedAt >= this.validationMillis
  }

  /**
   * A connection, or `PoolExhausted` once `acquireTimeout` has passed; the caller hands it back with
   * `release` or `discard`. Callers acquire in an uninterruptible region: only the wait for a release
   * is made interruptible and timed, so that the timeout fires there, and opening or validating a
   * connection is never cut short with the connection lost.
   */
  readonly acquire: Effect.Effect<PooledConnection, PoolExhausted | ShuttingDown> = Effect.suspend(() => {
    const ready = this.takeIdle()
    if (ready !== undefined) return Effect.succeed(ready)
    return this.acquireSlow(this.now() + Duration.toMillis(this.options.acquireTimeout))
  })

  /** An idle connection lent at once, or undefined when acquiring needs async work (or the pool is closed). */
  tryAcquire(): PooledConnection | undefined {
    return this.closed ? undefined : this.takeIdle()
  }

  /** An idle connection that may be lent without any async work, closing expired ones on the way. */
  private takeIdle(): PooledConnection | undefined {
    const now = this.now()
    while (this.idle.length > 0) {
      const connection = this.idle.pop()!
      if (now - connection.createdAt >= this.ageMillis) {
        connection.close()
        continue
      }
      if (this.options.validateOnAcquire && this.needsValidation(connection, now)) {
        this.idle.push(connection)
        return undefined
      }
      return this.lend(connection, now)
    }
    return undefined
  }

  private lend(connection: PooledConnection, now: number): PooledConnection {
    connection.lastUsedAt = now
    connection.lentAs = this.lent.push(connection)
    return connection
  }

  private acquireSlow(deadline: number): Effect.Effect<PooledConnection, PoolExhausted | ShuttingDown> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.fail(new ShuttingDown({ message: "the instance is closing" }))
      const ready = this.takeIdle()
      if (ready !== undefined) return Effect.succeed(ready)
      const candidate = this.idle.pop()
      if (candidate !== undefined) {
        return this.validate(candidate).pipe(
          Effect.flatMap((valid) =>
            valid ? Effect.succeed(this.lend(candidate, this.now())) : this.acquireSlow(deadline)
          ),
          Effect.uninterruptible
        )
      }
      if (this.size < this.options.maxConnections) {
        return Effect.uninterruptible(
          Effect.map(this.open, (connection) => this.lend(connection, this.now()))
        )
      }
      return Effect.zipRight(this.nextRelease(deadline), this.acquireSlow(deadline))
    })
  }

  /**
   * Waits for a release until `deadline`. The deadline is kept by one sweeper per pool rather than a
   * timer fiber per waiter: under load most queries wait here briefly, and forking a race for each
   * of them cost more than the query itself.
   */
  private nextRelease(deadline: number): Effect.Effect<void, PoolExhausted> {
    return Effect.async<void, PoolExhausted>((resume) => {
      const waiter: Waiter = {
        deadline,
        node: undefined,
        settled: false,
        wake: () => {
          waiter.settled = true
          resume(Effect.void)
        },
        expire: () => {
          waiter.settled = true
          resume(
            Effect.fail(
              new PoolExhausted({
                message: `no connection became free within ${Duration.format(this.options.acquireTimeout)}`
              })
            )
          )
        }
      }
      waiter.node = this.waiters.push(waiter)
      this.sweep()
      return Effect.sync(() => {
        // Interrupted after a wake-up it will not use: pass the wake-up on.
        if (!this.waiters.remove(waiter.node!) && waiter.settled) this.wakeOne()
      })
    }).pipe(Effect.interruptible)
  }

  private sweep(): void {
    if (this.sweeping) return
    this.sweeping = true
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      const now = this.now()
      for (let first = this.waiters.first; first !== undefined; first = this.waiters.first) {
        if (first.value.deadline > now) break
        this.waiters.remove(first)
        first.value.expire()
      }
      const next = this.waiters.first
      if (next === undefined) {
        this.sweeping = false
        return Effect.void
      }
      return Effect.zipRight(Effect.sleep(Duration.millis(next.value.deadline - now)), loop)
    })
    this.runFork(loop)
  }

  private wakeOne(): void {
    this.waiters.shift()?.wake()
  }

  private readonly open: Effect.Effect<PooledConnection> = Effect.suspend(() => {
    this.opening++
    return Effect.promise(() => this.connect()).pipe(
      Effect.map((raw) => {
        const now = this.now()
        return new PooledConnection(this, this.statementBudget, raw, now, now, now)
      }),
      Effect.ensuring(Effect.sync(() => this.opening--))
    )
  })

  /** Runs `SELECT 1`; a connection that fails it is closed. */
  private validate(connection: PooledConnection): Effect.Effect<boolean> {
    return Effect.suspend(() => {
      this.validating++
      return Effect.tryPromise(() => connection.raw.run("SELECT 1")).pipe(
        Effect.ensuring(Effect.sync(() => this.validating--)),
        Effect.match({
          onFailure: () => {
            connection.close()
            return false
          },
          onSuccess: () => {
            connection.suspect = false
            connection.lastValidatedAt = this.now()
            return true
          }
        })
      )
    })
  }

  /** Resolves once no connection is lent: a pool being retired waits for its last query. */
  readonly awaitIdle: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.lent.size === 0) return resume(Effect.void)
    const wake = () => resume(Effect.void)
    this.idleWaiters.add(wake)
    return Effect.sync(() => this.idleWaiters.delete(wake))
  }).pipe(Effect.interruptible)

  private readonly idleWaiters = new Set<() => void>()

  private noteReturned(): void {
    this.wakeOne()
    if (this.lent.size === 0) {
      for (const wake of this.idleWaiters) wake()
      this.idleWaiters.clear()
    }
  }

  /** Returns a connection; `suspect` when its last use ended in an error or an interrupt. */
  release(connection: PooledConnection, suspect = false): void {
    if (!this.giveBack(connection)) return
    // Whoever lent it has seen DuckDB let go: interrupts still being repeated would reach the next run.
    connection.endRun()
    const now = this.now()
    connection.lastUsedAt = now
    connection.suspect ||= suspect
    if (this.closed || now - connection.createdAt >= this.ageMillis) {
      connection.close()
    } else {
      this.idle.push(connection)
    }
    this.noteReturned()
  }

  /**
   * Closes a lent connection that could not be brought back to a known state. A DuckDB call still
   * running on it would make `closeSync` block the event loop until the call ends: close it after.
   */
  discard(connection: PooledConnection): void {
    if (!this.giveBack(connection)) return
    const pending = connection.pending
    if (pending === undefined) connection.close()
    else
      void pending.then(
        () => connection.close(),
        () => connection.close()
      )
    this.noteReturned()
  }

  /** Takes `connection` off the lent list; false when it was not lent (given back already). */
  private giveBack(connection: PooledConnection): boolean {
    const lentAs = connection.lentAs
    connection.lentAs = undefined
    return lentAs !== undefined && this.lent.remove(lentAs)
  }

  /** Interrupts the DuckDB work of every lent connection (shutdown, instance deletion). */
  interruptAll(): void {
    for (const connection of this.lent) {
      connection.interrupted = true
      connection.interruptRun()
    }
  }

  /** One pass of upkeep: drop idle and aged connections, validate stale ones, refill to the minimum. */
  readonly maintain: Effect.Effect<void> = Effect.gen(this, function* () {
    if (this.closed) return
    const now = this.now()
    const keep: Array<PooledConnection> = []
    for (const connection of this.idle.splice(0)) {
      const expired = now - connection.createdAt >= this.ageMillis
      const idleTooLong =
        now - connection.lastUsedAt >= this.idleMillis &&
        keep.length + this.lent.size >= this.options.minConnections
      if (expired || idleTooLong) connection.close()
      else keep.push(connection)
    }
    // Back at once: a connection out of `idle` and not `validating` would be counted nowhere, and
    // acquire would open connections beyond the maximum meanwhile.
    this.idle.push(...keep)
    if (this.options.validateOnAcquire) {
      for (const connection of keep) {
        const at = this.idle.indexOf(connection)
        // Lent since the pass began, or fresh enough.
        if (at === -1 || !this.needsValidation(connection, now)) continue
        this.idle.splice(at, 1)
        const valid = yield* this.validate(connection)
        if (valid && this.closed) connection.close()
        else if (valid) this.idle.push(connection)
        // A waiter may now take this connection, or open the replacement of a failed one.
        this.wakeOne()
      }
    }
    while (!this.closed && this.size < this.options.minConnections) {
      const connection = yield* this.open
      if (this.closed) connection.close()
      else this.idle.push(connection)
      this.wakeOne()
    }
  })

  readonly close: Effect.Effect<void> = Effect.sync(() => {
    if (this.closed) return
    this.closed = true
    for (const connection of this.idle.splice(0)) connection.close()
    this.interruptAll()
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const waiter of waiting) waiter.wake()
  })
}
