import { randomBytes } from "node:crypto"
import { Duration, Effect, Option, Schedule } from "effect"
import { InstanceLimit, NotFound } from "../domain/Errors.js"
import { poolOptionsFromConfig } from "../duckdb/ConnectionPool.js"
import { Instance, type InstanceDescriptor, type InstanceSettings, sharedOwner } from "../duckdb/Instance.js"
import { AppConfig } from "./AppConfig.js"

export const defaultInstanceId = "default"

/** Settings a client may ask for; each is capped by the server's own. */
export interface RequestedSettings {
  readonly threads?: number | undefined
  readonly memoryLimitBytes?: number | undefined
}

const newInstanceId = () => `inst_${randomBytes(16).toString("base64url")}`

const notFound = () => new NotFound({ message: "instance not found" })

/**
 * The parent of every DuckDB instance: creates them up to `duckdb.max_instances` (the shared
 * `default` instance does not count), closes API-created ones idle longer than
 * `duckdb.instance_idle_timeout`, and closes all of them when its scope closes.
 */
export class InstanceRegistry extends Effect.Service<InstanceRegistry>()("pondpilot/InstanceRegistry", {
  scoped: Effect.gen(function* () {
    const config = yield* AppConfig
    const clock = yield* Effect.clock
    const pool = poolOptionsFromConfig(config.duckdb.connection_pool)
    const limits = config.duckdb.settings
    const instances = new Map<string, Instance>()
    let reserved = 0

    const capped = (requested: RequestedSettings): InstanceSettings => ({
      threads: Math.min(requested.threads ?? limits.threads, limits.threads),
      memoryLimitBytes: Math.min(requested.memoryLimitBytes ?? limits.memory_limit, limits.memory_limit)
    })

    const closeInstance = (instance: Instance) =>
      Effect.suspend(() => {
        instances.delete(instance.id)
        return instance.close
      })

    yield* Effect.addFinalizer(() =>
      Effect.forEach([...instances.values()], closeInstance, { concurrency: "unbounded", discard: true })
    )

    const defaultInstance = yield* Instance.make(
      {
        id: defaultInstanceId,
        owner: sharedOwner,
        createdAt: clock.unsafeCurrentTimeMillis(),
        settings: capped({}),
        databases: []
      },
      pool
    )
    instances.set(defaultInstanceId, defaultInstance)

    const visibleTo = (instance: Instance, principal: string) =>
      instance.shared || instance.descriptor.owner === principal

    const create = Effect.fn("InstanceRegistry.create")(function* (
      principal: string,
      requested: RequestedSettings
    ) {
      const apiCreated = instances.size - 1 + reserved
      if (apiCreated >= config.duckdb.max_instances) {
        return yield* new InstanceLimit({
          message: `the server holds its maximum of ${config.duckdb.max_instances} instances; delete one first`
        })
      }
      reserved++
      const descriptor: InstanceDescriptor = {
        id: newInstanceId(),
        owner: principal,
        createdAt: clock.unsafeCurrentTimeMillis(),
        settings: capped(requested),
        databases: []
      }
      const instance = yield* Instance.make(descriptor, pool).pipe(
        Effect.ensuring(Effect.sync(() => reserved--))
      )
      instances.set(instance.id, instance)
      return instance
    })

    /** The instance if `principal` may use it; another principal's instance is indistinguishable from none. */
    const get = (id: string, principal: string): Effect.Effect<Instance, NotFound> =>
      Effect.suspend(() => {
        const instance = instances.get(id)
        return instance !== undefined && visibleTo(instance, principal)
          ? Effect.succeed(instance)
          : Effect.fail(notFound())
      })

    const list = (principal: string): ReadonlyArray<Instance> =>
      [...instances.values()].filter((instance) => visibleTo(instance, principal))

    const remove = Effect.fn("InstanceRegistry.remove")(function* (id: string, principal: string) {
      const instance = yield* get(id, principal)
      yield* closeInstance(instance)
    })

    const idleMillis = Duration.toMillis(config.duckdb.instance_idle_timeout)
    const evictIdle = Effect.suspend(() => {
      const now = clock.unsafeCurrentTimeMillis()
      const idle = [...instances.values()].filter(
        (instance) =>
          !instance.shared && instance.pool.stats.inUse === 0 && now - instance.lastUsedAt >= idleMillis
      )
      return Effect.forEach(
        idle,
        (instance) =>
          Effect.zipRight(
            closeInstance(instance),
            Effect.logInfo("closed idle instance").pipe(Effect.annotateLogs({ instance_id: instance.id }))
          ),
        { discard: true }
      )
    })
    const sweepEvery = Duration.millis(Math.max(1_000, Math.min(60_000, Math.floor(idleMillis / 4))))
    yield* evictIdle.pipe(Effect.repeat(Schedule.spaced(sweepEvery)), Effect.forkScoped)

    return {
      create,
      get,
      list,
      remove,
      /** The shared instance; it lives as long as the registry. */
      defaultInstance,
      find: (id: string): Option.Option<Instance> => Option.fromNullable(instances.get(id)),
      all: (): ReadonlyArray<Instance> => [...instances.values()],
      /** Interrupts the DuckDB work of every instance (shutdown past its deadline). */
      interruptAll: Effect.sync(() => {
        for (const instance of instances.values()) instance.pool.interruptAll()
      })
    } as const
  })
}) {}
