import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  ensureBuilt,
  freePort,
  jsonLines,
  type ServerProcess,
  spawnServer,
  tempDir,
  waitUntilHealthy
} from "../support/Process.js"

/**
 * The built server as a child process, started the way the README says: `sh bin/pondpilot-proxy`
 * is what `npm start` runs after building.
 */
const running: Array<ServerProcess> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop("SIGKILL")))
})

beforeAll(() => ensureBuilt())

const startWithConfig = async (yaml: string, env: Record<string, string> = {}) => {
  const dir = tempDir("e2e")
  const configFile = path.join(dir, "config.yaml")
  fs.writeFileSync(configFile, yaml)
  const port = await freePort()
  const server = spawnServer("sh", ["bin/pondpilot-proxy"], {
    env: { CONFIG_FILE: configFile, PORT: String(port), API_KEY: "e2e-key", ...env },
    port
  })
  running.push(server)
  return server
}

const post = (server: ServerProcess, route: string, body: unknown) =>
  fetch(`${server.url}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "e2e-key" },
    body: JSON.stringify(body)
  })

describe("the built server", () => {
  it("serves the README's session: create an instance, run a query, audit it as JSON", async () => {
    const server = await startWithConfig("duckdb:\n  settings:\n    threads: 2\n")
    await waitUntilHealthy(server)
    const created = await post(server, "/v1/instances", {})
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }
    const result = await post(server, `/v1/instances/${id}/query`, {
      query: "SELECT 42 AS answer, 'hello' AS greeting"
    })
    expect(await result.json()).toEqual({
      columns: [
        { name: "answer", type: "INTEGER" },
        { name: "greeting", type: "VARCHAR" }
      ],
      rows: [[42, "hello"]],
      rowCount: 1,
      truncated: false
    })
    expect(await server.stop("SIGTERM")).toBe(0)
    const lines = jsonLines(server.stdout())
    const audit = lines.find((line) => line.message === "query executed")
    expect(audit).toMatchObject({ level: "info", instance_id: id, query_type: "SELECT", rows_returned: 1 })
    expect(Object.keys(audit!).sort()).toEqual(
      [
        "timestamp",
        "level",
        "message",
        "request_id",
        "client_ip",
        "instance_id",
        "query_type",
        "duration_ms",
        "rows_returned"
      ].sort()
    )
    expect(server.stdout()).not.toContain("SELECT 42")
  })

  it("exits with code 0 within shutdown_timeout while a query is still running", async () => {
    const server = await startWithConfig("server:\n  shutdown_timeout: 2s\nquery:\n  timeout: 10m\n")
    await waitUntilHealthy(server)
    const long = post(server, "/v1/instances/default/query", {
      query: "SELECT count(*) FROM range(1000000000000) a"
    }).then(
      async (response) => ({ status: response.status, body: await response.text() }),
      (error: unknown) => ({ status: 0, body: String(error) })
    )
    await new Promise((resolve) => setTimeout(resolve, 500))
    const stoppedAt = Date.now()
    server.child.kill("SIGTERM")
    // The signal takes a moment to arrive; from then on /ready answers 503 (test/e2e/ops.test.ts).
    let ready = 200
    while (ready !== 503 && Date.now() - stoppedAt < 2_000) {
      // A pooled connection the draining server just closed fails once; poll again on a new one.
      ready = await fetch(`${server.url}/ready`, { headers: { connection: "close" } }).then(
        (response) => response.status,
        () => 0
      )
    }
    expect(ready).toBe(503)
    expect(await server.exited).toBe(0)
    expect(Date.now() - stoppedAt).toBeLessThan(2_000 + 2_500)
    const answer = await long
    expect([0, 503]).toContain(answer.status)
    if (answer.status === 503) expect(JSON.parse(answer.body)).toMatchObject({ code: "shutting_down" })
  })

  it("refuses an invalid configuration before listening, one line per problem", async () => {
    const server = await startWithConfig(
      [
        "server:",
        "  read_timeout: soon",
        "  prot: 1",
        "duckdb:",
        "  attached_databases:",
        "    - { alias: a, type: duckdb, connection_string: /tmp/a.duckdb }",
        "    - { alias: a, type: oracle, connection_string: x }"
      ].join("\n")
    )
    expect(await server.exited).not.toBe(0)
    const problems = server.stderr().trim().split("\n")
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("server.read_timeout: not a duration"),
        expect.stringContaining("server.prot: unknown key"),
        expect.stringContaining(
          "duckdb.attached_databases[1].type: expected one of postgres, postgresql, mysql, sqlite, duckdb"
        )
      ])
    )
    await expect(fetch(`${server.url}/health`)).rejects.toThrow()
  })

  it("refuses to start in production without the keys it needs", async () => {
    const server = await startWithConfig("environment: production\n", { API_KEY: "" })
    expect(await server.exited).not.toBe(0)
    expect(server.stderr()).toContain("API_KEY: required in production")
    expect(server.stderr()).toContain("ENCRYPTION_KEY: required in production")
  })
})
