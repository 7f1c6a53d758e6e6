import { randomBytes } from "node:crypto"
import { Duration, Effect, Option, PubSub, Queue, Schedule } from "effect"
import type { DatabaseDescriptor } from "../attach/Attachments.js"
import {
  AliasExists,
  ForbiddenStatement,
  InstanceLimit,
  NotFound,
  type ShuttingDown,
  type StoreUnavailable
} from "../domain/Errors.js"
import type { AttachError } from "../duckdb/Engine.js"
import { Instance, type InstanceDescriptor, type InstanceSettings, sharedOwner } from "../duckdb/Instance.js"
import { AppConfig } from "./AppConfig.js"
import { Engines } from "./Engines.js"
import { makeInstanceCopies } from "./InstanceCopies.js"
import { InstanceStore } from "./InstanceStore.js"
import type { StoredInstance } from "./InstanceStoreApi.js"

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

/** What describing an instance needs; an `Instance` is one, so is a stored instance. */
export type InstanceSummary = Pick<Instance, "id" | "descriptor" | "lastUsedAt" | "databases">

const newInstanceId = () => `inst_${randomBytes(16).toString("base64url")}`

const notFound = () => new NotFound({ message: "instance not found" })

const sharedInstance = (action: string) =>
  new ForbiddenStatement({ message: `the default instance is shared: it cannot be ${action}` })

const sameAlias = (alias: string) => (known: DatabaseDescriptor) =>
  known.alias.toLowerCase() === alias.toLowerCase()

/** Re-attach attempts for the shared instance's databases: 1s, 2s, 4s … capped at a minute. */
const recoverySchedule = Schedule.exponential(Duration.seconds(1)).pipe(
  Schedule.union(Schedule.spaced(Duration.minutes(1)))
)

/**
 * The parent of every DuckDB instance on this replica.
 *
 * API-created instances live in the `InstanceStore` (Redis when replicas share it); an engine here
 * is a cache of the stored descriptor (`InstanceCopies.ts`), built on first use with its databases
 * attached, and rebuilt when the stored version moves. Deletes and attach/detach on other replicas
 * arrive by the store's notifications, and at the latest `versionCheckMillis` later, when a use
 * finds the stored version changed. `duckdb.max_instances` counts the store's instances, i.e.
 * fleet-wide. Idle eviction reads the store's last use: every replica reports its uses (and its
 * running queries) there, and any replica deletes an instance idle for `duckdb.instance_idle_timeout`
 * everywhere; a copy idle that long here but used elsewhere is closed here only.
 *
 * The shared `default` instance holds the configuration's databases and is each replica's own. One
 * that is down at start does not stop the server: readiness names it, and it is attached again with
 * capped exponential backoff.
 */
