import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Connection, encode, openDuckDB } from "./encode.js"
import { arrowColumnValues, parseCsv, readArrow } from "./readBack.js"
import { setupSql, type TypeCase, typeCases } from "./typeTable.js"

let db: Awaited<ReturnType<typeof openDuckDB>>
let connection: Connection

beforeAll(async () => {
  db = await openDuckDB()
  connection = db.connection
  for (const sql of setupSql) await connection.run(sql)
})
afterAll(() => db.close())

/** Each value, then NULL, in order; every value cast to the case's type so the column has exactly that type. */
const sqlOf = (c: TypeCase): string => {
  const rows = [...c.values.map((value) => value.sql), "NULL"].map(
    (sql, i) => `(${i}, CAST(${sql} AS ${c.type}))`
  )
  return `SELECT v FROM (VALUES ${rows.join(", ")}) t(i, v) ORDER BY i`
}

const csvOf = (json: unknown, csv: string | undefined): string =>
  csv ?? (typeof json === "string" ? json : JSON.stringify(json))

describe.each(typeCases.map((c) => [c.type, c] as const))("%s", (_type, c) => {
  const expectedJson = [...c.values.map((value) => value.json), null]

  it("json: values and DuckDB's type name", async () => {
    const { bytes } = await encode(connection, sqlOf(c), "json")
    const body = JSON.parse(bytes.toString("utf8"))
    expect(body.columns).toEqual([{ name: "v", type: c.typeName ?? c.type }])
    expect(body.rows.map((row: Array<unknown>) => row[0])).toEqual(expectedJson)
    expect(body.rowCount).toBe(expectedJson.length)
    expect(body.truncated).toBe(false)
  })

  it("ndjson: one line per row", async () => {
    const { bytes } = await encode(connection, sqlOf(c), "ndjson")
    const lines = bytes.toString("utf8").split("\n")
    expect(lines.pop()).toBe("")
    expect(lines.map((line) => JSON.parse(line))).toEqual(expectedJson.map((value) => ({ v: value })))
  })

  it("csv: header, fields, NULL as an empty unquoted field", async () => {
    const { bytes } = await encode(connection, sqlOf(c), "csv")
    const records = parseCsv(bytes.toString("utf8"))
    expect(records[0]).toEqual(["v"])
    expect(records.slice(1)).toEqual([...c.values.map((value) => [csvOf(value.json, value.csv)]), [null]])
  })

  it("arrow: type and values read back", async () => {
    const { bytes } = await encode(connection, sqlOf(c), "arrow")
    const table = readArrow(bytes)
    expect(String(table.schema.fields[0]!.type)).toBe(c.arrowType)
    expect(arrowColumnValues(table, "v")).toEqual([...c.values.map((value) => value.arrow), null])
  })
})
