import { describe, expect, it } from "vitest"
import { encode, fileConnection } from "./encode.js"

/**
 * The byte writers' fast paths (integers two digits at a time, strings copied from DuckDB's memory
 * without a view per value, DOUBLE read straight from the vector, chunks without NULLs skipping the
 * validity check) give the text each value has by definition: JavaScript's own number and JSON
 * text, RFC 4180 quoting. Values sit on each path's edges, beside NULLs and in chunks without any.
 */
const connection = fileConnection()

const integers = [
  0n,
  1n,
  9n,
  10n,
  99n,
  100n,
  101n,
  12345n,
  99999999n,
  100000000n,
  2147483647n,
  2147483648n,
  4294967295n,
  4294967296n,
  1234567890123n,
  9007199254740991n,
  9007199254740992n,
  9223372036854775807n
]
const signedIntegers = [...integers, ...integers.map((value) => -value - 1n)]

const doubles = [
  "0.0",
  "'-0.0'",
  "1.5",
  "1.0 / 7",
  "1e21",
  "5e-324",
  "-123.25",
  "'nan'",
  "'inf'",
  "'-inf'",
  // The digit writer's range (1e-6 ≤ |v| < 2^53, DoubleDigits.ts) and its edges.
  "1000000.0 / 7",
  "-0.75",
  "0.49999999999999994",
  "4503599627370495.5",
  "9007199254740991.0",
  "244140.626708984375",
  "-1.0000000000000002",
  "0.1",
  "-1.0 / 3000",
  "1e-6",
  "9.999999999999999e-7"
]
const doubleText = (value: number) => (Object.is(value, -0) ? "-0" : Number.isNaN(value) ? "NaN" : `${value}`)

const strings = [
  "",
  "a",
  "twelve bytes",
  "thirteen byte",
  "a longer value well past the inline twelve",
  "with,comma",
  'with "quotes" inside, and a comma',
  "cr\rlf\n",
  "tab\tand\\backslash",
  "ünïcödé ✓",
  "\u0001\u001f",
  // Around the one-pass copy of short fields (up to 64 bytes): a comma, quote or line break first,
  // last, at 64 bytes and just past them.
  ",first",
  '"',
  "0123456789abcdef",
  "x".repeat(64),
  `${"x".repeat(63)}"`,
  `${"x".repeat(64)}\n`,
  "x".repeat(65),
  `${"x".repeat(64)},`
]
const sqlString = (value: string) =>
  `'${value.replaceAll("'", "''").replaceAll("\r", "' || chr(13) || '").replaceAll("\n", "' || chr(10) || '").replaceAll("\t", "' || chr(9) || '").replaceAll("\u0001", "' || chr(1) || '").replaceAll("\u001f", "' || chr(31) || '")}'`
const csvField = (value: string) =>
  value === "" ? '""' : /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value

/** `values` as one column, with a NULL after each value when `nulls`. */
const column = (type: string, values: ReadonlyArray<string>, nulls: boolean) =>
  `SELECT v FROM (VALUES ${values
    .flatMap((value, i) => [`(${i * 2}, (${value})::${type})`, ...(nulls ? [`(${i * 2 + 1}, NULL)`] : [])])
    .join(", ")}) t(k, v) ORDER BY k`

const csvLines = async (sql: string) =>
  (await encode(connection(), sql, "csv")).bytes.toString("utf8").split("\r\n").slice(1, -1)
const ndjsonValues = async (sql: string) =>
  (await encode(connection(), sql, "ndjson")).bytes
    .toString("utf8")
    .trimEnd()
    .split("\n")
    .map((line) => line.slice('{"v":'.length, -1))

describe.each([false, true])("byte writers (NULLs beside the values: %s)", (nulls) => {
  const withNulls = <A>(values: ReadonlyArray<A>, nullText: A) =>
    nulls ? values.flatMap((value) => [value, nullText]) : values

  it("BIGINT and INTEGER: every digit count, both signs, past ±2^53 as text (a string in JSON)", async () => {
    const sql = column("BIGINT", signedIntegers.map(String), nulls)
    expect(await csvLines(sql)).toEqual(withNulls(signedIntegers.map(String), ""))
    const safe = (value: bigint) => value <= 9007199254740991n && value >= -9007199254740991n
    expect(await ndjsonValues(sql)).toEqual(
      withNulls(
        signedIntegers.map((value) => (safe(value) ? `${value}` : `"${value}"`)),
        "null"
      )
    )
    const int32s = signedIntegers.filter((value) => value <= 2147483647n && value >= -2147483648n)
    expect(await csvLines(column("INTEGER", int32s.map(String), nulls))).toEqual(
      withNulls(int32s.map(String), "")
    )
  })

  it("DOUBLE: JavaScript's shortest text, -0 kept, NaN and ±Infinity (strings in JSON)", async () => {
    const sql = column("DOUBLE", doubles, nulls)
    const values = (await connection().runAndReadAll(`SELECT v::DOUBLE FROM (${sql})`))
      .getRows()
      .map((row) => row[0] as number | null)
    const texts = values.filter((value): value is number => value !== null).map(doubleText)
    expect(texts).toContain("-0")
    expect(await csvLines(sql)).toEqual(withNulls(texts, ""))
    expect(await ndjsonValues(sql)).toEqual(
      withNulls(
        texts.map((text) => (/^-?Infinity$|^NaN$/.test(text) ? `"${text}"` : text)),
        "null"
      )
    )
  })

  it("DATE: the dates kept side by side (1900-01-01 to 2079-06-06), those around them and the infinities", async () => {
    const dates = [
      "1899-12-31",
      "1900-01-01",
      "1970-01-01",
      "2024-02-29",
      "2079-06-06",
      "2079-06-07",
      "0001-01-01",
      "9999-12-31",
      "1900-01-01",
      "2024-02-29"
    ]
    const sql = column("DATE", [...dates.map((date) => `DATE '${date}'`), "'infinity'", "'-infinity'"], nulls)
    const texts = [...dates, "infinity", "-infinity"]
    expect(await csvLines(sql)).toEqual(withNulls(texts, ""))
    expect(await ndjsonValues(sql)).toEqual(
      withNulls(
        texts.map((text) => `"${text}"`),
        "null"
      )
    )
  })

  it("VARCHAR: inline and pointed-to strings, quoted as RFC 4180 and escaped as JSON.stringify", async () => {
    const sql = column("VARCHAR", strings.map(sqlString), nulls)
    const csv = (await encode(connection(), sql, "csv")).bytes.toString("utf8")
    expect(csv).toBe(`v\r\n${withNulls(strings.map(csvField), "").join("\r\n")}\r\n`)
    expect(await ndjsonValues(sql)).toEqual(
      withNulls(
        strings.map((value) => JSON.stringify(value)),
        "null"
      )
    )
  })
})
