import { tableFromIPC } from "apache-arrow"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { query, type Received } from "../support/QueryClient.js"
import { type RunningServer, startServer, testSettings } from "../support/TestServer.js"
import { arrowColumnValues, parseCsv } from "./readBack.js"
import { type TypeCase, typeCases } from "./typeTable.js"

/** Result formats over HTTP, in-process: negotiation, content types, each format's edge cases, params. */
let server: RunningServer

beforeAll(async () => {
  server = await startServer(testSettings({ duckdb: { settings: { threads: 2 } } }))
})
afterAll(() => server.dispose())

const ask = (sql: string, options: Parameters<typeof query>[3] = {}, params?: unknown) =>
  query(server.url, "default", params === undefined ? { query: sql } : { query: sql, params }, options)

const errorOf = (response: Received) => JSON.parse(response.body.toString("utf8")) as Record<string, string>

const text = (response: Received) => response.body.toString("utf8")

describe("choosing the format", () => {
  const sql = "SELECT 1 AS one"

  it.each([
    [{}, "application/json"],
    [{ accept: "*/*" }, "application/json"],
    [{ accept: "application/*" }, "application/json"],
    [{ accept: "application/x-ndjson" }, "application/x-ndjson"],
    [{ accept: "application/ndjson" }, "application/x-ndjson"],
    [{ accept: "text/csv" }, "text/csv; charset=utf-8"],
    [{ accept: "text/*" }, "text/csv; charset=utf-8"],
    [{ accept: "application/vnd.apache.arrow.stream" }, "application/vnd.apache.arrow.stream"],
    [
      { accept: "text/csv;q=0.5, application/vnd.apache.arrow.stream;q=0.9" },
      "application/vnd.apache.arrow.stream"
    ],
    [{ accept: "text/csv;q=0, */*" }, "application/json"],
    [{ accept: "image/png, text/csv;q=0.1" }, "text/csv; charset=utf-8"]
  ])("Accept %j → %s", async (headers, contentType) => {
    const response = await ask(sql, { headers })
    expect(response.status).toBe(200)
    expect(response.headers["content-type"]).toBe(contentType)
    expect(response.complete).toBe(true)
  })

  it("?format= wins over Accept, in any case", async () => {
    const csv = await ask(sql, { format: "CSV", headers: { accept: "application/json" } })
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8")
    expect(text(csv)).toBe("one\r\n1\r\n")
    const ndjson = await ask(sql, { format: "ndjson", headers: { accept: "image/png" } })
    expect(text(ndjson)).toBe('{"one":1}\n')
  })

  it("answers 406 when nothing in Accept can be served, before running anything", async () => {
    const response = await ask("SELECT * FROM no_such_table", { headers: { accept: "image/png, text/html" } })
    expect(response.status).toBe(406)
    expect(response.headers["content-type"]).toMatch(/^application\/json/)
    const body = errorOf(response)
    expect(body.code).toBe("not_acceptable")
    expect(body.error).toContain("text/csv")
  })

  it("answers 400 for an unknown format, naming the allowed ones", async () => {
    const response = await ask(sql, { format: "xml" })
    expect(response.status).toBe(400)
    const body = errorOf(response)
    expect(body.code).toBe("invalid_request")
    expect(body.error).toMatch(/json.*ndjson.*csv.*arrow/)
  })

  it("sends small results whole, with a Content-Length, in every format", async () => {
    for (const format of ["json", "ndjson", "csv", "arrow"]) {
      const response = await ask("SELECT i FROM range(10) t(i)", { format })
      expect(response.headers["content-length"]).toBe(String(response.body.length))
      expect(response.headers["transfer-encoding"]).toBeUndefined()
      expect(response.headers["x-result-truncated"]).toBeUndefined()
    }
  })
})

describe("csv", () => {
  it("quotes commas, quotes, CR and LF; NULL is an empty field, the empty string is quoted", async () => {
    const response = await ask(
      `SELECT * FROM (VALUES
        (1, 'plain', 'a,b'),
        (2, 'say "hi"', 'line1' || chr(10) || 'line2'),
        (3, 'cr' || chr(13) || 'x', ''),
        (4, NULL, '  padded  '),
        (5, 'é 中 🎉', '"')
      ) t("id", "the,name", "quote""d") ORDER BY 1`,
      { format: "csv" }
    )
    expect(response.status).toBe(200)
    const body = text(response)
    expect(body.split("\r\n")[0]).toBe('id,"the,name","quote""d"')
    expect(body).toContain('2,"say ""hi""","line1\nline2"\r\n')
    expect(body).toContain("4,,  padded  \r\n")
    expect(parseCsv(body)).toEqual([
      ["id", "the,name", 'quote"d'],
      ["1", "plain", "a,b"],
      ["2", 'say "hi"', "line1\nline2"],
      ["3", "cr\rx", ""],
      ["4", null, "  padded  "],
      ["5", "é 中 🎉", '"']
    ])
  })

  it("writes only the header for an empty result", async () => {
    expect(text(await ask("SELECT 1 AS a, 2 AS b WHERE false", { format: "csv" }))).toBe("a,b\r\n")
  })
})

