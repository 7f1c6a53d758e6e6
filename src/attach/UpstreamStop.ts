import { quoteLiteral } from "../sql/Quote.js"
import type { ScannerExtension } from "./Extensions.js"

/**
 * Stopping a statement our query left running upstream. Neither scanner (DuckDB 1.5.5) hears
 * DuckDB's interrupt while it waits on its upstream: the mysql scanner while it waits for a
 * statement's first row, the postgres scanner while PostgreSQL works on its `COPY`. So the server
 * asks the upstream itself, from a private engine holding `ControlAlias`, which statements are ours
 * and stops them. This file is the one place that says which upstreams can be stopped, and how.
 *
 * Neither scanner tells which upstream connection runs a query's scan, so "ours" is a window:
 * statements of the attach's user and database, started after the query started and before any
 * later query on the same instance, or else before the server decided to stop them; for MariaDB from this host, for PostgreSQL with the attach's
 * `application_name` (the server's, `ScannerApplicationName`, unless the connection string names
 * one). Another client of the same user and database that matches too and whose statement started
 * in that window would be stopped as well (docs/databases.md says so).
 */

/** The alias of a server-only attach that stops our statements upstream. */
export const ControlAlias = "__pondpilot_control"

/**
 * The `application_name` the server's PostgreSQL connections report unless the connection string
 * sets one (libpq's `fallback_application_name`): it keeps other programs' statements out of the
 * window even when they log in as the same user.
 */
export const ScannerApplicationName = "pondpilot-proxy"

export interface StopWindow {
  /** When our query started (epoch ms): statements older than that are not ours. */
  readonly queryStartedAt: number
  /**
   * When a later query on the same instance started, if one runs, or else when the server decided
   * to stop our statements (epoch ms): younger statements may be another query's, one that started
   * while the stop was under way (the lookup runs a second or so after that decision).
   */
  readonly closedAt: number
}

/**
 * What the window allows for the moments between our clock reading and the upstream's: a statement
 * older than our query by that much still counts as ours (it cannot be: a statement starts after its
 * query), and one younger than a later query by that much still counts as the later query's.
 */
const slackMillis = 250

const millis = (value: number) => Math.max(0, Math.floor(value))

/** A window as ages on the upstream's clock: ours are at most `oldest` and more than `youngest` ms old. */
export interface StatementAges {
  readonly oldest: number
  readonly youngest: number
}

export interface UpstreamStopper {
  /** Whether `ControlAlias` is attached read-only (AttachPlan builds it from the attach's own secret). */
  readonly controlReadOnly: boolean
  /** The scanner's table function that runs `lookup` through `ControlAlias`. */
  readonly queryFunction: "mysql_query" | "postgres_query"
  /**
   * The upstream's SQL listing our statements of those ages, one row each, its id first as `id`:
   * found, for `stopOne` to stop, or already stopped when `stopOne` is undefined.
   */
  readonly lookup: (ages: StatementAges) => string
  /** DuckDB SQL that stops the statement `lookup` listed as `id`, when the lookup did not stop it already. */
  readonly stopOne: ((id: number) => string) | undefined
}

/**
 * MariaDB: the processlist names each statement's connection, `KILL QUERY` stops one (MariaDB cannot
 * be given our deadline instead: the `MAX_EXECUTION_TIME` hint is MySQL 8's, and a session
 * `max_statement_time` is lost when the scanner's pool resets the connection). Needs MariaDB's
 * `TIME_MS` (MySQL has none: the lookup fails and is logged). The control attach is writable, for
 * `mysql_execute`.
 */
const mariaDb: UpstreamStopper = {
  controlReadOnly: false,
  queryFunction: "mysql_query",
  lookup: ({ oldest, youngest }) =>
    "SELECT p.ID AS id FROM information_schema.PROCESSLIST p JOIN information_schema.PROCESSLIST me " +
    "ON me.ID = CONNECTION_ID() " +
    "WHERE p.ID <> me.ID AND p.USER = me.USER AND p.DB <=> me.DB " +
    "AND SUBSTRING_INDEX(p.HOST, ':', 1) = SUBSTRING_INDEX(me.HOST, ':', 1) " +
    "AND p.COMMAND IN ('Query', 'Execute') AND p.INFO IS NOT NULL " +
    `AND p.TIME_MS <= ${oldest} AND p.TIME_MS > ${youngest}`,
  stopOne: (id) => {
    if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`not a MariaDB connection id: ${id}`)
    return `CALL mysql_execute(${quoteLiteral(ControlAlias)}, ${quoteLiteral(`KILL QUERY ${id}`)})`
  }
}

/**
 * PostgreSQL: `pg_stat_activity` lists each backend's statement, `pg_cancel_backend` stops it (a
 * non-superuser may cancel its own role's backends). Found and cancelled in one statement, so that a
 * pooled scanner connection cannot move on to another query's statement between the two; the cancel
 * is in the select list, which PostgreSQL evaluates only for rows that passed the whole filter.
 * `postgres_query` runs it, in the scanner's transaction (repeatable read, read-only): that is why
 * the control attach may be read-only, and why the ages are measured from `statement_timestamp()`
 * (`now()` is the transaction's start); `pg_stat_activity`'s snapshot is taken at its first read in
 * the transaction, which is this statement. `postgres_execute` would not say what it cancelled.
 */
const postgreSql: UpstreamStopper = {
  controlReadOnly: true,
  queryFunction: "postgres_query",
  lookup: ({ oldest, youngest }) =>
    "SELECT pid AS id, pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity " +
    "WHERE pid <> pg_backend_pid() AND usename = current_user AND datname = current_database() " +
    "AND application_name = current_setting('application_name') " +
    "AND backend_type = 'client backend' AND state = 'active' " +
    `AND statement_timestamp() - query_start <= interval '${oldest} milliseconds' ` +
    `AND statement_timestamp() - query_start > interval '${youngest} milliseconds'`,
  stopOne: undefined
}

const stoppers: Partial<Record<ScannerExtension, UpstreamStopper>> = { mysql: mariaDb, postgres: postgreSql }

/** How statements left running on an upstream of this scanner are stopped; undefined when they need not be. */
export const stopperFor = (extension: ScannerExtension | undefined): UpstreamStopper | undefined =>
  extension === undefined ? undefined : stoppers[extension]

/**
 * DuckDB SQL, for the private engine holding `ControlAlias`, whose rows are the statements `stopper`
 * finds in `window` as of `now` (epoch ms), each with its upstream id first.
 */
export const findStatements = (stopper: UpstreamStopper, window: StopWindow, now: number): string => {
  const ages = {
    oldest: millis(now - window.queryStartedAt + slackMillis),
    youngest: millis(now - window.closedAt + slackMillis)
  }
  return `SELECT * FROM ${stopper.queryFunction}(${quoteLiteral(ControlAlias)}, ${quoteLiteral(stopper.lookup(ages))})`
}
