import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import { indexProbe, viewQuery } from "../../src/gate/CatalogAudit.js"
import { creationOptions, lockdown } from "../../src/gate/Lockdown.js"
import { StatementGate } from "../../src/gate/StatementGate.js"
import { runGate } from "./gateRun.js"

/** DuckDB files with one leaky object each; `clean` (every kind, harmless) must pass the audit, every other must not. */
const files: Record<string, ReadonlyArray<string>> = {
  clean: [
    "CREATE TABLE orders AS SELECT range AS id FROM range(3)",
    "CREATE VIEW totals (n) AS SELECT count(*) FROM orders",
    "CREATE MACRO twice(x) AS x * 2",
    "CREATE MACRO evens() AS TABLE SELECT * FROM range(0, 10, 2)",
    // Every other kind of stored expression, harmless: a file as DuckDB users write them.
    "CREATE SEQUENCE id_seq START 10",
    "CREATE TYPE mood AS ENUM ('calm', 'busy')",
    "CREATE SCHEMA extra",
    `CREATE TABLE extra.items (
       id INTEGER PRIMARY KEY DEFAULT nextval('id_seq'),
       name VARCHAR DEFAULT 'unnamed' CHECK (length(name) < 100),
       price DECIMAL(10, 2) CHECK (price >= 0),
       doubled DECIMAL(10, 2) GENERATED ALWAYS AS (price * 2),
       label VARCHAR GENERATED ALWAYS AS (upper(name) || ':' || CAST(id AS VARCHAR)),
       state mood,
       UNIQUE (name, price))`,
    "CREATE INDEX by_label ON extra.items (lower(name), (price + 1))",
    "INSERT INTO extra.items (name, price, state) VALUES ('one', 1.5, 'calm')"
  ],
  generated_setting: [
    "CREATE TABLE t (a INTEGER, paths VARCHAR GENERATED ALWAYS AS (current_setting('allowed_paths')::VARCHAR))"
  ],
  generated_variable: ["CREATE TABLE t (a INTEGER, f VARCHAR GENERATED ALWAYS AS (getvariable('x')))"],
  default_setting: ["CREATE TABLE t (a INTEGER, d VARCHAR DEFAULT (current_setting('memory_limit')))"],
  check_setting: ["CREATE TABLE t (a INTEGER CHECK (a > length(current_setting('threads')::VARCHAR)))"],
  index_setting: [
    "CREATE TABLE t (a VARCHAR)",
    "CREATE INDEX leak ON t ((a || current_setting('threads')::VARCHAR))"
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

describe("indexProbe", () => {
  it("selects the indexed expressions of DuckDB's stored CREATE INDEX", () => {
    expect(indexProbe("CREATE UNIQUE INDEX i ON t(a, ((a + 1)));")).toBe("SELECT a, ((a + 1))")
    expect(indexProbe('CREATE INDEX "x y" ON s."t"(lower(b));')).toBe("SELECT lower(b)")
    expect(indexProbe("CREATE INDEX i ON t USING HNSW (v);")).toBe("SELECT v")
  })

  it("gives no probe (so the index is refused) for anything else", () => {
    for (const sql of [
      "",
      "CREATE INDEX i",
      "CREATE INDEX i ON t;",
      "CREATE INDEX i ON t a;",
      "DROP INDEX i"
    ]) {
      expect(indexProbe(sql)).toBeUndefined()
    }
  })
})

describe("viewQuery", () => {
  it("finds the query after the first top-level AS", () => {
    expect(viewQuery('CREATE VIEW "a AS b" (x, "AS") AS SELECT 1 AS x;')).toBe(" SELECT 1 AS x;")
    expect(viewQuery("CREATE VIEW v")).toBeUndefined()
  })
})

layer(StatementGate.Default)("auditDatabase", (it) => {
  it.effect(
    "passes a database whose every stored expression the gate allows (nextval in a default too)",
    () =>
      Effect.gen(function* () {
        yield* StatementGate.auditDatabase(connection, "clean")
      })
  )

  const named: Record<string, string> = {
    generated_setting: "column t.paths",
    generated_variable: "column t.f",
    default_setting: "column t.d",
    check_setting: "check constraint t_a_check",
    index_setting: "index leak"
  }
  for (const name of Object.keys(files).filter((name) => name !== "clean")) {
    it.effect(`refuses ${name}, naming the object and not its content`, () =>
      Effect.gen(function* () {
        const result = yield* Effect.either(StatementGate.auditDatabase(connection, name))
        expect(Either.isLeft(result) && result.left._tag).toBe("ForbiddenStatement")
        const message = Either.isLeft(result) ? result.left.message : ""
        expect(message).toContain(`database ${name} contains ${named[name] ?? ""}`)
        expect(message).not.toMatch(/current_setting|duckdb_settings|glob|enable_logging|getvariable/)
      })
    )
  }

  it.effect("is needed for generated columns: a client's plain SELECT computes them", () =>
    Effect.gen(function* () {
      const result = yield* runGate(connection, "SELECT paths FROM generated_setting.t", { readOnly: true })
      expect(result.outcome).toBe("ok")
      result.prepared!.destroySync()
    })
  )

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
