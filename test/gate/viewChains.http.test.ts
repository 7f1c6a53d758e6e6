import { describe, expect, it } from "vitest"
import { serverWithOwnInstance } from "../support/OwnInstance.js"
import type { Received } from "../support/QueryClient.js"
import { testSettings } from "../support/TestServer.js"

/**
 * Views a client creates in its own writable instance expand wherever they are named, as CTEs do
 * (issue 13, finding 1): a chain of views each naming the previous one twice doubles at every link,
 * and DuckDB binds the whole of it on the next CREATE VIEW and on every statement naming the last
 * link, outside `memory_limit` and deaf to interrupts. The gate weighs statements against the
 * instance's views and answers `400 statement_too_large` before DuckDB binds anything.
 */
const { run } = serverWithOwnInstance(testSettings({ query: { timeout: "60s" } }))

const bodyOf = (response: Received) => JSON.parse(response.body.toString("utf8")) as Record<string, unknown>

const expectTooLarge = (response: Received) => {
  expect(response.status, response.body.toString("utf8")).toBe(400)
  expect(bodyOf(response).code).toBe("statement_too_large")
}

/** The link number of the first CREATE VIEW the gate refused. */
let refusedAt = 0

describe("a chain of views in a client's own instance", () => {
  it("is refused at the link that would expand past the limit, each link answered quickly", async () => {
    expect((await run("CREATE VIEW v0 AS SELECT 1 AS x")).status).toBe(200)
    for (let k = 1; k <= 24 && refusedAt === 0; k++) {
      const started = Date.now()
      const response = await run(
        `CREATE VIEW v${k} AS SELECT x FROM v${k - 1} UNION ALL SELECT x FROM v${k - 1}`
      )
      // Binding a link costs about as much as all the links before it: 15 links took 5 s unchecked.
      expect(Date.now() - started, `link ${k}`).toBeLessThan(5_000)
      if (response.status === 200) continue
      expectTooLarge(response)
      expect(String(bodyOf(response).error)).toContain("views it names")
      refusedAt = k
    }
    // 2^k copies of a small SELECT: the limit (250,000 nodes) is reached in the low teens.
    expect(refusedAt).toBeGreaterThan(8)
    expect(refusedAt).toBeLessThan(16)
    // The links below it stay usable (a lower one here: planning thousands of UNION branches takes long).
    const lower = await run(`SELECT count(*) AS n FROM v${refusedAt - 4}`)
    expect(lower.status).toBe(200)
    expect(bodyOf(lower).rows).toEqual([[2 ** (refusedAt - 4)]])
  }, 60_000)

  it("refuses a statement that names views often enough, however it names them", async () => {
    const top = `v${refusedAt - 1}`
    const cases = [
      `SELECT count(*) FROM ${top} a, ${top} b, ${top} c`,
      `SELECT count(*) FROM memory.main.${top} a, main.${top} b, memory.${top} c`,
      // A CTE inlined at each reference multiplies the views it names.
      `WITH t AS (SELECT * FROM ${top}) SELECT count(*) FROM t a, t b, t c`,
      // A CTE of the same name does not hide a view named with its schema.
      `WITH ${top} AS (SELECT 1 AS x) SELECT count(*) FROM main.${top} a, main.${top} b, main.${top} c`,
      // Writes and EXPLAIN bind their queries too.
      `CREATE TABLE copied AS SELECT * FROM ${top} a, ${top} b, ${top} c`,
      `EXPLAIN SELECT * FROM ${top} a, ${top} b, ${top} c`
    ]
    for (const sql of cases) {
      const started = Date.now()
      expectTooLarge(await run(sql))
      expect(Date.now() - started, sql).toBeLessThan(2_000)
    }
    // Smaller views named as often are within the limit.
    const small = `v${refusedAt - 4}`
    expect((await run(`EXPLAIN SELECT * FROM ${small} a, ${small} b, ${small} c`)).status).toBe(200)
  })

  it("refuses replacing a view when a view naming it would then expand past the limit", async () => {
    const wide = `SELECT x FROM (${Array.from({ length: 40 }, () => "SELECT 1 AS x").join(" UNION ALL ")})`
    const replaced = await run(`CREATE OR REPLACE VIEW v0 AS ${wide}`)
    expectTooLarge(replaced)
    expect(String(bodyOf(replaced).error)).toMatch(/view v\d+ would expand past the limit/)
    // The old definition stays.
    expect(bodyOf(await run("SELECT count(*) AS n FROM v0")).rows).toEqual([[1]])
    // Without the chain above it, the same definition is fine.
    for (let k = refusedAt - 1; k >= 1; k--) expect((await run(`DROP VIEW v${k}`)).status).toBe(200)
    expect((await run(`CREATE OR REPLACE VIEW v0 AS ${wide}`)).status).toBe(200)
    expect(bodyOf(await run("SELECT count(*) AS n FROM v0")).rows).toEqual([[40]])
  })
})
