import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { arrowColumnValues, parseCsv, readArrow } from "../results/readBack.js"
import { client, expectError, rowsOf } from "../support/Databases.js"
import { query } from "../support/QueryClient.js"
import {
  mariaUri,
  pgUri,
  startUpstreamWorld,
  type UpstreamWorld,
  upstreamPrerequisites
} from "../support/UpstreamServer.js"
import {
  mysqlTypes,
  postgresSetup,
  postgresTypes,
  sqliteTypes,
  type UpstreamTypeCase
} from "./upstreamTypes.js"

/**
 * Real PostgreSQL, MariaDB and SQLite attached through the API of an in-process server: every type
 * of docs/upstream-types.md in the four result formats, the values that cannot be represented, and
 * the catalog route with upstreams attached.
 */
const prerequisites = upstreamPrerequisites("real upstreams")
let world: UpstreamWorld
let api: ReturnType<typeof client>
let instance: string

const tableOf = (index: number) => `t${index}`
const sqliteType = (c: UpstreamTypeCase) => (c.upstream === "(none)" ? "" : c.upstream)
/** The upstream type as SQL: the cases name user types with a note in parentheses. */
const declared = (c: UpstreamTypeCase) => c.upstream.replace(/ \((?:enum|composite)\)$/, "")

const createTables = (cases: ReadonlyArray<UpstreamTypeCase>, typeOf: (c: UpstreamTypeCase) => string) =>
  cases
    .map((c, index) => {
      const rows = [...c.values.map((value) => value.sql), "NULL"].map((sql, i) => `(${i}, ${sql})`)
      return `CREATE TABLE ${tableOf(index)} (i integer, v ${typeOf(c)}); INSERT INTO ${tableOf(index)} VALUES ${rows.join(", ")};`
    })
    .join("\n")

beforeAll(async () => {
  if (prerequisites === undefined) return
  world = await startUpstreamWorld(prerequisites)
  api = client(world.server)
  await world.pg.sql("lab", [...postgresSetup, createTables(postgresTypes, declared)].join(";\n"))
  // Zero dates are MySQL's own; the default sql_mode of MariaDB refuses them on INSERT.
  await world.maria.sql(
    `SET NAMES utf8mb4; SET SESSION sql_mode = ''; USE lab; ${createTables(mysqlTypes, declared)}` +
      "CREATE TABLE incomplete (v date); INSERT INTO incomplete VALUES ('2024-02-00');"
  )
  await world.pg.sql(
    "lab",
    "CREATE TABLE special (i int, a numeric, b numeric(10,2), c numeric(40,5)); " +
      "INSERT INTO special VALUES (1, 'NaN', 'NaN', 'NaN'), (2, 'Infinity', 1, 2), (3, '-Infinity', 2, 3)"
  )
  execFileSync("sqlite3", [path.join(world.work, "lab.sqlite")], {
    input:
      `${createTables(sqliteTypes, sqliteType)}\n` +
      "CREATE TABLE mixed (i INTEGER, v INTEGER); INSERT INTO mixed VALUES (1, 42), (2, 'forty-two'), (3, 4.5);"
  })
  fs.chmodSync(path.join(world.work, "lab.sqlite"), 0o644)
  instance = await api.createInstance()
  for (const [type, alias, connectionString] of [
    ["postgres", "pg", pgUri(world.pg)],
    ["mysql", "my", mariaUri(world.maria)],
    ["sqlite", "lite", "lab.sqlite"]
  ] as const) {
    const attached = await api.attach(instance, { type, alias, connectionString })
    expect(attached.status, attached.text).toBe(201)
  }
}, 180_000)
afterAll(() => world?.stop(), 60_000)

const ask = (sql: string, format: string) => query(world.server.url, instance, { query: sql }, { format })

const csvOf = (json: unknown, csv: string | undefined): string | null =>
  json === null ? null : (csv ?? (typeof json === "string" ? json : JSON.stringify(json)))

