import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Exit, Option, PubSub, Queue, Redacted, type Scope } from "effect"
import type { DatabaseDescriptor } from "../../src/attach/Attachments.js"
import { NotFound } from "../../src/domain/Errors.js"
import type { Sealed } from "../../src/domain/Sealed.js"
import type { InstanceDescriptor } from "../../src/duckdb/Instance.js"
import { makeMemoryInstanceStore } from "../../src/services/InstanceStore.js"
import { type InstanceStoreApi, VersionConflict } from "../../src/services/InstanceStoreApi.js"
import { makeRedisInstanceStore } from "../../src/services/RedisInstanceStore.js"
import { connectRedis, type RedisTuning } from "../../src/services/SharedState.js"
import { capturedLogger } from "../support/Logs.js"
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/Redis.js"

const sealed = (label: string) => `v1.pbkdf2.keyid.nonce.${label}` as Sealed

const database = (alias: string): DatabaseDescriptor => ({
  alias,
  type: "duckdb",
  source: "api",
  connectionString: sealed(alias)
})

let sequence = 0
const descriptor = (owner: string, createdAt: number, databases: Array<DatabaseDescriptor> = []) =>
  ({
    id: `inst_test${sequence++}_${Math.random().toString(36).slice(2)}`,
    owner,
    createdAt,
    settings: { threads: 2, memoryLimitBytes: 256_000_000 },
    databases
  }) satisfies InstanceDescriptor

const created = (store: InstanceStoreApi, value: InstanceDescriptor, max = 100) =>
  Effect.map(store.create(value, max), Option.getOrThrow)

/** The next change published, within a second. */
const nextChange = (subscription: Queue.Dequeue<unknown>) =>
  Queue.take(subscription).pipe(Effect.timeout(Duration.seconds(1)))

/** The same behaviour, whichever store: what the registry relies on. */
const contract = (name: string, makeStore: () => Effect.Effect<InstanceStoreApi, never, Scope.Scope>) =>
  describe(`${name} InstanceStore`, () => {
    it.scopedLive("stores what it was given, at version 1, last used when created", () =>
      Effect.gen(function* () {
        const store = yield* makeStore()
        const value = descriptor("alice", 1_700_000_000_123, [database("sales"), database("crm")])
        const record = yield* created(store, value)
        expect(record).toEqual({ ...value, version: 1, lastUsedAt: value.createdAt })
        expect(yield* store.get(value.id)).toEqual(Option.some(record))
        expect(yield* store.get("inst_unknown")).toEqual(Option.none())
      })
    )

    it.scopedLive("never exceeds max_instances, even under concurrent creates", () =>
      Effect.gen(function* () {
        const store = yield* makeStore()
        const before = yield* store.count
        const outcomes = yield* Effect.all(
          Array.from({ length: 8 }, (_, i) => store.create(descriptor(`p${i}`, i), before + 3)),
          { concurrency: "unbounded" }
        )
        expect(outcomes.filter(Option.isSome)).toHaveLength(3)
        expect(yield* store.count).toBe(before + 3)
      })
    )

    it.scopedLive("lists an owner's instances only, oldest first", () =>
      Effect.gen(function* () {
        const store = yield* makeStore()
        const owner = `owner-${Math.random()}`
        const later = yield* created(store, descriptor(owner, 2_000))
        const earlier = yield* created(store, descriptor(owner, 1_000))
        yield* created(store, descriptor(`${owner}-other`, 500))
        expect((yield* store.listByOwner(owner)).map((record) => record.id)).toEqual([earlier.id, later.id])
        expect(yield* store.listByOwner("nobody")).toEqual([])
      })
    )

    it.scopedLive("updates by compare-and-set on the version, and says so to every replica", () =>
      Effect.gen(function* () {
        const store = yield* makeStore()
        const changes = yield* PubSub.subscribe(store.changes)
        const record = yield* created(store, descriptor("alice", 1))
        const version = yield* store.update(record.id, 1, [database("sales")])
        expect(version).toBe(2)
        expect(yield* nextChange(changes)).toEqual({ _tag: "Updated", id: record.id, version: 2 })
        expect(Option.getOrThrow(yield* store.get(record.id))).toMatchObject({
          version: 2,
          databases: [database("sales")]
        })
        // A replica that read version 1 lost the race: nothing changes.
        expect(yield* Effect.either(store.update(record.id, 1, []))).toEqual(
          Either.left(new VersionConflict({ id: record.id }))
        )
        expect(Option.getOrThrow(yield* store.get(record.id)).databases).toEqual([database("sales")])
        expect(yield* Effect.either(store.update("inst_unknown", 1, []))).toEqual(
          Either.left(new NotFound({ message: "instance not found" }))
        )
      })
    )

    it.scopedLive("deletes once, frees its place, and says so to every replica", () =>
      Effect.gen(function* () {
        const store = yield* makeStore()
        const changes = yield* PubSub.subscribe(store.changes)
        const record = yield* created(store, descriptor("alice", 1))
        const count = yield* store.count
        expect(yield* store.delete(record.id)).toBe(true)
        expect(yield* nextChange(changes)).toEqual({ _tag: "Deleted", id: record.id })
        expect(yield* store.delete(record.id)).toBe(false)
        expect(yield* store.get(record.id)).toEqual(Option.none())
        expect(yield* store.listByOwner("alice")).not.toContainEqual(
          expect.objectContaining({ id: record.id })
        )
        expect(yield* store.count).toBe(count - 1)
      })
    )

    it.scopedLive("keeps the latest use reported, and does not bring a deleted instance back", () =>
      Effect.gen(function* () {
        const store = yield* makeStore()
        const record = yield* created(store, descriptor("alice", 1_000))
        store.touch(record.id, 5_000)
        store.touch(record.id, 3_000)
        yield* store.flush
        expect(Option.getOrThrow(yield* store.get(record.id)).lastUsedAt).toBe(5_000)
        store.touch(record.id, 4_000)
        yield* store.flush
        expect(Option.getOrThrow(yield* store.get(record.id)).lastUsedAt).toBe(5_000)
        yield* store.delete(record.id)
        store.touch(record.id, 6_000)
        yield* store.flush
        expect(yield* store.get(record.id)).toEqual(Option.none())
      })
    )

    it.scopedLive("evicts the instances idle since the cutoff, as deletes", () =>
      Effect.gen(function* () {
        const store = yield* makeStore()
        const changes = yield* PubSub.subscribe(store.changes)
        const idle = yield* created(store, descriptor("alice", 10))
        const used = yield* created(store, descriptor("alice", 10))
        store.touch(used.id, 30)
        yield* store.flush
        expect(yield* store.evictIdle(20)).toEqual([idle.id])
        expect(yield* nextChange(changes)).toEqual({ _tag: "Deleted", id: idle.id })
        expect(yield* store.get(idle.id)).toEqual(Option.none())
        expect(Option.isSome(yield* store.get(used.id))).toBe(true)
        yield* store.delete(used.id)
      })
    )
  })

