import type { DuckDBConnection, DuckDBPreparedStatement } from "@duckdb/node-api"
import { describe, expect, it } from "vitest"
import type { ConnectionPool } from "../../src/duckdb/ConnectionPool.js"
import { InstanceViews } from "../../src/duckdb/InstanceViews.js"
import {
  PooledConnection,
  type StatementBudget,
  statementCacheChars
} from "../../src/duckdb/PooledConnection.js"

/**
 * The prepared-statement cache is bounded by characters of SQL across an instance's connections
 * (issue 13, finding 2), not only by count per connection.
 */
const fakeStatement = () => {
  const statement = {
    destroyed: false,
    destroySync: () => {
      statement.destroyed = true
    }
  }
  return statement
}
type Fake = ReturnType<typeof fakeStatement>

const connectionsSharing = (budget: StatementBudget, count: number) =>
  Array.from(
    { length: count },
    () =>
      new PooledConnection(
        { views: new InstanceViews() } as unknown as ConnectionPool,
        budget,
        { closeSync: () => {} } as unknown as DuckDBConnection,
        0,
        0,
        0
      )
  )

const cache = (connection: PooledConnection, sql: string): Fake => {
  const statement = fakeStatement()
  connection.cacheStatement(sql, statement as unknown as DuckDBPreparedStatement)
  return statement
}

const big = (i: number) => `SELECT ${i} AS n, '${"x".repeat(99_000)}' AS pad`

describe("prepared statement cache", () => {
  it("keeps an instance's cached SQL within the budget however many connections cache large statements", () => {
    const budget: StatementBudget = { chars: 0 }
    const connections = connectionsSharing(budget, 10)
    const statements: Array<Fake> = []
    for (let i = 0; i < 1_300; i++) {
      const connection = connections[i % connections.length]!
      statements.push(cache(connection, big(i)))
      connection.endRun()
      expect(budget.chars).toBeLessThanOrEqual(statementCacheChars)
    }
    const live = statements.filter((statement) => !statement.destroyed).length
    expect(live).toBeLessThanOrEqual(Math.floor(statementCacheChars / 99_000))
    expect(live).toBeGreaterThan(0)
  })

  it("serves a statement for one run when other connections hold the budget, then destroys it", () => {
    const budget: StatementBudget = { chars: statementCacheChars - 10 }
    const [connection] = connectionsSharing(budget, 1)
    const statement = cache(connection!, big(1))
    expect(connection!.cachedStatement(big(1))).toBeUndefined()
    expect(statement.destroyed).toBe(false)
    connection!.endRun()
    expect(statement.destroyed).toBe(true)
    expect(budget.chars).toBe(statementCacheChars - 10)
  })

  it("still caches small statements by count, evicting the least recently used", () => {
    const budget: StatementBudget = { chars: 0 }
    const [connection] = connectionsSharing(budget, 1)
    const first = cache(connection!, "SELECT 0")
    for (let i = 1; i < 128; i++) cache(connection!, `SELECT ${i}`)
    expect(connection!.cachedStatement("SELECT 0")).toBe(first)
    cache(connection!, "SELECT 128")
    expect(first.destroyed).toBe(false)
    expect(connection!.cachedStatement("SELECT 1")).toBeUndefined()
    expect(connection!.cachedStatements).toBe(128)
  })

  it("gives its share back when the connection closes", () => {
    const budget: StatementBudget = { chars: 0 }
    const [connection] = connectionsSharing(budget, 1)
    cache(connection!, big(1))
    expect(budget.chars).toBeGreaterThan(0)
    connection!.close()
    expect(budget.chars).toBe(0)
  })
})
