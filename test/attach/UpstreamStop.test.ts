import { describe, expect, it } from "vitest"
import { killStatement, runningStatementsQuery } from "../../src/attach/UpstreamStop.js"

/** The bounds on MariaDB's TIME_MS that a window sets, as numbers. */
const bounds = (sql: string) => {
  const upper = /TIME_MS <= (\d+)/.exec(sql)
  const lower = /TIME_MS > (\d+)/.exec(sql)
  return { atMost: Number(upper?.[1]), moreThan: Number(lower?.[1]) }
}

describe("which MariaDB statements a stopped query may stop", () => {
  it("those that started since the query did (give or take the clocks' slack), when no later query runs", () => {
    const now = 1_000_000
    expect(
      bounds(runningStatementsQuery({ queryStartedAt: now - 3_000, laterQueryStartedAt: undefined }, now))
    ).toEqual({
      atMost: 3_250,
      moreThan: 250
    })
  })

  it("not those that started after a later query on the same instance did", () => {
    const now = 1_000_000
    const window = { queryStartedAt: now - 3_000, laterQueryStartedAt: now - 1_200 }
    expect(bounds(runningStatementsQuery(window, now))).toEqual({ atMost: 3_250, moreThan: 1_450 })
  })

  it("asks MariaDB through the server's own control attach only, for its own user, database and host", () => {
    const sql = runningStatementsQuery({ queryStartedAt: 0, laterQueryStartedAt: undefined }, 10)
    expect(sql).toMatch(/^SELECT id FROM mysql_query\('__pondpilot_control', /)
    expect(sql).toContain("p.USER = me.USER AND p.DB <=> me.DB")
  })
})

describe("KILL QUERY", () => {
  it("takes a connection id", () => {
    expect(killStatement(42)).toBe("CALL mysql_execute('__pondpilot_control', 'KILL QUERY 42')")
  })

  it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])("refuses %s", (id) => {
    expect(() => killStatement(id)).toThrow(/not a MariaDB connection id/)
  })
})
