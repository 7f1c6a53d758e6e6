import * as path from "node:path"
import { Either, Redacted } from "effect"
import type { DatabaseType } from "../domain/Config.js"
import { ForbiddenStatement, InvalidRequest } from "../domain/Errors.js"
import { ParseFailure, parseKeyValues, parsePort, parseUri } from "./ConnectionStringSyntax.js"

/**
 * Connection strings as users write them, parsed into the fields a DuckDB secret takes.
 *
 * Messages name the part that is wrong, never a value: a mistyped key may hold a password, and the
 * whole string certainly does.
 */

/** Who wrote the connection string: the operator's config file may do more than an API client. */
export type AttachSource = "api" | "config"

export interface NetworkConnection {
  readonly type: "postgres" | "mysql"
  readonly host: string
  readonly port: number
  /** Empty for MySQL when no default database was named. */
  readonly database: string
  /** Empty when none was given (libpq then uses the OS user name). */
  readonly user: string
  /** Empty when none was given. */
  readonly password: Redacted.Redacted<string>
  /** Further options under the names the DuckDB secret takes (libpq keywords; `ssl_mode`… for MySQL). */
  readonly options: Readonly<Record<string, string>>
  /** Options that are credentials themselves (`sslpassword`, …), kept apart so they never print. */
  readonly secretOptions: Readonly<Record<string, Redacted.Redacted<string>>>
}

export interface FileConnection {
  readonly type: "sqlite" | "duckdb"
  /** Absolute and normalized, symlinks not resolved (FilePolicy does that for API attaches). */
  readonly path: string
}

export type ParsedConnection = NetworkConnection | FileConnection

export const isFileConnection = (connection: ParsedConnection): connection is FileConnection =>
  connection.type === "sqlite" || connection.type === "duckdb"

export interface ParseOptions {
  /** Relative file paths resolve against this directory (the config file's, for the config). */
  readonly baseDir: string
  readonly source: AttachSource
}

export type ConnectionStringError = InvalidRequest | ForbiddenStatement

export const normalizeType = (type: DatabaseType): ParsedConnection["type"] =>
  type === "postgresql" ? "postgres" : type

const words = (text: string): ReadonlySet<string> => new Set(text.split(" "))

// Keywords libpq understands that DuckDB's postgres secret (1.5) passes through.
const postgresKeywords: ReadonlySet<string> = words(
  "host hostaddr port dbname user password passfile require_auth channel_binding connect_timeout " +
    "client_encoding options application_name fallback_application_name keepalives keepalives_idle " +
    "keepalives_interval keepalives_count tcp_user_timeout replication gssencmode sslmode requiressl " +
    "sslnegotiation sslcompression sslcert sslkey sslkeylogfile sslpassword sslcertmode sslrootcert " +
    "sslcrl sslcrldir sslsni requirepeer ssl_min_protocol_version ssl_max_protocol_version " +
    "min_protocol_version max_protocol_version krbsrvname gsslib gssdelegation scram_client_key " +
    "scram_server_key service target_session_attrs load_balance_hosts oauth_issuer oauth_client_id " +
    "oauth_client_secret oauth_scope"
)
const postgresSecretKeywords: ReadonlySet<string> = words(
  "sslpassword oauth_client_secret scram_client_key scram_server_key"
)
/**
 * Options an API client may not set: they name files on the server, read the server's own credential
 * stores (passfile, service file, Kerberos), write files (sslkeylogfile), reach local sockets, choose
 * the address to connect to behind the host policy's back (hostaddr), or pass server settings to the
 * upstream session (options). AttachPlan pins the credential-bearing ones for API attaches.
 */
const postgresServerOnly: ReadonlySet<string> = words(
  "hostaddr passfile service sslcert sslkey sslkeylogfile sslcrl sslcrldir requirepeer krbsrvname " +
    "gsslib gssdelegation oauth_issuer oauth_client_id oauth_client_secret oauth_scope options"
)
/**
 * Options an API client may set only to the value AttachPlan pins anyway: GSSAPI encryption would use
 * the server's Kerberos ticket, and a client certificate could only be the server's.
 */
const postgresApiOnlyValue: Readonly<Record<string, string>> = {
  gssencmode: "disable",
  sslcertmode: "disable"
}
const postgresSslModes = new Set(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])

