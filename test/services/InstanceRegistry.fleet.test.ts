import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Either, Exit, Layer, Option, Redacted, TestClock } from "effect"
import type { DatabaseDescriptor } from "../../src/attach/Attachments.js"
import { InstanceLimit, NotFound, ShuttingDown } from "../../src/domain/Errors.js"
import type { Instance } from "../../src/duckdb/Instance.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { Engines } from "../../src/services/Engines.js"
import { versionCheckMillis } from "../../src/services/InstanceCopies.js"
import { InstanceRegistry } from "../../src/services/InstanceRegistry.js"
import { InstanceStore, makeMemoryInstanceStore } from "../../src/services/InstanceStore.js"
import type { InstanceStoreApi } from "../../src/services/InstanceStoreApi.js"
import { lines, settingsOf } from "../support/ConfigFiles.js"
import { openInstance } from "../support/DuckDBFiles.js"
import { eventually, settle } from "../support/Pools.js"
import { tempDir } from "../support/Process.js"

/**
 * Two registries sharing one store play two replicas in one process, on one TestClock: what the
 * HTTP fleet test (`fleet.e2e.test.ts`) shows end to end, here with time under control.
 */

const roots = tempDir("fleet-roots")

/** A DuckDB file under the file roots with a table `t` of `rows` rows. */
const duckdbFile = async (name: string, rows: number) => {
  const file = path.join(roots, `${name}.duckdb`)
  if (fs.existsSync(file)) return file
  const writer = await openInstance()
  await writer.connection.run(`ATTACH '${file}' AS w`)
  await writer.connection.run(`CREATE TABLE w.t AS SELECT range AS n FROM range(${rows})`)
  await writer.connection.run("DETACH w")
  writer.close()
  return file
}

const settings = settingsOf(
  lines(
    "duckdb:",
    "  max_instances: 2",
    "  instance_idle_timeout: 1m",
    "  file_roots:",
    `    - ${roots}`,
    "  settings:",
    "    threads: 1",
    "    memory_limit: 256MB",
    "  connection_pool:",
    "    min_connections: 1",
    "    max_connections: 2"
  ),
  { ENCRYPTION_KEY: "fleet-test-key-0123456789abcdef0123" }
)

const replica = (store: InstanceStoreApi) =>
  Effect.gen(function* () {
    const layer = InstanceRegistry.DefaultWithoutDependencies.pipe(
      Layer.provideMerge(Engines.Default),
      Layer.provide(Layer.succeed(InstanceStore, InstanceStore.make(store))),
      Layer.provide(AppConfig.layerWith(settings))
    )
    const context = yield* Layer.build(layer)
    const engines = Context.get(context, Engines)
    return {
      registry: Context.get(context, InstanceRegistry),
      /** A client's attach request, as the HTTP handler builds it: the path sealed at once. */
      database: (alias: string, file: string) =>
        Effect.map(
          engines.context.attach.secretBox.seal(Redacted.make(file)),
          (connectionString): DatabaseDescriptor => ({
            alias,
            type: "duckdb",
            source: "api",
            connectionString
          })
        )
    }
  })

const fleet = (store: InstanceStoreApi = makeMemoryInstanceStore()) =>
  Effect.all([replica(store), replica(store)])

const query = (instance: Instance, sql: string) =>
  Effect.gen(function* () {
    const connection = yield* instance.acquire()
    const result = yield* Effect.tryPromise(() => connection.raw.runAndReadAll(sql)).pipe(
      Effect.ensuring(Effect.sync(() => instance.pool.release(connection)))
    )
    return result.getRowsJS()
  })

const notFound = Either.left(new NotFound({ message: "instance not found" }))
const closedInstance = Exit.fail(new ShuttingDown({ message: "the instance is closing" }))