contract("in-memory", () => Effect.sync(() => makeMemoryInstanceStore()))

const fastTuning: RedisTuning = {
  commandTimeout: Duration.seconds(1),
  pingEvery: Duration.millis(100),
  maxReconnectDelay: Duration.millis(100),
  startupWait: Duration.seconds(2)
}

const skipRedis = skipWithoutRedis("Redis InstanceStore")
let server: RedisServer | undefined
if (!skipRedis) {
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.dispose()
  })
}

const redisStore = () =>
  Effect.flatMap(connectRedis(Redacted.make(server!.url), fastTuning), makeRedisInstanceStore).pipe(
    Effect.provide(capturedLogger)
  )

describe.skipIf(skipRedis)("on a real redis-server", () => {
  contract("Redis", () =>
    Effect.zipRight(
      Effect.promise(() => server!.client.flushall()),
      redisStore()
    )
  )

  it.scopedLive("tells another replica's store of changes at once (pub/sub)", () =>
    Effect.gen(function* () {
      const here = yield* redisStore()
      const there = yield* redisStore()
      const heard = yield* PubSub.subscribe(there.changes)
      const record = yield* created(here, descriptor("alice", 1))
      yield* here.update(record.id, 1, [database("x")])
      expect(yield* nextChange(heard)).toEqual({ _tag: "Updated", id: record.id, version: 2 })
      yield* here.delete(record.id)
      expect(yield* nextChange(heard)).toEqual({ _tag: "Deleted", id: record.id })
    })
  )

  it.scopedLive("refuses to write a connection string that is not sealed", () =>
    Effect.gen(function* () {
      const store = yield* redisStore()
      const plain = {
        ...database("leak"),
        connectionString: "postgresql://u:hunter2@db/app" as Sealed
      }
      const exit = yield* Effect.exit(store.create(descriptor("alice", 1, [plain]), 100))
      expect(Exit.isFailure(exit) && Exit.causeOption(exit).pipe(Option.isSome)).toBe(true)
      const record = yield* created(store, descriptor("alice", 1))
      expect(Exit.isFailure(yield* Effect.exit(store.update(record.id, 1, [plain])))).toBe(true)
      const values = yield* Effect.promise(async () => {
        const keys = await server!.client.keys("*")
        return JSON.stringify(await Promise.all(keys.map((key) => server!.client.dump(key))))
      })
      expect(values).not.toContain("hunter2")
    })
  )

  it.scopedLive("answers StoreUnavailable while Redis is down, and recovers when it is back", () =>
    Effect.gen(function* () {
      const store = yield* redisStore()
      const changes = yield* PubSub.subscribe(store.changes)
      const record = yield* created(store, descriptor("alice", 1))
      yield* Effect.promise(() => server!.save())
      yield* Effect.promise(() => server!.stop())
      yield* Effect.sleep(Duration.millis(300))
      expect(store.available()).toBe(false)
      const down = yield* Effect.either(store.get(record.id))
      expect(Either.isLeft(down) && down.left._tag).toBe("StoreUnavailable")
      expect(Either.isLeft(yield* Effect.either(store.create(descriptor("alice", 2), 100)))).toBe(true)
      yield* Effect.promise(() => server!.start())
      yield* Effect.sleep(Duration.millis(500))
      expect(store.available()).toBe(true)
      // The subscription came back: notifications sent while it was down may be lost, so it says so.
      expect(yield* nextChange(changes)).toEqual({ _tag: "Resync" })
      // Scripts are loaded again after the restart emptied Redis's script cache.
      expect(Option.getOrThrow(yield* store.get(record.id)).id).toBe(record.id)
      expect(yield* store.update(record.id, 1, [database("back")])).toBe(2)
      expect(yield* nextChange(changes)).toEqual({ _tag: "Updated", id: record.id, version: 2 })
    })
  )
})
