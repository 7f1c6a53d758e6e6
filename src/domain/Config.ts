import { Duration, Option, Schema } from "effect"
import { DurationText, parseDuration, SizeText } from "./Units.js"

/**
 * The YAML configuration, key for key (snake_case, as operators write it). Decoding rejects unknown
 * keys so that a typo is an error, not a silently ignored setting.
 */

const oneOf = <const L extends ReadonlyArray<string>>(...literals: L) =>
  Schema.Literal(...literals).annotations({ message: () => `expected one of ${literals.join(", ")}` })

// Values substituted from `${VAR}` arrive as strings; numbers and booleans accept their text too.
const Count = Schema.Union(Schema.Number, Schema.NumberFromString)
  .pipe(Schema.int(), Schema.nonNegative())
  .annotations({ message: () => "expected a non-negative integer" })
const Port = Schema.Union(Schema.Number, Schema.NumberFromString)
  .pipe(Schema.int(), Schema.between(0, 65_535))
  .annotations({ message: () => "expected a port number (0-65535)" })
const Flag = Schema.Union(Schema.Boolean, Schema.BooleanFromString).annotations({
  message: () => "expected true or false"
})
const Text = Schema.String.annotations({ message: () => "expected a string" })
const TextList = Schema.Array(Text)

const withDefault = <A, I, R>(schema: Schema.Schema<A, I, R>, value: () => NoInfer<A>) =>
  Schema.optionalWith(schema, { default: value })
// Effect's Duration.decode does not read "30s"; defaults are written the way operators write them.
const duration = (text: string) => withDefault(DurationText, () => Option.getOrThrow(parseDuration(text)))

export const DatabaseType = oneOf("postgres", "postgresql", "mysql", "sqlite", "duckdb")
export type DatabaseType = typeof DatabaseType.Type

export const AliasPattern = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
export const ReservedAliases: ReadonlySet<string> = new Set(["memory", "system", "temp", "main"])

export const Alias = Schema.String.pipe(
  Schema.pattern(AliasPattern, { message: () => "must match ^[A-Za-z_][A-Za-z0-9_]{0,62}$" }),
  Schema.filter(
    (alias) => !ReservedAliases.has(alias.toLowerCase()) || `"${alias}" is a reserved catalog name`
  )
)

export const AttachedDatabaseConfig = Schema.Struct({
  alias: Alias,
  type: DatabaseType,
  connection_string: Schema.Redacted(Text)
})
export type AttachedDatabaseConfig = typeof AttachedDatabaseConfig.Type

const uniqueAliases = (databases: ReadonlyArray<{ readonly alias: string }>) => {
  const seen = new Set<string>()
  for (const { alias } of databases) {
    const key = alias.toLowerCase()
    if (seen.has(key)) return `duplicate alias "${alias}"`
    seen.add(key)
  }
  return true
}

export const ServerConfig = Schema.Struct({
  host: withDefault(Text, () => "127.0.0.1"),
  port: withDefault(Port, () => 8080),
  read_timeout: duration("30s"),
  write_timeout: duration("30s"),
  shutdown_timeout: duration("10s"),
  max_body_size: withDefault(SizeText, () => 1_000_000),
  trusted_proxies: withDefault(TextList, () => []),
  cors_origins: withDefault(TextList, () => [])
})

export const DuckDBSettings = Schema.Struct({
  threads: withDefault(Count.pipe(Schema.positive({ message: () => "must be at least 1" })), () => 4),
  memory_limit: withDefault(SizeText, () => 2_000_000_000)
})
export type DuckDBSettings = typeof DuckDBSettings.Type