const typeTable = (name: string, table: string, cases: ReadonlyArray<UpstreamTypeCase>) =>
  describe.skipIf(prerequisites === undefined).each(cases.map((c, index) => [c.upstream, c, index] as const))(
    `${name} %s`,
    (_name, c, index) => {
      const sql = `SELECT v FROM ${table}.${tableOf(index)} ORDER BY i`
      const json = [...c.values.map((value) => value.json), null]

      it(`json and ndjson: ${c.duckdb}`, async () => {
        const body = JSON.parse((await ask(sql, "json")).body.toString("utf8"))
        expect(body.columns).toEqual([{ name: "v", type: c.duckdb }])
        expect(body.rows.map((row: Array<unknown>) => row[0])).toEqual(json)
        const lines = (await ask(sql, "ndjson")).body.toString("utf8").split("\n")
        expect(lines.pop()).toBe("")
        expect(lines.map((line) => JSON.parse(line))).toEqual(json.map((value) => ({ v: value })))
      })

      it("csv", async () => {
        const records = parseCsv((await ask(sql, "csv")).body.toString("utf8"))
        expect(records).toEqual([["v"], ...c.values.map((value) => [csvOf(value.json, value.csv)]), [null]])
      })

      it(`arrow: ${c.arrowType}`, async () => {
        const table = readArrow((await ask(sql, "arrow")).body)
        expect(String(table.schema.fields[0]!.type)).toBe(c.arrowType)
        expect(arrowColumnValues(table, "v")).toEqual([
          ...c.values.map((value) => (value.json === null ? null : value.arrow)),
          null
        ])
      })
    }
  )

typeTable("PostgreSQL", "pg.public", postgresTypes)
typeTable("MariaDB", "my.lab", mysqlTypes)
typeTable("SQLite", "lite.main", sqliteTypes)

describe.skipIf(prerequisites === undefined)("values that cannot be represented", () => {
  const refused = async (sql: string) => expectError(await api.query(instance, sql), 400, "sql_error")

  it("SQLite: a value that does not match its column's declared type is a clear error", async () => {
    expect(await refused("SELECT v FROM lite.main.mixed ORDER BY i")).toMatch(
      /^Mismatch Type Error: Invalid type in column "v": column was declared as integer, found "forty-two" of type "text"/
    )
  })

  it("MySQL: an incomplete date (day or month 0) is a clear error; the zero date is NULL (see the table)", async () => {
    expect(await refused("SELECT v FROM my.lab.incomplete")).toBe(
      "Conversion Error: Date out of range: 2024-2-0"
    )
  })

  it("PostgreSQL: numeric NaN and ±Infinity arrive as 0 (the scanner's binary reader; documented, not fixable here)", async () => {
    // Measured with DuckDB 1.5.5's postgres scanner. Its text protocol reads them right but loses
    // the era of BC dates and halves scan throughput, so the server keeps the binary one; docs/upstream-types.md
    // says which columns to cast upstream. When a scanner update fixes this, this test fails: update
    // the docs.
    expect(rowsOf(await api.query(instance, "SELECT i, a, b, c FROM pg.public.special ORDER BY i"))).toEqual([
      [1, 0, "0.00", 0],
      [2, 0, "1.00", 2],
      [3, 0, "2.00", 3]
    ])
  })
})

interface CatalogBody {
  readonly databases: ReadonlyArray<{
    readonly name: string
    readonly type: string
    readonly schemas: ReadonlyArray<{
      readonly name: string
      readonly tables: ReadonlyArray<{ name: string; columns: ReadonlyArray<{ name: string; type: string }> }>
      readonly views: ReadonlyArray<unknown>
    }>
  }>
  readonly truncated: boolean
}

describe.skipIf(prerequisites === undefined)("the catalog with upstreams attached", () => {
  it("lists PostgreSQL, MariaDB and SQLite tables with the types queries report, and nothing internal or secret", async () => {
    const answer = await api.call(`/v1/instances/${instance}/catalog`, {
      headers: { "x-api-key": "test-key" }
    })
    expect(answer.status, answer.text).toBe(200)
    for (const hidden of [
      "lab-pw",
      world.work,
      String(world.pg.port),
      String(world.maria.port),
      "lab.sqlite"
    ]) {
      expect(answer.text).not.toContain(hidden)
    }
    const body = answer.body as unknown as CatalogBody
    expect(body.truncated).toBe(false)
    expect(body.databases.map((d) => [d.name, d.type, d.schemas.map((s) => s.name)])).toEqual([
      ["memory", "duckdb", ["main"]],
      ["pg", "postgres", ["public"]],
      ["my", "mysql", ["lab"]],
      ["lite", "sqlite", ["main"]]
    ])
    // The catalog's type of every column is the one a query reports.
    for (const [alias, cases] of [
      ["pg", postgresTypes],
      ["my", mysqlTypes],
      ["lite", sqliteTypes]
    ] as const) {
      const tables = body.databases.find((d) => d.name === alias)!.schemas[0]!.tables
      cases.forEach((c, index) => {
        expect(
          tables.find((t) => t.name === tableOf(index))?.columns.map((column) => column.type),
          c.upstream
        ).toEqual([alias === "lite" ? "BIGINT" : "INTEGER", c.duckdb])
      })
    }
  })
})