const mysqlKeys: Readonly<Record<string, string>> = {
  host: "host",
  user: "user",
  password: "password",
  passwd: "password",
  database: "database",
  db: "database",
  port: "port",
  socket: "socket",
  unix_socket: "socket",
  ssl_mode: "ssl_mode",
  ssl_ca: "ssl_ca",
  ssl_capath: "ssl_capath",
  ssl_cert: "ssl_cert",
  ssl_cipher: "ssl_cipher",
  ssl_crl: "ssl_crl",
  ssl_crlpath: "ssl_crlpath",
  ssl_key: "ssl_key"
}
const mysqlServerOnly: ReadonlySet<string> = words(
  "socket ssl_ca ssl_capath ssl_cert ssl_crl ssl_crlpath ssl_key"
)
// Option names that messages may quote (and a few users reach for by habit, for a better hint).
const knownNames: ReadonlySet<string> = new Set([
  ...postgresKeywords,
  ...Object.keys(mysqlKeys),
  "ssl",
  "database",
  "compress",
  "compression"
])

const mysqlSslModes = new Set(["disabled", "preferred", "required", "verify_ca", "verify_identity"])

const invalid = (type: string, problem: string) =>
  Either.left(new InvalidRequest({ message: `invalid ${type} connection string: ${problem}` }))

const serverOnly = (key: string) =>
  Either.left(
    new ForbiddenStatement({
      message: `connection option "${key}" may only be set in the server's config file`
    })
  )

/**
 * How a message names a key: quoted when it is a known option name, else by its position (counted
 * from 1), because an unknown "key" is often a piece of a password (`password=my secret`).
 */
const nameOf = (key: string, index: number): string => {
  const canonical = key.toLowerCase().replaceAll("-", "_")
  return knownNames.has(canonical) ? `"${canonical}"` : `option ${index + 1}`
}

interface Fields {
  host?: string
  port?: string
  database?: string
  user?: string
  password?: string
  options: Record<string, string>
  secretOptions: Record<string, Redacted.Redacted<string>>
}

const postgresFields = (pairs: ReadonlyArray<readonly [string, string]>, fields: Fields): Fields => {
  for (const [index, [rawKey, value]] of pairs.entries()) {
    const key = rawKey === "ssl" ? "sslmode" : rawKey
    if (!postgresKeywords.has(key)) {
      const hint = key === "database" ? ' (did you mean "dbname"?)' : ""
      throw new ParseFailure(`${nameOf(rawKey, index)} is not a supported option${hint}`)
    }
    if (key === "host") fields.host = value
    else if (key === "port") fields.port = value
    else if (key === "dbname") fields.database = value
    else if (key === "user") fields.user = value
    else if (key === "password") fields.password = value
    else if (postgresSecretKeywords.has(key)) fields.secretOptions[key] = Redacted.make(value)
    // libpq reads `ssl=true` in URIs as sslmode=require (JDBC compatibility).
    else if (rawKey === "ssl") {
      if (value !== "true") throw new ParseFailure('"ssl" accepts only "true"')
      fields.options.sslmode = "require"
    } else fields.options[key] = value
  }
  const sslmode = fields.options.sslmode
  if (sslmode !== undefined && !postgresSslModes.has(sslmode)) {
    throw new ParseFailure(`sslmode must be one of ${[...postgresSslModes].join(", ")}`)
  }
  return fields
}

const mysqlFields = (pairs: ReadonlyArray<readonly [string, string]>, fields: Fields): Fields => {
  for (const [index, [rawKey, value]] of pairs.entries()) {
    const key = mysqlKeys[rawKey.toLowerCase().replaceAll("-", "_")]
    if (key === undefined) throw new ParseFailure(`${nameOf(rawKey, index)} is not a supported option`)
    if (key === "host") fields.host = value
    else if (key === "port") fields.port = value
    else if (key === "database") fields.database = value
    else if (key === "user") fields.user = value
    else if (key === "password") fields.password = value
    else if (key === "ssl_mode") {
      const mode = value.toLowerCase()
      if (!mysqlSslModes.has(mode)) {
        throw new ParseFailure(`ssl_mode must be one of ${[...mysqlSslModes].join(", ")}`)
      }
      fields.options.ssl_mode = mode
    } else fields.options[key] = value
  }
  return fields
}

const emptyFields = (): Fields => ({ options: {}, secretOptions: {} })

