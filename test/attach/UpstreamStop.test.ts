import { describe, expect, it } from "vitest"
import { findStatements, stopperFor, type UpstreamStopper } from "../../src/attach/UpstreamStop.js"

const stopper = (extension: "mysql" | "postgres"): UpstreamStopper => {
  const found = stopperFor(extension)
  if (found === undefined) throw new Error(`no stopper for ${extension}`)
  return found
}
const mariaDb = stopper("mysql")
const postgreSql = stopper("postgres")

/** The bounds on a statement's age (ms) that a window sets, as numbers. */
const bounds = (sql: string, age: RegExp) => {
  const source = age.source
  const upper = new RegExp(`${source} <= (?:interval '')?(\\d+)`).exec(sql)
  const lower = new RegExp(`${source} > (?:interval '')?(\\d+)`).exec(sql)
  return { atMost: Number(upper?.[1]), moreThan: Number(lower?.[1]) }
}

describe.each([
  ["MariaDB", mariaDb, /TIME_MS/],
  ["PostgreSQL", postgreSql, /statement_timestamp\(\) - query_start/]
] as const)("which %s statements a stopped query may stop", (_, stopper, age) => {
  it("those that started since the query did (give or take the clocks' slack), when no later query runs", () => {
    const now = 1_000_000
    const sql = findStatements(stopper, { queryStartedAt: now - 3_000, closedAt: now }, now)
    expect(bounds(sql, age)).toEqual({ atMost: 3_250, moreThan: 250 })
  })

  it("not those that started after a later query on the same instance did", () => {
    const now = 1_000_000
    const window = { queryStartedAt: now - 3_000, closedAt: now - 1_200 }
    expect(bounds(findStatements(stopper, window, now), age)).toEqual({ atMost: 3_250, moreThan: 1_450 })
  })

  it("not those that started after the stop was decided, while a private engine got ready to ask", () => {
    const now = 1_000_000
    const window = { queryStartedAt: now - 3_000, closedAt: now - 800 }
    expect(bounds(findStatements(stopper, window, now), age)).toEqual({ atMost: 3_250, moreThan: 1_050 })
  })
})

describe("MariaDB", () => {
  it("is asked through the server's own control attach only, for its own user, database and host", () => {
    const sql = findStatements(mariaDb, { queryStartedAt: 0, closedAt: 10 }, 10)
    expect(sql).toMatch(/^SELECT \* FROM mysql_query\('__pondpilot_control', /)
    expect(sql).toContain("p.USER = me.USER AND p.DB <=> me.DB")
    expect(sql).toContain("SUBSTRING_INDEX(p.HOST, '':'', 1) = SUBSTRING_INDEX(me.HOST, '':'', 1)")
  })

  it("stops a statement with KILL QUERY on its connection id", () => {
    expect(mariaDb.stopOne?.(42)).toBe("CALL mysql_execute('__pondpilot_control', 'KILL QUERY 42')")
  })

  it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])("refuses %s as a connection id", (id) => {
    expect(() => mariaDb.stopOne?.(id)).toThrow(/not a MariaDB connection id/)
  })
})

describe("PostgreSQL", () => {
  const sql = findStatements(postgreSql, { queryStartedAt: 0, closedAt: 10 }, 10)
  /** The statement PostgreSQL runs, as it arrives (the DuckDB literal unquoted). */
  const upstream = /^SELECT \* FROM postgres_query\('__pondpilot_control', '(.*)'\)$/s
    .exec(sql)?.[1]
    ?.replaceAll("''", "'")

  it("is asked through the server's own control attach only, with postgres_query (postgres_execute says nothing back)", () => {
    expect(upstream).toBeDefined()
  })

  it("matches only active client backends of our user, database and application_name, never the asking one", () => {
    for (const condition of [
      "pid <> pg_backend_pid()",
      "usename = current_user",
      "datname = current_database()",
      "application_name = current_setting('application_name')",
      "backend_type = 'client backend'",
      "state = 'active'"
    ])
      expect(upstream).toContain(condition)
  })

  it("cancels in the select list, which PostgreSQL evaluates only for the rows its whole filter kept", () => {
    expect(upstream).toMatch(
      /^SELECT pid AS id, pg_cancel_backend\(pid\) AS cancelled FROM pg_stat_activity WHERE /
    )
    expect(upstream!.indexOf("pg_cancel_backend")).toBeLessThan(upstream!.indexOf(" WHERE "))
  })
})

describe("which upstreams are stopped by the server", () => {
  it("MySQL and PostgreSQL; not SQLite nor DuckDB files, which run nothing outside the server", () => {
    expect(stopperFor("mysql")).toBeDefined()
    expect(stopperFor("postgres")).toBeDefined()
    expect(stopperFor("sqlite")).toBeUndefined()
    expect(stopperFor(undefined)).toBeUndefined()
  })
})
