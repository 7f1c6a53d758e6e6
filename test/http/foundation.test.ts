import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  apiKey,
  authed,
  json,
  otherKey,
  type RunningServer,
  startServer,
  testSettings
} from "../support/TestServer.js"

let server: RunningServer

beforeAll(async () => {
  server = await startServer(
    testSettings({
      duckdb: { max_instances: 2, settings: { threads: 2, memory_limit: "1GB" } },
      server: { max_body_size: "4KB" },
      query: { max_query_length: 200 }
    })
  )
})
afterAll(() => server.dispose())

const call = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init)
const body = async (response: Response) => (await response.json()) as Record<string, unknown>

const expectError = async (response: Response, status: number, code: string) => {
  expect(response.status).toBe(status)
  expect(response.headers.get("content-type")).toMatch(/^application\/json/)
  const payload = await body(response)
  expect(Object.keys(payload).sort()).toEqual(["code", "error", "requestId"])
  expect(payload.code).toBe(code)
  expect(payload.requestId).toBe(response.headers.get("x-request-id"))
  return payload
}

const query = (sql: string, instance = "default", key = apiKey) =>
  call(`/v1/instances/${instance}/query`, json({ query: sql }, key))

describe("probes", () => {
  it("answers /health and /ready without credentials", async () => {
    const health = await call("/health")
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: "healthy" })
    const ready = await call("/ready")
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: "ready", databases: 0 })
  })
})

describe("request ids", () => {
  it("keeps a well-formed client id and replaces a malformed one", async () => {
    const kept = await call("/health", { headers: { "x-request-id": "client.id-42_x" } })
    expect(kept.headers.get("x-request-id")).toBe("client.id-42_x")
    const replaced = await call("/health", { headers: { "x-request-id": "bad id with spaces" } })
    expect(replaced.headers.get("x-request-id")).toMatch(/^req_[A-Za-z0-9_-]+$/)
    const tooLong = await call("/health", { headers: { "x-request-id": "a".repeat(129) } })
    expect(tooLong.headers.get("x-request-id")).not.toBe("a".repeat(129))
  })

  it("is on error responses too", async () => {
    const response = await call("/v1/instances")
    expect(response.headers.get("x-request-id")).toBeTruthy()
    await expectError(response, 401, "unauthorized")
  })
})

describe("authentication", () => {
  it("gives the same answer for a missing and a wrong key", async () => {
    const missing = await expectError(await call("/v1/instances"), 401, "unauthorized")
    const wrong = await expectError(await call("/v1/instances", authed("nope")), 401, "unauthorized")
    expect(missing.error).toBe(wrong.error)
  })

  it("accepts each configured key, on the query route as well", async () => {
    expect((await call("/v1/instances", authed(apiKey))).status).toBe(200)
    expect((await call("/v1/instances", authed(otherKey))).status).toBe(200)
    await expectError(await query("SELECT 1", "default", "wrong"), 401, "unauthorized")
  })
})

