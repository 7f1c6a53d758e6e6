import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiKey, authed, json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/** The gateway's own behaviour: rate limit, trusted proxies, CORS, audit lines and metrics. */
let server: RunningServer

beforeAll(async () => {
  server = await startServer(
    testSettings({
      server: { trusted_proxies: ["127.0.0.1/32"], cors_origins: ["https://app.example"] },
      security: { rate_limit: { requests_per_minute: 60, burst_size: 2 } }
    })
  )
})
afterAll(() => server.dispose())

const call = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init)
const auditLines = () => server.logLines.flatMap((chunk) => chunk.split("\n")).filter((line) => line !== "")
const parsed = () => auditLines().map((line) => JSON.parse(line) as Record<string, unknown>)
const settle = () => new Promise((resolve) => setTimeout(resolve, 50))
let refusedCases = 0

describe("rate limiting", () => {
  it("allows burst + 1 requests, then answers 429 with Retry-After, a warn line and a metric", async () => {
    const from = (ip: string) => authed(apiKey, { headers: { "x-forwarded-for": ip } })
    const statuses: Array<number> = []
    for (let i = 0; i < 4; i++) statuses.push((await call("/v1/instances", from("203.0.113.7"))).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    const limited = await call("/v1/instances", from("203.0.113.7"))
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(await limited.json()).toMatchObject({ code: "rate_limited" })
    // Another client (as told by the trusted proxy) has its own bucket; probes are never limited.
    expect((await call("/v1/instances", from("203.0.113.8"))).status).toBe(200)
    for (let i = 0; i < 5; i++) expect((await call("/health", from("203.0.113.7"))).status).toBe(200)
    await settle()
    const warn = parsed().find((line) => line.message === "rate limited")
    expect(warn).toMatchObject({ level: "warn", client_ip: "203.0.113.7", status: 429 })
    const metrics = await (await call("/api/v1/metrics", from("198.51.100.1"))).text()
    expect(metrics).toMatch(/pondpilot_rate_limited_total \d+/)
    expect(metrics).not.toMatch(/pondpilot_rate_limited_total 0\b/)
  })
})

describe("authentication failures", () => {
  it("are logged at warn with a reason, never the key, and counted", async () => {
    const secret = "a-wrong-key-that-must-not-be-logged"
    const response = await call("/v1/instances", {
      headers: { "x-api-key": secret, "x-forwarded-for": "203.0.113.20" }
    })
    expect(response.status).toBe(401)
    await settle()
    const warn = parsed().find((line) => line.message === "authentication failed")
    expect(warn).toMatchObject({ level: "warn", client_ip: "203.0.113.20", status: 401 })
    expect(auditLines().join("\n")).not.toContain(secret)
    const metrics = await (
      await call("/api/v1/metrics", { headers: { "x-forwarded-for": "198.51.100.2" } })
    ).text()
    expect(metrics).toMatch(/pondpilot_auth_failures_total\{reason="[a-z_]+"\} [1-9]/)
  })
})

describe("CORS", () => {
  it("answers a preflight from an allowed origin, before authentication", async () => {
    const preflight = await call("/v1/instances", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key, content-type",
        "x-forwarded-for": "198.51.100.3"
      }
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example")
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/X-API-Key/)
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Authorization/)
    // A browser's trace context may cross, and its answer's traceparent be read (docs/operations.md, "Traces").
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/traceparent/)
  })

  it("exposes the result headers to an allowed origin, and nothing to others", async () => {
    const allowed = await call("/v1/instances", {
      headers: { origin: "https://app.example", "x-api-key": apiKey, "x-forwarded-for": "198.51.100.4" }
    })
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example")
    expect(allowed.headers.get("access-control-expose-headers")).toMatch(/X-Result-Truncated/)
    expect(allowed.headers.get("access-control-expose-headers")).toMatch(/traceparent/)
    const other = await call("/v1/instances", {
      headers: { origin: "https://evil.example", "x-api-key": apiKey, "x-forwarded-for": "198.51.100.5" }
    })
    expect(other.headers.get("access-control-allow-origin")).toBeNull()
  })
})

