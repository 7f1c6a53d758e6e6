import { describe, expect, it } from "@effect/vitest"
import {
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  type Fiber,
  Layer,
  Option,
  Scope,
  Supervisor,
  TestClock
} from "effect"
import { InstanceLimit, NotFound, ShuttingDown } from "../../src/domain/Errors.js"
import type { Instance } from "../../src/duckdb/Instance.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { Engines } from "../../src/services/Engines.js"
import { InstanceRegistry } from "../../src/services/InstanceRegistry.js"
import { lines, settingsOf } from "../support/ConfigFiles.js"
import { eventually, settle } from "../support/Pools.js"

const config = lines(
  "duckdb:",
  "  max_instances: 2",
  "  instance_idle_timeout: 1m",
  "  settings:",
  "    threads: 2",
  "    memory_limit: 256MB",
  "  connection_pool:",
  "    min_connections: 1",
  "    max_connections: 2"
)

/** A registry built in its own scope, so that a test can close it; closed with the test at the latest. */
const makeRegistry = (yaml = config) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const layer = InstanceRegistry.Default.pipe(
      Layer.provide(Engines.Default),
      Layer.provide(AppConfig.layerWith(settingsOf(yaml)))
    )
    const context = yield* Layer.buildWithScope(layer, scope)
    return { registry: Context.get(context, InstanceRegistry), close: Scope.close(scope, Exit.void) }
  })

const shuttingDown = Exit.fail(new ShuttingDown({ message: "the instance is closing" }))
const notFound = Either.left(new NotFound({ message: "instance not found" }))
const limitReached = new InstanceLimit({
  message: "the server holds its maximum of 2 instances; delete one first"
})

/** The engine's own view of its settings, read through a pooled connection. */
const engineSettings = (instance: Instance) =>
  Effect.gen(function* () {
    const connection = yield* instance.acquire()
    const reader = yield* Effect.promise(() =>
      connection.raw.runAndReadAll("SELECT current_setting('threads'), current_setting('memory_limit')")
    )
    instance.pool.release(connection)
    const [threads, memory] = reader.getRowsJS()[0]!
    return { threads: Number(threads), memory: String(memory) }
  })

// DuckDB shows the limit in MiB with one decimal, truncated.
const mib = (bytes: number) => `${(Math.floor((bytes / 2 ** 20) * 10) / 10).toFixed(1)} MiB`

describe("the default instance", () => {
  it.scoped("exists from the start, is shared by every principal, and is listed for each", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const shared = registry.defaultInstance
      expect(shared.id).toBe("default")
      expect(shared.shared).toBe(true)
      expect(yield* registry.get("default", "alice")).toBe(shared)
      expect(yield* registry.get("default", "bob")).toBe(shared)
      expect(yield* registry.list("alice")).toEqual([shared])
      expect(yield* registry.list("bob")).toEqual([shared])
      expect(shared.descriptor.settings).toEqual({ threads: 2, memoryLimitBytes: 256_000_000 })
      expect(yield* engineSettings(shared)).toEqual({ threads: 2, memory: mib(256_000_000) })
    })
  )
})

describe("max_instances", () => {
  it.scoped("creates up to max_instances besides default, then fails with InstanceLimit", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const first = yield* registry.create("alice", {})
      yield* registry.create("bob", {})
      expect(registry.all()).toHaveLength(3)
      expect(yield* Effect.either(registry.create("alice", {}))).toEqual(Either.left(limitReached))
      expect(yield* Effect.either(registry.create("carol", {}))).toEqual(Either.left(limitReached))
      yield* registry.remove(first.id, "alice")
      yield* registry.create("carol", {})
      expect(registry.all()).toHaveLength(3)
    })
  )

  it.scoped("lets concurrent creates exceed the limit in no interleaving", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const outcomes = yield* Effect.all(
        Array.from({ length: 6 }, (_, i) => Effect.either(registry.create(`p${i}`, {}))),
        { concurrency: "unbounded" }
      )
      expect(outcomes.filter(Either.isRight)).toHaveLength(2)
      expect(outcomes.filter(Either.isLeft).map((outcome) => outcome.left)).toEqual(
        Array(4).fill(limitReached)
      )
      expect(registry.all()).toHaveLength(3)
    })
  )
})