export const ConnectionPoolConfig = Schema.Struct({
  min_connections: withDefault(Count, () => 2),
  max_connections: withDefault(
    Count.pipe(Schema.positive({ message: () => "must be at least 1" })),
    () => 10
  ),
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

export const DuckDBConfig = Schema.Struct({
  max_instances: withDefault(Count.pipe(Schema.positive({ message: () => "must be at least 1" })), () => 10),
  settings: withDefault(DuckDBSettings, () => Schema.decodeSync(DuckDBSettings)({})),
  extensions: withDefault(TextList, () => []),
  extension_directory: Schema.optional(Text),
  extension_repository: Schema.optional(Text),
  connection_pool: withDefault(ConnectionPoolConfig, () => Schema.decodeSync(ConnectionPoolConfig)({})),
  attached_databases: withDefault(
    Schema.Array(AttachedDatabaseConfig).pipe(Schema.filter(uniqueAliases)),
    () => []
  ),
  file_roots: withDefault(TextList, () => []),
  upstream_hosts: withDefault(TextList, () => ["*"]),
  instance_idle_timeout: duration("30m")
})
export type DuckDBConfig = typeof DuckDBConfig.Type

export const AuthenticationConfig = Schema.Struct({
  type: withDefault(oneOf("api-key", "jwt", "none"), () => "api-key" as const),
  api_key_header: withDefault(
    Text.pipe(Schema.pattern(/^[A-Za-z0-9-]+$/, { message: () => "must be an HTTP header name" })),
    () => "X-API-Key"
  ),
  jwt: withDefault(
    Schema.Struct({
      issuer: Schema.optional(Text),
      audience: Schema.optional(Text),
      jwks_url: Schema.optional(Text),
      clock_skew: duration("30s")
    }),
    () => ({ clock_skew: Duration.seconds(30) })
  )
})

export const SecurityConfig = Schema.Struct({
  authentication: withDefault(AuthenticationConfig, () => Schema.decodeSync(AuthenticationConfig)({})),
  encryption: withDefault(
    Schema.Struct({
      algorithm: withDefault(oneOf("AES-256-GCM"), () => "AES-256-GCM" as const),
      key_derivation: withDefault(oneOf("pbkdf2", "scrypt"), () => "pbkdf2" as const)
    }),
    () => ({ algorithm: "AES-256-GCM" as const, key_derivation: "pbkdf2" as const })
  ),
  rate_limit: withDefault(
    Schema.Struct({
      requests_per_minute: withDefault(
        Count.pipe(Schema.positive({ message: () => "must be at least 1" })),
        () => 60
      ),
      burst_size: withDefault(Count, () => 10)
    }),
    () => ({ requests_per_minute: 60, burst_size: 10 })
  ),
  read_only: withDefault(Flag, () => false)
})

export const QueryConfig = Schema.Struct({
  timeout: duration("30s"),
  max_rows: withDefault(
    Count.pipe(Schema.positive({ message: () => "must be at least 1" })),
    () => 10_000_000
  ),
  max_query_length: withDefault(
    Count.pipe(Schema.positive({ message: () => "must be at least 1" })),
    () => 100_000
  )
})

export const AuditConfig = Schema.Struct({
  enabled: withDefault(Flag, () => true),
  log_query_text: withDefault(Flag, () => false)
})

export const Environment = oneOf("development", "staging", "production")
export type Environment = typeof Environment.Type

export const ConfigFile = Schema.Struct({
  server: withDefault(ServerConfig, () => Schema.decodeSync(ServerConfig)({})),
  duckdb: withDefault(DuckDBConfig, () => Schema.decodeSync(DuckDBConfig)({})),
  security: withDefault(SecurityConfig, () => Schema.decodeSync(SecurityConfig)({})),
  query: withDefault(QueryConfig, () => Schema.decodeSync(QueryConfig)({})),
  audit: withDefault(AuditConfig, () => Schema.decodeSync(AuditConfig)({})),
  metrics: withDefault(Schema.Struct({ require_auth: withDefault(Flag, () => false) }), () => ({
    require_auth: false
  })),
  state: withDefault(Schema.Struct({ redis_url: Schema.optional(Schema.Redacted(Text)) }), () => ({})),
  environment: withDefault(Environment, () => "development" as const)
})
export type ConfigFile = typeof ConfigFile.Type
