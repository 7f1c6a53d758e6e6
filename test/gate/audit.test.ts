import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import { viewQuery } from "../../src/duckdb/CatalogAudit.js"
import { creationOptions, lockdown } from "../../src/duckdb/Lockdown.js"
import { StatementGate } from "../../src/services/StatementGate.js"
import { runGate } from "./gateRun.js"

/** DuckDB files with one object each; `clean` must pass the audit, every other must not. */
const files: Record<string, ReadonlyArray<string>> = {
  clean: [
    "CREATE TABLE orders AS SELECT range AS id FROM range(3)",
    "CREATE VIEW totals (n) AS SELECT count(*) FROM orders",
    "CREATE MACRO twice(x) AS x * 2",
    "CREATE MACRO evens() AS TABLE SELECT * FROM range(0, 10, 2)"
  ],
  setting_view: ["CREATE VIEW leak AS SELECT current_setting('secret_directory') AS s"],
  file_view: ["CREATE VIEW leak AS SELECT * FROM glob('/*')"],
  logging_view: ["CREATE VIEW leak AS SELECT * FROM enable_logging()"],
  setting_macro: ["CREATE MACRO leak() AS current_setting('memory_limit')"],
  table_macro: ["CREATE MACRO leak() AS TABLE SELECT * FROM duckdb_settings()"]
}

let dir: string
let instance: DuckDBInstance
let connection: DuckDBConnection
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-audit-"))
  instance = await DuckDBInstance.create(
    undefined,
    creationOptions({ threads: 1, memoryLimitBytes: 500_000_000 })
  )
  connection = await instance.connect()
  for (const [name, statements] of Object.entries(files)) {
    const file = path.join(dir, `${name}.duckdb`)
    const maker = await DuckDBInstance.create(file)
    const makerConnection = await maker.connect()
    for (const sql of statements) await makerConnection.run(sql)
    makerConnection.closeSync()
    maker.closeSync()
    await connection.run(`ATTACH '${file}' AS ${name} (READ_ONLY)`)
  }
  await Effect.runPromise(lockdown(connection, { allowedPaths: [] }))
})
afterAll(() => {
  connection.closeSync()
  instance.closeSync()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe("viewQuery", () => {
  it("finds the query after the first top-level AS", () => {
    expect(viewQuery('CREATE VIEW "a AS b" (x, "AS") AS SELECT 1 AS x;')).toBe(" SELECT 1 AS x;")
    expect(viewQuery("CREATE VIEW v")).toBeUndefined()
  })
})

layer(StatementGate.Default)("auditDatabase", (it) => {
  it.effect("passes a database whose views and macros the gate allows", () =>
    Effect.gen(function* () {
      yield* StatementGate.auditDatabase(connection, "clean")
    })
  )

  for (const name of Object.keys(files).filter((name) => name !== "clean")) {
    it.effect(`refuses ${name}, naming the object and not its content`, () =>
      Effect.gen(function* () {
        const result = yield* Effect.either(StatementGate.auditDatabase(connection, name))
        expect(Either.isLeft(result) && result.left._tag).toBe("ForbiddenStatement")
        const message = Either.isLeft(result) ? result.left.message : ""
        expect(message).toContain(`database ${name} contains`)
        expect(message).not.toMatch(/current_setting|duckdb_settings|glob|enable_logging/)
      })
    )
  }

  it.effect("is needed: the gate alone lets a client read such a view", () =>
    Effect.gen(function* () {
      const result = yield* runGate(connection, "SELECT * FROM setting_view.leak", { readOnly: true })
      expect(result.outcome).toBe("ok")
      const rows = (yield* Effect.promise(() => result.prepared!.runAndReadAll())).getRowsJson()
      result.prepared!.destroySync()
      expect(String(rows[0]?.[0])).toContain("stored_secrets")
    })
  )
})
