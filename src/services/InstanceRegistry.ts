import { randomBytes } from "node:crypto"
import { Duration, Effect, Option, Schedule } from "effect"
import { ForbiddenStatement, InstanceLimit, NotFound } from "../domain/Errors.js"
import type { DatabaseDescriptor } from "../duckdb/Attachments.js"
import { Instance, type InstanceDescriptor, type InstanceSettings, sharedOwner } from "../duckdb/Instance.js"
import { AppConfig } from "./AppConfig.js"
import { Engines } from "./Engines.js"

export const defaultInstanceId = "default"

/** Settings a client may ask for; each is capped by the server's own. */
export interface RequestedSettings {
  readonly threads?: number | undefined
  readonly memoryLimitBytes?: number | undefined
}

export interface Readiness {
  /** The shared instance's configured databases that are attached. */
  readonly connected: number
  /** Aliases of configured databases that are not (never their connection strings). */
  readonly failing: ReadonlyArray<string>
}

const newInstanceId = () => `inst_${randomBytes(16).toString("base64url")}`

const notFound = () => new NotFound({ message: "instance not found" })

/** Re-attach attempts for the shared instance's databases: 1s, 2s, 4s … capped at a minute. */
const recoverySchedule = Schedule.exponential(Duration.seconds(1)).pipe(
  Schedule.union(Schedule.spaced(Duration.minutes(1)))
)

/**
 * The parent of every DuckDB instance: creates them up to `duckdb.max_instances` (the shared
 * `default` instance does not count), closes API-created ones idle longer than
 * `duckdb.instance_idle_timeout`, and closes all of them when its scope closes.
 *
 * The shared instance holds the configuration's databases. One that is down at start does not stop
 * the server: readiness names it, and it is attached again with capped exponential backoff.
 */
export class InstanceRegistry extends Effect.Service<InstanceRegistry>()("pondpilot/InstanceRegistry", {
  scoped: Effect.gen(function* () {
    const config = yield* AppConfig
    const engines = yield* Engines
    const clock = yield* Effect.clock
    const limits = config.duckdb.settings
    const instances = new Map<string, Instance>()
    const instanceOptions = { tolerateFailures: false, retireAfter: engines.retireAfter }
    let reserved = 0
    let closed = false

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
      Effect.suspend(() => {
        closed = true
        return Effect.forEach([...instances.values()], closeInstance, {
          concurrency: "unbounded",
          discard: true
        })
      })
    )

    const defaultInstance = yield* Instance.make(
      {
        id: defaultInstanceId,
        owner: sharedOwner,
        createdAt: clock.unsafeCurrentTimeMillis(),
        settings: capped({}),
        databases: yield* engines.configDatabases
      },
      engines.context,
      { ...instanceOptions, tolerateFailures: true }
    ).pipe(Effect.orDie)
    instances.set(defaultInstanceId, defaultInstance)
    for (const [alias, error] of defaultInstance.failures) {
      yield* Effect.logWarning("configured database not attached; retrying in the background").pipe(
        Effect.annotateLogs({ alias, code: error.code, reason: error.message })
      )
    }
    yield* defaultInstance.recover.pipe(
      Effect.repeat({ schedule: recoverySchedule, until: (recovered) => recovered }),
      Effect.tap(() =>
        defaultInstance.databases.length > 0 ? Effect.logInfo("configured databases attached") : Effect.void
      ),
      Effect.forkScoped
    )

    const visibleTo = (instance: Instance, principal: string) =>
      instance.shared || instance.descriptor.owner === principal

    const create = Effect.fn("InstanceRegistry.create")(function* (
      principal: string,
      requested: RequestedSettings
    ) {
      const apiCreated = instances.size - 1 + reserved
      if (closed || apiCreated >= config.duckdb.max_instances) {
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
      // With no databases there is nothing a client could have got wrong: a failure is the server's.
      const instance = yield* Instance.make(descriptor, engines.context, instanceOptions).pipe(
        Effect.orDie,
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

    /** An instance the principal may change: its own, never the shared one. */
    const getOwn = (id: string, principal: string, action: string) =>
      Effect.flatMap(get(id, principal), (instance) =>
        instance.shared
          ? Effect.fail(
              new ForbiddenStatement({ message: `the default instance is shared: it cannot be ${action}` })
            )
          : Effect.succeed(instance)
      )

    const list = (principal: string): ReadonlyArray<Instance> =>
      [...instances.values()].filter((instance) => visibleTo(instance, principal))

    const remove = Effect.fn("InstanceRegistry.remove")(function* (id: string, principal: string) {
      yield* closeInstance(yield* getOwn(id, principal, "deleted"))
    })

    const attach = Effect.fn("InstanceRegistry.attach")(function* (
      id: string,
      principal: string,
      database: DatabaseDescriptor
    ) {
      const instance = yield* getOwn(id, principal, "changed")
      yield* instance.attach(database)
    })

    const detach = Effect.fn("InstanceRegistry.detach")(function* (
      id: string,
      principal: string,
      alias: string
    ) {
      const instance = yield* getOwn(id, principal, "changed")
      yield* instance.detach(alias)
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
      attach,
      detach,
      /** The shared instance; it lives as long as the registry. */
      defaultInstance,
      readiness: (): Readiness => ({
        connected: defaultInstance.databases.length,
        failing: [...defaultInstance.failures.keys()]
      }),
      find: (id: string): Option.Option<Instance> => Option.fromNullable(instances.get(id)),
      all: (): ReadonlyArray<Instance> => [...instances.values()],
      /** Interrupts the DuckDB work of every instance (shutdown past its deadline). */
      interruptAll: Effect.sync(() => {
        for (const instance of instances.values()) instance.pool.interruptAll()
      })
    } as const
  })
}) {}
