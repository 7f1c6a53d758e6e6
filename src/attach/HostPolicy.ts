import * as dns from "node:dns/promises"
import * as net from "node:net"
import { Effect, Either } from "effect"
import { ForbiddenStatement, UpstreamUnavailable } from "../domain/Errors.js"

/**
 * Where an API attach may open a network connection (`duckdb.upstream_hosts`, security.md §5).
 *
 * Patterns: `*` (anywhere), exact host names (`db.internal`), wildcards (`*.db.internal`: any name
 * below it, not the name itself), IP addresses and CIDRs (`10.0.0.0/8`, `fd00::/8`).
 *
 * A host name that no name pattern admits is resolved, and every address it resolves to must fall
 * under an address pattern. DNS rebinding (an answer that changes between this check and the
 * connection) is closed by pinning: the caller passes `pinnedAddress` to the attach plan, which
 * makes libpq connect to it (`hostaddr`, keeping `host` for TLS) and MySQL connect to it directly
 * (except with `ssl_mode=verify_identity`, where the certificate must match the name, which an
 * attacker's server cannot present). Names admitted by a name pattern are not resolved here: the
 * operator trusts those names, and their DNS, explicitly.
 *
 * Every refusal says only "host not allowed", resolution failures included, so that the API is not
 * an oracle for the server's network or its DNS.
 */

export interface HostPolicy {
  readonly allowAll: boolean
  readonly names: ReadonlySet<string>
  /** Suffixes with their leading dot: `*.db.internal` → `.db.internal`. */
  readonly wildcards: ReadonlyArray<string>
  readonly addresses: net.BlockList
  readonly hasAddressRules: boolean
}

export interface HostDecision {
  /** Set when the host was resolved to be checked: connect to this address, nothing else. */
  readonly pinnedAddress: string | undefined
}

/** Resolves a host name to every address it has (A and AAAA). */
export type Resolver = (host: string) => Effect.Effect<ReadonlyArray<string>, unknown>

export const systemResolver: Resolver = (host) =>
  Effect.tryPromise(() => dns.lookup(host, { all: true, verbatim: true })).pipe(
    Effect.map((found) => found.map((entry) => entry.address))
  )

export const HostNotAllowed = "host not allowed"

const hostName = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*$/

const normalizeHost = (host: string): string => {
  const trimmed = host.trim().toLowerCase()
  const unbracketed = trimmed.startsWith("[") && trimmed.endsWith("]") ? trimmed.slice(1, -1) : trimmed
  return unbracketed.endsWith(".") ? unbracketed.slice(0, -1) : unbracketed
}

const family = (address: string): "ipv4" | "ipv6" => (net.isIPv4(address) ? "ipv4" : "ipv6")

/** Compiles `duckdb.upstream_hosts`; the Left lists one problem per bad entry. */
export const compileHostPolicy = (
  patterns: ReadonlyArray<string>,
  where = "duckdb.upstream_hosts"
): Either.Either<HostPolicy, ReadonlyArray<string>> => {
  const names = new Set<string>()
  const wildcards: Array<string> = []
  const addresses = new net.BlockList()
  let allowAll = false
  let hasAddressRules = false
  const problems: Array<string> = []
  patterns.forEach((raw, index) => {
    const pattern = normalizeHost(raw)
    if (raw.trim() === "*") {
      allowAll = true
    } else if (pattern === "*") {
      problems.push(`${where}[${index}]: expected "*", a host name, "*.domain", an IP address or a CIDR`)
    } else if (pattern.includes("/")) {
      const [address = "", bits = ""] = pattern.split("/")
      const max = net.isIPv4(address) ? 32 : net.isIPv6(address) ? 128 : -1
      const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : -1
      if (max === -1 || prefix < 0 || prefix > max) {
        problems.push(`${where}[${index}]: not a valid CIDR`)
      } else {
        addresses.addSubnet(address, prefix, family(address))
        hasAddressRules = true
      }
    } else if (net.isIP(pattern) !== 0) {
      addresses.addAddress(pattern, family(pattern))
      hasAddressRules = true
    } else if (pattern.startsWith("*.") && hostName.test(pattern.slice(2))) {
      wildcards.push(pattern.slice(1))
    } else if (hostName.test(pattern)) {
      names.add(pattern)
    } else {
      problems.push(`${where}[${index}]: expected "*", a host name, "*.domain", an IP address or a CIDR`)
    }
  })
  if (problems.length > 0) return Either.left(problems)
  return Either.right({ allowAll, names, wildcards, addresses, hasAddressRules })
}

const addressAllowed = (policy: HostPolicy, address: string): boolean =>
  net.isIP(address) !== 0 && policy.addresses.check(address, family(address))