describe("audit log", () => {
  it("writes one query line with exactly the contract's fields, and no query text", async () => {
    const secretLiteral = "needle-in-the-where-clause"
    const response = await call(
      "/v1/instances/default/query",
      json({ query: `SELECT 1 AS x WHERE '${secretLiteral}' <> ''` }, apiKey)
    )
    expect(response.status).toBe(200)
    const requestId = response.headers.get("x-request-id")
    await settle()
    const line = parsed().find((entry) => entry.request_id === requestId)
    expect(line).toBeDefined()
    expect(Object.keys(line!).sort()).toEqual(
      [
        "client_ip",
        "duration_ms",
        "instance_id",
        "level",
        "message",
        "query_type",
        "request_id",
        "rows_returned",
        "timestamp"
      ].sort()
    )
    expect(line).toMatchObject({
      level: "info",
      message: "query executed",
      query_type: "SELECT",
      rows_returned: 1
    })
    expect(new Date(String(line!.timestamp)).toISOString()).toBe(line!.timestamp)
    expect(auditLines().join("\n")).not.toContain(secretLiteral)
  })

  it.each([
    ["INSERT INTO t VALUES (1)", 403, "read_only", "INSERT"],
    ["CREATE TABLE t AS SELECT 1", 403, "read_only", "CREATE TABLE AS"],
    ["WITH s AS (SELECT current_setting('threads')) SELECT * FROM s", 403, "forbidden_statement", "SELECT"],
    ["SET threads = 1", 403, "forbidden_statement", "SET"],
    ["COPY (SELECT 1) TO 'x.csv'", 403, "forbidden_statement", "COPY"],
    ["SELECT (", 400, "sql_error", "UNKNOWN"]
  ])("names a refused statement's type in its audit line: %s", async (query, status, code, type) => {
    const request = json({ query }, apiKey)
    // Each case from its own client address: the rate limit's burst is small here.
    const from = `198.51.100.${40 + (refusedCases++ % 100)}`
    const response = await call("/v1/instances/default/query", {
      ...request,
      headers: { ...(request.headers as Record<string, string>), "x-forwarded-for": from }
    })
    expect(response.status).toBe(status)
    const requestId = response.headers.get("x-request-id")
    await settle()
    const line = parsed().find((entry) => entry.request_id === requestId)
    expect(line).toMatchObject({ message: "query failed", error_code: code, query_type: type })
  })

  it("writes method, path, status and duration for other requests", async () => {
    const response = await call(
      "/v1/instances?secret=token",
      authed(apiKey, { headers: { "x-forwarded-for": "198.51.100.6" } })
    )
    const requestId = response.headers.get("x-request-id")
    await settle()
    const line = parsed().find((entry) => entry.request_id === requestId)
    expect(line).toMatchObject({ message: "request", method: "GET", path: "/v1/instances", status: 200 })
    expect(typeof line!.duration_ms).toBe("number")
    expect(JSON.stringify(line)).not.toContain("token")
  })
})

describe("metrics", () => {
  it("labels routes by template, never by raw id", async () => {
    // Each request from an address of its own: this file's rate limit is deliberately tight.
    const from = (ip: string, init: RequestInit) => ({
      ...init,
      headers: { ...(init.headers as Record<string, string>), "x-forwarded-for": ip }
    })
    const created = await call("/v1/instances", from("192.0.2.1", json({}, apiKey)))
    const { id } = (await created.json()) as { id: string }
    await call(`/v1/instances/${id}/query`, from("192.0.2.2", json({ query: "SELECT 1" }, apiKey)))
    expect(
      (await call(`/v1/instances/${id}`, from("192.0.2.3", authed(apiKey, { method: "DELETE" })))).status
    ).toBe(204)
    const metrics = await (
      await call("/api/v1/metrics", { headers: { "x-forwarded-for": "198.51.100.7" } })
    ).text()
    expect(metrics).toContain('route="/v1/instances/:id/query"')
    expect(metrics).toContain("pondpilot_queries_total")
    expect(metrics).toContain("pondpilot_process_resident_memory_bytes")
    expect(metrics.split("\n").filter((line) => line.includes(id))).toEqual([])
  })
})
