import { Redacted } from "effect"
import { quoteIdentifier, quoteLiteral } from "../sql/Quote.js"
import type { AttachSource, NetworkConnection, ParsedConnection } from "./ConnectionStrings.js"
import type { ScannerExtension } from "./Extensions.js"
import { allowedPathsFor } from "./FilePolicy.js"
import { scrubMessage } from "./Scrub.js"
import { ControlAlias, ScannerApplicationName, stopperFor } from "./UpstreamStop.js"

/**
 * The exact statements the server runs, on its own connection and before lockdown, to attach one
 * database read-only (security.md §2, §6).
 *
 * Network databases get their credentials through a temporary DuckDB secret and `ATTACH ''`, so
 * `duckdb_databases().path` stays empty. The scanners copy the secret's values into their own
 * connection settings when they attach (postgres 1.5: `PostgresCatalog` keeps the built connection
 * string; mysql 1.5: `MySQLCatalog::GetConnectionString` at attach), so the secret is dropped right
 * after the attach and `duckdb_secrets()` holds nothing afterwards.
 */

export type AttachedType = ParsedConnection["type"]

export interface AttachPlan {
  readonly alias: string
  readonly type: AttachedType
  /** The DuckDB extension that must be loaded first, if any. */
  readonly extension: ScannerExtension | undefined
  /** Run in order before `attach`. They hold credentials, hence Redacted: never log them. */
  readonly prepare: ReadonlyArray<Redacted.Redacted<string>>
  readonly attach: string
  /** Run after `attach` whether it succeeded or not. */
  readonly cleanup: ReadonlyArray<string>
  /**
   * For an upstream whose statements the server may have to stop (MySQL, PostgreSQL): the same
   * connection attached as `ControlAlias`, for the server's own lookup and stop in a private engine
   * no client ever reaches (see UpstreamStop.ts). Run after `prepare`, like `attach`.
   */
  readonly controlAttach: string | undefined
  /** For DuckDB's `allowed_paths`: the file and the side files its engine may open. */
  readonly allowedPaths: ReadonlyArray<string>
  /** Removes this attach's credentials, in every form DuckDB may echo them, and server paths. */
  readonly scrub: (message: string) => string
}

export interface AttachPlanOptions {
  /** Defaults to "api", the stricter. */
  readonly source?: AttachSource
  /** An address HostPolicy resolved and checked; the connection is pinned to it (see HostPolicy). */
  readonly pinnedAddress?: string
  /** Extra literals to scrub from errors (the extension directory, say). */
  readonly scrubAlso?: ReadonlyArray<string>
  /** `query.timeout`: PostgreSQL stops our statements past it (see `withStatementTimeout`). */
  readonly statementTimeoutMillis?: number
}

/**
 * The connection with PostgreSQL told our deadline, as libpq's `options` (after any the client
 * gave, so that ours wins). Interrupting DuckDB does not reach a statement the postgres scanner
 * waits on (measured with 1.5.5: a `pg_sleep` ran on after the proxy's deadline and after a cancel),
 * so PostgreSQL stops it itself; the scanner's own `pg_statement_timeout_millis` did not apply.
 */
const withStatementTimeout = (
  connection: NetworkConnection,
  millis: number | undefined
): NetworkConnection => {
  if (connection.type !== "postgres" || millis === undefined) return connection
  const ours = `-c statement_timeout=${millis}`
  const given = connection.options.options
  return {
    ...connection,
    options: { ...connection.options, options: given === undefined ? ours : `${given} ${ours}` }
  }
}

/** A libpq passfile that cannot exist, so that an API attach never picks up the server's ~/.pgpass. */
export const NoPassfile = "/nonexistent/pondpilot-proxy/no-passfile"

/**
 * What an API attach to PostgreSQL pins when the client did not set it, so that libpq takes nothing
 * from the server's home or environment: no client certificate or key (~/.postgresql/postgresql.crt,
 * PGSSLCERT), no root certificate or CRL of the operator's (a client that wants verification says
 * `sslrootcert=system`), no GSSAPI encryption with the server's Kerberos ticket, and no certificate
 * sent at all. Empty values would not do: libpq reads an empty file option as unset, then falls back.
 */
export const PostgresApiPins: ReadonlyArray<readonly [key: string, value: string]> = [
  ["passfile", NoPassfile],
  ["sslcert", "/nonexistent/pondpilot-proxy/no-sslcert"],
  ["sslkey", "/nonexistent/pondpilot-proxy/no-sslkey"],
  ["sslrootcert", "/nonexistent/pondpilot-proxy/no-sslrootcert"],
  ["sslcrl", "/nonexistent/pondpilot-proxy/no-sslcrl"],
  ["sslcertmode", "disable"],
  ["gssencmode", "disable"]
]

/**
 * Tells the postgres scanner not to look for a `duckdb_secrets` table in the upstream database: a
 * table there would otherwise be registered as a secret storage and take part in lookups
 * (duckdb-postgres 1.5, `PostgresCatalog::RegisterSecretStorage`).
 */
export const PostgresAttachOptions = ["SECRET_STORAGE_TABLE ''"] as const

export const secretNameFor = (alias: string): string => `__pondpilot_attach_${alias}`

export const detachStatement = (alias: string): string =>
  `DETACH DATABASE IF EXISTS ${quoteIdentifier(alias)}`