describe("instance ids", () => {
  it.scoped("are inst_ and at least 96 random bits, url-safe and unique", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const ids = new Set<string>()
      for (let i = 0; i < 12; i++) {
        const instance = yield* registry.create("alice", {})
        ids.add(instance.id)
        expect(instance.id).toMatch(/^inst_[A-Za-z0-9_-]+$/)
        const random = instance.id.slice("inst_".length)
        expect(Buffer.from(random, "base64url").length * 8).toBeGreaterThanOrEqual(96)
        yield* registry.remove(instance.id, "alice")
      }
      expect(ids.size).toBe(12)
    })
  )
})

describe("settings", () => {
  it.scoped("caps requested settings at the configured ones", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const greedy = yield* registry.create("alice", { threads: 64, memoryLimitBytes: 10_000_000_000 })
      expect(greedy.descriptor.settings).toEqual({ threads: 2, memoryLimitBytes: 256_000_000 })
      expect(yield* engineSettings(greedy)).toEqual({ threads: 2, memory: mib(256_000_000) })
      const modest = yield* registry.create("alice", { threads: 1, memoryLimitBytes: 100_000_000 })
      expect(modest.descriptor.settings).toEqual({ threads: 1, memoryLimitBytes: 100_000_000 })
      expect(yield* engineSettings(modest)).toEqual({ threads: 1, memory: mib(100_000_000) })
    })
  )

  it.scoped("gives an instance without requested settings the configured ones", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const plain = yield* registry.create("alice", {})
      expect(plain.descriptor.settings).toEqual({ threads: 2, memoryLimitBytes: 256_000_000 })
      expect(plain.descriptor.owner).toBe("alice")
      expect(plain.shared).toBe(false)
    })
  )
})

describe("ownership", () => {
  it.scoped("hides an instance from every principal but its creator", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const mine = yield* registry.create("alice", {})
      expect(yield* registry.get(mine.id, "alice")).toBe(mine)
      expect(yield* Effect.either(registry.get(mine.id, "bob"))).toEqual(notFound)
      expect(yield* Effect.either(registry.remove(mine.id, "bob"))).toEqual(notFound)
      expect((yield* registry.list("bob")).map((instance) => instance.id)).toEqual(["default"])
      expect((yield* registry.list("alice")).map((instance) => instance.id)).toEqual(["default", mine.id])
      // Bob's attempt changed nothing.
      const connection = yield* mine.acquire()
      mine.pool.release(connection)
    })
  )

  it.scoped("answers an unknown id like another principal's", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      expect(yield* Effect.either(registry.get("inst_nope", "alice"))).toEqual(notFound)
      expect(yield* Effect.either(registry.remove("inst_nope", "alice"))).toEqual(notFound)
      expect(registry.find("inst_nope")).toEqual(Option.none())
    })
  )

  it.scoped("remove closes the instance and forgets it", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const instance = yield* registry.create("alice", {})
      const lent = yield* instance.acquire()
      yield* registry.remove(instance.id, "alice")
      expect(lent.interrupted).toBe(true)
      expect(yield* Effect.exit(instance.acquire())).toEqual(shuttingDown)
      expect(yield* Effect.either(registry.get(instance.id, "alice"))).toEqual(notFound)
      expect(registry.find(instance.id)).toEqual(Option.none())
      expect(yield* registry.list("alice")).toEqual([registry.defaultInstance])
    })
  )
})

