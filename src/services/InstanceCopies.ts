import { Effect } from "effect"
import { ShuttingDown } from "../domain/Errors.js"
import type { AttachError, EngineContext } from "../duckdb/Engine.js"
import { Instance, type InstanceDescriptor, type InstanceOptions } from "../duckdb/Instance.js"
import type { InstanceChange, StoredInstance } from "./InstanceStoreApi.js"

/** How long a replica serves its copy of an instance without asking the store whether it changed. */
export const versionCheckMillis = 1_000

interface Copy {
  readonly instance: Instance
  /** The stored version the engine was built from. */
  version: number
  /** When the store last confirmed `version`; -Infinity forces a check on next use. */
  checkedAt: number
}

/** Changes of one instance on this replica happen one at a time; other instances never wait. */
const makeKeyedLock = () => {
  const locks = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()
  return <A, E>(key: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const lock = locks.get(key) ?? { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
      locks.set(key, lock)
      lock.users++
      return lock.semaphore
        .withPermits(1)(effect)
        .pipe(
          Effect.ensuring(
            Effect.sync(() => {
              if (--lock.users === 0) locks.delete(key)
            })
          )
        )
    })
}

const descriptorOf = (record: StoredInstance): InstanceDescriptor => ({
  id: record.id,
  owner: record.owner,
  createdAt: record.createdAt,
  settings: record.settings,
  databases: record.databases
})

/**
 * This replica's DuckDB engines for stored instances: a cache of the store. Each copy remembers the
 * version it was built from and when the store last confirmed it; a copy whose version the store no
 * longer has is rebuilt before it serves again, or closed.
 */
export const makeInstanceCopies = (context: EngineContext, options: InstanceOptions, now: () => number) => {
  const copies = new Map<string, Copy>()
  const withLock = makeKeyedLock()
  let closed = false

  const drop = (id: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      const copy = copies.get(id)
      if (copy === undefined) return Effect.void
      copies.delete(id)
      return copy.instance.close
    })

  /** The engine for `record`, built or rebuilt to its version; call under the id's lock. */
  const materializeLocked = (record: StoredInstance): Effect.Effect<Instance, AttachError | ShuttingDown> =>
    Effect.gen(function* () {
      const known = copies.get(record.id)
      if (known !== undefined && known.version >= record.version) {
        known.checkedAt = now()
        return known.instance
      }
      if (known !== undefined) {
        // A copy that cannot follow the store must not keep serving what the store no longer says.
        yield* known.instance.replaceDatabases(record.databases).pipe(Effect.tapError(() => drop(record.id)))
        known.version = record.version
        known.checkedAt = now()
        return known.instance
      }
      const instance = yield* Instance.make(descriptorOf(record), context, options)
      if (closed) {
        yield* instance.close
        return yield* new ShuttingDown({ message: "the server is shutting down" })
      }
      instance.touch(now())
      copies.set(record.id, { instance, version: record.version, checkedAt: now() })
      return instance
    })

  return {
    /** The copy of `id`, confirmed by the store within `versionCheckMillis`, if any. */
    fresh: (id: string): Instance | undefined => {
      const copy = copies.get(id)
      return copy !== undefined && now() - copy.checkedAt < versionCheckMillis ? copy.instance : undefined
    },
    find: (id: string): Instance | undefined => copies.get(id)?.instance,
    instances: (): ReadonlyArray<Instance> => [...copies.values()].map((copy) => copy.instance),
    withLock,
    materializeLocked,
    materialize: (record: StoredInstance) => withLock(record.id, materializeLocked(record)),
    /** The store took version `version` from this replica (its engine already has it). */
    committed: (id: string, version: number) => {
      const copy = copies.get(id)
      if (copy === undefined) return
      copy.version = version
      copy.checkedAt = now()
    },
    drop,
    /** What another replica did, as the store's notifications tell it. */
    follow: (change: InstanceChange): Effect.Effect<void> =>
      Effect.sync(() => {
        if (change._tag === "Resync") {
          for (const copy of copies.values()) copy.checkedAt = Number.NEGATIVE_INFINITY
        } else if (change._tag === "Updated") {
          const copy = copies.get(change.id)
          if (copy !== undefined && copy.version < change.version) copy.checkedAt = Number.NEGATIVE_INFINITY
        }
      }).pipe(Effect.zipRight(change._tag === "Deleted" ? drop(change.id) : Effect.void)),
    /** Closes every copy; none is built afterwards. */
    closeAll: Effect.suspend(() => {
      closed = true
      return Effect.forEach([...copies.keys()], drop, { concurrency: "unbounded", discard: true })
    }),
    isClosed: () => closed
  } as const
}