const fromUri = (
  rest: string,
  toFields: (pairs: ReadonlyArray<readonly [string, string]>, fields: Fields) => Fields
): Fields => {
  const uri = parseUri(rest, nameOf)
  const fields = emptyFields()
  if (uri.host !== "") fields.host = uri.host
  if (uri.port !== undefined) fields.port = uri.port
  if (uri.database !== undefined && uri.database !== "") fields.database = uri.database
  if (uri.user !== undefined && uri.user !== "") fields.user = uri.user
  if (uri.password !== undefined) fields.password = uri.password
  // Query parameters override the URI's parts, as libpq does.
  return toFields(uri.params, fields)
}

const isUnixSocketHost = (host: string) => host.startsWith("/") || host.startsWith("@")

const network = (
  type: NetworkConnection["type"],
  text: string,
  source: AttachSource
): Either.Either<NetworkConnection, ConnectionStringError> => {
  let fields: Fields
  const schemes = type === "postgres" ? /^postgres(?:ql)?:\/\//i : /^(?:mysql|mariadb):\/\//i
  try {
    const scheme = schemes.exec(text)
    if (scheme !== null) {
      fields = fromUri(text.slice(scheme[0].length), type === "postgres" ? postgresFields : mysqlFields)
    } else if (text.includes("=")) {
      const pairs = parseKeyValues(text, type === "postgres" ? "'" : '"', nameOf)
      fields = (type === "postgres" ? postgresFields : mysqlFields)(pairs, emptyFields())
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
      return invalid(type, `expected a ${type === "postgres" ? "postgresql://" : "mysql://"} URI`)
    } else {
      return invalid(
        type,
        type === "postgres"
          ? "expected postgresql://user:password@host:port/database or host=… dbname=… key=value pairs"
          : "expected mysql://user:password@host:port/database or host=… database=… key=value pairs"
      )
    }
    const host = fields.host ?? ""
    if (host === "" && fields.options.socket === undefined) throw new ParseFailure("the host is missing")
    const port = parsePort(fields.port, type === "postgres" ? 5432 : 3306)
    if (source === "api") {
      const refused = Object.keys({ ...fields.options, ...fields.secretOptions }).find((key) =>
        (type === "postgres" ? postgresServerOnly : mysqlServerOnly).has(key)
      )
      if (refused !== undefined) return serverOnly(refused)
      if (type === "postgres" && isUnixSocketHost(host)) return serverOnly("host (a Unix socket)")
      if (type === "postgres") {
        for (const [key, only] of Object.entries(postgresApiOnlyValue)) {
          const value = fields.options[key]
          if (value !== undefined && value !== only) return serverOnly(`${key} (other than "${only}")`)
        }
      }
      if (
        type === "postgres" &&
        fields.options.sslrootcert !== undefined &&
        fields.options.sslrootcert !== "system"
      ) {
        return serverOnly('sslrootcert (other than "system")')
      }
    }
    const user = fields.user ?? ""
    return Either.right({
      type,
      host,
      port,
      // libpq's own default: the database named after the user.
      database: fields.database ?? (type === "postgres" ? user : ""),
      user,
      password: Redacted.make(fields.password ?? ""),
      options: fields.options,
      secretOptions: fields.secretOptions
    })
  } catch (error) {
    if (error instanceof ParseFailure) return invalid(type, error.problem)
    throw error
  }
}

const file = (
  type: FileConnection["type"],
  text: string,
  baseDir: string
): Either.Either<FileConnection, ConnectionStringError> => {
  if (text.trim() === "") return invalid(type, "the file path is empty")
  if (text === ":memory:" || /^[a-z][a-z0-9+.-]*:/i.test(text)) {
    return invalid(type, "expected a file path, not a URI or special name")
  }
  return Either.right({ type, path: path.resolve(baseDir, text) })
}

/** Parses and validates a connection string for its database type. */
export const parseConnectionString = (
  type: DatabaseType,
  connectionString: Redacted.Redacted<string> | string,
  options: ParseOptions
): Either.Either<ParsedConnection, ConnectionStringError> => {
  const text = (
    Redacted.isRedacted(connectionString) ? Redacted.value(connectionString) : connectionString
  ).trim()
  const normalized = normalizeType(type)
  if (text.includes("\0")) return invalid(normalized, "it contains a NUL character")
  switch (normalized) {
    case "postgres":
    case "mysql":
      return network(normalized, text, options.source)
    case "sqlite":
    case "duckdb":
      return file(normalized, text, options.baseDir)
  }
}
