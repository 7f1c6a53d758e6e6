import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Exit, FiberRef, HashSet, Layer, Logger, Redacted } from "effect"
import { JsonLoggerLayer, snakeCase } from "../../src/services/JsonLogger.js"
import { LogWriter, memorySink } from "../../src/services/LogWriter.js"

/** The logger layer over an in-memory sink, with `LOG_LEVEL` taken from `env`. */
const capture = (env: Record<string, string> = {}) => {
  const memory = memorySink()
  const writer = LogWriter.layerWith(memory.sink)
  const layer = JsonLoggerLayer.pipe(
    Layer.provideMerge(writer),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
  )
  const entries = () => memory.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  return { layer, entries, lines: memory.lines }
}

const flushed = Effect.flatMap(LogWriter, (writer) => Effect.promise(() => writer.flush()))

describe("JSON logger", () => {
  it.effect("prints one JSON object per line with snake_case annotations", () => {
    const { layer, entries, lines } = capture()
    return Effect.gen(function* () {
      yield* Effect.logInfo("instance created").pipe(
        Effect.annotateLogs({ requestId: "req-1", instanceId: "inst_a", "db.alias": "sales" })
      )
      yield* Effect.logWarning("pool", "slow", { waitingMs: 12 })
      yield* flushed
      expect(lines.every((line) => !line.includes("\n"))).toBe(true)
      const [first, second] = entries()
      expect(first).toEqual({
        timestamp: "1970-01-01T00:00:00.000Z",
        level: "info",
        message: "instance created",
        request_id: "req-1",
        instance_id: "inst_a",
        db_alias: "sales"
      })
      expect(second).toMatchObject({ level: "warn", message: 'pool slow {"waitingMs":12}' })
    }).pipe(Effect.provide(layer))
  })

  it.effect("adds the cause of an error, and never lets an annotation override the base fields", () => {
    const { layer, entries } = capture()
    return Effect.gen(function* () {
      yield* Effect.logError("query failed", new Error("boom")).pipe(
        Effect.annotateLogs({ level: "fake", message: "fake", secret: Redacted.make("hunter2") })
      )
      yield* Effect.fail(new Error("kaput")).pipe(Effect.tapErrorCause(Effect.logError), Effect.ignore)
      yield* flushed
      const [first, second] = entries()
      expect(first).toMatchObject({
        level: "error",
        message: "query failed Error: boom",
        secret: "<redacted>"
      })
      expect(first).not.toHaveProperty("cause")
      expect(String(second!.cause)).toContain("kaput")
      expect(JSON.stringify(entries())).not.toContain("hunter2")
    }).pipe(Effect.provide(layer))
  })

  it.effect("writes values JSON cannot hold as text (bigint, cycles)", () => {
    const { layer, entries } = capture()
    const cyclic: Record<string, unknown> = { name: "loop" }
    cyclic.self = cyclic
    return Effect.gen(function* () {
      yield* Effect.log("odd values").pipe(Effect.annotateLogs({ big: 2n ** 70n, cyclic }))
      yield* flushed
      expect(entries()[0]).toMatchObject({ big: "1180591620717411303424", cyclic: "[object Object]" })
    }).pipe(Effect.provide(layer))
  })

  it.effect("logs at info and above by default", () => {
    const { layer, entries } = capture()
    return Effect.gen(function* () {
      yield* Effect.logDebug("hidden")
      yield* Effect.logInfo("shown")
      yield* flushed
      expect(entries().map((entry) => entry.message)).toEqual(["shown"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("honours LOG_LEVEL, case-insensitively", () => {
    const { layer, entries } = capture({ LOG_LEVEL: "DEBUG" })
    return Effect.gen(function* () {
      yield* Effect.logDebug("shown")
      yield* flushed
      expect(entries()).toMatchObject([{ level: "debug", message: "shown" }])
    }).pipe(Effect.provide(layer))
  })

  it.effect("LOG_LEVEL=error silences warnings", () => {
    const { layer, entries } = capture({ LOG_LEVEL: "error" })
    return Effect.gen(function* () {
      yield* Effect.logWarning("hidden")
      yield* Effect.logError("shown")
      yield* flushed
      expect(entries().map((entry) => entry.message)).toEqual(["shown"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses an unknown LOG_LEVEL without echoing it", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Layer.build(capture({ LOG_LEVEL: "loud-ish" }).layer).pipe(Effect.scoped)
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const text = String(Exit.isFailure(exit) ? exit.cause : "")
      expect(text).toContain("LOG_LEVEL")
      expect(text).not.toContain("loud-ish")
    })
  )

  it.effect("leaves no other console logger, not even the pretty one NodeRuntime.runMain installs", () => {
    const { layer, entries } = capture()
    const asRunMainDoes = Logger.replace(Logger.defaultLogger, Logger.prettyLoggerDefault)
    return Effect.gen(function* () {
      const loggers = yield* FiberRef.get(FiberRef.currentLoggers)
      expect(HashSet.has(loggers, Logger.prettyLoggerDefault)).toBe(false)
      expect(HashSet.has(loggers, Logger.defaultLogger)).toBe(false)
      expect(HashSet.size(HashSet.remove(loggers, Logger.tracerLogger))).toBe(1) // ours
      yield* Effect.logInfo("once")
      yield* flushed
      expect(entries().map((entry) => entry.message)).toEqual(["once"])
    }).pipe(Effect.provide(layer), Effect.provide(asRunMainDoes))
  })

  it.effect("applies to layers built on top of it and to the fibers they fork", () => {
    const { layer, entries } = capture()
    class Service extends Context.Tag("test/Service")<Service, { readonly ping: Effect.Effect<void> }>() {}
    const ServiceLive = Layer.scoped(
      Service,
      Effect.gen(function* () {
        yield* Effect.logInfo("service starting")
        yield* Effect.forkScoped(Effect.logInfo("background fiber"))
        return { ping: Effect.logInfo("ping") }
      })
    )
    return Effect.gen(function* () {
      yield* Effect.flatMap(Service, (service) => service.ping)
      yield* Effect.yieldNow()
      yield* flushed
      expect(entries().map((entry) => entry.message)).toEqual(
        expect.arrayContaining(["service starting", "background fiber", "ping"])
      )
    }).pipe(Effect.provide(ServiceLive.pipe(Layer.provideMerge(layer))))
  })
})

describe("snakeCase", () => {
  it("converts the shapes annotation keys come in", () => {
    expect(snakeCase("requestId")).toBe("request_id")
    expect(snakeCase("HTTPStatus")).toBe("http_status")
    expect(snakeCase("db.alias")).toBe("db_alias")
    expect(snakeCase("already_snake")).toBe("already_snake")
  })
})
