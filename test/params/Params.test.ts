import { Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bindParams } from "../../src/params/Params.js"
import type { ResultColumn } from "../../src/results/Encoder.js"
import { makeEncoder } from "../../src/results/Encoders.js"
import { type Connection, openDuckDB } from "../results/encode.js"

let db: Awaited<ReturnType<typeof openDuckDB>>
let connection: Connection

beforeAll(async () => {
  db = await openDuckDB()
  connection = db.connection
  await connection.run("CREATE TABLE victims(i INTEGER, name VARCHAR)")
  await connection.run("INSERT INTO victims VALUES (1, 'one')")
  await connection.run("CREATE TYPE mood AS ENUM ('sad', 'ok')")
})
afterAll(() => db.close())

/** Prepares, binds and runs `sql`; the rows come back through our JSON encoder, as a client sees them. */
const run = async (
  sql: string,
  params: unknown
): Promise<{ rows?: Array<Array<unknown>>; error?: string }> => {
  const prepared = await connection.prepare(sql)
  const bound = bindParams(prepared, params)
  if (Either.isLeft(bound)) return { error: bound.left.message }
  const result = await prepared.stream()
  const encoder = makeEncoder("json")
  const columns: Array<ResultColumn> = result
    .columnNames()
    .map((name, i) => ({ name, type: result.columnType(i) }))
  const pieces = [encoder.begin(columns)]
  let rowCount = 0
  for (
    let chunk = await result.fetchChunk();
    chunk !== null && chunk.rowCount > 0;
    chunk = await result.fetchChunk()
  ) {
    pieces.push(encoder.rows(chunk, chunk.rowCount))
    rowCount += chunk.rowCount
  }
  pieces.push(encoder.end({ rowCount, truncated: false }))
  return { rows: JSON.parse(Buffer.concat(pieces).toString("utf8")).rows }
}

const value = async (sql: string, params: unknown) => {
  const { rows, error } = await run(sql, params)
  if (error !== undefined) throw new Error(error)
  return rows![0]![0]
}

