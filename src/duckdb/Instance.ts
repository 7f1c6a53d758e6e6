import { Cause, type Duration, Effect } from "effect"
import type { DatabaseDescriptor } from "../attach/Attachments.js"
import { AliasExists, NotFound, type PoolExhausted, type ShuttingDown } from "../domain/Errors.js"
import type { ConnectionPool } from "./ConnectionPool.js"
import { type AttachError, buildEngine, type EngineContext, type Generation } from "./Engine.js"
import type { PooledConnection } from "./PooledConnection.js"

/** What an instance is, as a plain value: enough for any replica to rebuild it. */
export interface InstanceDescriptor {
  readonly id: string
  /** Principal id of the creator; `*` for the shared default instance. */
  readonly owner: string
  readonly createdAt: number
  readonly settings: InstanceSettings
  readonly databases: ReadonlyArray<DatabaseDescriptor>
}

export interface InstanceSettings {
  readonly threads: number
  readonly memoryLimitBytes: number
}

export const sharedOwner = "*"

export interface InstanceOptions {
  /** Keep serving when some databases cannot be attached (the shared instance at start). */
  readonly tolerateFailures: boolean
  /** How long a replaced engine may keep serving its running queries before it is closed anyway. */
  readonly retireAfter: Duration.Duration
}

/**
 * One DuckDB instance: an engine with its own connection pool, rebuilt when its databases change.
 *
 * A locked-down DuckDB engine cannot attach anything new (security.md §2), so attaching or detaching
 * builds a new engine from the descriptor, swaps it in, and retires the old one once its running
 * queries end: nothing running is interrupted. Tables a client created in the instance's own memory
 * live in the old engine and are not carried over. Changes are serialised; queries never wait for
 * them.
 */
export class Instance {
  lastUsedAt: number
  private closed = false
  private readonly retiring = new Set<Generation>()
  private readonly changes = Effect.unsafeMakeSemaphore(1)

  private constructor(
    private current: Generation,
    private described: InstanceDescriptor,
    private readonly context: EngineContext,
    private readonly options: InstanceOptions
  ) {
    this.lastUsedAt = described.createdAt
  }

  static readonly make = (
    descriptor: InstanceDescriptor,
    context: EngineContext,
    options: InstanceOptions
  ): Effect.Effect<Instance, AttachError> =>
    Effect.map(
      buildEngine({ ...descriptor.settings, databases: descriptor.databases }, context, options),
      (generation) => new Instance(generation, descriptor, context, options)
    )

  get id(): string {
    return this.described.id
  }

  get descriptor(): InstanceDescriptor {
    return this.described
  }

  get shared(): boolean {
    return this.described.owner === sharedOwner
  }

  /** The pool of the engine serving new queries. */
  get pool(): ConnectionPool {
    return this.current.pool
  }

  /** Databases that are attached and queryable now. */
  get databases(): ReadonlyArray<DatabaseDescriptor> {
    return this.current.attached
  }

  /** Databases the descriptor names that the engine could not attach, with why. */
  get failures(): ReadonlyMap<string, AttachError> {
    return this.current.failures
  }

  touch(now: number): void {
    this.lastUsedAt = now
  }

  acquire(): Effect.Effect<PooledConnection, PoolExhausted | ShuttingDown> {
    return this.current.pool.acquire
  }

  /** An idle connection lent at once, or undefined when `acquire` would have to wait, open or validate. */
  tryAcquire(): PooledConnection | undefined {
    return this.current.pool.tryAcquire()
  }

  /** Attaches one more database; the instance keeps serving from its old engine until the new one is ready. */
  attach(database: DatabaseDescriptor): Effect.Effect<void, AttachError | AliasExists> {
    return this.change(
      Effect.suspend(
        (): Effect.Effect<void, AttachError | AliasExists> =>
          this.described.databases.some((known) => known.alias.toLowerCase() === database.alias.toLowerCase())
            ? Effect.fail(
                new AliasExists({ message: `the instance already has a database "${database.alias}"` })
              )
            : this.rebuild([...this.described.databases, database], false)
      )
    )
  }

  detach(alias: string): Effect.Effect<void, AttachError | NotFound> {
    return this.change(
      Effect.suspend((): Effect.Effect<void, AttachError | NotFound> => {
        const kept = this.described.databases.filter(
          (known) => known.alias.toLowerCase() !== alias.toLowerCase()
        )
        return kept.length === this.described.databases.length
          ? Effect.fail(new NotFound({ message: "database not found" }))
          : this.rebuild(kept, false)
      })
    )
  }

