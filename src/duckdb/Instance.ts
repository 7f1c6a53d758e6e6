import { Cause, type Duration, Effect, Exit, Scope } from "effect"
import type { DatabaseDescriptor } from "../attach/Attachments.js"
import type { StopWindow } from "../attach/UpstreamStop.js"
import type { PoolExhausted, ShuttingDown } from "../domain/Errors.js"
import type { ConnectionPool } from "./ConnectionPool.js"
import { type AttachError, buildEngine, type EngineContext, type Generation } from "./Engine.js"
import type { ConnectionOwner, PooledConnection } from "./PooledConnection.js"
import { hasStoppableUpstream, stopUpstreamStatements } from "./UpstreamStop.js"

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
 * them. That waiting, and a renewal after a runaway query, run in the instance's own scope: closing
 * the instance stops them.
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
    private readonly options: InstanceOptions,
    private readonly background: Scope.CloseableScope
  ) {
    this.lastUsedAt = described.createdAt
  }

  static readonly make = (
    descriptor: InstanceDescriptor,
    context: EngineContext,
    options: InstanceOptions
  ): Effect.Effect<Instance, AttachError> =>
    Effect.flatMap(
      buildEngine({ ...descriptor.settings, databases: descriptor.databases }, context, options),
      (generation) =>
        Effect.map(
          Scope.make(),
          (background) => new Instance(generation, descriptor, context, options, background)
        )
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

  /** Whether a stopped query may leave a statement running upstream that the server must stop. */
  get hasStoppableUpstream(): boolean {
    return hasStoppableUpstream(this.current.attached)
  }

  /**
   * Stops the statements a stopped query left running on this instance's MySQL/MariaDB and
   * PostgreSQL databases (their scanners do not hear DuckDB's interrupt while they wait on one), in
   * the instance's scope as its other background work: the effect returns once it has started. Logs
   * what it could not do.
   */
  stopUpstreamStatements(window: StopWindow): Effect.Effect<void> {
    return stopUpstreamStatements(this.current.attached, this.context, window).pipe(
      Effect.flatMap((outcome) =>
        Effect.forEach(outcome.failures, (failure) =>
          Effect.logWarning("could not stop a statement upstream").pipe(
            Effect.annotateLogs({ instance: this.id, alias: failure.alias, reason: failure.message })
          )
        )
      ),
      Effect.interruptible,
      Effect.forkIn(this.background),
      Effect.asVoid
    )
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
          Effect.flatMap((next) => this.swap(next, descriptor))
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
          return Effect.as(this.swap(next, this.described), next.failures.size === 0)
        }),
        Effect.orElseSucceed(() => false)
      )
    })
  )

  /**
   * A DuckDB call on `pool` ignored its interrupt for longer than the grace period (a plan being
   * bound, one huge function call) and has now returned. Its engine may hold memory it will not give
   * back: new queries go to a fresh engine, and the old one retires once its running queries end.
   * Nothing another client runs is interrupted. The renewal runs on in the instance's scope: the
   * effect returns once it has started.
   */
  renewAfterRunaway(pool: ConnectionOwner): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.closed || pool !== this.current.pool || this.renewing) return Effect.void
      this.renewing = true
      return this.change(
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
        Effect.ensuring(Effect.sync(() => (this.renewing = false))),
        Effect.interruptible,
        Effect.forkIn(this.background),
        Effect.asVoid
      )
    })
  }

  private renewing = false

  private change<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.changes.withPermits(1)(effect)
  }

  private rebuild(databases: ReadonlyArray<DatabaseDescriptor>, tolerateFailures: boolean) {
    const descriptor = { ...this.described, databases }
    return Effect.flatMap(
      buildEngine({ ...descriptor.settings, databases }, this.context, { tolerateFailures }),
      (next) => this.swap(next, descriptor)
    )
  }

  /** Serves from `next` now; the engine it replaces closes once its queries end, in the background. */
  private swap(next: Generation, descriptor: InstanceDescriptor): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.closed) return next.close
      const previous = this.current
      this.current = next
      this.described = descriptor
      this.retiring.add(previous)
      return previous.pool.awaitIdle.pipe(
        Effect.timeout(this.options.retireAfter),
        Effect.ignore,
        // Not cut short by `close`, which closes the retiring engines too and may stop this first.
        Effect.zipRight(Effect.uninterruptible(previous.close)),
        Effect.ensuring(Effect.sync(() => this.retiring.delete(previous))),
        // Whatever region the swap ran in, closing the instance may stop the wait.
        Effect.interruptible,
        Effect.forkIn(this.background),
        Effect.asVoid
      )
    })
  }

  /**
   * Interrupts running queries, closes connections and engines (the current one and any retiring),
   * and stops the background work.
   */
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    const generations = [this.current, ...this.retiring]
    this.retiring.clear()
    for (const generation of generations) generation.pool.interruptAll()
    return Effect.forEach(generations, (generation) => generation.close, { discard: true }).pipe(
      Effect.zipRight(Scope.close(this.background, Exit.void))
    )
  })
}
