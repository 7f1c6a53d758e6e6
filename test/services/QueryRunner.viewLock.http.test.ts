import { describe, expect, it } from "vitest"
import { serverWithOwnInstance } from "../support/OwnInstance.js"
import type { Received } from "../support/QueryClient.js"
import { testSettings } from "../support/TestServer.js"

/**
 * The gate weighs a statement against the views of the client's instance, then DuckDB binds it. A
 * view replaced in between (by a heavier one, each definition within the limit on its own) would be
 * expanded unweighed (issue 13, finding 1's class), so a view's definition waits until no statement
 * on the instance is between its weighing and its binding, and such statements wait while a view is
 * being defined.
 */
const { run } = serverWithOwnInstance(testSettings({ query: { timeout: "60s" } }))

const bodyOf = (response: Received) => JSON.parse(response.body.toString("utf8")) as Record<string, unknown>

const timed = async (sql: string) => {
  const response = await run(sql)
  return { response, at: Date.now() }
}

describe("a view replaced while a statement naming it is being bound", () => {
  it("is replaced after that statement has bound the old one; the statement sees the old one", async () => {
    expect((await run("CREATE VIEW v AS SELECT 1 AS x")).status).toBe(200)
    // An aggregate that DuckDB binds at once and answers only after its work (about a second here).
    const slow = timed("SELECT x, count(*) AS n FROM v, range(150000000) t(i) WHERE i % 3 = 0 GROUP BY x")
    await new Promise((resolve) => setTimeout(resolve, 150))
    const replaceStarted = Date.now()
    const replaced = await timed("CREATE OR REPLACE VIEW v AS SELECT 2 AS x")
    const answered = await slow
    expect(answered.response.status, answered.response.body.toString("utf8")).toBe(200)
    expect(bodyOf(answered.response).rows).toEqual([[1, 50_000_000]])
    expect(replaced.response.status, replaced.response.body.toString("utf8")).toBe(200)
    // The definition waited for the statement (its answer goes a moment after DuckDB lets go).
    expect(replaced.at).toBeGreaterThanOrEqual(answered.at - 250)
    expect(replaced.at - replaceStarted).toBeGreaterThan(100)
    expect(bodyOf(await run("SELECT x FROM v")).rows).toEqual([[2]])
  }, 60_000)

  it("lets statements that do not name a view run beside a waiting definition", async () => {
    const slow = run("SELECT count(*) AS n FROM v, range(150000000) t(i) WHERE i % 3 = 0")
    await new Promise((resolve) => setTimeout(resolve, 150))
    const replacing = run("CREATE OR REPLACE VIEW v AS SELECT 3 AS x")
    const started = Date.now()
    const other = await run("SELECT 42 AS answer")
    expect(bodyOf(other).rows).toEqual([[42]])
    expect(Date.now() - started).toBeLessThan(500)
    expect((await slow).status).toBe(200)
    expect((await replacing).status).toBe(200)
  }, 60_000)
})
