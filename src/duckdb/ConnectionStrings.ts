import * as path from "node:path"
import { Either, Redacted } from "effect"
import type { DatabaseType } from "../domain/Config.js"
import { ForbiddenStatement, InvalidRequest } from "../domain/Errors.js"

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

// Keywords libpq understands that DuckDB's postgres secret (1.5) passes through.
const postgresKeywords: ReadonlySet<string> = new Set([
  "host",
  "hostaddr",
  "port",
  "dbname",
  "user",
  "password",
  "passfile",
  "require_auth",
  "channel_binding",
  "connect_timeout",
  "client_encoding",
  "options",
  "application_name",
  "fallback_application_name",
  "keepalives",
  "keepalives_idle",
  "keepalives_interval",
  "keepalives_count",
  "tcp_user_timeout",
  "replication",
  "gssencmode",
  "sslmode",
  "requiressl",
  "sslnegotiation",
  "sslcompression",
  "sslcert",
  "sslkey",
  "sslkeylogfile",
  "sslpassword",
  "sslcertmode",
  "sslrootcert",
  "sslcrl",
  "sslcrldir",
  "sslsni",
  "requirepeer",
  "ssl_min_protocol_version",
  "ssl_max_protocol_version",
  "min_protocol_version",
  "max_protocol_version",
  "krbsrvname",
  "gsslib",
  "gssdelegation",
  "scram_client_key",
  "scram_server_key",
  "service",
  "target_session_attrs",
  "load_balance_hosts",
  "oauth_issuer",
  "oauth_client_id",
  "oauth_client_secret",
  "oauth_scope"
])
const postgresSecretKeywords: ReadonlySet<string> = new Set([
  "sslpassword",
  "oauth_client_secret",
  "scram_client_key",
  "scram_server_key"
])
/**
 * Options an API client may not set: they name files on the server, read the server's own credential
 * stores (passfile, service file, Kerberos), write files (sslkeylogfile), reach local sockets, or
 * choose the address to connect to behind the host policy's back (hostaddr).
 */
const postgresServerOnly: ReadonlySet<string> = new Set([
  "hostaddr",
  "passfile",
  "service",
  "sslcert",
  "sslkey",
  "sslkeylogfile",
  "sslcrl",
  "sslcrldir",
  "requirepeer",
  "krbsrvname",
  "gsslib",
  "gssdelegation",
  "oauth_issuer",
  "oauth_client_id",
  "oauth_client_secret",
  "oauth_scope"
])
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
const mysqlServerOnly: ReadonlySet<string> = new Set([
  "socket",
  "ssl_ca",
  "ssl_capath",
  "ssl_cert",
  "ssl_crl",
  "ssl_crlpath",
  "ssl_key"
])
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

class ParseFailure {
  constructor(readonly problem: string) {}
}

const percentDecode = (text: string, what: string): string => {
  try {
    const decoded = decodeURIComponent(text)
    if (decoded.includes("\0")) throw new ParseFailure(`${what} contains a NUL character`)
    return decoded
  } catch (error) {
    if (error instanceof ParseFailure) throw error
    throw new ParseFailure(`${what} has a malformed percent-escape`)
  }
}

interface UriParts {
  readonly user: string | undefined
  readonly password: string | undefined
  readonly host: string
  readonly port: string | undefined
  readonly database: string | undefined
  readonly params: ReadonlyArray<readonly [string, string]>
}

