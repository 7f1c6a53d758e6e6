import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ClientInstancesLabel } from "../../src/services/Metrics.js"
import { samples } from "../support/PromText.js"
import { apiKey, authed, json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * The audit log and the metrics as an operator meets them, through the in-process server: the
 * metrics' authentication switch, the query text switch, and gauges that follow what is really open.
 */

const lines = (server: RunningServer) =>
  server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>)

/** The audit line of a response (written when the response closed). */
const auditOf = async (server: RunningServer, response: Response) => {
  const requestId = response.headers.get("x-request-id")
  for (let attempt = 0; attempt < 50; attempt++) {
    const line = lines(server).find((entry) => entry.request_id === requestId)
    if (line !== undefined) return line
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`no audit line for ${requestId}`)
}

describe("metrics.require_auth", () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startServer(testSettings({ metrics: { require_auth: true } }))
  })
  afterAll(() => server.dispose())

  it("true: /api/v1/metrics answers 401 without a valid key and 200 with one", async () => {
    const without = await fetch(`${server.url}/api/v1/metrics`)
    expect(without.status).toBe(401)
    expect(await without.json()).toMatchObject({ code: "unauthorized" })
    expect((await fetch(`${server.url}/api/v1/metrics`, authed("not-a-key"))).status).toBe(401)
    const withKey = await fetch(`${server.url}/api/v1/metrics`, authed(apiKey))
    expect(withKey.status).toBe(200)
    expect(withKey.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    const body = await withKey.text()
    // The refused scrapes are counted like any other authentication failure.
    expect(samples(body, "pondpilot_auth_failures_total").reduce((sum, s) => sum + s.value, 0)).toBe(2)
    // Probes stay open.
    expect((await fetch(`${server.url}/ready`)).status).toBe(200)
  })

  it("true: each instance's pool has its own series, named by its id", async () => {
    const { id } = (await (await fetch(`${server.url}/v1/instances`, json({}))).json()) as { id: string }
    const body = await (await fetch(`${server.url}/api/v1/metrics`, authed(apiKey))).text()
    const instances = samples(body, "pondpilot_pool_connections").map((sample) => sample.labels.instance)
    expect(new Set(instances)).toEqual(new Set(["default", id]))
  })
})

describe("audit.log_query_text", () => {
  const marker = "where-clause-secret-7f3a"
  const sql = `SELECT 1 AS x WHERE '${marker}' <> ''`
  const failing = `SELECT nope FROM (SELECT 1) t WHERE '${marker}' <> ''`

  it("false (the default): no line carries the SQL, of a query that ran or one that failed", async () => {
    const server = await startServer()
    try {
      const ran = await fetch(`${server.url}/v1/instances/default/query`, json({ query: sql }))
      expect(ran.status).toBe(200)
      const failed = await fetch(`${server.url}/v1/instances/default/query`, json({ query: failing }))
      expect(failed.status).toBe(400)
      expect(await auditOf(server, ran)).not.toHaveProperty("query")
      expect(await auditOf(server, failed)).toMatchObject({
        message: "query failed",
        status: 400,
        error_code: "sql_error"
      })
      expect(server.logLines.join("\n")).not.toContain(marker)
    } finally {
      await server.dispose()
    }
  })

  it("true: the query line carries the SQL exactly as sent, and only the query line", async () => {
    const server = await startServer(testSettings({ audit: { log_query_text: true } }))
    try {
      const ran = await fetch(`${server.url}/v1/instances/default/query`, json({ query: sql }))
      expect(await auditOf(server, ran)).toMatchObject({ message: "query executed", query: sql })
      const failed = await fetch(`${server.url}/v1/instances/default/query`, json({ query: failing }))
      expect(await auditOf(server, failed)).toMatchObject({ message: "query failed", query: failing })
      expect(server.logLines.filter((line) => line.includes(marker))).toHaveLength(2)
    } finally {
      await server.dispose()
    }
  })
})

describe("gauges", () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startServer(
      testSettings({ duckdb: { connection_pool: { min_connections: 1, max_connections: 4 } } })
    )
  })
  afterAll(() => server.dispose())

  const scrape = async () => (await fetch(`${server.url}/api/v1/metrics`)).text()
  const pool = (body: string, instance: string) =>
    Object.fromEntries(
      samples(body, "pondpilot_pool_connections")
        .filter((sample) => sample.labels.instance === instance)
        .map((sample) => [sample.labels.state, sample.value])
    )
  const until = async (check: (body: string) => boolean) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const body = await scrape()
      if (check(body)) return body
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error(`never true:\n${await scrape()}`)
  }

  it("count the instances that are open, and the pools' connections in use and idle", async () => {
    const before = samples(await scrape(), "pondpilot_instances_active")[0]!.value
    expect(before).toBe(1) // the default instance
    const created = (await (await fetch(`${server.url}/v1/instances`, json({}))).json()) as { id: string }
    const id = created.id
    let body = await scrape()
    expect(samples(body, "pondpilot_instances_active")[0]!.value).toBe(2)
    // Open metrics name no client's instance: its pool is summed under "clients" (one instance here).
    expect(pool(body, ClientInstancesLabel)).toEqual({ in_use: 0, idle: 1 })
    expect(body).not.toContain(id)

    // Two queries that run until cancelled hold two connections.
    const endless = Array.from({ length: 2 }, () =>
      fetch(
        `${server.url}/v1/instances/${id}/query`,
        json({ query: "SELECT count(*) FROM range(1000000000000)" })
      )
    )
    body = await until((text) => pool(text, ClientInstancesLabel).in_use === 2)
    expect(pool(body, ClientInstancesLabel).in_use).toBe(2)
    const running = (await (await fetch(`${server.url}/v1/queries`, authed())).json()) as {
      queries: Array<{ id: string }>
    }
    expect(running.queries).toHaveLength(2)
    for (const query of running.queries)
      expect(
        (await fetch(`${server.url}/v1/queries/${query.id}`, authed(apiKey, { method: "DELETE" }))).status
      ).toBe(204)
    for (const answer of await Promise.all(endless)) expect(answer.status).toBe(409)
    body = await until((text) => pool(text, ClientInstancesLabel).in_use === 0)
    expect(pool(body, ClientInstancesLabel).idle).toBeGreaterThanOrEqual(1)

    // A closed instance leaves no series behind.
    expect(
      (await fetch(`${server.url}/v1/instances/${id}`, authed(apiKey, { method: "DELETE" }))).status
    ).toBe(204)
    body = await scrape()
    expect(samples(body, "pondpilot_instances_active")[0]!.value).toBe(1)
    expect(pool(body, ClientInstancesLabel)).toEqual({})
    expect(Object.keys(pool(body, "default")).sort()).toEqual(["idle", "in_use"])
    // (Their query_type is UNKNOWN today: the statement type reaches the route only with the first
    // chunk, which a cancelled count(*) never produced.)
    const cancelled = samples(body, "pondpilot_queries_total").filter((s) => s.labels.outcome === "cancelled")
    expect(cancelled.reduce((sum, sample) => sum + sample.value, 0)).toBe(2)
  })
})