  /**
   * Rebuilds the engine with exactly `databases` (the descriptor changed, here or on another
   * replica). `commit` runs once the new engine is ready, before it serves: when `commit` fails, the
   * new engine is closed and the instance serves on as it was.
   */
  replaceDatabases<E = never>(
    databases: ReadonlyArray<DatabaseDescriptor>,
    commit: Effect.Effect<void, E> = Effect.void
  ): Effect.Effect<void, AttachError | E> {
    return this.change(
      Effect.suspend(() => {
        const descriptor = { ...this.described, databases }
        return buildEngine({ ...descriptor.settings, databases }, this.context, {
          tolerateFailures: false
        }).pipe(
          Effect.tap((next) => Effect.onError(commit, () => next.close)),
          Effect.map((next) => this.swap(next, descriptor))
        )
      })
    )
  }

  /**
   * Tries again the databases this engine could not attach; swaps in a new engine when it attaches
   * more of them. True when nothing is missing any more.
   */
  readonly recover: Effect.Effect<boolean> = this.change(
    Effect.suspend(() => {
      if (this.current.failures.size === 0) return Effect.succeed(true)
      const before = this.current.failures.size
      return buildEngine({ ...this.described.settings, databases: this.described.databases }, this.context, {
        tolerateFailures: true
      }).pipe(
        Effect.flatMap((next) => {
          if (next.failures.size >= before) return Effect.as(next.close, false)
          this.swap(next, this.described)
          return Effect.succeed(next.failures.size === 0)
        }),
        Effect.orElseSucceed(() => false)
      )
    })
  )

  /**
   * A DuckDB call on `pool` ignored its interrupt for longer than the grace period (a plan being
   * bound, one huge function call) and has now returned. Its engine may hold memory it will not give
   * back: new queries go to a fresh engine, and the old one retires once its running queries end.
   * Nothing another client runs is interrupted.
   */
  renewAfterRunaway(pool: ConnectionPool): void {
    if (this.closed || pool !== this.current.pool || this.renewing) return
    this.renewing = true
    Effect.runFork(
      this.change(
        Effect.suspend(() =>
          pool === this.current.pool
            ? this.rebuild(this.described.databases, this.options.tolerateFailures)
            : Effect.void
        )
      ).pipe(
        // Code and scrubbed message only, as for a configured database that fails to attach: a whole
        // cause would print stack traces, and with them the server's paths.
        Effect.catchAllCause((cause) => {
          const failure = Cause.failureOption(cause)
          return Effect.logWarning("renewing an instance after a runaway query failed").pipe(
            Effect.annotateLogs(
              failure._tag === "Some"
                ? { code: failure.value.code, reason: failure.value.message }
                : { code: "internal" }
            )
          )
        }),
        Effect.ensuring(Effect.sync(() => (this.renewing = false)))
      )
    )
  }

  private renewing = false

  private change<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.changes.withPermits(1)(effect)
  }

  private rebuild(databases: ReadonlyArray<DatabaseDescriptor>, tolerateFailures: boolean) {
    const descriptor = { ...this.described, databases }
    return Effect.map(
      buildEngine({ ...descriptor.settings, databases }, this.context, { tolerateFailures }),
      (next) => this.swap(next, descriptor)
    )
  }

  private swap(next: Generation, descriptor: InstanceDescriptor): void {
    if (this.closed) {
      Effect.runFork(next.close)
      return
    }
    const previous = this.current
    this.current = next
    this.described = descriptor
    this.retiring.add(previous)
    Effect.runFork(
      previous.pool.awaitIdle.pipe(
        Effect.timeout(this.options.retireAfter),
        Effect.ignore,
        Effect.zipRight(previous.close),
        Effect.ensuring(Effect.sync(() => this.retiring.delete(previous)))
      )
    )
  }

  /** Interrupts running queries, closes connections and engines (the current one and any retiring). */
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    const generations = [this.current, ...this.retiring]
    this.retiring.clear()
    for (const generation of generations) generation.pool.interruptAll()
    return Effect.forEach(generations, (generation) => generation.close, { discard: true })
  })
}
