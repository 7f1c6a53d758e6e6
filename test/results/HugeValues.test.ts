import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ResultColumn } from "../../src/results/Encoder.js"
import { makeEncoder } from "../../src/results/Encoders.js"
import { hugeValueBytes } from "../../src/results/RawVector.js"
import { Slices } from "../../src/results/StringBytes.js"
import { type Connection, encode, hugeUnit, hugeUnitSql, openDuckDB, timedParts } from "./encode.js"

/**
 * Strings above `hugeValueBytes` are encoded in slices (issue 13, finding 3): `sliced` hands the chunk
 * over in parts that each take a bounded amount of work, and the bytes are those of the value
 * encoded whole. Ordinary chunks keep the one-buffer path.
 */
let db: Awaited<ReturnType<typeof openDuckDB>>
let connection: Connection
beforeAll(async () => {
  db = await openDuckDB()
  connection = db.connection
})
afterAll(() => db.close())

const formats = ["json", "ndjson", "csv"] as const
type TextFormat = (typeof formats)[number]

const unit = hugeUnit
const unitSql = hugeUnitSql

/**
 * Each format's bytes for rows of (i BIGINT, v `type`), encoded whole by other means; a BLOB's
 * `values` are its base64.
 */
const expected = (
  format: TextFormat,
  values: ReadonlyArray<string | null>,
  type: "VARCHAR" | "BLOB" = "VARCHAR"
): Buffer => {
  const rows = values.map((v, i) => [i, v] as const)
  const text =
    format === "json"
      ? JSON.stringify({
          columns: [
            { name: "i", type: "BIGINT" },
            { name: "v", type }
          ],
          rows,
          rowCount: values.length,
          truncated: false
        })
      : format === "ndjson"
        ? rows.map(([i, v]) => `${JSON.stringify({ i, v })}\n`).join("")
        : `i,v\r\n${rows
            .map(
              ([i, v]) =>
                `${i},${v === null ? "" : v === "" ? '""' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v}\r\n`
            )
            .join("")}`
  return Buffer.from(text, "utf8")
}

/** The first chunk of `sql` through `format`'s `sliced`, the CPU of its parts measured one by one. */
const slicedFirstChunk = async (sql: string, format: TextFormat) => {
  const result = await connection.stream(sql)
  const columns: Array<ResultColumn> = result
    .columnNames()
    .map((name, i) => ({ name, type: result.columnType(i) }))
  const encoder = makeEncoder(format)
  const begin = encoder.begin(columns)
  const chunk = (await result.fetchChunk())!
  const out = encoder.sliced(chunk, chunk.rowCount)
  const { parts, slowest } = out instanceof Slices ? timedParts(out) : { parts: [], slowest: 0 }
  const end = encoder.end({ rowCount: chunk.rowCount, truncated: false })
  return { sliced: out instanceof Slices, parts, slowest, bytes: Buffer.concat([begin, ...parts, end]) }
}

describe("a huge string", () => {
  const units = 1_000_000
  const sql = `SELECT i, CASE WHEN i = 1 THEN NULL WHEN i = 2 THEN 'x' ELSE repeat(${unitSql}, ${units}) END AS v FROM range(4) t(i)`
  const huge = unit.repeat(units)
  const values = [huge, null, "x", huge]

  it.each(formats)("%s: comes in many small parts, each a short piece of work", async (format) => {
    const { sliced, parts, slowest, bytes } = await slicedFirstChunk(sql, format)
    expect(sliced).toBe(true)
    // 7 MB a value in 64 KiB slices (CSV reads each value twice: the quoting test, then the bytes).
    expect(parts.length).toBeGreaterThan(200)
    expect(Math.max(...parts.map((part) => part.length))).toBeLessThan(2 * 65_536 * 6)
    // 1–3 ms of CPU a part (the value whole took hundreds); room for the collector's pauses.
    expect(slowest).toBeLessThan(100)
    expect(bytes.equals(expected(format, values))).toBe(true)
  })

  it.each(formats)("%s: `rows` gives the same bytes in one buffer", async (format) => {
    const { bytes } = await encode(connection, sql, format)
    expect(bytes.equals(expected(format, values))).toBe(true)
  })
})

describe("a huge string beside the byte writers' other fast paths", () => {
  // The sliced rows go through the same writers as the ordinary ones: DOUBLE digits, the DATE
  // window, BIGINT below 2^32 and beyond it, short strings that need quotes, NULLs.
  const sql = `SELECT i, i / 7 - 1 AS f, DATE '2024-02-27' + i::INTEGER AS day, i * 4294967296 AS big,
      CASE WHEN i = 1 THEN NULL ELSE 'a,' || i END AS q,
      CASE WHEN i = 2 THEN repeat('x', ${hugeValueBytes + 1}) WHEN i = 3 THEN NULL ELSE 'ü' || i END AS v
    FROM range(5) t(i)`
  const rows = [0, 1, 2, 3, 4].map((i) => ({
    i,
    f: i / 7 - 1,
    day: `2024-0${i < 3 ? "2" : "3"}-${["27", "28", "29", "01", "02"][i]}`,
    big: i * 4294967296,
    q: i === 1 ? null : `a,${i}`,
    v: i === 2 ? "x".repeat(hugeValueBytes + 1) : i === 3 ? null : `ü${i}`
  }))

  it.each(["ndjson", "csv"] as const)("%s: the same bytes as each value's own text", async (format) => {
    const { sliced, bytes } = await slicedFirstChunk(sql, format)
    expect(sliced).toBe(true)
    const text =
      format === "ndjson"
        ? rows.map((row) => `${JSON.stringify(row)}\n`).join("")
        : `i,f,day,big,q,v\r\n${rows
            .map(
              (row) =>
                `${row.i},${row.f},${row.day},${row.big},${row.q === null ? "" : `"${row.q}"`},${row.v ?? ""}\r\n`
            )
            .join("")}`
    expect(bytes.toString("utf8")).toBe(text)
  })
})

