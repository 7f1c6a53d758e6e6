import { DuckDBDataChunk, INTEGER, LIST, listValue, STRUCT, structValue, VARCHAR } from "@duckdb/node-api"
import duckdb from "@duckdb/node-bindings"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeEncoder } from "../../src/results/Encoders.js"
import type { ResultFormat } from "../../src/results/Format.js"
import { uniqueNames } from "../../src/results/TextEncoders.js"
import { type Connection, encode, openDuckDB } from "./encode.js"
import { arrowColumnValues, parseCsv, readArrow } from "./readBack.js"

let db: Awaited<ReturnType<typeof openDuckDB>>
let connection: Connection

beforeAll(async () => {
  db = await openDuckDB()
  connection = db.connection
  await connection.run("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
})
afterAll(() => db.close())

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")

describe("a one-row result", () => {
  it("json is exactly the documented envelope", async () => {
    const { bytes } = await encode(connection, "SELECT 42", "json")
    expect(text(bytes)).toBe(
      '{"columns":[{"name":"42","type":"INTEGER"}],"rows":[[42]],"rowCount":1,"truncated":false}'
    )
  })
  it("ndjson, csv", async () => {
    expect(text((await encode(connection, "SELECT 42 AS answer", "ndjson")).bytes)).toBe('{"answer":42}\n')
    expect(text((await encode(connection, "SELECT 42 AS answer", "csv")).bytes)).toBe("answer\r\n42\r\n")
  })
})

describe("an empty result", () => {
  const sql = "SELECT 1 AS a, 'x' AS b WHERE false"
  it("json has no rows and rowCount 0", async () => {
    expect(JSON.parse(text((await encode(connection, sql, "json")).bytes))).toEqual({
      columns: [
        { name: "a", type: "INTEGER" },
        { name: "b", type: "VARCHAR" }
      ],
      rows: [],
      rowCount: 0,
      truncated: false
    })
  })
  it("ndjson is empty, csv is the header, arrow is a schema and its end marker", async () => {
    expect(text((await encode(connection, sql, "ndjson")).bytes)).toBe("")
    expect(text((await encode(connection, sql, "csv")).bytes)).toBe("a,b\r\n")
    const table = readArrow((await encode(connection, sql, "arrow")).bytes)
    expect(table.numRows).toBe(0)
    expect(table.schema.fields.map((field) => field.name)).toEqual(["a", "b"])
  })
})

describe("results over several chunks", () => {
  const rows = 5000
  const sql = `SELECT i, i::VARCHAR || ',x' AS s, [i, i + 1] AS l, {'k': i} AS st,
      CASE WHEN i % 5 = 0 THEN NULL ELSE i END AS n FROM range(${rows}) t(i) ORDER BY i`
  const expected = (i: number) => [i, `${i},x`, [i, i + 1], { k: i }, i % 5 === 0 ? null : i]

  it("json keeps every row across chunk borders", async () => {
    const { bytes, chunks } = await encode(connection, sql, "json")
    expect(chunks).toBeGreaterThan(2)
    const body = JSON.parse(text(bytes))
    expect(body.rowCount).toBe(rows)
    expect(body.rows).toEqual(Array.from({ length: rows }, (_, i) => expected(i)))
  })
  it("ndjson has one line per row", async () => {
    const lines = text((await encode(connection, sql, "ndjson")).bytes).split("\n")
    expect(lines.pop()).toBe("")
    expect(lines.length).toBe(rows)
    expect(JSON.parse(lines[2048]!)).toEqual({
      i: 2048,
      s: "2048,x",
      l: [2048, 2049],
      st: { k: 2048 },
      n: 2048
    })
  })
  it("csv has one record per row", async () => {
    const records = parseCsv(text((await encode(connection, sql, "csv")).bytes))
    expect(records.length).toBe(rows + 1)
    expect(records[2049]).toEqual(["2048", "2048,x", "[2048,2049]", '{"k":2048}', "2048"])
    expect(records[2001]).toEqual(["2000", "2000,x", "[2000,2001]", '{"k":2000}', null])
  })
  it("arrow has one record batch per DuckDB chunk", async () => {
    const { bytes, chunks } = await encode(connection, sql, "arrow")
    const table = readArrow(bytes)
    expect(table.batches.length).toBe(chunks)
    expect(arrowColumnValues(table, "i")).toEqual(Array.from({ length: rows }, (_, i) => BigInt(i)))
    expect(arrowColumnValues(table, "l")[4999]).toEqual([4999n, 5000n])
    expect(arrowColumnValues(table, "n").filter((value) => value === null).length).toBe(rows / 5)
  })
  it("stops at max rows", async () => {
    const { bytes } = await encode(connection, sql, "json", { maxRows: 2500 })
    const body = JSON.parse(text(bytes))
    expect(body.rowCount).toBe(2500)
    expect(body.truncated).toBe(true)
    expect(body.rows.at(-1)).toEqual(expected(2499))
    expect(readArrow((await encode(connection, sql, "arrow", { maxRows: 2500 })).bytes).numRows).toBe(2500)
    expect(parseCsv(text((await encode(connection, sql, "csv", { maxRows: 2500 })).bytes)).length).toBe(2501)
  })
})

describe("abort after streaming began", () => {
  const streamThenAbort = async (format: ResultFormat) => {
    const result = await connection.stream("SELECT i FROM range(3) t(i)")
    const encoder = makeEncoder(format)
    const pieces = [encoder.begin([{ name: "i", type: result.columnType(0) }])]
    const chunk = await result.fetchChunk()
    pieces.push(encoder.rows(chunk!, chunk!.rowCount))
    const abort = encoder.abort({ code: "query_timeout", message: 'ran "too" long' })
    return { body: text(Buffer.concat([...pieces, abort])), abort }
  }

  it("json stays well-formed, carries the error and has no rowCount", async () => {
    const { body } = await streamThenAbort("json")
    const parsed = JSON.parse(body)
    expect(parsed.rows).toEqual([[0], [1], [2]])
    expect(parsed.error).toEqual({ code: "query_timeout", message: 'ran "too" long' })
    expect(parsed).not.toHaveProperty("rowCount")
    expect(parsed).not.toHaveProperty("truncated")
  })
  it("ndjson ends with an $error line", async () => {
    const lines = (await streamThenAbort("ndjson")).body.split("\n")
    expect(lines.pop()).toBe("")
    expect(JSON.parse(lines.at(-1)!)).toEqual({
      $error: { code: "query_timeout", message: 'ran "too" long' }
    })
    expect(lines.length).toBe(4)
  })
  it("csv and arrow write nothing: the broken transfer is the signal", async () => {
    expect((await streamThenAbort("csv")).abort.byteLength).toBe(0)
    expect((await streamThenAbort("arrow")).abort.byteLength).toBe(0)
  })
})

describe("csv quoting", () => {
  it("quotes commas, quotes, CR and LF, keeps NULL apart from the empty string", async () => {
    const sql = `SELECT v AS "we,ird ""name""" FROM (VALUES (1, 'a,b'), (2, '"'), (3, 'x' || chr(13) || chr(10) || 'y'),
      (4, ''), (5, NULL), (6, '  spaced  '), (7, 'plain'), (8, chr(10)), (9, 'é')) t(i, v) ORDER BY i`
    expect(text((await encode(connection, sql, "csv")).bytes)).toBe(
      [
        '"we,ird ""name"""',
        '"a,b"',
        '""""',
        '"x\r\ny"',
        '""',
        "",
        "  spaced  ",
        "plain",
        '"\n"',
        "é",
        ""
      ].join("\r\n")
    )
  })
  it("writes integers, long strings and dates byte for byte across chunks", async () => {
    const sql = `SELECT i::INTEGER AS n, (i * 1000000007 - 2500000000000)::BIGINT AS big,
      CASE WHEN i % 5 = 0 THEN NULL WHEN i % 7 = 0 THEN 'quote "' || i || '" and, comma — long'
        ELSE 'long value number ' || i END AS s,
      CASE WHEN i % 11 = 0 THEN NULL ELSE DATE '1999-12-31' + (i % 400)::INTEGER END AS d
      FROM range(5000) t(i)`
    const expected = ["n,big,s,d"]
    for (let i = 0; i < 5000; i++) {
      const s =
        i % 5 === 0 ? "" : i % 7 === 0 ? `"quote ""${i}"" and, comma — long"` : `long value number ${i}`
      const d = i % 11 === 0 ? "" : new Date(Date.UTC(1999, 11, 31 + (i % 400))).toISOString().slice(0, 10)
      expected.push(`${i},${i * 1000000007 - 2500000000000},${s},${d}`)
    }
    expect(text((await encode(connection, sql, "csv")).bytes)).toBe(`${expected.join("\r\n")}\r\n`)
  })
  it("writes nested values as quoted JSON", async () => {
    const sql = `SELECT [1, 2] AS l, {'a': 'x'} AS s, MAP {'k': [1]} AS m`
    expect(text((await encode(connection, sql, "csv")).bytes)).toBe(
      'l,s,m\r\n"[1,2]","{""a"":""x""}","{""k"":[1]}"\r\n'
    )
  })
})

describe("ndjson", () => {
  it("keeps one line per row when values hold line breaks", async () => {
    const sql = `SELECT 'a' || chr(10) || 'b' AS s, 'c' || chr(13) AS r, '\u2028' AS ls FROM range(3)`
    const lines = text((await encode(connection, sql, "ndjson")).bytes).split("\n")
    expect(lines).toEqual([...Array(3).fill('{"s":"a\\nb","r":"c\\r","ls":"\u2028"}'), ""])
  })
  it("escapes strings exactly as JSON.stringify does, short and long, every control character", async () => {
    const sql = `SELECT CASE WHEN i = 0 THEN NULL ELSE chr(i::INTEGER) || ' and a longer tail \\ "quoted" é ' || chr(i::INTEGER) END AS s,
      chr(i::INTEGER + 1) AS c FROM range(0, 32) t(i)`
    const lines = text((await encode(connection, sql, "ndjson")).bytes)
      .split("\n")
      .slice(0, -1)
    expect(lines).toHaveLength(32)
    lines.forEach((line, i) => {
      const s =
        i === 0 ? null : `${String.fromCharCode(i)} and a longer tail \\ "quoted" é ${String.fromCharCode(i)}`
      expect(line).toBe(`{"s":${JSON.stringify(s)},"c":${JSON.stringify(String.fromCharCode(i + 1))}}`)
    })
  })
  it("suffixes duplicate column names instead of losing a value", async () => {
    const line = text((await encode(connection, "SELECT 1 AS a, 2 AS a, 3 AS a_1, 4 AS a", "ndjson")).bytes)
    expect(JSON.parse(line)).toEqual({ a: 1, a_2: 2, a_1: 3, a_3: 4 })
    expect(uniqueNames(["x", "x", "x_1", "x"])).toEqual(["x", "x_2", "x_1", "x_3"])
  })
  it("keeps duplicate names as they are in json and csv", async () => {
    const body = JSON.parse(text((await encode(connection, "SELECT 1 AS a, 2 AS a", "json")).bytes))
    expect(body.columns.map((column: { name: string }) => column.name)).toEqual(["a", "a"])
    expect(body.rows).toEqual([[1, 2]])
  })
})

describe("arrow", () => {
  it("sends ENUM dictionaries once, also inside LIST and STRUCT", async () => {
    const sql = `SELECT ['sad', 'ok']::mood[] AS l, {'m': 'happy'::mood} AS s, 'ok'::mood AS e FROM range(3000)`
    const { bytes } = await encode(connection, sql, "arrow")
    const table = readArrow(bytes)
    expect(table.batches.length).toBe(2)
    expect(arrowColumnValues(table, "l")[2999]).toEqual(["sad", "ok"])
    expect(arrowColumnValues(table, "s")[0]).toEqual({ m: "happy" })
    expect(arrowColumnValues(table, "e")[1234]).toBe("ok")
    // Three dictionary messages in all: one per ENUM column, however many batches follow.
    expect(Buffer.from(bytes).toString("latin1").split("\u00ff\u00ff\u00ff\u00ff").length - 1).toBe(
      1 + 3 + table.batches.length + 1
    )
  })

  it("gathers list children that DuckDB left out of order or overlapping", () => {
    const type = LIST(STRUCT({ a: INTEGER, s: VARCHAR }))
    const chunk = DuckDBDataChunk.create([type, LIST(VARCHAR)], 3)
    const item = (a: number, s: string) => ({ a, s })
    const entry = (a: number, s: string) => structValue(item(a, s))
    chunk.setColumns([
      [
        listValue([entry(1, "one"), entry(2, "two that is long"), entry(3, "three")]),
        listValue([entry(4, "four")]),
        listValue([entry(5, "five"), entry(6, "six")])
      ],
      [listValue(["a", "bb", "a string over twelve bytes"]), listValue(["d"]), listValue(["e", "f"])]
    ])
    // Rewrite the (offset, length) entries: row 0 → child 3, row 1 → children 0..2, row 2 → children 1..2.
    const entries = new BigUint64Array([3n, 1n, 0n, 3n, 1n, 2n])
    for (const column of [0, 1]) {
      duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(chunk.chunk, column), 0, entries.buffer, 0, 48)
    }
    const columns = [
      { name: "l", type },
      { name: "v", type: LIST(VARCHAR) }
    ]
    const arrow = makeEncoder("arrow")
    const table = readArrow(
      Buffer.concat([
        arrow.begin(columns),
        arrow.rows(chunk, 3),
        arrow.end({ rowCount: 3, truncated: false })
      ])
    )
    expect(arrowColumnValues(table, "l")).toEqual([
      [item(4, "four")],
      [item(1, "one"), item(2, "two that is long"), item(3, "three")],
      [item(2, "two that is long"), item(3, "three")]
    ])
    expect(arrowColumnValues(table, "v")).toEqual([
      ["d"],
      ["a", "bb", "a string over twelve bytes"],
      ["bb", "a string over twelve bytes"]
    ])
    const json = makeEncoder("json")
    const body = JSON.parse(
      text(
        Buffer.concat([json.begin(columns), json.rows(chunk, 3), json.end({ rowCount: 3, truncated: false })])
      )
    )
    expect(body.rows.map((row: Array<unknown>) => row[1])).toEqual([
      ["d"],
      ["a", "bb", "a string over twelve bytes"],
      ["bb", "a string over twelve bytes"]
    ])
  })

  it("encodes only the first `count` rows of a chunk", async () => {
    const result = await connection.stream("SELECT i FROM range(10) t(i)")
    const encoder = makeEncoder("arrow")
    const begin = encoder.begin([{ name: "i", type: result.columnType(0) }])
    const chunk = (await result.fetchChunk())!
    const table = readArrow(
      Buffer.concat([begin, encoder.rows(chunk, 4), encoder.end({ rowCount: 4, truncated: true })])
    )
    expect(arrowColumnValues(table, "i")).toEqual([0n, 1n, 2n, 3n])
  })
})