describe("ndjson", () => {
  it("keeps one row per line whatever the values hold", async () => {
    const response = await ask(
      `SELECT 'a' || chr(10) || 'b' AS v UNION ALL SELECT 'c' || chr(13) || chr(10) UNION ALL
       SELECT chr(8232) || chr(8233) UNION ALL SELECT '{"$error":1}' UNION ALL SELECT NULL`,
      { format: "ndjson" }
    )
    const body = text(response)
    expect(body.endsWith("\n")).toBe(true)
    const lines = body.slice(0, -1).split("\n")
    expect(lines).toHaveLength(5)
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { v: "a\nb" },
      { v: "c\r\n" },
      { v: "\u2028\u2029" },
      { v: '{"$error":1}' },
      { v: null }
    ])
  })

  it("cuts no line across a streamed body, and writes nothing for an empty result", async () => {
    const response = await ask("SELECT i, repeat('x', i % 50) AS pad FROM range(100000) t(i)", {
      format: "ndjson"
    })
    expect(response.headers["transfer-encoding"]).toBe("chunked")
    expect(response.complete).toBe(true)
    const lines = text(response).split("\n")
    expect(lines.pop()).toBe("")
    expect(lines).toHaveLength(100000)
    lines.forEach((line, i) => {
      expect(JSON.parse(line)).toEqual({ i, pad: "x".repeat(i % 50) })
    })
    const empty = await ask("SELECT 1 AS a WHERE false", { format: "ndjson" })
    expect(empty.status).toBe(200)
    expect(empty.body.length).toBe(0)
  })
})

