import { Duration, Option, Schema } from "effect"
import { DurationText, formatSize, minMemoryLimitBytes, parseDuration, SizeText } from "./Units.js"

/**
 * The YAML configuration, key for key (snake_case, as operators write it). Decoding rejects unknown
 * keys so that a typo is an error, not a silently ignored setting.
 */

/**
 * One message for the whole value. Without `override`, a union or a refinement reports each inner
 * failure instead ("Expected "postgres", actual ...", "Expected "mysql", ..."), one line per member.
 */
const says = (message: string) => ({ message: () => ({ message, override: true }) })

const oneOf = <const L extends ReadonlyArray<string>>(...literals: L) =>
  Schema.Literal(...literals).annotations(says(`expected one of ${literals.join(", ")}`))

// Values substituted from `${VAR}` arrive as strings; numbers and booleans accept their text too.
const Numeric = Schema.Union(Schema.Number, Schema.NumberFromString)
const Count = Numeric.pipe(Schema.int(), Schema.nonNegative()).annotations(
  says("expected a non-negative integer")
)
const MemoryLimitText = SizeText.pipe(
  Schema.filter(
    (bytes) => bytes >= minMemoryLimitBytes || `expected at least ${formatSize(minMemoryLimitBytes)}`
  )
)
const PositiveCount = Numeric.pipe(Schema.int(), Schema.positive()).annotations(
  says("expected a positive integer")
)
const Port = Numeric.pipe(Schema.int(), Schema.between(0, 65_535)).annotations(
  says("expected a port number (0-65535)")
)
const Flag = Schema.Union(Schema.Boolean, Schema.BooleanFromString).annotations(
  says("expected true or false")
)
const Text = Schema.String.annotations({ message: () => "expected a string" })
// The message applies when the value is not a list at all; a bad item still reports its own path.
const TextList = Schema.Array(Text).annotations({ message: () => "expected a list of strings" })

/** A YAML mapping; a scalar or a list in its place gets one readable line, not the struct's type. */
const Section = <Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct(fields).annotations({
    // A struct with defaults is a transformation: its own message would hide the inner problems,
    // so it overrides them only when the value is not a mapping at all.
    message: (issue) => ({
      message: "expected a mapping",
      override: issue._tag === "Transformation" && issue.issue._tag === "Type"
    })
  })

// `exact`: an absent key takes the default; without it the encoded side is `I | undefined`, and
// every bad value also reported "Expected undefined, actual ..." for itself and each parent.
const withDefault = <A, I, R>(schema: Schema.Schema<A, I, R>, value: () => NoInfer<A>) =>
  Schema.optionalWith(schema, { default: value, exact: true })
const optionalKey = <A, I, R>(schema: Schema.Schema<A, I, R>) => Schema.optionalWith(schema, { exact: true })
const duration = (text: string) => withDefault(DurationText, () => Option.getOrThrow(parseDuration(text)))

export const DatabaseType = oneOf("postgres", "postgresql", "mysql", "sqlite", "duckdb")
export type DatabaseType = typeof DatabaseType.Type

export const AliasPattern = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
/**
 * Names DuckDB gives its own catalogs and the default catalog's schemas. DuckDB refuses `system`, `temp`
 * and `main` itself and `memory` exists already; `pg_catalog` and `information_schema` it accepts, and
 * then every query naming those schemas fails as ambiguous (or reaches the attached file's tables).
 */
export const ReservedAliases: ReadonlySet<string> = new Set([
  "memory",
  "system",
  "temp",
  "main",
  "pg_catalog",
  "information_schema"
])

export const Alias = Schema.String.pipe(
  Schema.pattern(AliasPattern, { message: () => "must match ^[A-Za-z_][A-Za-z0-9_]{0,62}$" }),
  Schema.filter(
    (alias) => !ReservedAliases.has(alias.toLowerCase()) || `"${alias}" is a reserved catalog or schema name`
  )
)

export const AttachedDatabaseConfig = Section({
  alias: Alias,
  type: DatabaseType,
  connection_string: Schema.Redacted(Text)
})
export type AttachedDatabaseConfig = typeof AttachedDatabaseConfig.Type

/** The first alias that repeats an earlier one (DuckDB compares catalog names without case). */
export const duplicateAlias = (aliases: ReadonlyArray<string>): string | undefined => {
  const seen = new Set<string>()
  for (const alias of aliases) {
    const key = alias.toLowerCase()
    if (seen.has(key)) return `duplicate alias "${alias}"`
    seen.add(key)
  }
  return undefined
}

const uniqueAliases = (databases: ReadonlyArray<{ readonly alias: string }>) =>
  duplicateAlias(databases.map(({ alias }) => alias)) ?? true

export const ServerConfig = Section({
  host: withDefault(Text, () => "127.0.0.1"),
  port: withDefault(Port, () => 8080),
  read_timeout: duration("30s"),
  write_timeout: duration("30s"),
  shutdown_timeout: duration("10s"),
  max_body_size: withDefault(SizeText, () => 1_000_000),
  trusted_proxies: withDefault(TextList, () => []),
  cors_origins: withDefault(TextList, () => [])
})

export const DuckDBSettings = Section({
  threads: withDefault(PositiveCount, () => 4),
  memory_limit: withDefault(MemoryLimitText, () => 2_000_000_000)
})
export type DuckDBSettings = typeof DuckDBSettings.Type

export const ConnectionPoolConfig = Section({
  min_connections: withDefault(Count, () => 2),
  max_connections: withDefault(PositiveCount, () => 16),
  idle_timeout: duration("5m"),
  acquire_timeout: duration("30s"),
  validate_on_acquire: withDefault(Flag, () => true),
  validation_interval: duration("1m"),
  max_connection_age: duration("30m")
}).pipe(
  Schema.filter((pool) =>
    pool.min_connections <= pool.max_connections
      ? true
      : { path: ["min_connections"], message: "must not exceed max_connections" }
  )
)
export type ConnectionPoolConfig = typeof ConnectionPoolConfig.Type

