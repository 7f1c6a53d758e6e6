import { afterAll, beforeAll, expect, it } from "vitest"
import { duckdbKeywords } from "../../src/sql/DuckDBKeywords.js"
import { duckdbTypeName } from "../../src/sql/TypeName.js"
import { type Connection, openDuckDB } from "../results/encode.js"

let db: Awaited<ReturnType<typeof openDuckDB>>
let connection: Connection

beforeAll(async () => {
  db = await openDuckDB()
  connection = db.connection
  await connection.run(`CREATE TYPE "odd mood" AS ENUM ('it''s', 'ok')`)
})
afterAll(() => db.close())

it("knows every keyword of the running DuckDB", async () => {
  const reader = await connection.runAndReadAll("SELECT keyword_name FROM duckdb_keywords() ORDER BY 1")
  expect([...duckdbKeywords].sort()).toEqual(reader.getRows().map((row) => row[0]))
})

it.each([
  "1::TINYINT",
  "1::UBIGINT",
  "1::HUGEINT",
  "1::UHUGEINT",
  "1.5::DECIMAL(18,3)",
  "1.5::FLOAT",
  "'a'::BLOB",
  "'{}'::JSON",
  "'ok'::\"odd mood\"",
  "[1, 2]",
  "[[1.5]]",
  "[1, 2]::INTEGER[2]",
  "[[1, 2]]::INTEGER[2][]",
  "{'a': 1, 'B': 'x', 'select': 1.5, 'x y': [1], 'q\"': NULL::INTEGER, '_u': {'n': 1}}",
  "MAP {[1]: {'x': 1}}",
  'union_value("sel ect" := 1)',
  "'12:00'::TIMETZ",
  "now()",
  "'2020-01-01'::TIMESTAMP_NS",
  "'12:00'::TIME_NS",
  "INTERVAL 1 DAY",
  "uuid()",
  "'1'::BIT",
  "1::BIGNUM",
  "1::VARIANT"
])("%s is named as typeof() names it", async (expression) => {
  const result = await connection.stream(`SELECT ${expression} AS v, typeof(${expression}) AS t`)
  const reader = await connection.runAndReadAll(`SELECT typeof(${expression})`)
  expect(duckdbTypeName(result.columnType(0))).toBe(reader.getRows()[0]![0])
})