describe("positional and named binding", () => {
  it.each([
    ["SELECT $1 AS a, $2 AS b", [1, "x"], [[1, "x"]]],
    ["SELECT ? AS a, ? AS b", [true, null], [[true, null]]],
    ["SELECT $2 AS a, $1 AS b", ["first", "second"], [["second", "first"]]],
    ["SELECT $1 AS a, $1 AS b", [7], [[7, 7]]],
    ["SELECT $a AS a, $b AS b", { a: 1, b: "x" }, [[1, "x"]]],
    ["SELECT $b AS b, $a AS a, $b AS again", { a: 1, b: 2 }, [[2, 1, 2]]],
    ["SELECT $Foo AS f, $FOO AS g", { foo: 1 }, [[1, 1]]],
    ["SELECT 1 AS one", undefined, [[1]]],
    ["SELECT 1 AS one", [], [[1]]],
    ["SELECT 1 AS one", {}, [[1]]]
  ])("%s with %j", async (sql, params, rows) => {
    expect(await run(sql, params)).toEqual({ rows })
  })

  it.each([
    ["SELECT $1 AS a, $2 AS b", [1], "the query has 2 parameters but params has 1 value"],
    ["SELECT $1 AS a", [1, 2], "the query has 1 parameter but params has 2 values"],
    ["SELECT $1 AS a", undefined, "the query has 1 parameter but no params were given"],
    ["SELECT $1 AS a", { a: 1 }, "the query uses positional parameters ($1 or ?): params must be an array"],
    ["SELECT $a AS a", [1], "the query uses named parameters ($name): params must be an object"],
    ["SELECT $a AS a, $b AS b", { a: 1 }, "params.b is missing"],
    ["SELECT $a AS a", { a: 1, extra: 2 }, "params.extra is not a parameter of the query"],
    ["SELECT $a AS a", { a: 1, "we ird": 2 }, 'params["we ird"] is not a parameter of the query'],
    [
      "SELECT $foo AS f",
      { foo: 1, FOO: 2 },
      "params.FOO and params.foo name the same parameter (names are case-insensitive)"
    ],
    ["SELECT $1 AS a", "x", "params must be an array or an object"],
    ["SELECT $1 AS a", 5, "params must be an array or an object"],
    ["SELECT 1 AS one", [1], "the query has 0 parameters but params has 1 value"],
    ["SELECT $1 AS a, $3 AS c", [1, 2], "the query's parameters must be numbered $1, $2, … without gaps"]
  ])("%s with %j is refused", async (sql, params, error) => {
    expect(await run(sql, params)).toEqual({ error })
  })

  it("treats a __proto__ key as an ordinary name", async () => {
    expect(await run("SELECT $a AS a", JSON.parse('{"a": 1, "__proto__": 2}'))).toEqual({
      error: "params.__proto__ is not a parameter of the query"
    })
    expect(await run("SELECT $__proto__ AS p", JSON.parse('{"__proto__": 3}'))).toEqual({ rows: [[3]] })
    expect(await value("SELECT $1 AS v", [JSON.parse('{"__proto__": {"polluted": true}}')])).toEqual({
      ["__proto__"]: { polluted: true }
    })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe("values bind as data", () => {
  it("an injection attempt stays a string", async () => {
    const attack = "'; DROP TABLE victims; --"
    expect(await value("SELECT $1 AS v", [attack])).toBe(attack)
    expect(await run("SELECT name FROM victims WHERE name = $1", [attack])).toEqual({ rows: [] })
    expect(await run("SELECT name FROM victims WHERE name = $n", { n: "one' OR '1'='1" })).toEqual({
      rows: []
    })
    expect(await value("SELECT count(*) AS n FROM victims", [])).toBe(1)
  })

  it("binds 10,000 parameters", async () => {
    const n = 10_000
    const sql = `SELECT [${Array.from({ length: n }, (_, i) => `$${i + 1}`).join(", ")}] AS l`
    const params = Array.from({ length: n }, (_, i) => i)
    expect(await value(sql, params)).toEqual(params)
  })
})

describe("types inferred from JSON when DuckDB cannot tell", () => {
  it.each([
    [42, 42, "BIGINT"],
    [-9007199254740991, -9007199254740991, "BIGINT"],
    [1.5, 1.5, "DOUBLE"],
    [1e300, 1e300, "DOUBLE"],
    ["x", "x", "VARCHAR"],
    ["9007199254740993", "9007199254740993", "VARCHAR"],
    [true, true, "BOOLEAN"],
    [[1, 2], [1, 2], "BIGINT[]"],
    [[1, 2.5], [1, 2.5], "DOUBLE[]"],
    [[], [], "VARCHAR[]"],
    [[[], [1]], [[], [1]], "BIGINT[][]"],
    [[null, "a"], [null, "a"], "VARCHAR[]"],
    [{ a: 1, b: "x" }, { a: 1, b: "x" }, "STRUCT(a BIGINT, b VARCHAR)"],
    [[{ a: null }, { a: 1 }], [{ a: null }, { a: 1 }], "STRUCT(a BIGINT)[]"]
  ])("%j", async (param, expected, typeName) => {
    expect(await run("SELECT $1 AS v, typeof($1) AS t", [param])).toEqual({ rows: [[expected, typeName]] })
  })

  it.each([
    [[1, "a"], "params[0][1]: array elements must all have one type"],
    [{}, "params[0]: an empty object has no DuckDB type"],
    [[[{ a: 1 }, { b: 1 }]], "params[0][0][1]: array elements must all have one type"]
  ])("%j is refused", async (param, error) => {
    expect(await run("SELECT $1 AS v", [param])).toEqual({ error })
  })

  it("refuses nesting deeper than 64 levels without exhausting the stack", async () => {
    let deep: unknown = 1
    for (let i = 0; i < 5000; i++) deep = [deep]
    expect((await run("SELECT $1 AS v", [deep])).error).toMatch(
      /^params\[0\](\[0\])+: nested deeper than 64 levels$/
    )
    let fine: unknown = 1
    for (let i = 0; i < 10; i++) fine = [fine]
    expect(await value("SELECT $1 AS v", [fine])).toEqual(fine)
  })
})

describe("values converted to the type DuckDB expects", () => {
  it.each([
    ["INTEGER", 41, 41],
    ["TINYINT", -128, -128],
    ["BIGINT", "9223372036854775807", "9223372036854775807"],
    ["BIGINT", 9007199254740991, 9007199254740991],
    ["UBIGINT", "18446744073709551615", "18446744073709551615"],
    ["HUGEINT", "-170141183460469231731687303715884105728", "-170141183460469231731687303715884105728"],
    ["DOUBLE", "NaN", "NaN"],
    ["DOUBLE", "-Infinity", "-Infinity"],
    ["FLOAT", 0.5, 0.5],
    ["DECIMAL(10,2)", 1.5, "1.50"],
    ["DECIMAL(10,2)", "1.005", "1.01"],
    ["DECIMAL(10,2)", "-1.005", "-1.01"],
    ["DECIMAL(10,2)", "12345678.994", "12345678.99"],
    ["DECIMAL(38,10)", "9999999999999999999999999999.9999999999", "9999999999999999999999999999.9999999999"],
    ["DECIMAL(4,3)", "1e-3", "0.001"],
    ["VARCHAR", "text", "text"],
    ["BLOB", "AID/", "AID/"],
    ["DATE", "2024-02-29", "2024-02-29"],
    ["DATE", "0044-03-15 (BC)", "-000043-03-15"],
    ["TIMESTAMP", "2024-02-29T13:45:30.25", "2024-02-29T13:45:30.25"],
    ["TIMESTAMPTZ", "2024-02-29T13:45:30Z", "2024-02-29T13:45:30Z"],
    ["TIMESTAMP_NS", "2020-01-01 00:00:00.000000001", "2020-01-01T00:00:00.000000001"],
    ["TIME", "12:30:00.5", "12:30:00.5"],
    ["INTERVAL", "P1Y2M3DT4H5M6.5S", "P1Y2M3DT4H5M6.5S"],
    ["INTERVAL", "P-1Y-2M3DT-4H-5M-6.5S", "P-1Y-2M3DT-4H-5M-6.5S"],
    ["INTERVAL", "-P1W", "P-7D"],
    ["INTERVAL", "1 day", "P1D"],
    ["UUID", "550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"],
    ["mood", "ok", "ok"],
    ["BIT", "0101", "0101"],
    ["INTEGER[]", [1, null, 3], [1, null, 3]],
    ["DATE[]", ["2020-01-01", null], ["2020-01-01", null]],
    ["INTEGER[2]", [1, 2], [1, 2]],
    ["STRUCT(a INTEGER, d DATE)", { a: 1, d: "2020-01-01" }, { a: 1, d: "2020-01-01" }],
    ["STRUCT(a INTEGER, b VARCHAR)", { a: 1 }, { a: 1, b: null }],
    ["MAP(VARCHAR, INTEGER)", { k: 1, l: null }, { k: 1, l: null }],
    ["MAP(INTEGER, VARCHAR)", [{ key: 1, value: "a" }], [{ key: 1, value: "a" }]],
    ["UNION(n INTEGER, s VARCHAR)", "x", "x"],
    ["UNION(n INTEGER, s VARCHAR)", 5, 5],
    ["INTEGER", null, null]
  ])("%s from %j", async (type, param, expected) => {
    expect(await value(`SELECT CAST($1 AS ${type}) AS v`, [param])).toEqual(expected)
  })

  it.each([
    ["INTEGER", "x", "params[0]: expected an integer for INTEGER, got string"],
    ["INTEGER", 1.5, "params[0]: expected an integer for INTEGER"],
    ["INTEGER", 3e9, "params[0]: out of range for INTEGER"],
    ["UTINYINT", -1, "params[0]: out of range for UTINYINT"],
    ["BIGINT", 2 ** 60, "params[0]: integers beyond ±(2^53−1) must be sent as strings"],
    ["BIGINT", "9223372036854775808", "params[0]: out of range for BIGINT"],
    ["BOOLEAN", "true", "params[0]: expected a boolean, got string"],
    ["VARCHAR", 5, "params[0]: expected a string, got number"],
    ["DECIMAL(4,2)", "123.4", "params[0]: out of range for DECIMAL(4,2)"],
    ["DECIMAL(4,2)", "1.2.3", "params[0]: expected a decimal number for DECIMAL(4,2)"],
    ["FLOAT", 1e300, "params[0]: out of range for FLOAT"],
    ["BLOB", "not base64!", "params[0]: expected base64 text for BLOB, got string"],
    ["DATE", "2020-01-01; DROP TABLE victims", "params[0]: expected a date/time text for DATE"],
    ["UUID", "not-a-uuid", "params[0]: expected a UUID for UUID"],
    ["INTERVAL", "P1X", "params[0]: is not an ISO-8601 duration DuckDB can hold"],
    ["mood", "angry", "params[0]: expected one of the labels of ENUM('sad', 'ok')"],
    ["INTEGER[]", [1, "x"], "params[0][1]: expected an integer for INTEGER, got string"],
    ["INTEGER[2]", [1], "params[0]: expected 2 elements for INTEGER[2]"],
    ["STRUCT(a INTEGER)", { a: 1, b: 2 }, "params[0].b: is not a field of STRUCT(a INTEGER)"],
    ["STRUCT(a INTEGER)", [1], "params[0]: expected an object for STRUCT(a INTEGER), got array"],
    ["MAP(VARCHAR, INTEGER)", { k: "v" }, "params[0].k: expected an integer for INTEGER, got string"],
    ["UNION(n INTEGER, b BOOLEAN)", "x", "params[0]: fits no member of UNION(n INTEGER, b BOOLEAN)"]
  ])("%s from %j is refused", async (type, param, error) => {
    expect(await run(`SELECT CAST($1 AS ${type}) AS v`, [param])).toEqual({ error })
  })

  it("names the parameter in a column comparison and never echoes the value", async () => {
    const huge = "x".repeat(100_000)
    const { error } = await run("SELECT * FROM victims WHERE i = $1", [huge])
    expect(error).toBe("params[0]: expected an integer for INTEGER, got string")
    const named = await run("SELECT * FROM victims WHERE i = $id AND name = $name", { id: 1, name: 5 })
    expect(named).toEqual({ error: "params.name: expected a string, got number" })
  })
})
