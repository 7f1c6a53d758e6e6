import type { DuckDBConnection, DuckDBPreparedStatement } from "@duckdb/node-api"
import type { ConnectionPool } from "./ConnectionPool.js"

const statementCacheSize = 128

/** A DuckDB connection lent by a pool, with the prepared statements it has already built. */
export class PooledConnection {
  /** Most recently used last; a hit moves the entry to the end. */
  private readonly statements = new Map<string, DuckDBPreparedStatement>()
  /** Set when its last use ended in an error or an interrupt: validated before it is lent again. */
  suspect = false
  /** Set when the pool interrupted it from outside; a stream that then ends early is not complete. */
  interrupted = false
  /** The DuckDB call in flight, so that an interrupt can wait until DuckDB lets go of the connection. */
  pending: Promise<unknown> | undefined = undefined

  constructor(
    /** The pool it came from: an instance rebuilt meanwhile has a new pool, this goes back to its own. */
    readonly owner: ConnectionPool,
    readonly raw: DuckDBConnection,
    readonly createdAt: number,
    public lastUsedAt: number,
    public lastValidatedAt: number
  ) {}

  cachedStatement(sql: string): DuckDBPreparedStatement | undefined {
    const statement = this.statements.get(sql)
    if (statement !== undefined) {
      this.statements.delete(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }

  cacheStatement(sql: string, statement: DuckDBPreparedStatement): void {
    this.statements.set(sql, statement)
    if (this.statements.size > statementCacheSize) {
      const [oldest, evicted] = this.statements.entries().next().value!
      this.statements.delete(oldest)
      evicted.destroySync()
    }
  }

  forgetStatement(sql: string): void {
    const statement = this.statements.get(sql)
    if (statement === undefined) return
    this.statements.delete(sql)
    statement.destroySync()
  }

  close(): void {
    for (const statement of this.statements.values()) statement.destroySync()
    this.statements.clear()
    this.raw.closeSync()
  }
}