/** `scheme://[user[:password]@]host[:port][/database][?key=value&...]`, every part percent-decoded. */
const parseUri = (rest: string): UriParts => {
  if (rest.includes("#")) throw new ParseFailure('"#" must be percent-encoded as %23')
  const queryAt = rest.indexOf("?")
  const main = queryAt === -1 ? rest : rest.slice(0, queryAt)
  const query = queryAt === -1 ? "" : rest.slice(queryAt + 1)
  const slashAt = main.indexOf("/")
  const authority = slashAt === -1 ? main : main.slice(0, slashAt)
  const databaseText = slashAt === -1 ? undefined : main.slice(slashAt + 1)
  // The last "@" ends the user part: a host never holds one, an unescaped password sometimes does.
  const at = authority.lastIndexOf("@")
  const userInfo = at === -1 ? undefined : authority.slice(0, at)
  const hostPort = at === -1 ? authority : authority.slice(at + 1)
  let user: string | undefined
  let password: string | undefined
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(":")
    user = percentDecode(colon === -1 ? userInfo : userInfo.slice(0, colon), "the user name")
    password = colon === -1 ? undefined : percentDecode(userInfo.slice(colon + 1), "the password")
  }
  if (hostPort.includes(",")) throw new ParseFailure("several hosts are not supported")
  let host: string
  let port: string | undefined
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]")
    if (close === -1) throw new ParseFailure('an IPv6 host is missing its closing "]"')
    host = hostPort.slice(1, close)
    const after = hostPort.slice(close + 1)
    if (after !== "" && !after.startsWith(":")) throw new ParseFailure("unexpected text after the IPv6 host")
    port = after === "" ? undefined : after.slice(1)
  } else {
    const colon = hostPort.lastIndexOf(":")
    host = percentDecode(colon === -1 ? hostPort : hostPort.slice(0, colon), "the host")
    port = colon === -1 ? undefined : hostPort.slice(colon + 1)
  }
  const params: Array<readonly [string, string]> = []
  for (const pair of query.split("&")) {
    if (pair === "") continue
    const eq = pair.indexOf("=")
    if (eq === -1) throw new ParseFailure("query parameters must be key=value pairs")
    const key = percentDecode(pair.slice(0, eq), `the name of option ${params.length + 1}`)
    params.push([key, percentDecode(pair.slice(eq + 1), `the value of ${nameOf(key, params.length)}`)])
  }
  return {
    user,
    password,
    host,
    port,
    database: databaseText === undefined ? undefined : percentDecode(databaseText, "the database name"),
    params
  }
}

/**
 * How a message names a key: quoted when it is a known option name, else by its position (counted
 * from 1), because an unknown "key" is often a piece of a password (`password=my secret`).
 */
const nameOf = (key: string, index: number): string => {
  const canonical = key.toLowerCase().replaceAll("-", "_")
  return knownNames.has(canonical) ? `"${canonical}"` : `option ${index + 1}`
}

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f"

/**
 * `key=value` pairs separated by whitespace. A value is bare (a backslash escapes the next character)
 * or quoted with `quote`, inside which a backslash escapes the next character. For libpq (`'`) a
 * doubled quote inside a quoted value is accepted too, as SQL writes it (libpq itself rejects it).
 */
const parseKeyValues = (text: string, quote: "'" | '"'): Array<readonly [string, string]> => {
  const pairs: Array<readonly [string, string]> = []
  let i = 0
  const n = text.length
  while (i < n) {
    while (isSpace(text[i])) i++
    if (i >= n) break
    let key = ""
    while (i < n && text[i] !== "=" && !isSpace(text[i])) key += text[i++]
    while (isSpace(text[i])) i++
    if (text[i] !== "=") throw new ParseFailure(`missing "=" after ${nameOf(key, pairs.length)}`)
    i++
    while (isSpace(text[i])) i++
    let value = ""
    if (text[i] === quote) {
      i++
      let closed = false
      while (i < n) {
        const c = text[i]!
        if (c === "\\" && i + 1 < n) {
          value += text[i + 1]
          i += 2
        } else if (c === quote) {
          if (quote === "'" && text[i + 1] === quote) {
            value += quote
            i += 2
          } else {
            i++
            closed = true
            break
          }
        } else {
          value += c
          i++
        }
      }
      if (!closed) throw new ParseFailure(`unterminated quoted value for ${nameOf(key, pairs.length)}`)
      if (i < n && !isSpace(text[i]))
        throw new ParseFailure(`unexpected text after the value of ${nameOf(key, pairs.length)}`)
    } else {
      while (i < n && !isSpace(text[i])) {
        if (text[i] === "\\" && i + 1 < n) {
          value += text[i + 1]
          i += 2
        } else value += text[i++]
      }
    }
    if (key === "") throw new ParseFailure('a value has no key before its "="')
    pairs.push([key.toLowerCase(), value])
  }
  return pairs
}

const parsePort = (text: string | undefined, fallback: number): number => {
  if (text === undefined || text === "") return fallback
  if (!/^\d{1,5}$/.test(text)) throw new ParseFailure("the port must be a number between 1 and 65535")
  const port = Number(text)
  if (port < 1 || port > 65_535) throw new ParseFailure("the port must be a number between 1 and 65535")
  return port
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
  const uri = parseUri(rest)
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
      const pairs = parseKeyValues(text, type === "postgres" ? "'" : '"')
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
  if (text.includes("\0")) return invalid(type, "the file path contains a NUL character")
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