export const DuckDBConfig = Section({
  max_instances: withDefault(PositiveCount, () => 10),
  settings: withDefault(DuckDBSettings, () => Schema.decodeSync(DuckDBSettings)({})),
  extensions: withDefault(TextList, () => []),
  extension_directory: optionalKey(Text),
  extension_repository: optionalKey(Text),
  connection_pool: withDefault(ConnectionPoolConfig, () => Schema.decodeSync(ConnectionPoolConfig)({})),
  attached_databases: withDefault(
    Schema.Array(AttachedDatabaseConfig)
      .annotations({ message: () => "expected a list of databases" })
      .pipe(Schema.filter(uniqueAliases)),
    () => []
  ),
  file_roots: withDefault(TextList, () => []),
  upstream_hosts: withDefault(TextList, () => ["*"]),
  instance_idle_timeout: duration("30m")
})
export type DuckDBConfig = typeof DuckDBConfig.Type

export const AuthenticationConfig = Section({
  type: withDefault(oneOf("api-key", "jwt", "none"), () => "api-key" as const),
  api_key_header: withDefault(
    Text.pipe(Schema.pattern(/^[A-Za-z0-9-]+$/, { message: () => "must be an HTTP header name" })),
    () => "X-API-Key"
  ),
  jwt: withDefault(
    Section({
      issuer: optionalKey(Text),
      audience: optionalKey(Text),
      jwks_url: optionalKey(Text),
      clock_skew: duration("30s")
    }),
    () => ({ clock_skew: Duration.seconds(30) })
  )
})

/**
 * The per-client rate limit unless `security.rate_limit` says otherwise. Staging and production get
 * the deployment guide's "external API" figures; development mode is for a person exploring by hand
 * (a curl session, the /docs page), whom the production limit would throttle within a minute.
 */
export const rateLimitDefaults = {
  production: { requests_per_minute: 60, burst_size: 10 },
  development: { requests_per_minute: 6000, burst_size: 1000 }
} as const

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

/**
 * The raw (substituted) file with development mode's own defaults filled in where it leaves them out.
 * Anything that is not as expected is left as written, for decoding to report.
 */
export const withEnvironmentDefaults = (raw: Record<string, unknown>): Record<string, unknown> => {
  const { security } = raw
  if ((raw.environment ?? "development") !== "development") return raw
  if (security !== undefined && !isMapping(security)) return raw
  const rateLimit = security?.rate_limit
  if (rateLimit !== undefined && !isMapping(rateLimit)) return raw
  return {
    ...raw,
    security: { ...security, rate_limit: { ...rateLimitDefaults.development, ...rateLimit } }
  }
}

export const SecurityConfig = Section({
  authentication: withDefault(AuthenticationConfig, () => Schema.decodeSync(AuthenticationConfig)({})),
  encryption: withDefault(
    Section({
      algorithm: withDefault(oneOf("AES-256-GCM"), () => "AES-256-GCM" as const),
      key_derivation: withDefault(oneOf("pbkdf2", "scrypt"), () => "pbkdf2" as const)
    }),
    () => ({ algorithm: "AES-256-GCM" as const, key_derivation: "pbkdf2" as const })
  ),
  rate_limit: withDefault(
    Section({
      requests_per_minute: withDefault(PositiveCount, () => rateLimitDefaults.production.requests_per_minute),
      burst_size: withDefault(Count, () => rateLimitDefaults.production.burst_size)
    }),
    () => ({ ...rateLimitDefaults.production })
  ),
  read_only: withDefault(Flag, () => false)
})

export const QueryConfig = Section({
  timeout: duration("30s"),
  max_rows: withDefault(PositiveCount, () => 10_000_000),
  max_query_length: withDefault(PositiveCount, () => 100_000),
  max_concurrent_per_principal: withDefault(PositiveCount, () => 8),
  max_concurrent: withDefault(PositiveCount, () => 48)
})

export const AuditConfig = Section({
  enabled: withDefault(Flag, () => true),
  log_query_text: withDefault(Flag, () => false)
})

const Ratio = Numeric.pipe(Schema.between(0, 1)).annotations(says("expected a number from 0 to 1"))

export const TracingConfig = Section({
  enabled: withDefault(Flag, () => false),
  endpoint: optionalKey(Text),
  service_name: withDefault(Text, () => "pondpilot-proxy"),
  sample_ratio: withDefault(Ratio, () => 1)
})

export const Environment = oneOf("development", "staging", "production")
export type Environment = typeof Environment.Type

export const ConfigFile = Section({
  server: withDefault(ServerConfig, () => Schema.decodeSync(ServerConfig)({})),
  duckdb: withDefault(DuckDBConfig, () => Schema.decodeSync(DuckDBConfig)({})),
  security: withDefault(SecurityConfig, () => Schema.decodeSync(SecurityConfig)({})),
  query: withDefault(QueryConfig, () => Schema.decodeSync(QueryConfig)({})),
  audit: withDefault(AuditConfig, () => Schema.decodeSync(AuditConfig)({})),
  metrics: withDefault(Section({ require_auth: withDefault(Flag, () => false) }), () => ({
    require_auth: false
  })),
  state: withDefault(Section({ redis_url: optionalKey(Schema.Redacted(Text)) }), () => ({})),
  tracing: withDefault(TracingConfig, () => Schema.decodeSync(TracingConfig)({})),
  environment: withDefault(Environment, () => "development" as const)
})
export type ConfigFile = typeof ConfigFile.Type
