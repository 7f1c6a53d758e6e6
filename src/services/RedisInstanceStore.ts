import { Duration, Effect, Option, PubSub, Schedule, Schema } from "effect"
import type { DatabaseDescriptor } from "../attach/Attachments.js"
import { DatabaseType } from "../domain/Config.js"
import { NotFound, type StoreUnavailable } from "../domain/Errors.js"
import { Sealed } from "../domain/Sealed.js"
import {
  type InstanceChange,
  type InstanceStoreApi,
  type StoredInstance,
  VersionConflict
} from "./InstanceStoreApi.js"
import {
  createScript,
  deleteScript,
  evictScript,
  getScript,
  listScript,
  redisKeys,
  updateScript
} from "./InstanceStoreLua.js"
import type { RedisConnection } from "./SharedState.js"

/** The schema is the guard: a connection string that is not a sealed envelope cannot be written. */
const StoredDatabase = Schema.Struct({
  alias: Schema.String,
  type: DatabaseType,
  source: Schema.Literal("api", "config"),
  connectionString: Sealed
})
const StoredDatabases = Schema.parseJson(Schema.Array(StoredDatabase))
const StoredSettings = Schema.parseJson(
  Schema.Struct({ threads: Schema.Number, memoryLimitBytes: Schema.Number })
)
const StoredFields = Schema.Struct({
  id: Schema.String,
  owner: Schema.String,
  createdAt: Schema.NumberFromString,
  settings: StoredSettings,
  databases: StoredDatabases,
  version: Schema.NumberFromString,
  lastUsedAt: Schema.NumberFromString
})
const decodeFields = Schema.decodeUnknown(StoredFields)
const encodeDatabases = Schema.encode(StoredDatabases)
const encodeSettings = Schema.encode(StoredSettings)

const ChangeMessage = Schema.parseJson(
  Schema.Union(
    Schema.Struct({ id: Schema.String, version: Schema.Number }),
    Schema.Struct({ id: Schema.String, deleted: Schema.Literal(true) })
  )
)
const decodeChange = Schema.decodeUnknownOption(ChangeMessage)

/** Uses are written behind at this pace: one ZADD per second for all of a replica's instances. */
const touchFlushEvery = Duration.seconds(1)
/** Idle instances deleted per sweep at most; the next sweep takes the rest. */
const evictBatch = 100

const fieldsToRecord = (fields: unknown, id?: string): Record<string, unknown> => {
  const list = Array.isArray(fields) ? (fields as Array<unknown>) : []
  const record: Record<string, unknown> = id === undefined ? {} : { id }
  for (let i = 0; i + 1 < list.length; i += 2) record[String(list[i])] = list[i + 1]
  return record
}

const decodeStored = (fields: Record<string, unknown>): Effect.Effect<StoredInstance> =>
  decodeFields(fields).pipe(
    Effect.orDieWith(() => new Error("the state store holds a malformed instance record"))
  )

/** Refuses (as a defect) anything that is not sealed, before it reaches Redis. */
const encodeDatabaseList = (databases: ReadonlyArray<DatabaseDescriptor>) =>
  encodeDatabases(databases).pipe(
    Effect.orDieWith(() => new Error("refusing to store a database whose connection string is not sealed"))
  )

/**
 * The instance store in Redis (layout and scripts in `InstanceStoreLua.ts`). Every change is one
 * script, so that the fleet-wide `max_instances` check, the compare-and-set of attach/detach, and the
 * change notification happen together or not at all. Uses are recorded in memory and written once
 * a second; at shutdown the last ones are written before the connection closes.
 */
