import { Effect, Either, Layer } from "effect"
import { loadSettings } from "/work/main/dist/domain/ConfigLoader.js"
import { AppConfig } from "/work/main/dist/services/AppConfig.js"
import { InstanceRegistry } from "/work/main/dist/services/InstanceRegistry.js"
import { QueryRunner } from "/work/main/dist/services/QueryRunner.js"
import { StatementGate } from "/work/main/dist/services/StatementGate.js"

const settings = Either.getOrThrow(
  loadSettings({ env: { API_KEY: "k" }, cwd: "/tmp", readFile: () => undefined })
)
const layer = Layer.mergeAll(QueryRunner.Default, InstanceRegistry.Default).pipe(
  Layer.provide(StatementGate.Default),
  Layer.provide(AppConfig.layerWith(settings))
)
const N = 20000,
  C = 50
const program = Effect.gen(function* () {
  const runner = yield* QueryRunner
  const registry = yield* InstanceRegistry
  const inst = registry.defaultInstance
  const one = runner.execute(inst, { sql: "SELECT 42", params: undefined }, { readOnly: true }, (cursor) =>
    Effect.gen(function* () {
      while (yield* cursor.fetch) {}
    })
  )
  for (let round = 0; round < 2; round++) {
    const t0 = performance.now()
    yield* Effect.forEach(Array.from({ length: C }), () => Effect.repeatN(one, N / C - 1), {
      concurrency: "unbounded",
      discard: true
    })
    const dt = performance.now() - t0
    console.log("effect runner", Math.round((N / dt) * 1000), "q/s")
  }
})
await Effect.runPromise(Effect.scoped(Effect.provide(program, layer)))

// bare comparison
import { DuckDBInstance } from "@duckdb/node-api"

const inst = await DuckDBInstance.create(undefined, { threads: "4" })
const conns = []
for (let i = 0; i < 10; i++) {
  const c = await inst.connect()
  conns.push({ c, p: await c.prepare("SELECT 42"), busy: false })
}
const waiters = []
const acquire = async () => {
  for (;;) {
    const x = conns.find((x) => !x.busy)
    if (x) {
      x.busy = true
      return x
    }
    await new Promise((r) => waiters.push(r))
  }
}
const release = (x) => {
  x.busy = false
  const w = waiters.shift()
  if (w) w()
}
for (let round = 0; round < 2; round++) {
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: C }, async () => {
      for (let i = 0; i < N / C; i++) {
        const x = await acquire()
        const r = await x.p.stream()
        while (true) {
          const ch = await r.fetchChunk()
          if (!ch || ch.rowCount === 0) break
        }
        release(x)
      }
    })
  )
  console.log("bare", Math.round((N / (performance.now() - t0)) * 1000), "q/s")
}
