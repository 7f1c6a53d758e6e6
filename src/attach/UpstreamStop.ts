import { quoteLiteral } from "../sql/Quote.js"
import { ControlAlias } from "./AttachPlan.js"

/**
 * Stopping a MariaDB statement our query left running upstream. The mysql scanner (DuckDB 1.5.5)
 * does not hear DuckDB's interrupt while it waits for a statement's first row, and has no way to
 * give MariaDB a deadline (its `MAX_EXECUTION_TIME` hint is MySQL 8's; a session
 * `max_statement_time` is lost when its pool resets the connection). So the server asks MariaDB
 * itself, from a private engine holding `ControlAlias`, which statements are ours and kills them.
 *
 * The scanner does not tell which MariaDB connection runs a query's scan, so "ours" is a window:
 * statements of the attach's user and database, from this host, started after the query started and
 * before any later query on the same instance. Another client of the same user and database on this host whose statement
 * started in that window would be stopped too (docs/databases.md says so).
 */

export interface StopWindow {
  /** When our query started (epoch ms): statements older than that are not ours. */
  readonly queryStartedAt: number
  /** When a later query on the same instance started, if one runs: younger statements may be its. */
  readonly laterQueryStartedAt: number | undefined
}

/**
 * What the window allows for the moments between our clock reading and MariaDB's: a statement older
 * than our query by that much still counts as ours (it cannot be: a statement starts after its query),
 * and one younger than a later query by that much still counts as the later query's.
 */
const slackMillis = 250

const millis = (value: number) => Math.max(0, Math.floor(value))

/** DuckDB SQL listing the ids (as `id`) of the MariaDB statements in `window`, as of `now`. */
export const runningStatementsQuery = (window: StopWindow, now: number): string => {
  const oldest = millis(now - window.queryStartedAt + slackMillis)
  const youngest = millis(now - (window.laterQueryStartedAt ?? now) + slackMillis)
  const upstream =
    "SELECT p.ID AS id FROM information_schema.PROCESSLIST p JOIN information_schema.PROCESSLIST me " +
    "ON me.ID = CONNECTION_ID() " +
    "WHERE p.ID <> me.ID AND p.USER = me.USER AND p.DB <=> me.DB " +
    "AND SUBSTRING_INDEX(p.HOST, ':', 1) = SUBSTRING_INDEX(me.HOST, ':', 1) " +
    "AND p.COMMAND IN ('Query', 'Execute') AND p.INFO IS NOT NULL " +
    `AND p.TIME_MS <= ${oldest} AND p.TIME_MS > ${youngest}`
  return `SELECT id FROM mysql_query(${quoteLiteral(ControlAlias)}, ${quoteLiteral(upstream)})`
}

/** DuckDB SQL that stops the statement MariaDB runs on connection `id` (the connection stays). */
export const killStatement = (id: number): string => {
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`not a MariaDB connection id: ${id}`)
  return `CALL mysql_execute(${quoteLiteral(ControlAlias)}, ${quoteLiteral(`KILL QUERY ${id}`)})`
}