describe("idle eviction", () => {
  it.scoped("closes an API instance idle past instance_idle_timeout, never default", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const idle = yield* registry.create("alice", {})
      yield* TestClock.adjust(Duration.seconds(45))
      yield* settle
      expect(registry.find(idle.id)).toEqual(Option.some(idle))
      yield* TestClock.adjust(Duration.seconds(15))
      yield* eventually(() => Option.isNone(registry.find(idle.id)), "the idle instance is closed")
      expect(yield* Effect.exit(idle.acquire())).toEqual(shuttingDown)
      yield* TestClock.adjust(Duration.minutes(10))
      yield* settle
      expect(registry.find("default")).toEqual(Option.some(registry.defaultInstance))
      const connection = yield* registry.defaultInstance.acquire()
      registry.defaultInstance.pool.release(connection)
    })
  )

  // A running query counts as use: each replica reports it to the store, where any replica evicts.
  it.scoped("keeps an instance with a lent connection, and closes it idle_timeout after its last use", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const busy = yield* registry.create("alice", {})
      const connection = yield* busy.acquire()
      yield* TestClock.adjust(Duration.minutes(5))
      yield* settle
      expect(registry.find(busy.id)).toEqual(Option.some(busy))
      busy.pool.release(connection)
      yield* TestClock.adjust(Duration.seconds(45))
      yield* settle
      expect(registry.find(busy.id)).toEqual(Option.some(busy))
      yield* TestClock.adjust(Duration.seconds(15))
      yield* eventually(() => Option.isNone(registry.find(busy.id)), "the instance is closed once idle")
    })
  )

  it.scoped("counts idleness from the last use", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const used = yield* registry.create("alice", {})
      yield* TestClock.adjust(Duration.seconds(50))
      used.touch(Duration.toMillis(Duration.seconds(50)))
      yield* TestClock.adjust(Duration.seconds(55))
      yield* settle
      expect(registry.find(used.id)).toEqual(Option.some(used))
      yield* TestClock.adjust(Duration.seconds(15))
      yield* eventually(() => Option.isNone(registry.find(used.id)), "the instance is closed")
    })
  )

  it.scoped("frees its place under max_instances", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      yield* registry.create("alice", {})
      yield* registry.create("alice", {})
      yield* TestClock.adjust(Duration.minutes(1))
      yield* eventually(() => registry.all().length === 1, "both are closed")
      yield* registry.create("alice", {})
    })
  )
})

describe("shutdown", () => {
  it.scoped("closing the registry's scope closes every instance", () =>
    Effect.gen(function* () {
      const { registry, close } = yield* makeRegistry()
      const instance = yield* registry.create("alice", {})
      const lent = yield* instance.acquire()
      yield* close
      expect(lent.interrupted).toBe(true)
      expect(yield* Effect.exit(instance.acquire())).toEqual(shuttingDown)
      expect(yield* Effect.exit(registry.defaultInstance.acquire())).toEqual(shuttingDown)
      expect(registry.all()).toEqual([])
    })
  )

  it.scoped("a replaced engine retires in the instance's background, which closing the registry stops", () =>
    Effect.gen(function* () {
      const { registry, close } = yield* makeRegistry()
      const instance = yield* registry.create("alice", {})
      const swapWatched = Effect.gen(function* () {
        const supervisor = yield* Supervisor.track
        yield* Effect.supervised(instance.replaceDatabases([]), supervisor)
        return yield* supervisor.value
      })
      const running = (fibers: ReadonlyArray<Fiber.RuntimeFiber<unknown, unknown>>) =>
        fibers.filter((fiber) => fiber.unsafePoll() === null).length

      // The old engine waits for its last query before it closes: a fiber that ends with it.
      const first = yield* instance.acquire()
      const afterFirstSwap = yield* swapWatched
      expect(instance.pool).not.toBe(first.owner)
      first.owner.release(first)
      yield* eventually(() => running(afterFirstSwap) < afterFirstSwap.length, "the retirement ends")

      // A retirement still waiting when the server shuts down is stopped, not left to its timeout.
      const second = yield* instance.acquire()
      const afterSecondSwap = yield* swapWatched
      expect(running(afterSecondSwap)).toBeGreaterThan(0)
      yield* close
      expect(second.interrupted).toBe(true)
      yield* eventually(() => running(afterSecondSwap) === 0, "every background fiber has stopped")
    })
  )

  it.scoped("interruptAll interrupts the lent connections of every instance", () =>
    Effect.gen(function* () {
      const { registry } = yield* makeRegistry()
      const instance = yield* registry.create("alice", {})
      const mine = yield* instance.acquire()
      const shared = yield* registry.defaultInstance.acquire()
      yield* registry.interruptAll
      expect([mine.interrupted, shared.interrupted]).toEqual([true, true])
    })
  )
})
