import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  client,
  expectError,
  logText,
  makeDuckDbFile,
  rowsOf,
  startLoggedServer,
  tempRoot,
  waitFor
} from "../support/Databases.js"
import { type RunningServer, testSettings } from "../support/TestServer.js"

/**
 * Views and macros stored in a DuckDB file expand while DuckDB binds a client's query, and generated
 * columns, defaults, CHECK constraints and index expressions are evaluated by DuckDB too, where the
 * statement gate cannot see them: a file whose catalog holds something the gate refuses is refused at
 * attach (StatementGate.auditDatabase), naming the object.
 */
let server: RunningServer
let api: ReturnType<typeof client>
let root: string

const leaky: ReadonlyArray<readonly [file: string, kind: string, name: string, sql: string]> = [
  [
    "settings_view",
    "view",
    "settings_view",
    "CREATE VIEW settings_view AS SELECT name, value FROM duckdb_settings()"
  ],
  ["setting_macro", "macro", "peek", "CREATE MACRO peek() AS current_setting('memory_limit')"],
  ["databases_macro", "table macro", "dbs", "CREATE MACRO dbs() AS TABLE SELECT * FROM duckdb_databases()"],
  ["file_view", "view", "passwd", "CREATE VIEW passwd AS SELECT * FROM read_text('/etc/hostname')"],
  [
    "generated_column",
    "column",
    "g.paths",
    "CREATE TABLE g (n INTEGER, paths VARCHAR GENERATED ALWAYS AS (current_setting('allowed_paths')::VARCHAR))"
  ],
  [
    "column_default",
    "column",
    "d.v",
    "CREATE TABLE d (n INTEGER, v VARCHAR DEFAULT (current_setting('memory_limit')))"
  ],
  [
    "check_constraint",
    "check constraint",
    "c_n_check",
    "CREATE TABLE c (n INTEGER CHECK (n > length(current_setting('threads')::VARCHAR)))"
  ],
  ["index_expression", "index", "peek", "CREATE INDEX peek ON t ((n + length(getvariable('v'))))"],
  [
    "nested_view",
    "view",
    "innocent",
    "CREATE VIEW innocent AS SELECT * FROM range(3) WHERE current_setting('threads') IS NOT NULL"
  ]
]

beforeAll(async () => {
  root = tempRoot("audit")
  for (const [file, , , sql] of leaky) {
    await makeDuckDbFile(path.join(root, `${file}.duckdb`), ["CREATE TABLE t AS SELECT 1 AS n", sql])
  }
  await makeDuckDbFile(path.join(root, "clean.duckdb"), [
    "CREATE TABLE t AS SELECT * FROM range(1, 4) r(n)",
    "CREATE VIEW doubled AS SELECT n * 2 AS d FROM t",
    "CREATE MACRO twice(x) AS x * 2",
    "CREATE MACRO evens() AS TABLE SELECT n FROM t WHERE n % 2 = 0",
    "CREATE SEQUENCE ids",
    `CREATE TABLE priced (id INTEGER DEFAULT nextval('ids'), price INTEGER CHECK (price >= 0),
       total INTEGER GENERATED ALWAYS AS (price * 2))`,
    "CREATE INDEX by_total ON priced ((price * 2))",
    "INSERT INTO priced (price) VALUES (5)"
  ])
  server = await startLoggedServer(
    testSettings({
      duckdb: {
        file_roots: [root],
        extension_directory: tempRoot("audit-noext"),
        // The config may attach any file, but not one the gate would refuse either.
        attached_databases: [
          { alias: "leaky", type: "duckdb", connection_string: path.join(root, "settings_view.duckdb") },
          { alias: "clean", type: "duckdb", connection_string: path.join(root, "clean.duckdb") }
        ]
      }
    })
  )
  api = client(server)
})
afterAll(() => server.dispose())

describe("auditing attached DuckDB files", () => {
  it.each(
    leaky.map(([file, kind, name]) => [file, kind, name])
  )("%s.duckdb is refused with 403 naming its %s %s", async (file, kind, name) => {
    const id = await api.createInstance()
    const answer = await api.attach(id, {
      type: "duckdb",
      alias: "suspect",
      connectionString: path.join(root, `${file}.duckdb`)
    })
    expect(expectError(answer, 403, "forbidden_statement")).toBe(
      `database suspect contains ${kind} ${name}, which the gate does not allow`
    )
    expect(answer.text).not.toContain(root)
    expect((await api.list(id)).body).toEqual({ databases: [] })
    expectError(await api.query(id, "SELECT * FROM suspect.t"), 400, "sql_error")
  })

  it("admits a file whose stored expressions pass the gate, and they work", async () => {
    const id = await api.createInstance()
    const answer = await api.attach(id, { type: "duckdb", alias: "c", connectionString: "clean.duckdb" })
    expect(answer.status, answer.text).toBe(201)
    expect(rowsOf(await api.query(id, "SELECT d FROM c.doubled ORDER BY d"))).toEqual([[2], [4], [6]])
    expect(rowsOf(await api.query(id, "SELECT id, price, total FROM c.priced"))).toEqual([[1, 5, 10]])
  })

  it("keeps a refused config database detached on default, and names it in /ready", async () => {
    const ready = await api.ready()
    expect(ready.status).toBe(503)
    expect(ready.body).toEqual({ status: "not_ready", error: 'database "leaky" not connected' })
    expect((await api.list("default")).body).toEqual({ databases: [{ alias: "clean", type: "duckdb" }] })
    // Not attached behind the listing's back: its view cannot be reached on default.
    const probe = await api.query("default", "SELECT * FROM leaky.settings_view")
    expect(expectError(probe, 400, "sql_error")).toMatch(/leaky/)
    expectError(await api.query("default", "SELECT * FROM leaky.t"), 400, "sql_error")
    expect(rowsOf(await api.query("default", "SELECT count(*)::INTEGER FROM clean.t"))).toEqual([[3]])
    await waitFor(
      () => logText(server).includes("configured database not attached"),
      "the registry's warning about leaky"
    )
    const warning = server.logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.message === "configured database not attached; retrying in the background")
    expect(warning).toMatchObject({
      level: "warn",
      alias: "leaky",
      code: "forbidden_statement",
      reason: "database leaky contains view settings_view, which the gate does not allow"
    })
    expect(logText(server)).not.toContain(root)
  })
})