/** Admits or refuses `host`; resolves it only when address patterns must decide. */
export const checkHost = (
  policy: HostPolicy,
  host: string,
  resolver: Resolver = systemResolver
): Effect.Effect<HostDecision, ForbiddenStatement> =>
  Effect.gen(function* () {
    const refuse = Effect.fail(new ForbiddenStatement({ message: HostNotAllowed }))
    if (policy.allowAll) return { pinnedAddress: undefined }
    const normalized = normalizeHost(host)
    if (net.isIP(normalized) !== 0) {
      return addressAllowed(policy, normalized) ? { pinnedAddress: undefined } : yield* refuse
    }
    if (!hostName.test(normalized)) return yield* refuse
    if (policy.names.has(normalized) || policy.wildcards.some((suffix) => normalized.endsWith(suffix))) {
      return { pinnedAddress: undefined }
    }
    if (!policy.hasAddressRules) return yield* refuse
    const resolved = yield* resolver(normalized).pipe(Effect.orElseSucceed(() => []))
    if (resolved.length === 0 || !resolved.every((address) => addressAllowed(policy, address))) {
      return yield* refuse
    }
    return { pinnedAddress: resolved[0]! }
  })

// Measured with libpq 15 (psql) and MariaDB Connector/C 10.11 (mariadb client) on Debian 12, and
// through the 1.5.5 scanners, which wrap these texts in "Unable to connect to Postgres at …" /
// "Failed to connect to MySQL …". Checked in this order; the first that matches names the failure.
const failures: ReadonlyArray<readonly [UpstreamFailure, RegExp]> = [
  ["unknown_database", /database "[^"]*" does not exist|Unknown database/i],
  [
    "refused_login",
    /password authentication failed|no password supplied|pg_hba\.conf|role "[^"]*" does not exist|Access denied for user|is not allowed to connect|SCRAM authentication|server requested [a-z0-9 -]*authentication|authentication method requirement|Authentication plugin/i
  ],
  [
    "tls_required",
    /server does not support SSL, but SSL was required|SSL is required, but the server does not support it/i
  ],
  [
    "unknown_host",
    /could not translate host name|Unknown (?:MySQL |MariaDB )?server host|Name or service not known|nodename nor servname/i
  ],
  ["refused", /Connection refused|Can't connect to (?:MySQL |MariaDB )?server on '[^']*' \((?:111|115)\)/i],
  [
    "unreachable",
    /Unable to connect to Postgres|Failed to connect to MySQL|connection to server at|could not connect to server|timeout expired|No route to host|Network is unreachable|Can't connect to (?:MySQL |MariaDB )?server|Lost connection to|server closed the connection unexpectedly|Connection timed out|SSL connection|SSL error/i
  ]
]

/** What went wrong reaching an upstream; each says something different to the client. */
export type UpstreamFailure =
  | "refused_login"
  | "unknown_database"
  | "tls_required"
  | "unknown_host"
  | "refused"
  | "unreachable"

/** Classifies a scanner's connection error; `undefined` for anything else. */
export const classifyUpstreamFailure = (message: string): UpstreamFailure | undefined =>
  failures.find(([, pattern]) => pattern.test(message))?.[0]

// What the client reads after `database "alias"`: no host, port, user or upstream text.
const explanations: Record<UpstreamFailure, string> = {
  refused_login: "refused the login",
  unknown_database: "refused the login: the server has no database of that name",
  tls_required: "could not be reached: TLS is required but the server does not offer it",
  unknown_host: "could not be reached: its host name does not resolve",
  refused: "could not be reached: the connection was refused",
  unreachable: "could not be reached"
}

/** The client's view of an upstream failure: the alias and the kind of failure, no network detail. */
export const upstreamUnavailable = (alias: string, failure: UpstreamFailure): UpstreamUnavailable =>
  new UpstreamUnavailable({ message: `database "${alias}" ${explanations[failure]}` })

export const classifyUpstreamError = (alias: string, message: string): UpstreamUnavailable | undefined => {
  const failure = classifyUpstreamFailure(message)
  return failure === undefined ? undefined : upstreamUnavailable(alias, failure)
}

// A scanner that loses its upstream while a query runs says so in an IO error; DuckDB's text names
// no alias (the connection string in it is empty or scrubbed), so the answer names none either.
const scannerConnectionLost =
  /^IO Error: (?:Unable to connect to Postgres|Failed to connect to MySQL|.*(?:server closed the connection unexpectedly|Lost connection to (?:MySQL |MariaDB )?server|terminating connection due to administrator command|no connection to the server|MySQL server has gone away))/s

/** A query's failure because an attached upstream could not be reached; `undefined` for others. */
export const classifyQueryFailure = (message: string): UpstreamUnavailable | undefined => {
  if (!scannerConnectionLost.test(message)) return undefined
  const failure = classifyUpstreamFailure(message) ?? "unreachable"
  return new UpstreamUnavailable({
    message: `an attached database this query reads ${explanations[failure]}`
  })
}
