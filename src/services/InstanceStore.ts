import { Effect, Option, PubSub } from "effect"
import { NotFound } from "../domain/Errors.js"
import {
  type InstanceChange,
  type InstanceStoreApi,
  type StoredInstance,
  VersionConflict
} from "./InstanceStoreApi.js"
import { makeRedisInstanceStore } from "./RedisInstanceStore.js"
import { SharedState } from "./SharedState.js"

export interface MemoryInstanceStoreOptions {
  /** Tests: drop change notifications, as a replica that missed them would. */
  readonly silent?: boolean
}

const byAge = (a: StoredInstance, b: StoredInstance) =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * One process's store: what a single replica uses, and what tests share between several registries
 * in one process to play a fleet.
 */
export const makeMemoryInstanceStore = (options: MemoryInstanceStoreOptions = {}): InstanceStoreApi => {
  const records = new Map<string, StoredInstance>()
  const changes = Effect.runSync(PubSub.unbounded<InstanceChange>())
  const publish = (change: InstanceChange) => {
    if (options.silent !== true) Effect.runSync(PubSub.publish(changes, change))
  }
  const remove = (id: string) => {
    if (!records.delete(id)) return false
    publish({ _tag: "Deleted", id })
    return true
  }

  return {
    create: (descriptor, maxInstances) =>
      Effect.sync(() => {
        if (records.size >= maxInstances || records.has(descriptor.id)) return Option.none()
        const stored: StoredInstance = { ...descriptor, version: 1, lastUsedAt: descriptor.createdAt }
        records.set(descriptor.id, stored)
        return Option.some(stored)
      }),
    get: (id) => Effect.sync(() => Option.fromNullable(records.get(id))),
    listByOwner: (owner) =>
      Effect.sync(() => [...records.values()].filter((record) => record.owner === owner).sort(byAge)),
    update: (id, expectedVersion, databases) =>
      Effect.suspend((): Effect.Effect<number, VersionConflict | NotFound> => {
        const record = records.get(id)
        if (record === undefined) return Effect.fail(new NotFound({ message: "instance not found" }))
        if (record.version !== expectedVersion) return Effect.fail(new VersionConflict({ id }))
        const version = record.version + 1
        records.set(id, { ...record, databases, version })
        publish({ _tag: "Updated", id, version })
        return Effect.succeed(version)
      }),
    delete: (id) => Effect.sync(() => remove(id)),
    touch: (id, at) => {
      const record = records.get(id)
      if (record !== undefined && at > record.lastUsedAt) records.set(id, { ...record, lastUsedAt: at })
    },
    flush: Effect.void,
    count: Effect.sync(() => records.size),
    evictIdle: (cutoff) =>
      Effect.sync(() =>
        [...records.values()].filter((record) => record.lastUsedAt <= cutoff).map((record) => record.id)
      ).pipe(Effect.map((ids) => ids.filter(remove))),
    changes,
    available: () => true,
    // Silent stands for messages lost in flight, which the replica cannot know of.
    notifying: () => true
  }
}

/**
 * Where API-created instances are described, so that any replica can serve any of them: in memory
 * by default, in Redis when `state.redis_url` is set (`RedisInstanceStore.ts`).
 */
export class InstanceStore extends Effect.Service<InstanceStore>()("pondpilot/InstanceStore", {
  scoped: Effect.gen(function* () {
    const { redis } = yield* SharedState
    return redis === undefined ? makeMemoryInstanceStore() : yield* makeRedisInstanceStore(redis)
  }),
  dependencies: [SharedState.Default]
}) {}
