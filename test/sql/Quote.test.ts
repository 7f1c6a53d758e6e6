import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { printedLiteral, quoteIdentifier, quoteLiteral } from "../../src/sql/Quote.js"
import { openInstance, rows } from "../support/DuckDBFiles.js"

// Every character that could break out of a literal or an identifier.
const nasty = String.raw`q'uo"te\back\\slash ' OR 1=1 -- é
tab	end`

describe("quoting, checked by DuckDB's own parser", () => {
  let db: Awaited<ReturnType<typeof openInstance>>
  beforeAll(async () => {
    db = await openInstance()
  })
  afterAll(() => db?.close())

  it("quoteLiteral round-trips every character", async () => {
    for (const value of [nasty, "", "'", "''", "\\", "\\'", "a'); DROP TABLE x; --"]) {
      const [row] = await rows(db.connection, `SELECT ${quoteLiteral(value)} AS v`)
      expect(row!.v).toBe(value)
    }
  })

  it("quoteLiteral refuses a NUL, which would cut the statement short in DuckDB's C API", () => {
    expect(() => quoteLiteral("a\0b")).toThrow("NUL")
  })

  it("printedLiteral writes a string as DuckDB prints it, a NUL included", async () => {
    const [row] = await rows(db.connection, `SELECT ${printedLiteral(nasty)} AS v`)
    expect(row!.v).toBe(nasty)
    expect(printedLiteral("it's\0")).toBe("'it''s\0'")
  })

  it("quoteIdentifier round-trips through an alias, keywords and quotes included", async () => {
    for (const name of [`we"ird alias'`, "select", '"', "é"]) {
      const [row] = await rows(db.connection, `SELECT 1 AS ${quoteIdentifier(name)}`)
      expect(Object.keys(row!)).toEqual([name])
    }
  })
})
