import { DuckDBInstance } from "@duckdb/node-api"
import { Effect, Scheduler } from "effect"

const v = process.argv[2]
const N = 20000,
  C = 50
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
let syncStream = 0,
  syncFetch = 0
const one = async (x) => {
  if (v === "clear") x.p.clearBindings()
  let t = performance.now()
  const pr = x.p.stream()
  syncStream += performance.now() - t
  const r = await pr
  while (true) {
    t = performance.now()
    const pf = r.fetchChunk()
    syncFetch += performance.now() - t
    const ch = await pf
    if (!ch || ch.rowCount === 0) break
  }
}
for (let round = 0; round < 2; round++) {
  syncStream = 0
  syncFetch = 0
  const t0 = performance.now()
  if (v.startsWith("effect")) {
    const eff = Effect.acquireUseRelease(
      Effect.promise(acquire),
      (x) => Effect.promise(() => one(x)),
      (x) => Effect.sync(() => release(x))
    )
    let prog = Effect.forEach(Array.from({ length: C }), () => Effect.repeatN(eff, N / C - 1), {
      concurrency: "unbounded",
      discard: true
    })
    if (v === "effect-imm")
      prog = Effect.withScheduler(
        prog,
        Scheduler.makeBatched((run) => setImmediate(run))
      )
    if (v === "effect-micro")
      prog = Effect.withScheduler(
        prog,
        Scheduler.makeBatched((run) => queueMicrotask(run))
      )
    if (v === "effect-mixed") prog = Effect.withScheduler(prog, new Scheduler.MixedScheduler(1e9))
    await Effect.runPromise(prog)
  } else {
    await Promise.all(
      Array.from({ length: C }, async () => {
        for (let i = 0; i < N / C; i++) {
          const x = await acquire()
          await one(x)
          release(x)
        }
      })
    )
  }
  const dt = performance.now() - t0
  console.log(
    v,
    Math.round((N / dt) * 1000),
    "q/s",
    "sync stream ms",
    Math.round(syncStream),
    "sync fetch ms",
    Math.round(syncFetch),
    "total ms",
    Math.round(dt)
  )
}
