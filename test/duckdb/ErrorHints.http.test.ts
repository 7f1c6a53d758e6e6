import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiKey, json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/** A client sees DuckDB's errors without advice the sandbox refuses and without hidden names. */
let server: RunningServer
beforeAll(async () => {
  server = await startServer(testSettings({}))
})
afterAll(() => server.dispose())

const query = async (sql: string) => {
  const response = await fetch(`${server.url}/v1/instances/default/query`, json({ query: sql }, apiKey))
  return { status: response.status, body: (await response.json()) as { code: string; error: string } }
}

describe("DuckDB's hints in client errors", () => {
  it("a too-deep expression does not advise SET max_expression_depth", async () => {
    const answer = await query(`SELECT ${Array.from({ length: 1100 }, () => "1").join("+")}`)
    expect(answer.status).toBe(400)
    expect(answer.body.code).toBe("sql_error")
    expect(answer.body.error).toMatch(/^Parser Error: Max expression depth limit of \d+ exceeded\.$/)
  })

  it("a function of an extension the server has not loaded does not advise INSTALL/LOAD", async () => {
    const answer = await query("SELECT ST_Point(1, 2)")
    expect(answer.body.code).toBe("sql_error")
    expect(answer.body.error).toContain("The spatial extension is not available on this server.")
    expect(answer.body.error).not.toMatch(/INSTALL|LOAD/)
  })

  it.each([
    ["SELECT * FROM pg_setting", "pg_settings"],
    ["SELECT * FROM duckdb_database", "duckdb_databases"],
    ["SELECT curent_setting('threads')", "current_setting"]
  ])("%s does not suggest %s", async (sql, hidden) => {
    const answer = await query(sql)
    expect(answer.body.code).toBe("sql_error")
    expect(answer.body.error).toMatch(/does not exist/)
    expect(answer.body.error).not.toContain(hidden)
  })

  it("a suggestion the client may follow stays", async () => {
    const answer = await query("SELECT * FROM pg_enumx")
    expect(answer.body.error).toContain('Did you mean "pg_enum"?')
  })
})