describe("arrow", () => {
  it("reads back with apache-arrow: schema once, one batch per DuckDB chunk", async () => {
    const response = await ask(
      "SELECT i::INTEGER AS i, 'v' || i AS s, i / 2 AS d FROM range(5000) t(i) ORDER BY i",
      { format: "arrow" }
    )
    expect(response.headers["content-type"]).toBe("application/vnd.apache.arrow.stream")
    const table = tableFromIPC(response.body)
    expect(table.schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual([
      "i:Int32",
      "s:Utf8",
      "d:Float64"
    ])
    expect(table.numRows).toBe(5000)
    expect(table.batches.map((batch) => batch.numRows)).toEqual([2048, 2048, 904])
    expect(table.getChild("s")!.get(4999)).toBe("v4999")
    expect(table.getChild("d")!.get(3)).toBe(1.5)
  })

  it("sends the schema alone for an empty result", async () => {
    const table = tableFromIPC((await ask("SELECT 1 AS a WHERE false", { format: "arrow" })).body)
    expect(table.schema.fields.map((field) => field.name)).toEqual(["a"])
    expect(table.numRows).toBe(0)
  })
})

/** The encoder tests' type table, this time through the API: each DuckDB type in each format. */
describe("every DuckDB type through the API", () => {
  // The API's sandbox creates no types: the table's `mood` enum is spelled out inline instead.
  const sqlType = (c: TypeCase) => (c.type === "mood" ? c.typeName! : c.type)
  const sqlOf = (c: TypeCase): string => {
    const rows = [...c.values.map((value) => value.sql), "NULL"].map(
      (sql, i) => `(${i}, CAST(${sql} AS ${sqlType(c)}))`
    )
    return `SELECT v FROM (VALUES ${rows.join(", ")}) t(i, v) ORDER BY i`
  }
  const csvOf = (json: unknown, csv: string | undefined): string =>
    csv ?? (typeof json === "string" ? json : JSON.stringify(json))

  it.each(typeCases.map((c) => [c.type, c] as const))("%s", async (_type, c) => {
    const expectedJson = [...c.values.map((value) => value.json), null]

    const json = JSON.parse(text(await ask(sqlOf(c), { format: "json" })))
    expect(json.columns).toEqual([{ name: "v", type: c.typeName ?? c.type }])
    expect(json.rows.map((row: Array<unknown>) => row[0])).toEqual(expectedJson)
    expect(json.rowCount).toBe(expectedJson.length)

    const lines = text(await ask(sqlOf(c), { format: "ndjson" })).split("\n")
    expect(lines.pop()).toBe("")
    expect(lines.map((line) => JSON.parse(line))).toEqual(expectedJson.map((value) => ({ v: value })))

    const records = parseCsv(text(await ask(sqlOf(c), { format: "csv" })))
    expect(records).toEqual([["v"], ...c.values.map((value) => [csvOf(value.json, value.csv)]), [null]])

    const table = tableFromIPC((await ask(sqlOf(c), { format: "arrow" })).body)
    expect(String(table.schema.fields[0]!.type)).toBe(c.arrowType)
    expect(arrowColumnValues(table, "v")).toEqual([...c.values.map((value) => value.arrow), null])
  })
})

describe("params", () => {
  const rows = async (sql: string, params: unknown, format = "json") => {
    const response = await ask(sql, { format }, params)
    expect(response.status, text(response)).toBe(200)
    return JSON.parse(text(response)).rows as Array<Array<unknown>>
  }

  it("bind by position ($n and ?) and by name", async () => {
    expect(await rows("SELECT $1::INTEGER + 1 AS a, $2 AS b", [41, "x"])).toEqual([[42, "x"]])
    expect(await rows("SELECT ? AS a, ? AS b", [true, null])).toEqual([[true, null]])
    expect(await rows("SELECT $name || '!' AS a, $n * 2 AS b", { name: "hi", n: 21 })).toEqual([["hi!", 42]])
    expect(await rows("SELECT $1 AS l, $2 AS s", [[1, 2], { a: "b" }])).toEqual([[[1, 2], { a: "b" }]])
    const csv = await ask("SELECT $1::DECIMAL(10,2) AS d", { format: "csv" }, ["12.345"])
    expect(text(csv)).toBe("d\r\n12.35\r\n")
  })

  it.each([
    ["SELECT $1 AS a, $2 AS b", [1], /2 parameters but params has 1 value/],
    ["SELECT $1 AS a", undefined, /1 parameter but no params/],
    ["SELECT $1 AS a", { a: 1 }, /params must be an array/],
    ["SELECT $a AS a", [1], /params must be an object/],
    ["SELECT $a AS a, $b AS b", { a: 1 }, /params\.b is missing/],
    ["SELECT $a AS a", { a: 1, extra: 2 }, /params\.extra is not a parameter/],
    ["SELECT $1::INTEGER AS a", ["forty-two"], /params\[0\]/],
    ["SELECT $1::INTEGER AS a", [2 ** 40], /params\[0\]/],
    ["SELECT $n::DATE AS a", { n: true }, /params\.n/],
    ["SELECT $1::INTEGER[] AS a", [[1, "x"]], /params\[0\]\[1\]/],
    ["SELECT 1 AS a", "text", /params/]
  ])("%s with %j → 400 naming the parameter", async (sql, params, message) => {
    const response = await ask(sql, {}, params)
    expect(response.status).toBe(400)
    const body = errorOf(response)
    expect(body.code).toBe("invalid_request")
    expect(body.error).toMatch(message)
  })

  it("never quotes the refused value back", async () => {
    const secret = "s3cr3t-value-not-an-integer"
    const body = errorOf(await ask("SELECT $1::INTEGER AS a", {}, [secret]))
    expect(body.error).not.toContain(secret)
  })

  it("keep injection attempts as data", async () => {
    const attack = "x' UNION SELECT 'pwned' --"
    const names = "SELECT name FROM (VALUES ('alice'), ('bob')) t(name)"
    expect(await rows("SELECT $1 AS v", [attack])).toEqual([[attack]])
    expect(await rows(`${names} WHERE name = $1`, ["' OR '1'='1"])).toEqual([])
    expect(await rows(`${names} WHERE name = $who`, { who: attack })).toEqual([])
    expect(await rows("SELECT $1 AS v", ["'); SELECT 1; --"], "json")).toEqual([["'); SELECT 1; --"]])
    const csv = await ask("SELECT $1 AS v", { format: "csv" }, ['a\r\nb,"c"'])
    expect(parseCsv(text(csv))).toEqual([["v"], ['a\r\nb,"c"']])
  })

  it("bind afresh on every request (a cached statement keeps no old values)", async () => {
    const sql = "SELECT $1::VARCHAR AS v"
    expect(await rows(sql, ["first"])).toEqual([["first"]])
    const missing = await ask(sql)
    expect(missing.status).toBe(400)
    expect(errorOf(missing).error).toMatch(/no params/)
    expect(await rows(sql, ["second"])).toEqual([["second"]])
  })
})
