import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import { loadSettings, type Settings } from "../../src/domain/ConfigLoader.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { AuditLog, auditPath } from "../../src/services/AuditLog.js"
import { LogWriter, memorySink } from "../../src/services/LogWriter.js"

const settingsWith = (audit: { enabled?: boolean; log_query_text?: boolean }): Settings => {
  const loaded = loadSettings({ env: { API_KEY: "k" }, cwd: "/", readFile: () => undefined })
  if (Either.isLeft(loaded)) throw new Error(loaded.left.join("\n"))
  return { ...loaded.right, audit: { ...loaded.right.audit, ...audit } }
}

const capture = (audit: { enabled?: boolean; log_query_text?: boolean } = {}) => {
  const memory = memorySink()
  const layer = AuditLog.DefaultWithoutDependencies.pipe(
    Layer.provideMerge(LogWriter.layerWith(memory.sink)),
    Layer.provide(AppConfig.layerWith(settingsWith(audit)))
  )
  const entries = Effect.flatMap(LogWriter, (writer) => Effect.promise(() => writer.flush())).pipe(
    Effect.map(() => memory.lines.map((line) => JSON.parse(line) as Record<string, unknown>))
  )
  return { layer, entries, lines: memory.lines }
}

const query = {
  requestId: "abc123",
  clientIp: "192.168.1.100",
  instanceId: "inst_xyz",
  queryType: "SELECT",
  durationMs: 45,
  rowsReturned: 150,
  query: "SELECT * FROM users WHERE ssn = '123-45-6789'"
}

const request = {
  requestId: "req-2",
  clientIp: "10.0.0.7",
  method: "GET",
  path: "/v1/instances?api_key=leaked-token",
  status: 200,
  durationMs: 1.234
}

describe("AuditLog", () => {
  it.effect("writes a query line with exactly api.md's fields, without the query text", () => {
    const { layer, entries, lines } = capture()
    return Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2024-01-15T10:30:00Z"))
      const audit = yield* AuditLog
      audit.unsafeQuery(query)
      const [line] = yield* entries
      expect(line).toEqual({
        timestamp: "2024-01-15T10:30:00.000Z",
        level: "info",
        message: "query executed",
        request_id: "abc123",
        client_ip: "192.168.1.100",
        instance_id: "inst_xyz",
        query_type: "SELECT",
        duration_ms: 45,
        rows_returned: 150
      })
      expect(Object.keys(line!)).toEqual([
        "timestamp",
        "level",
        "message",
        "request_id",
        "client_ip",
        "instance_id",
        "query_type",
        "duration_ms",
        "rows_returned"
      ])
      expect(lines.join("\n")).not.toContain("123-45-6789")
    }).pipe(Effect.provide(layer))
  })

  it.effect("adds the query text only with audit.log_query_text: true", () => {
    const { layer, entries } = capture({ log_query_text: true })
    return Effect.gen(function* () {
      const audit = yield* AuditLog
      yield* audit.query(query)
      const [line] = yield* entries
      expect(line).toMatchObject({ message: "query executed", query: query.query })
    }).pipe(Effect.provide(layer))
  })

  it.effect("marks a failed query with its status and error code", () => {
    const { layer, entries } = capture()
    return Effect.gen(function* () {
      const audit = yield* AuditLog
      audit.unsafeQuery({ ...query, rowsReturned: 0, failure: { status: 400, code: "sql_error" } })
      audit.unsafeQuery({ ...query, rowsReturned: 10, failure: { status: 504, code: "query_timeout" } })
      const [clientError, serverError] = yield* entries
      expect(clientError).toMatchObject({
        level: "info",
        message: "query failed",
        status: 400,
        error_code: "sql_error",
        rows_returned: 0
      })
      expect(serverError).toMatchObject({ level: "warn", status: 504, error_code: "query_timeout" })
      expect(clientError).not.toHaveProperty("query")
    }).pipe(Effect.provide(layer))
  })

  it.effect("writes other requests with method, path (no query string), status and duration", () => {
    const { layer, entries, lines } = capture()
    return Effect.gen(function* () {
      const audit = yield* AuditLog
      audit.unsafeRequest(request)
      const [line] = yield* entries
      expect(line).toEqual({
        timestamp: "1970-01-01T00:00:00.000Z",
        level: "info",
        message: "request",
        request_id: "req-2",
        client_ip: "10.0.0.7",
        method: "GET",
        path: "/v1/instances",
        status: 200,
        duration_ms: 1.23
      })
      expect(lines.join("\n")).not.toContain("leaked-token")
    }).pipe(Effect.provide(layer))
  })

  it.effect("writes authentication failures and rate-limit hits at warn", () => {
    const { layer, entries } = capture()
    return Effect.gen(function* () {
      const audit = yield* AuditLog
      const refusal = {
        requestId: "r",
        clientIp: "203.0.113.9",
        method: "POST",
        path: "/v1/instances/inst_a/query"
      }
      audit.unsafeAuthFailure({ ...refusal, reason: "invalid credentials" })
      yield* audit.rateLimited({ ...refusal, reason: "limit exceeded", durationMs: 0.5 })
      const [auth, limited] = yield* entries
      expect(auth).toEqual({
        timestamp: "1970-01-01T00:00:00.000Z",
        level: "warn",
        message: "authentication failed",
        request_id: "r",
        client_ip: "203.0.113.9",
        method: "POST",
        path: "/v1/instances/inst_a/query",
        status: 401,
        reason: "invalid credentials"
      })
      expect(limited).toMatchObject({ level: "warn", message: "rate limited", status: 429, duration_ms: 0.5 })
    }).pipe(Effect.provide(layer))
  })

  it.effect("with audit.enabled: false writes no request or query line, but still the refusals", () => {
    const { layer, entries } = capture({ enabled: false, log_query_text: true })
    return Effect.gen(function* () {
      const audit = yield* AuditLog
      expect(audit.enabled).toBe(false)
      audit.unsafeQuery(query)
      audit.unsafeRequest(request)
      audit.unsafeRateLimited({ ...request, reason: "limit exceeded" })
      const lines = yield* entries
      expect(lines.map((line) => line.message)).toEqual(["rate limited"])
    }).pipe(Effect.provide(layer))
  })
})

describe("auditPath", () => {
  it("cuts the query string and bounds the length", () => {
    expect(auditPath("/v1/queries/q_1?token=x")).toBe("/v1/queries/q_1")
    expect(auditPath(`/${"a".repeat(2_000)}`)).toHaveLength(515)
  })
})