/**
 * Every spelling of a secret that may turn up in an error: raw, SQL-quoted, URI- and libpq-escaped.
 * Not quoting (sql/Quote.ts writes our statements): these are the forms the scanners may echo back,
 * libpq's and MySQL's backslash escapes included, so that scrubbing finds each of them.
 */
const spellings = (value: string): Array<string> => {
  if (value === "") return []
  return [
    value,
    value.replaceAll("'", "''"),
    encodeURIComponent(value),
    value.replaceAll("\\", "\\\\").replaceAll("'", "\\'"),
    value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
  ]
}

const secretStatement = (
  name: string,
  connection: NetworkConnection,
  source: AttachSource,
  pinnedAddress: string | undefined
): { readonly sql: string; readonly secrets: ReadonlyArray<string> } => {
  const fields: Array<readonly [string, string]> = []
  const pinHost =
    pinnedAddress !== undefined &&
    !(connection.type === "mysql" && connection.options.ssl_mode === "verify_identity")
  if (connection.type === "postgres") {
    fields.push(["HOST", connection.host])
    // libpq connects to hostaddr and keeps host for TLS verification: the pin costs nothing.
    if (pinHost) fields.push(["HOSTADDR", pinnedAddress!])
  } else {
    // libmariadb has no hostaddr: pinning replaces the name, unless the certificate must match it.
    fields.push(["HOST", pinHost ? pinnedAddress! : connection.host])
  }
  fields.push(["PORT", String(connection.port)])
  fields.push(["DATABASE", connection.database])
  fields.push(["USER", connection.user])
  // Always set, even empty: an unset password lets libpq/libmariadb fall back to the server's
  // environment (PGPASSWORD, MYSQL_PWD) and send it to whatever host the client named.
  fields.push(["PASSWORD", Redacted.value(connection.password)])
  if (connection.type === "mysql" && connection.options.socket === undefined) fields.push(["SOCKET", ""])
  if (connection.type === "postgres" && source === "api") {
    for (const [key, value] of PostgresApiPins) {
      if (connection.options[key] === undefined) fields.push([key.toUpperCase(), value])
    }
  }
  // Names our connections to PostgreSQL, unless the client named them, so that stopping our
  // statements leaves other programs' alone (UpstreamStop.ts); libpq prefers `application_name`.
  if (connection.type === "postgres" && connection.options.fallback_application_name === undefined) {
    fields.push(["FALLBACK_APPLICATION_NAME", ScannerApplicationName])
  }
  for (const [key, value] of Object.entries(connection.options)) fields.push([key.toUpperCase(), value])
  const secrets = [Redacted.value(connection.password)]
  for (const [key, value] of Object.entries(connection.secretOptions)) {
    fields.push([key.toUpperCase(), Redacted.value(value)])
    secrets.push(Redacted.value(value))
  }
  const body = fields.map(([key, value]) => `${key} ${quoteLiteral(value)}`).join(", ")
  return {
    sql: `CREATE OR REPLACE TEMPORARY SECRET ${quoteIdentifier(name)} (TYPE ${connection.type}, ${body})`,
    secrets
  }
}

/** The statements that attach `connection` as `alias`, read-only. */
export const planAttach = (
  alias: string,
  connection: ParsedConnection,
  options: AttachPlanOptions = {}
): AttachPlan => {
  const quotedAlias = quoteIdentifier(alias)
  const scrubAlso = options.scrubAlso ?? []
  switch (connection.type) {
    case "postgres":
    case "mysql": {
      const name = secretNameFor(alias)
      const secret = secretStatement(
        name,
        withStatementTimeout(connection, options.statementTimeoutMillis),
        options.source ?? "api",
        options.pinnedAddress
      )
      const scrubbed = [...secret.secrets.flatMap(spellings), ...scrubAlso]
      const extra = connection.type === "postgres" ? PostgresAttachOptions.map((o) => `, ${o}`).join("") : ""
      const stopper = stopperFor(connection.type)
      return {
        alias,
        type: connection.type,
        extension: connection.type,
        prepare: [Redacted.make(secret.sql)],
        attach: `ATTACH '' AS ${quotedAlias} (TYPE ${connection.type}, SECRET ${quoteIdentifier(name)}, READ_ONLY${extra})`,
        cleanup: [`DROP TEMPORARY SECRET IF EXISTS ${quoteIdentifier(name)}`],
        controlAttach:
          stopper === undefined
            ? undefined
            : `ATTACH '' AS ${quoteIdentifier(ControlAlias)} (TYPE ${connection.type}, SECRET ${quoteIdentifier(name)}${stopper.controlReadOnly ? ", READ_ONLY" : ""}${extra})`,
        allowedPaths: [],
        scrub: (message) => scrubMessage(message, scrubbed)
      }
    }
    case "sqlite":
    case "duckdb": {
      // An explicit TYPE: DuckDB would otherwise sniff the file and might pick another engine.
      const type = connection.type === "sqlite" ? "TYPE sqlite" : "TYPE duckdb"
      return {
        alias,
        type: connection.type,
        extension: connection.type === "sqlite" ? "sqlite" : undefined,
        prepare: [],
        attach: `ATTACH ${quoteLiteral(connection.path)} AS ${quotedAlias} (${type}, READ_ONLY)`,
        cleanup: [],
        controlAttach: undefined,
        allowedPaths: allowedPathsFor(connection.type, connection.path),
        scrub: (message) => scrubMessage(message, scrubAlso)
      }
    }
  }
}