describe("routes and bodies", () => {
  it("answers unknown routes with the contract's 404", async () => {
    await expectError(await call("/nope"), 404, "not_found")
    await expectError(await call("/v1/nope", authed()), 404, "not_found")
  })

  it("answers a known path asked with the wrong method with 405 and Allow", async () => {
    for (const [path, method, allow] of [
      ["/v1/instances/default/query", "GET", "POST"],
      ["/v1/instances/default/query?format=csv", "PUT", "POST"],
      ["/v1/instances", "DELETE", "GET, POST"],
      ["/V1/Instances/abc/", "POST", "DELETE, GET"],
      ["/v1/instances/abc/databases/sales", "GET", "DELETE"],
      ["/v1/queries", "POST", "GET"],
      ["/health", "POST", "GET"],
      ["/openapi.json", "DELETE", "GET"],
      ["/docs", "PUT", "GET"]
    ] as const) {
      const response = await call(path, authed(apiKey, { method }))
      const payload = await expectError(response, 405, "method_not_allowed")
      expect(response.headers.get("allow"), `${method} ${path}`).toBe(allow)
      expect(payload.error).toContain(allow)
    }
    // Credentials come first on /v1, as for a 404: no route facts for an unauthenticated caller.
    await expectError(await call("/v1/instances/default/query"), 401, "unauthorized")
    await expectError(await call("/nope", { method: "DELETE" }), 404, "not_found")
  })

  it("refuses a body that is not JSON with 415, and malformed JSON with 400", async () => {
    const form = await call("/v1/instances", {
      method: "POST",
      headers: { "x-api-key": apiKey },
      body: "a=1"
    })
    await expectError(form, 415, "unsupported_media_type")
    const malformed = await call("/v1/instances", {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "application/json" },
      body: "{bad"
    })
    await expectError(malformed, 400, "invalid_request")
    const malformedQuery = await call("/v1/instances/default/query", {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "application/json" },
      body: '{"query":'
    })
    await expectError(malformedQuery, 400, "invalid_request")
  })

  it("refuses schema violations with invalid_request, never the framework's body", async () => {
    const payload = await expectError(
      await call("/v1/instances", json({ settings: { threads: "many" } })),
      400,
      "invalid_request"
    )
    expect(payload.error).toBe("settings.threads: expected a number")
    // Every decode failure reads like the query route's own (`query: expected a string`).
    for (const [sent, said] of [
      [{ settings: { threads: 2000 } }, "settings.threads: expected a number between 1 and 1024"],
      [{ settings: { threads: 1.5 } }, "settings.threads: expected an integer"],
      [{ settings: { memoryLimit: 5 } }, "settings.memoryLimit: expected a string"],
      [{ settings: { memoryLimit: "lots" } }, "settings.memoryLimit: expected a size such as 512MB or 1GB"],
      // Too small for DuckDB to take the lockdown's settings: refused here, not a failed engine (500).
      [{ settings: { memoryLimit: "1500" } }, "settings.memoryLimit: expected at least 16MB"],
      [{ settings: 5 }, "settings: expected an object"],
      [{ settingz: 1 }, 'unknown field "settingz"'],
      [{ settings: { thread: 1 } }, 'settings: unknown field "thread"'],
      [5, "expected an object"]
    ] as const) {
      const refused = await expectError(await call("/v1/instances", json(sent)), 400, "invalid_request")
      expect(refused.error, JSON.stringify(sent)).toBe(said)
    }
    const attach = await expectError(
      await call("/v1/instances/default/databases", json({ type: "oracle", alias: "a" })),
      400,
      "invalid_request"
    )
    expect(attach.error).toMatch(/^[a-z][A-Za-z]*: (expected|is required)/)
    expect(await body(await query("SELECT 1", "default"))).toHaveProperty("rows")
    expect((await body(await call("/v1/instances/default/query", json({ query: 42 })))).error).toBe(
      "query: expected a string"
    )
    await expectError(
      await call("/v1/instances/default/query", json({ sql: "SELECT 1" })),
      400,
      "invalid_request"
    )
    await expectError(await call("/v1/instances/default/query", json({ query: 42 })), 400, "invalid_request")
    await expectError(await call("/v1/instances/default/query", json(["SELECT 1"])), 400, "invalid_request")
  })

  it("answers 413 for a body over max_body_size and a query over max_query_length", async () => {
    await expectError(
      await call("/v1/instances/default/query", json({ query: `SELECT '${"x".repeat(5000)}'` })),
      413,
      "payload_too_large"
    )
    await expectError(await call("/v1/instances", json({ pad: "x".repeat(5000) })), 413, "payload_too_large")
    await expectError(await query(`SELECT ${"1 + ".repeat(60)}1`), 413, "payload_too_large")
  })
})