export const makeRedisInstanceStore = (redis: RedisConnection) =>
  Effect.gen(function* () {
    const instanceKey = (id: string) => `${redisKeys.instancePrefix}${id}`
    const ownerKey = (owner: string) => `${redisKeys.ownerPrefix}${owner}`
    const changes = yield* PubSub.unbounded<InstanceChange>()
    const publish = (change: InstanceChange) => Effect.runSync(PubSub.publish(changes, change))

    yield* redis.subscribe(
      redisKeys.channel,
      (message) => {
        const decoded = decodeChange(message)
        if (Option.isNone(decoded)) return
        const change = decoded.value
        publish(
          "deleted" in change
            ? { _tag: "Deleted", id: change.id }
            : { _tag: "Updated", id: change.id, version: change.version }
        )
      },
      () => publish({ _tag: "Resync" })
    )

    const removalArgs = [redisKeys.instancePrefix, redisKeys.ownerPrefix, redisKeys.channel] as const

    const get = (id: string) =>
      Effect.flatMap(redis.script(getScript, [instanceKey(id), redisKeys.index], [id]), (fields) => {
        const record = fieldsToRecord(fields, id)
        return Object.keys(record).length === 1
          ? Effect.succeed(Option.none<StoredInstance>())
          : Effect.map(decodeStored(record), Option.some)
      })

    const pendingUses = new Map<string, number>()
    const flush: Effect.Effect<void, StoreUnavailable> = Effect.suspend(() => {
      if (pendingUses.size === 0) return Effect.void
      const uses = [...pendingUses]
      pendingUses.clear()
      const args = uses.flatMap(([id, at]) => [String(at), id])
      // XX: a deleted instance is not brought back; GT: a late report never moves last use backwards.
      return redis
        .command((client) => client.call("ZADD", redisKeys.index, "XX", "GT", ...args))
        .pipe(
          Effect.asVoid,
          Effect.tapError(() =>
            Effect.sync(() => {
              for (const [id, at] of uses) pendingUses.set(id, Math.max(at, pendingUses.get(id) ?? 0))
            })
          )
        )
    })
    yield* flush.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(touchFlushEvery)), Effect.forkScoped)
    yield* Effect.addFinalizer(() => Effect.ignore(flush))

    const store: InstanceStoreApi = {
      create: (descriptor, maxInstances) =>
        Effect.gen(function* () {
          const settings = yield* encodeSettings(descriptor.settings).pipe(Effect.orDie)
          const databases = yield* encodeDatabaseList(descriptor.databases)
          const created = yield* redis.script(
            createScript,
            [instanceKey(descriptor.id), redisKeys.index, ownerKey(descriptor.owner)],
            [maxInstances, descriptor.id, descriptor.owner, descriptor.createdAt, settings, databases]
          )
          return created === 1
            ? Option.some({ ...descriptor, version: 1, lastUsedAt: descriptor.createdAt })
            : Option.none()
        }),
      get,
      listByOwner: (owner) =>
        Effect.flatMap(
          redis.script(listScript, [ownerKey(owner), redisKeys.index], [redisKeys.instancePrefix]),
          (rows) =>
            Effect.forEach(Array.isArray(rows) ? rows : [], (fields) =>
              decodeStored(fieldsToRecord(fields))
            ).pipe(
              Effect.map((records) =>
                [...records].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
              )
            )
        ),
      update: (id, expectedVersion, databases) =>
        Effect.gen(function* () {
          const encoded = yield* encodeDatabaseList(databases)
          const result = Number(
            yield* redis.script(
              updateScript,
              [instanceKey(id)],
              [expectedVersion, encoded, redisKeys.channel, id]
            )
          )
          if (result === -1) return yield* new NotFound({ message: "instance not found" })
          if (result === 0) return yield* new VersionConflict({ id })
          return result
        }),
      delete: (id) =>
        Effect.map(
          redis.script(deleteScript, [redisKeys.index], [...removalArgs, id]),
          (deleted) => deleted === 1
        ),
      touch: (id, at) => {
        if (at > (pendingUses.get(id) ?? 0)) pendingUses.set(id, at)
      },
      flush,
      count: redis.command((client) => client.zcard(redisKeys.index)),
      evictIdle: (cutoff) =>
        Effect.map(
          redis.script(evictScript, [redisKeys.index], [...removalArgs, cutoff, evictBatch]),
          (ids) => (Array.isArray(ids) ? ids.map(String) : [])
        ),
      changes,
      available: redis.available,
      notifying: redis.subscribed
    }
    return store
  })
