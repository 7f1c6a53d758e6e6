import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import { creationOptions, lockdown } from "../../src/gate/Lockdown.js"
import { expandedCatalog, expandedNodes, maxExpandedNodes } from "../../src/gate/PlanSize.js"
import { decodeSerializedSql, type Json } from "../../src/gate/SqlTree.js"
import { StatementGate } from "../../src/gate/StatementGate.js"
import { runGate } from "./gateRun.js"

/**
 * Plan-time blow-ups (issue 13, finding 1): statements and stored objects that expand while DuckDB
 * binds them are measured from their parse tree and refused before anything is bound.
 */
let dir: string
let instance: DuckDBInstance
let connection: DuckDBConnection

/** A file whose macros each call the previous one twice: 2^links calls once expanded. */
const macroChain = (links: number) => [
  "CREATE MACRO m0(x) AS x + 1",
  ...Array.from({ length: links }, (_, i) => `CREATE MACRO m${i + 1}(x) AS m${i}(x) + m${i}(x)`)
]

const files: Record<string, ReadonlyArray<string>> = {
  short_chain: macroChain(4),
  long_chain: macroChain(30)
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-plansize-"))
  instance = await DuckDBInstance.create(
    undefined,
    creationOptions({ threads: 1, memoryLimitBytes: 500_000_000 })
  )
  connection = await instance.connect()
  // Each file is written through this engine first, then attached again read-only, as a client's would be.
  for (const [alias, statements] of Object.entries(files)) {
    const file = path.join(dir, `${alias}.duckdb`)
    await connection.run(`ATTACH '${file}' AS ${alias}`)
    await connection.run(`USE ${alias}`)
    for (const sql of statements) await connection.run(sql)
    await connection.run("USE memory")
    await connection.run(`DETACH ${alias}`)
    await connection.run(`ATTACH '${file}' AS ${alias} (READ_ONLY)`)
  }
  await Effect.runPromise(lockdown(connection, { allowedPaths: [] }))
})
afterAll(() => {
  connection.closeSync()
  instance.closeSync()
  fs.rmSync(dir, { recursive: true, force: true })
})

const tree = async (sql: string): Promise<ReadonlyArray<Json>> => {
  const reader = await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql])
  const serialized = decodeSerializedSql(String(reader.getRows()[0]?.[0]))
  if (!serialized.ok) throw new Error(serialized.errorMessage)
  return serialized.statements
}

const chain = (links: number) => {
  const ctes = ["c0 AS (SELECT 1 AS x)"]
  for (let k = 1; k <= links; k++)
    ctes.push(`c${k} AS (SELECT x FROM c${k - 1} UNION ALL SELECT x FROM c${k - 1})`)
  return `WITH ${ctes.join(", ")} SELECT count(*) FROM c${links}`
}

describe("expandedNodes", () => {
  it("counts a statement without CTEs as its own nodes", async () => {
    const plain = await tree("SELECT a + 1 FROM t WHERE b > 2")
    const n = expandedNodes(plain)
    expect(n).toBeGreaterThan(5)
    expect(n).toBeLessThan(40)
  })

  it("doubles with each link of a CTE chain that names the previous link twice", async () => {
    const ten = expandedNodes(await tree(chain(10)))
    const eleven = expandedNodes(await tree(chain(11)))
    expect(eleven / ten).toBeGreaterThan(1.9)
    expect(eleven / ten).toBeLessThan(2.1)
    expect(expandedNodes(await tree(chain(22)))).toBe(maxExpandedNodes + 1)
  })

  it("counts a recursive CTE's reference to itself once, and a table named like no CTE as a table", async () => {
    const recursive = await tree(
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r, r AS again"
    )
    expect(expandedNodes(recursive)).toBeLessThan(100)
  })

  it("takes a name defined in two scopes at its larger definition", async () => {
    const shadowed = await tree(
      `WITH c AS (SELECT 1) SELECT (WITH c AS (${chain(8)}) SELECT * FROM c) FROM c, c AS c2`
    )
    expect(expandedNodes(shadowed)).toBeGreaterThan(expandedNodes(await tree(chain(8))))
  })

  it("counts macros and views naming each other in a catalog", async () => {
    const objects = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => ({
        name: `v${i + 1}`,
        tree: (await tree(`SELECT x FROM v${i} UNION ALL SELECT x FROM v${i}`))[0]!
      }))
    )
    expect(expandedCatalog(objects)).toBe(maxExpandedNodes + 1)
    expect(expandedCatalog(objects.slice(0, 5))).toBeLessThan(10_000)
  })
})

layer(StatementGate.Default)("the gate", (it) => {
  it.effect("refuses a 22-link NOT MATERIALIZED chain at once, before DuckDB binds it", () =>
    Effect.gen(function* () {
      const started = Date.now()
      const sql = chain(22).replaceAll(" AS (SELECT x", " AS NOT MATERIALIZED (SELECT x")
      const result = yield* runGate(connection, sql, { readOnly: true })
      expect(result.outcome).toBe("statement_too_large")
      expect(result.message).toContain("CTEs")
      expect(Date.now() - started).toBeLessThan(2_000)
    })
  )

  it.effect("lets a short chain run", () =>
    Effect.gen(function* () {
      const result = yield* runGate(connection, chain(4), { readOnly: true })
      expect(result.outcome).toBe("ok")
      result.prepared?.destroySync()
    })
  )

  it.effect("refuses an attached file whose macros expand past the limit; a short chain passes", () =>
    Effect.gen(function* () {
      const short = yield* Effect.either(StatementGate.auditDatabase(connection, "short_chain"))
      expect(Either.isRight(short)).toBe(true)
      const long = yield* Effect.either(StatementGate.auditDatabase(connection, "long_chain"))
      expect(Either.isLeft(long) && long.left.message).toContain("expand past")
    })
  )
})