describe("instances", () => {
  it("creates, lists, reads and deletes an instance", async () => {
    const created = await call("/v1/instances", json({}))
    expect(created.status).toBe(201)
    const instance = await body(created)
    expect(instance.id).toMatch(/^inst_[A-Za-z0-9_-]{16,}$/)
    expect(new Date(String(instance.createdAt)).toISOString()).toBe(instance.createdAt)
    expect(instance.databases).toEqual([])

    const listed = await body(await call("/v1/instances", authed()))
    const ids = (listed.instances as Array<{ id: string }>).map((entry) => entry.id)
    expect(ids).toContain(instance.id)
    expect(ids).toContain("default")

    const read = await body(await call(`/v1/instances/${instance.id}`, authed()))
    expect(read.id).toBe(instance.id)
    expect(read.lastUsedAt).toBeTypeOf("string")

    const removed = await call(`/v1/instances/${instance.id}`, authed(apiKey, { method: "DELETE" }))
    expect(removed.status).toBe(204)
    await expectError(await call(`/v1/instances/${instance.id}`, authed()), 404, "not_found")
  })

  it("accepts an empty body, and caps requested settings by the server's", async () => {
    const created = await call("/v1/instances", { method: "POST", headers: { "x-api-key": apiKey } })
    expect(created.status).toBe(201)
    const capped = await body(
      await call("/v1/instances", json({ settings: { threads: 64, memoryLimit: "8GB" } }))
    )
    expect(capped.settings).toEqual({ threads: 2, memoryLimit: "1GB" })
    for (const id of [(await body(created)).id, capped.id]) {
      await call(`/v1/instances/${id}`, authed(apiKey, { method: "DELETE" }))
    }
  })

  it("echoes memoryLimit in its unit family, not in bytes (1GiB stays 1GiB)", async () => {
    for (const [asked, shown] of [
      ["512MiB", "512MiB"],
      ["0.5GiB", "512MiB"],
      ["750MB", "750MB"],
      ["999999999", "999999999B"]
    ]) {
      const created = await body(await call("/v1/instances", json({ settings: { memoryLimit: asked } })))
      expect((created.settings as Record<string, unknown>).memoryLimit).toBe(shown)
      await call(`/v1/instances/${created.id}`, authed(apiKey, { method: "DELETE" }))
    }
  })

  it("keeps instances private to the principal that created them", async () => {
    const mine = await body(await call("/v1/instances", json({})))
    await expectError(await call(`/v1/instances/${mine.id}`, authed(otherKey)), 404, "not_found")
    await expectError(await query("SELECT 1", String(mine.id), otherKey), 404, "not_found")
    const theirs = await body(await call("/v1/instances", authed(otherKey)))
    expect((theirs.instances as Array<{ id: string }>).map((entry) => entry.id)).toEqual(["default"])
    await expectError(
      await call(`/v1/instances/${mine.id}`, authed(otherKey, { method: "DELETE" })),
      404,
      "not_found"
    )
    await call(`/v1/instances/${mine.id}`, authed(apiKey, { method: "DELETE" }))
  })

  it("refuses to delete the default instance", async () => {
    await expectError(
      await call("/v1/instances/default", authed(apiKey, { method: "DELETE" })),
      403,
      "forbidden_statement"
    )
  })

  it("answers 429 instance_limit past max_instances (default not counted)", async () => {
    const first = await body(await call("/v1/instances", json({})))
    const second = await body(await call("/v1/instances", json({})))
    await expectError(await call("/v1/instances", json({})), 429, "instance_limit")
    for (const id of [first.id, second.id])
      await call(`/v1/instances/${id}`, authed(apiKey, { method: "DELETE" }))
    const again = await call("/v1/instances", json({}))
    expect(again.status).toBe(201)
    await call(`/v1/instances/${(await body(again)).id}`, authed(apiKey, { method: "DELETE" }))
  })
})

describe("query", () => {
  it("returns the JSON shape of the contract with exact values", async () => {
    const response = await query(
      "SELECT 42 AS answer, 9007199254740993::BIGINT AS big, 1.50::DECIMAL(4,2) AS price, DATE '2024-01-15' AS day, NULL AS nothing"
    )
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      columns: [
        { name: "answer", type: "INTEGER" },
        { name: "big", type: "BIGINT" },
        { name: "price", type: "DECIMAL(4,2)" },
        { name: "day", type: "DATE" },
        { name: "nothing", type: "INTEGER" }
      ],
      rows: [[42, "9007199254740993", "1.50", "2024-01-15", null]],
      rowCount: 1,
      truncated: false
    })
  })

  it("runs on an instance of one's own", async () => {
    const instance = await body(await call("/v1/instances", json({})))
    const response = await query("SELECT sum(range) AS total FROM range(1000)", String(instance.id))
    // sum() is a HUGEINT; it fits in ±(2^53−1), so JSON gives a number (docs/results.md).
    expect((await body(response)).rows).toEqual([[499500]])
    await call(`/v1/instances/${instance.id}`, authed(apiKey, { method: "DELETE" }))
  })

  it("refuses more than one statement, in every disguise", async () => {
    for (const sql of ["SELECT 1; SELECT 2", "SELECT 1;\n-- comment\nSELECT 2", "SELECT ';'; SELECT 2", ""]) {
      await expectError(await query(sql), 400, "invalid_request")
    }
  })

  it("answers DuckDB errors with sql_error", async () => {
    const payload = await expectError(await query("SELECT * FROM no_such_table"), 400, "sql_error")
    expect(String(payload.error)).toContain("no_such_table")
    await expectError(await query("SELEC 1"), 400, "sql_error")
  })

  it("answers 404 for an unknown instance", async () => {
    await expectError(await query("SELECT 1", "inst_unknown"), 404, "not_found")
    await expectError(await query("SELECT 1", "bad%20id"), 404, "not_found")
  })
})
