import { DuckDBInstance } from "@duckdb/node-api"
import { Effect, Exit, Scope } from "effect"
import type { DatabaseType } from "../domain/Config.js"
import type { PoolExhausted, ShuttingDown } from "../domain/Errors.js"
import { ConnectionPool, type PooledConnection, type PoolOptions } from "./ConnectionPool.js"
import { creationOptions, lockdown } from "./Lockdown.js"

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

export interface DatabaseDescriptor {
  readonly alias: string
  readonly type: DatabaseType
}

export const sharedOwner = "*"

/**
 * One DuckDB engine with its own connection pool. The registry owns its lifetime; queries borrow
 * connections from its pool in parallel and never wait on another instance.
 */
export class Instance {
  lastUsedAt: number

  private constructor(
    readonly descriptor: InstanceDescriptor,
    readonly pool: ConnectionPool,
    private readonly scope: Scope.CloseableScope
  ) {
    this.lastUsedAt = descriptor.createdAt
  }

  get id(): string {
    return this.descriptor.id
  }

  get shared(): boolean {
    return this.descriptor.owner === sharedOwner
  }

  static readonly make = (descriptor: InstanceDescriptor, pool: PoolOptions): Effect.Effect<Instance> =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const build = Effect.gen(function* () {
        const engine = yield* Effect.acquireRelease(
          Effect.promise(() =>
            DuckDBInstance.create(
              undefined,
              creationOptions({
                threads: descriptor.settings.threads,
                memoryLimitBytes: descriptor.settings.memoryLimitBytes
              })
            )
          ),
          (engine) => Effect.sync(() => engine.closeSync())
        )
        yield* Effect.acquireUseRelease(
          Effect.promise(() => engine.connect()),
          (setup) => Effect.orDie(lockdown(setup, { allowedPaths: [] })),
          (setup) => Effect.sync(() => setup.closeSync())
        )
        const connections = yield* ConnectionPool.make(() => engine.connect(), pool)
        return new Instance(descriptor, connections, scope)
      })
      return yield* build.pipe(
        Scope.extend(scope),
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
    })

  touch(now: number): void {
    this.lastUsedAt = now
  }

  acquire(): Effect.Effect<PooledConnection, PoolExhausted | ShuttingDown> {
    return this.pool.acquire
  }

  /** Interrupts running queries, closes connections and the engine. */
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    this.pool.interruptAll()
    return Scope.close(this.scope, Exit.void)
  })
}