export class InstanceRegistry extends Effect.Service<InstanceRegistry>()("pondpilot/InstanceRegistry", {
  scoped: Effect.gen(function* () {
    const config = yield* AppConfig
    const engines = yield* Engines
    const store = yield* InstanceStore
    const clock = yield* Effect.clock
    const limits = config.duckdb.settings
    const instanceOptions = { tolerateFailures: false, retireAfter: engines.retireAfter }
    const copies = makeInstanceCopies(engines.context, instanceOptions, () => clock.unsafeCurrentTimeMillis())

    const capped = (requested: RequestedSettings): InstanceSettings => ({
      threads: Math.min(requested.threads ?? limits.threads, limits.threads),
      memoryLimitBytes: Math.min(requested.memoryLimitBytes ?? limits.memory_limit, limits.memory_limit)
    })

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

    yield* Effect.addFinalizer(() => Effect.zipRight(copies.closeAll, defaultInstance.close))

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

    const changes = yield* PubSub.subscribe(store.changes)
    yield* Queue.take(changes).pipe(Effect.flatMap(copies.follow), Effect.forever, Effect.forkScoped)

    /** The stored instance if `principal` owns it; a copy of an instance gone from the store is closed. */
    const stored = (
      id: string,
      principal: string
    ): Effect.Effect<StoredInstance, NotFound | StoreUnavailable> =>
      Effect.flatMap(
        store.get(id),
        Option.match({
          onNone: () => Effect.zipRight(copies.drop(id), Effect.fail(notFound())),
          onSome: (record) => (record.owner === principal ? Effect.succeed(record) : Effect.fail(notFound()))
        })
      )

    const used = (instance: Instance) => {
      const now = clock.unsafeCurrentTimeMillis()
      instance.touch(now)
      store.touch(instance.id, now)
      return instance
    }

    const create = Effect.fn("InstanceRegistry.create")(function* (
      principal: string,
      requested: RequestedSettings
    ) {
      const full = new InstanceLimit({
        message: `the server holds its maximum of ${config.duckdb.max_instances} instances; delete one first`
      })
      if (copies.isClosed()) return yield* full
      const descriptor: InstanceDescriptor = {
        id: newInstanceId(),
        owner: principal,
        createdAt: clock.unsafeCurrentTimeMillis(),
        settings: capped(requested),
        databases: []
      }
      const record = yield* store.create(descriptor, config.duckdb.max_instances)
      if (Option.isNone(record)) return yield* full
      // With no databases there is nothing a client could have got wrong: a failure is the server's.
      return yield* copies.materialize(record.value).pipe(
        Effect.tapErrorCause(() => Effect.ignore(store.delete(descriptor.id))),
        Effect.orDie
      )
    })

    /** `get` when it needs no I/O and succeeds: the shared instance, or a fresh copy of the principal's own. */
    const getNow = (id: string, principal: string): Instance | undefined => {
      if (id === defaultInstanceId) return defaultInstance
      const fresh = store.notifying() ? copies.fresh(id) : undefined
      return fresh !== undefined && fresh.descriptor.owner === principal ? used(fresh) : undefined
    }

    /**
     * The instance if `principal` may use it, built here if need be; another principal's instance is
     * indistinguishable from none. A copy the store confirmed within `versionCheckMillis` serves as is,
     * unless notifications are not arriving (then the store is asked on every use).
     */
    const get = (
      id: string,
      principal: string
    ): Effect.Effect<Instance, NotFound | StoreUnavailable | AttachError | ShuttingDown> =>
      Effect.suspend(() => {
        const now = getNow(id, principal)
        if (now !== undefined) return Effect.succeed(now)
        // Another principal's fresh copy is not theirs to use, whatever the store says.
        if (store.notifying() && copies.fresh(id) !== undefined) return Effect.fail(notFound())
        return stored(id, principal).pipe(Effect.flatMap(copies.materialize), Effect.map(used))
      })

    const summaryOf = (record: StoredInstance): InstanceSummary => ({
      id: record.id,
      descriptor: record,
      lastUsedAt: Math.max(record.lastUsedAt, copies.find(record.id)?.lastUsedAt ?? 0),
      databases: record.databases
    })

    /** What the instance is, from the store: nothing is built to answer. */
    const describe = (
      id: string,
      principal: string
    ): Effect.Effect<InstanceSummary, NotFound | StoreUnavailable> =>
      id === defaultInstanceId
        ? Effect.succeed(defaultInstance)
        : Effect.map(stored(id, principal), summaryOf)

    /** The shared instance and the principal's own, fleet-wide. */
    const list = (principal: string): Effect.Effect<ReadonlyArray<InstanceSummary>, StoreUnavailable> =>
      Effect.map(store.listByOwner(principal), (records) => [defaultInstance, ...records.map(summaryOf)])

    const remove = Effect.fn("InstanceRegistry.remove")(function* (id: string, principal: string) {
      if (id === defaultInstanceId) return yield* sharedInstance("deleted")
      yield* stored(id, principal)
      yield* store.delete(id)
      yield* copies.drop(id)
    })

    /**
     * Compare-and-set of the stored databases: the engine is rebuilt with the new list and swapped in
     * only once the store took it; when another replica changed the instance meanwhile, again.
     */
    const changeDatabases = <E>(
      id: string,
      principal: string,
      change: (
        current: ReadonlyArray<DatabaseDescriptor>
      ) => Effect.Effect<ReadonlyArray<DatabaseDescriptor>, E>
    ) =>
      copies
        .withLock(
          id,
          Effect.gen(function* () {
            const record = yield* stored(id, principal)
            const databases = yield* change(record.databases)
            const instance = yield* copies.materializeLocked(record)
            const commit = Effect.map(store.update(id, record.version, databases), (version) =>
              copies.committed(id, version)
            )
            yield* instance.replaceDatabases(databases, commit)
          })
        )
        .pipe(
          Effect.retry({
            times: 3,
            while: (error) => (error as { _tag?: string })._tag === "VersionConflict"
          }),
          Effect.catchTag("VersionConflict", (conflict) => Effect.die(conflict))
        )

    const attach = Effect.fn("InstanceRegistry.attach")(function* (
      id: string,
      principal: string,
      database: DatabaseDescriptor
    ) {
      if (id === defaultInstanceId) return yield* sharedInstance("changed")
      yield* changeDatabases(id, principal, (databases) =>
        databases.some(sameAlias(database.alias))
          ? Effect.fail(
              new AliasExists({ message: `the instance already has a database "${database.alias}"` })
            )
          : Effect.succeed([...databases, database])
      )
    })

    const detach = Effect.fn("InstanceRegistry.detach")(function* (
      id: string,
      principal: string,
      alias: string
    ) {
      if (id === defaultInstanceId) return yield* sharedInstance("changed")
      yield* changeDatabases(id, principal, (databases) => {
        const kept = databases.filter((known) => !sameAlias(alias)(known))
        return kept.length === databases.length
          ? Effect.fail(new NotFound({ message: "database not found" }))
          : Effect.succeed(kept)
      })
    })

    const idleMillis = Duration.toMillis(config.duckdb.instance_idle_timeout)
    const evictIdle = Effect.gen(function* () {
      const now = clock.unsafeCurrentTimeMillis()
      // Running queries count as use, so another replica never evicts an instance busy here.
      for (const instance of copies.instances()) {
        if (instance.pool.stats.inUse > 0) instance.touch(now)
        store.touch(instance.id, instance.lastUsedAt)
      }
      const evicted = yield* store.flush.pipe(
        Effect.zipRight(store.evictIdle(now - idleMillis)),
        Effect.orElseSucceed((): ReadonlyArray<string> => [])
      )
      for (const id of evicted) {
        yield* copies.drop(id)
        yield* Effect.logInfo("closed idle instance").pipe(Effect.annotateLogs({ instance_id: id }))
      }
      // Idle here but used elsewhere: only this replica's engine goes.
      for (const instance of copies.instances()) {
        if (instance.pool.stats.inUse === 0 && now - instance.lastUsedAt >= idleMillis) {
          yield* copies.drop(instance.id)
        }
      }
    })
    const sweepEvery = Duration.millis(Math.max(1_000, Math.min(60_000, Math.floor(idleMillis / 4))))
    yield* evictIdle.pipe(Effect.repeat(Schedule.spaced(sweepEvery)), Effect.forkScoped)

    const all = (): ReadonlyArray<Instance> =>
      copies.isClosed() ? [] : [defaultInstance, ...copies.instances()]

    return {
      create,
      get,
      getNow,
      describe,
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
      /** This replica's engine for `id`, if it has one. */
      find: (id: string): Option.Option<Instance> =>
        id === defaultInstanceId ? Option.some(defaultInstance) : Option.fromNullable(copies.find(id)),
      /** The engines this replica holds: the shared instance and its copies of stored instances. */
      all,
      /** Interrupts the DuckDB work of every instance (shutdown past its deadline). */
      interruptAll: Effect.sync(() => {
        for (const instance of all()) instance.pool.interruptAll()
      })
    } as const
  }),
  dependencies: [InstanceStore.Default]
}) {}
