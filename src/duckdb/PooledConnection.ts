import type { DuckDBConnection, DuckDBPreparedStatement } from "@duckdb/node-api"
import type { ListNode } from "../collections/LinkedList.js"
import { RecencyMap } from "../collections/RecencyMap.js"
import type { InstanceViews } from "./InstanceViews.js"

const statementCacheSize = 128

/**
 * Characters of SQL whose prepared statements one instance keeps, across its connections. A
 * prepared statement holds DuckDB memory outside `memory_limit`, roughly in proportion to its text
 * (5–12 MB for a 99 KB SELECT): a count per connection alone let 1,300 distinct large statements
 * take 6.7 GB. 1 M characters keeps that to about 100 MB per instance, and every small statement.
 */
export const statementCacheChars = 1_000_000

/**
 * How often a stopped run's interrupt is sent again. DuckDB clears a connection's interrupt flag when
 * a statement begins, so an interrupt sent while the call still waits for a thread (libuv's pool
 * busy, the worker not yet started) is lost and the statement would run to its end.
 */
const reinterruptMillis = 50

/** What one instance's cached statements hold now, shared by its connections. */
export interface StatementBudget {
  chars: number
}

/** Where a lent connection goes back to: its ConnectionPool. */
export interface ConnectionOwner {
  /** Back to idle; a `suspect` one is validated before it is lent again. */
  release(connection: PooledConnection, suspect?: boolean): void
  /** Closed instead, once DuckDB lets go of it: it could not be brought back to a known state. */
  discard(connection: PooledConnection): void
  /** The views clients created in this engine, as the gate weighs statements against them. */
  readonly views: InstanceViews
}

/** A DuckDB connection lent by a pool, with the prepared statements it has already built. */
export class PooledConnection {
  /** Most recently used last; a hit moves the entry to the end. */
  private readonly statements = new RecencyMap<string, DuckDBPreparedStatement>()
  /** The cached statement the current run executes. */
  private running: string | undefined = undefined
  /** A statement prepared for one run and not cached (no room): destroyed when the run ends. */
  private transient: DuckDBPreparedStatement | undefined = undefined
  /** Set when its last use ended in an error or an interrupt: validated before it is lent again. */
  suspect = false
  /** Set when the pool interrupted it from outside; a stream that then ends early is not complete. */
  interrupted = false
  /** Its place on its pool's list of lent connections, while lent. */
  lentAs: ListNode<PooledConnection> | undefined = undefined
  /** The DuckDB call in flight, so that an interrupt can wait until DuckDB lets go of the connection. */
  pending: Promise<unknown> | undefined = undefined
  /** The instance's view redefinitions its cached statements were prepared after. */
  private viewsSeen: number
  /** Sends the interrupt again while a stopped run has not ended. */
  private reinterrupt: ReturnType<typeof setInterval> | undefined = undefined

  constructor(
    /** The pool it came from: an instance rebuilt meanwhile has a new pool, this goes back to its own. */
    readonly owner: ConnectionOwner,
    private readonly budget: StatementBudget,
    readonly raw: DuckDBConnection,
    readonly createdAt: number,
    public lastUsedAt: number,
    public lastValidatedAt: number
  ) {
    this.viewsSeen = owner.views.redefinitions
  }

  cachedStatement(sql: string): DuckDBPreparedStatement | undefined {
    if (this.viewsSeen !== this.owner.views.redefinitions) {
      // Prepared before a view changed, they would still read its old definition.
      for (const [cached, statement] of [...this.statements.entries()]) this.forget(cached, statement)
      this.viewsSeen = this.owner.views.redefinitions
    }
    const statement = this.statements.use(sql)
    if (statement !== undefined) this.running = sql
    return statement
  }

  /**
   * Keeps `statement` for the next run of `sql`, evicting this connection's least recently used
   * ones to stay within the count and the instance's budget. When the budget is held by other
   * connections, the statement serves this run only (`endRun` destroys it).
   */
  cacheStatement(sql: string, statement: DuckDBPreparedStatement): void {
    while (
      this.statements.size > 0 &&
      (this.statements.size >= statementCacheSize || this.budget.chars + sql.length > statementCacheChars)
    ) {
      this.evictOldest()
    }
    if (this.budget.chars + sql.length > statementCacheChars) {
      this.transient = statement
      return
    }
    this.statements.set(sql, statement)
    this.budget.chars += sql.length
    this.running = sql
  }

  private evictOldest(): void {
    const [oldest, evicted] = this.statements.oldest()!
    this.forget(oldest, evicted)
  }

  private forget(sql: string, statement: DuckDBPreparedStatement): void {
    this.statements.delete(sql)
    this.budget.chars -= sql.length
    statement.destroySync()
  }

  forgetStatement(sql: string): void {
    const statement = this.statements.peek(sql)
    if (statement !== undefined) this.forget(sql, statement)
  }

  /**
   * Stops the DuckDB work of the current run, and keeps stopping it until the run ends (`endRun`):
   * a call that had not begun when the first interrupt came is interrupted once it does.
   */
  interruptRun(): void {
    this.raw.interrupt()
    if (this.reinterrupt !== undefined) return
    this.reinterrupt = setInterval(() => this.raw.interrupt(), reinterruptMillis)
    // A run DuckDB holds on to must not keep a stopping process alive.
    this.reinterrupt.unref()
  }

  /**
   * A run on this connection ended (DuckDB has let go): no more interrupts, and its uncached statement
   * goes. So does its cached one when the run `failed` (an error, an interrupt): DuckDB keeps a failed
   * execution's state with its prepared statement (a join's materialized side, up to `memory_limit`)
   * until the statement runs again or is destroyed, and the engine would stay at its limit meanwhile.
   */
  endRun(failed = false): void {
    if (this.reinterrupt !== undefined) {
      clearInterval(this.reinterrupt)
      this.reinterrupt = undefined
    }
    if (failed && this.running !== undefined) this.forgetStatement(this.running)
    this.running = undefined
    if (this.transient === undefined) return
    this.transient.destroySync()
    this.transient = undefined
  }

  get cachedStatements(): number {
    return this.statements.size
  }

  close(): void {
    this.endRun()
    for (const [sql, statement] of [...this.statements.entries()]) this.forget(sql, statement)
    this.raw.closeSync()
  }
}
