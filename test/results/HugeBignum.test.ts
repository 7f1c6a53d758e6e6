import { describe, expect, it } from "vitest"
import { bignumDecimalBytes } from "../../src/results/ScalarText.js"
import { encode, fileConnection } from "./encode.js"

/**
 * A BIGNUM's decimal digits take time that grows with the square of its length, on the event loop
 * (issue 13, finding 3's class: 0.24 s at 300,000 digits, 19 s at a million). Past
 * `bignumDecimalBytes` of magnitude it is written in hexadecimal instead, exact, in linear time.
 */
const connection = fileConnection()

// 50,000 nines: 20,761 bytes of magnitude, past the threshold; 30,000 nines stay decimal.
const hugeDigits = "9".repeat(50_000)
const hugeHex = `0x${BigInt(hugeDigits).toString(16)}`
const smallDigits = "9".repeat(30_000)
const sql = `SELECT i, CASE i WHEN 0 THEN '${hugeDigits}'::BIGNUM WHEN 1 THEN -('${hugeDigits}'::BIGNUM)
  WHEN 2 THEN '${smallDigits}'::BIGNUM WHEN 3 THEN 42::BIGNUM ELSE NULL END AS v FROM range(5) t(i)`

describe("a huge BIGNUM", () => {
  it("is past the threshold at 50,000 digits and below it at 30,000", () => {
    expect(Math.ceil((BigInt(hugeDigits).toString(16).length + 1) / 2)).toBeGreaterThan(bignumDecimalBytes)
    expect(Math.ceil((BigInt(smallDigits).toString(16).length + 1) / 2)).toBeLessThanOrEqual(
      bignumDecimalBytes
    )
  })

  it("json: a string of hexadecimal digits, exact, beside decimal ones for the others", async () => {
    const { bytes } = await encode(connection(), sql, "json")
    const rows = JSON.parse(bytes.toString("utf8")).rows
    expect(rows).toEqual([
      [0, hugeHex],
      [1, `-${hugeHex}`],
      [2, smallDigits],
      [3, 42],
      [4, null]
    ])
    expect(BigInt(rows[0][1])).toBe(BigInt(hugeDigits))
  })

  it("ndjson and csv: the same texts", async () => {
    const ndjson = (await encode(connection(), sql, "ndjson")).bytes.toString("utf8").trim().split("\n")
    expect(ndjson.map((line) => JSON.parse(line).v)).toEqual([hugeHex, `-${hugeHex}`, smallDigits, 42, null])
    const csv = (await encode(connection(), sql, "csv")).bytes.toString("utf8").split("\r\n")
    expect(csv.slice(1, 6)).toEqual([`0,${hugeHex}`, `1,-${hugeHex}`, `2,${smallDigits}`, "3,42", "4,"])
  })

  it("inside a LIST, the same", async () => {
    const { bytes } = await encode(connection(), `SELECT ['${hugeDigits}'::BIGNUM, 7::BIGNUM] AS v`, "json")
    expect(JSON.parse(bytes.toString("utf8")).rows).toEqual([[[hugeHex, 7]]])
  })
})