describe("replicas sharing one InstanceStore", () => {
  it.scoped("serve on one what was created on the other, built from the store", () =>
    Effect.gen(function* () {
      const [a, b] = yield* fleet()
      const created = yield* a.registry.create("alice", { threads: 1 })
      expect(b.registry.find(created.id)).toEqual(Option.none())
      const copy = yield* b.registry.get(created.id, "alice")
      expect(copy).not.toBe(created)
      expect(copy.descriptor).toEqual(created.descriptor)
      expect(yield* query(copy, "SELECT 42")).toEqual([[42]])
      expect(yield* Effect.either(b.registry.get(created.id, "bob"))).toEqual(notFound)
      expect((yield* b.registry.list("alice")).map((instance) => instance.id)).toEqual([
        "default",
        created.id
      ])
    })
  )

  it.scoped("follow an attach and a detach made on another replica, DuckDB file included", () =>
    Effect.gen(function* () {
      const [a, b] = yield* fleet()
      const file = yield* Effect.promise(() => duckdbFile("three", 3))
      const { id } = yield* a.registry.create("alice", {})
      const copy = yield* b.registry.get(id, "alice")
      yield* a.registry.attach(id, "alice", yield* a.database("w", file))
      yield* settle
      const rebuilt = yield* b.registry.get(id, "alice")
      expect(rebuilt).toBe(copy)
      expect(rebuilt.databases.map((database) => database.alias)).toEqual(["w"])
      expect(yield* query(rebuilt, "SELECT count(*)::INTEGER FROM w.t")).toEqual([[3]])
      yield* b.registry.detach(id, "alice", "w")
      yield* settle
      const onA = yield* a.registry.get(id, "alice")
      expect(onA.databases).toEqual([])
      expect(Exit.isFailure(yield* Effect.exit(query(onA, "SELECT count(*) FROM w.t")))).toBe(true)
    })
  )

  it.scoped("close their copy at once when another replica deletes the instance", () =>
    Effect.gen(function* () {
      const [a, b] = yield* fleet()
      const { id } = yield* a.registry.create("alice", {})
      const copy = yield* b.registry.get(id, "alice")
      yield* a.registry.remove(id, "alice")
      yield* eventually(() => Option.isNone(b.registry.find(id)), "B closes its copy")
      yield* settle
      expect(yield* Effect.exit(copy.acquire())).toEqual(closedInstance)
      expect(yield* Effect.either(b.registry.get(id, "alice"))).toEqual(notFound)
    })
  )

  it.scoped("notice a delete and a detach they were not told of within versionCheckMillis", () =>
    Effect.gen(function* () {
      const [a, b] = yield* fleet(makeMemoryInstanceStore({ silent: true }))
      const file = yield* Effect.promise(() => duckdbFile("five", 5))
      const { id } = yield* a.registry.create("alice", {})
      yield* a.registry.attach(id, "alice", yield* a.database("w", file))
      const copy = yield* b.registry.get(id, "alice")
      expect(copy.databases.map((database) => database.alias)).toEqual(["w"])

      yield* a.registry.detach(id, "alice", "w")
      // Within the bound, B may still serve the copy it confirmed…
      expect((yield* b.registry.get(id, "alice")).databases).toHaveLength(1)
      yield* TestClock.adjust(Duration.millis(versionCheckMillis))
      // …and not a moment past it.
      expect((yield* b.registry.get(id, "alice")).databases).toEqual([])

      yield* a.registry.remove(id, "alice")
      yield* TestClock.adjust(Duration.millis(versionCheckMillis))
      expect(yield* Effect.either(b.registry.get(id, "alice"))).toEqual(notFound)
      expect(b.registry.find(id)).toEqual(Option.none())
      expect(yield* Effect.exit(copy.acquire())).toEqual(closedInstance)
    })
  )

  it.scoped("count max_instances across the fleet", () =>
    Effect.gen(function* () {
      const [a, b] = yield* fleet()
      const first = yield* a.registry.create("alice", {})
      yield* b.registry.create("bob", {})
      const full = Either.left(
        new InstanceLimit({ message: "the server holds its maximum of 2 instances; delete one first" })
      )
      expect(yield* Effect.either(a.registry.create("carol", {}))).toEqual(full)
      expect(yield* Effect.either(b.registry.create("carol", {}))).toEqual(full)
      yield* b.registry.remove(first.id, "alice")
      yield* a.registry.create("carol", {})
    })
  )

  it.scoped("keep an instance used on one replica, let any replica evict it once idle everywhere", () =>
    Effect.gen(function* () {
      const [a, b] = yield* fleet()
      const { id } = yield* a.registry.create("alice", {})
      yield* TestClock.adjust(Duration.seconds(50))
      yield* b.registry.get(id, "alice")
      yield* TestClock.adjust(Duration.seconds(55))
      yield* settle
      // Idle on A for 105 s: A closed its own engine, but the instance lives on (used on B at 50 s).
      expect(a.registry.find(id)).toEqual(Option.none())
      expect(Option.isSome(b.registry.find(id))).toBe(true)
      yield* TestClock.adjust(Duration.seconds(15))
      yield* eventually(() => Option.isNone(b.registry.find(id)), "the idle instance is evicted everywhere")
      expect(yield* Effect.either(a.registry.get(id, "alice"))).toEqual(notFound)
    })
  )

  it.scoped("land concurrent attaches from two replicas, one after the other (compare-and-set)", () =>
    Effect.gen(function* () {
      const [a, b] = yield* fleet()
      const [one, two] = yield* Effect.promise(() =>
        Promise.all([duckdbFile("one", 1), duckdbFile("two", 2)])
      )
      const { id } = yield* a.registry.create("alice", {})
      yield* b.registry.get(id, "alice")
      yield* Effect.all(
        [
          a.registry.attach(id, "alice", yield* a.database("one", one)),
          b.registry.attach(id, "alice", yield* b.database("two", two))
        ],
        { concurrency: "unbounded" }
      )
      yield* TestClock.adjust(Duration.millis(versionCheckMillis))
      for (const { registry } of [a, b]) {
        const instance = yield* registry.get(id, "alice")
        expect(instance.databases.map((database) => database.alias).sort()).toEqual(["one", "two"])
        expect(
          yield* query(instance, "SELECT (SELECT count(*) FROM one.t) + (SELECT count(*) FROM two.t)")
        ).toEqual([[3n]])
      }
    })
  )
})
