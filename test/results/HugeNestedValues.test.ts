import { describe, expect, it } from "vitest"
import { hugeNestedChars } from "../../src/results/RawVector.js"
import { encode, fileConnection, hugeUnit, hugeUnitSql, slicedStream } from "./encode.js"

/**
 * A huge value of any type is encoded in parts, not only a VARCHAR or BLOB column (issue 13,
 * finding 3): a huge string inside a LIST, ARRAY, STRUCT, MAP or UNION, a huge BIT, a list of very
 * many items. The bytes are those of the value encoded whole, which the expected texts below build
 * with JSON.stringify and RFC 4180 quoting.
 */
const connection = fileConnection()

const formats = ["json", "ndjson", "csv"] as const
type TextFormat = (typeof formats)[number]

const units = 500_000
const huge = hugeUnit.repeat(units)
const hugeSql = `repeat(${hugeUnitSql}, ${units})`

/** A value as JS: its JSON is JSON.stringify's; `text` is what CSV shows before quoting, when not its JSON. */
interface Value {
  readonly json: unknown
  readonly text?: string
}

const csvQuoted = (text: string): string =>
  text === "" ? '""' : /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text

/** Rows (i, v) as `format` writes them, after the header that `begin` wrote. */
const expectedRows = (format: TextFormat, values: ReadonlyArray<Value | null>): string => {
  if (format === "json")
    return `${values.map((v, i) => JSON.stringify([i, v?.json ?? null])).join(",")}],"rowCount":${values.length},"truncated":false}`
  if (format === "ndjson")
    return values.map((v, i) => `${JSON.stringify({ i, v: v?.json ?? null })}\n`).join("")
  return values
    .map((v, i) => `${i},${v === null ? "" : csvQuoted(v.text ?? JSON.stringify(v.json))}\r\n`)
    .join("")
}

/**
 * Where `actual` first differs from `expected` (-1 when equal): a diff of megabytes of text would
 * take the test runner minutes.
 */
const firstDifference = (actual: Buffer, expected: string): number => {
  const want = Buffer.from(expected, "utf8")
  if (actual.equals(want)) return -1
  let k = 0
  while (k < actual.length && k < want.length && actual[k] === want[k]) k++
  return k
}

const sliced = (sql: string, format: TextFormat) => slicedStream(connection(), sql, format)

/** Rows i = 0..2 of `valueSql` (NULL at i = 1), and what each is; `::TYPE` at the end casts the column. */
const cases: ReadonlyArray<readonly [string, string, Value, string?]> = [
  ["a LIST holding a huge string", `[${hugeSql}, 'b', NULL]`, { json: [huge, "b", null] }],
  ["an ARRAY holding a huge string", `[${hugeSql}, 'b']`, { json: [huge, "b"] }, "::VARCHAR[2]"],
  ["a STRUCT holding a huge string", `{'a': ${hugeSql}, 'n': 7}`, { json: { a: huge, n: 7 } }],
  ["a MAP with a huge string value", `map(['k', 'l'], [${hugeSql}, NULL])`, { json: { k: huge, l: null } }],
  ["a MAP with a huge string key", `map([${hugeSql}], [1])`, { json: { [huge]: 1 } }],
  [
    "a MAP with non-string keys (pairs)",
    `map([1, 2], [${hugeSql}, 'x'])`,
    {
      json: [
        { key: 1, value: huge },
        { key: 2, value: "x" }
      ]
    }
  ],
  ["a UNION whose member is a huge string", `union_value(s := ${hugeSql})`, { json: huge, text: huge }],
  [
    "a UNION whose member is a list",
    `union_value(l := [${hugeSql}])::UNION(n INTEGER, l VARCHAR[])`,
    { json: [huge] }
  ],
  ["nested deeper", `[{'a': [${hugeSql}]}]`, { json: [{ a: [huge] }] }],
  [
    "a LIST holding a huge BLOB",
    `[unhex(repeat('00ff2c220a4101', ${units}))]`,
    { json: [Buffer.from("00ff2c220a4101".repeat(units), "hex").toString("base64")] }
  ],
  [
    "a huge BIT (its length not a multiple of 8)",
    `(repeat('1101', ${units}) || '011')::BIT`,
    { json: `${"1101".repeat(units)}011`, text: `${"1101".repeat(units)}011` }
  ],
  ["a list of very many numbers", "range(300000)", { json: Array.from({ length: 300_000 }, (_, k) => k) }]
]

describe("a huge value inside any type", () => {
  for (const [name, valueSql, value, cast = ""] of cases) {
    const sql = `SELECT i, (CASE WHEN i = 1 THEN NULL ELSE ${valueSql} END)${cast} AS v FROM range(3) t(i)`
    it.each(
      formats
    )(`%s: ${name} comes in parts, each a short piece of work, as the whole value`, async (format) => {
      const { slicedChunks, parts, slowest, rows } = await sliced(sql, format)
      expect(slicedChunks).toBe(1)
      expect(parts.length).toBeGreaterThan(20)
      expect(Math.max(...parts.map((part) => part.length))).toBeLessThan(4 * 65_536)
      // CPU a part: a few ms (the value whole took hundreds); room for the collector's pauses.
      expect(slowest).toBeLessThan(100)
      expect(firstDifference(rows, expectedRows(format, [value, null, value]))).toBe(-1)
    })
  }

  it.each(formats)("%s: `rows` gives the same bytes in one buffer", async (format) => {
    const [, valueSql, value] = cases[2]!
    const { bytes, pieces } = await encode(connection(), `SELECT 0 AS i, ${valueSql} AS v`, format)
    expect(firstDifference(bytes.subarray(pieces[0]!.length), expectedRows(format, [value]))).toBe(-1)
  })
})

describe("the threshold for nested values", () => {
  // `[0,1,…,k]` has 2 + k + digits characters: the list whose JSON is just within the threshold.
  const itemsWithin = (() => {
    let chars = 1
    let k = 0
    while (chars + `${k}`.length + 1 <= hugeNestedChars) chars += `${k++}`.length + 1
    return k
  })()

  it.each(formats)("%s: lists up to it are written whole, larger ones in parts", async (format) => {
    const small = await sliced(`SELECT 0 AS i, range(${itemsWithin - 10}) AS v`, format)
    expect(small.slicedChunks).toBe(0)
    const large = await sliced(`SELECT 0 AS i, range(${itemsWithin + 10}) AS v`, format)
    expect(large.slicedChunks).toBe(1)
    const json = Array.from({ length: itemsWithin + 10 }, (_, k) => k)
    expect(firstDifference(large.rows, expectedRows(format, [{ json }]))).toBe(-1)
  })

  it.each(formats)("%s: a chunk of ordinary nested values is one buffer", async (format) => {
    const { slicedChunks } = await sliced(
      "SELECT i, [i, i + 1] AS l, {'a': 'x' || i} AS s, map(['k'], [i]) AS m FROM range(3000) t(i)",
      format
    )
    expect(slicedChunks).toBe(0)
  })
})