describe("a huge BLOB", () => {
  // 7 bytes a unit (a NUL, 0xff, a comma, a quote, LF): 7 MB, not a multiple of 3, so the base64
  // ends in padding and the 48 KiB slices fall at every offset within a unit.
  const units = 1_000_000
  const unitHex = "00ff2c220a4101"
  const sql = `SELECT i, CASE WHEN i = 1 THEN NULL WHEN i = 2 THEN unhex('2c22') WHEN i = 4 THEN ''::BLOB ELSE unhex(repeat('${unitHex}', ${units})) END AS v FROM range(5) t(i)`
  const huge = Buffer.from(unitHex.repeat(units), "hex").toString("base64")
  const values = [huge, null, Buffer.from("2c22", "hex").toString("base64"), huge, ""]

  it.each(formats)("%s: comes in many small parts, each a short piece of work", async (format) => {
    const { sliced, parts, slowest, bytes } = await slicedFirstChunk(sql, format)
    expect(sliced).toBe(true)
    // 9.3 MB of base64 a value, 64 KiB of it a part.
    expect(parts.length).toBeGreaterThan(200)
    expect(Math.max(...parts.map((part) => part.length))).toBeLessThan(2 * 65_536)
    expect(slowest).toBeLessThan(100)
    expect(bytes.equals(expected(format, values, "BLOB"))).toBe(true)
  })

  it.each(formats)("%s: `rows` gives the same bytes in one buffer", async (format) => {
    const { bytes } = await encode(connection, sql, format)
    expect(bytes.equals(expected(format, values, "BLOB"))).toBe(true)
  })

  it.each(formats)("%s: up to the threshold one buffer, one byte more in slices", async (format) => {
    const at = `SELECT i, unhex(repeat('ab', ${hugeValueBytes})) || CASE WHEN i = 1 THEN unhex('01') ELSE ''::BLOB END AS v FROM range(2) t(i)`
    const values = [
      Buffer.from("ab".repeat(hugeValueBytes), "hex").toString("base64"),
      Buffer.from(`${"ab".repeat(hugeValueBytes)}01`, "hex").toString("base64")
    ]
    const whole = await slicedFirstChunk(`${at} WHERE i = 0`, format)
    expect(whole.sliced).toBe(false)
    const both = await slicedFirstChunk(at, format)
    expect(both.sliced).toBe(true)
    expect(both.bytes.equals(expected(format, values, "BLOB"))).toBe(true)
  })
})

describe("the threshold", () => {
  it.each(
    formats
  )("%s: values up to it take the one-buffer path, one byte more the sliced one", async (format) => {
    const at = `SELECT i, repeat('a"', ${hugeValueBytes / 2}) || CASE WHEN i = 1 THEN 'b' ELSE '' END AS v FROM range(2) t(i)`
    const values = ['a"'.repeat(hugeValueBytes / 2), `${'a"'.repeat(hugeValueBytes / 2)}b`]
    const whole = await slicedFirstChunk(`${at} WHERE i = 0`, format)
    expect(whole.sliced).toBe(false)
    const both = await slicedFirstChunk(at, format)
    expect(both.sliced).toBe(true)
    expect(both.bytes.equals(expected(format, values))).toBe(true)
  })

  it.each(formats)("%s: a chunk of ordinary values is one buffer", async (format) => {
    const result = await connection.stream("SELECT i, 'v' || i AS v FROM range(3000) t(i)")
    const encoder = makeEncoder(format)
    encoder.begin(result.columnNames().map((name, i) => ({ name, type: result.columnType(i) })))
    const chunk = (await result.fetchChunk())!
    expect(encoder.sliced(chunk, chunk.rowCount)).toBeInstanceOf(Uint8Array)
  })
})

describe("a result cut inside a huge value", () => {
  const cases = [
    ["json", `SELECT repeat(${unitSql}, 100000) AS v`],
    ["ndjson", `SELECT repeat(${unitSql}, 100000) AS v`],
    ["json", "SELECT unhex(repeat('00ff22', 100000)) AS v"],
    ["ndjson", "SELECT unhex(repeat('00ff22', 100000)) AS v"]
  ] as const
  it.each(
    cases
  )("%s of %s: no error marker inside the value; the marker once the value is whole", async (format, sql) => {
    const result = await connection.stream(sql)
    const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i) }))
    const error = { code: "query_timeout", message: "stopped" }
    const cut = makeEncoder(format)
    cut.begin(columns)
    const chunk = (await result.fetchChunk())!
    const parts = (cut.sliced(chunk, 1) as Slices).parts()
    parts.next()
    parts.next()
    expect(cut.abort(error).length).toBe(0)
    const whole = makeEncoder(format)
    whole.begin(columns)
    expect([...(whole.sliced(chunk, 1) as Slices).parts()].length).toBeGreaterThan(2)
    expect(Buffer.from(whole.abort(error)).toString("utf8")).toContain("query_timeout")
  })
})
