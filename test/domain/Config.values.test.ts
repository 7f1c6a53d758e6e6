// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax under test, not a template slip
import * as fs from "node:fs"
import * as path from "node:path"
import { inspect } from "node:util"
import { Duration, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { lines, problemsOf, settingsOf } from "../support/ConfigFiles.js"

const seconds = (duration: Duration.Duration) => Duration.toSeconds(duration)
const deploymentGuideConfig = fs.readFileSync(
  path.join(import.meta.dirname, "fixtures/production.yaml"),
  "utf8"
)

describe("the rate limit follows the environment", () => {
  const secrets = { API_KEY: "k", ENCRYPTION_KEY: "e".repeat(32) }
  const limitOf = (yaml: string | undefined) => settingsOf(yaml, secrets).security.rate_limit

  it("lets a person explore in development: a first session is never throttled", () => {
    for (const yaml of [undefined, "", "environment: development", "security:\n  read_only: true"])
      expect(limitOf(yaml), String(yaml)).toEqual({ requests_per_minute: 6000, burst_size: 1000 })
  })

  it("keeps the deployment guide's 60 a minute, burst 10, in staging and production", () => {
    for (const environment of ["staging", "production"])
      expect(limitOf(`environment: ${environment}`)).toEqual({ requests_per_minute: 60, burst_size: 10 })
  })

  it("takes what the file says in any environment, filling in only what it leaves out", () => {
    expect(limitOf("security:\n  rate_limit:\n    requests_per_minute: 30")).toEqual({
      requests_per_minute: 30,
      burst_size: 1000
    })
    expect(limitOf("environment: production\nsecurity:\n  rate_limit:\n    burst_size: 2")).toEqual({
      requests_per_minute: 60,
      burst_size: 2
    })
  })

  it("still reports a rate limit that is not a mapping", () => {
    expect(problemsOf("security:\n  rate_limit: fast")).toEqual(["security.rate_limit: expected a mapping"])
  })
})

describe("defaults without a config file", () => {
  const settings = settingsOf(undefined)

  it("is a development server on 127.0.0.1:8080", () => {
    expect(settings.environment).toBe("development")
    expect(settings.server.host).toBe("127.0.0.1")
    expect(settings.server.port).toBe(8080)
    expect(Option.isNone(settings.configFile)).toBe(true)
  })

  it("generates one API key and an ephemeral encryption key, and says so", () => {
    expect(settings.generated).toEqual({ apiKey: true, encryptionKey: true })
    expect(settings.secrets.apiKeys).toHaveLength(1)
    const apiKey = Redacted.value(settings.secrets.apiKeys[0]!)
    const encryptionKey = Redacted.value(settings.secrets.encryptionKey)
    expect(apiKey).toMatch(/^ppk_dev_[A-Za-z0-9_-]{32}$/)
    expect(encryptionKey).toMatch(/^ephemeral_[A-Za-z0-9_-]{32}$/)
    expect(encryptionKey.length).toBeGreaterThanOrEqual(32)
  })

  it("generates different keys on each start", () => {
    const again = settingsOf(undefined)
    expect(Redacted.value(again.secrets.apiKeys[0]!)).not.toBe(Redacted.value(settings.secrets.apiKeys[0]!))
    expect(Redacted.value(again.secrets.encryptionKey)).not.toBe(
      Redacted.value(settings.secrets.encryptionKey)
    )
  })

  it("generates no API key when authentication is not by API key", () => {
    const open = settingsOf("security:\n  authentication:\n    type: none")
    expect(open.secrets.apiKeys).toEqual([])
    expect(open.generated.apiKey).toBe(false)
  })

  it("has the documented default of every key", () => {
    const { server, duckdb, security, query, audit, metrics, state } = settings
    expect(seconds(server.read_timeout)).toBe(30)
    expect(seconds(server.write_timeout)).toBe(30)
    expect(seconds(server.shutdown_timeout)).toBe(10)
    expect(server.max_body_size).toBe(1_000_000)
    expect(server.trusted_proxies).toEqual([])
    expect(server.cors_origins).toEqual([])
    expect(duckdb.max_instances).toBe(10)
    expect(duckdb.settings).toEqual({ threads: 4, memory_limit: 2_000_000_000 })
    expect(duckdb.extensions).toEqual([])
    expect(duckdb.extension_directory).toBeUndefined()
    expect(duckdb.extension_repository).toBeUndefined()
    expect(duckdb.attached_databases).toEqual([])
    expect(duckdb.file_roots).toEqual([])
    expect(duckdb.upstream_hosts).toEqual(["*"])
    expect(seconds(duckdb.instance_idle_timeout)).toBe(30 * 60)
    const pool = duckdb.connection_pool
    expect([pool.min_connections, pool.max_connections, pool.validate_on_acquire]).toEqual([2, 16, true])
    expect(
      [pool.idle_timeout, pool.acquire_timeout, pool.validation_interval, pool.max_connection_age].map(
        seconds
      )
    ).toEqual([300, 30, 60, 1800])
    expect(security.authentication.type).toBe("api-key")
    expect(security.authentication.api_key_header).toBe("X-API-Key")
    expect(seconds(security.authentication.jwt.clock_skew)).toBe(30)
    expect(security.encryption).toEqual({ algorithm: "AES-256-GCM", key_derivation: "pbkdf2" })
    // Development mode's own limit: see "the rate limit follows the environment" below.
    expect(security.rate_limit).toEqual({ requests_per_minute: 6000, burst_size: 1000 })
    expect(security.read_only).toBe(false)
    expect(seconds(query.timeout)).toBe(30)
    expect(query.max_rows).toBe(10_000_000)
    expect(query.max_query_length).toBe(100_000)
    expect(audit).toEqual({ enabled: true, log_query_text: false })
    expect(metrics).toEqual({ require_auth: false })
    expect(state.redis_url).toBeUndefined()
  })

  it("fills the defaults of a section that is only partly written", () => {
    const partial = settingsOf(lines("duckdb:", "  connection_pool:", "    max_connections: 3"))
    expect(partial.duckdb.connection_pool.max_connections).toBe(3)
    expect(partial.duckdb.connection_pool.min_connections).toBe(2)
    expect(partial.duckdb.max_instances).toBe(10)
    expect(seconds(partial.duckdb.connection_pool.idle_timeout)).toBe(300)
  })
})

describe("the deployment guide's production config", () => {
  const env = {
    API_KEY: "guide-api-key",
    ENCRYPTION_KEY: "your-32-byte-production-key!!!!!",
    POSTGRES_URL: "postgresql://user:pass@postgres-host:5432/db",
    MYSQL_URL: "mysql://user:pass@mysql-host:3306/db"
  }
  const settings = settingsOf(deploymentGuideConfig, env)

  it("decodes every key to its documented meaning", () => {
    expect(settings.server.host).toBe("0.0.0.0")
    expect(settings.server.port).toBe(8080)
    expect(seconds(settings.server.read_timeout)).toBe(30)
    expect(seconds(settings.server.write_timeout)).toBe(30)
    expect(seconds(settings.server.shutdown_timeout)).toBe(15)

    expect(settings.duckdb.max_instances).toBe(20)
    expect(settings.duckdb.settings.threads).toBe(8)
    expect(settings.duckdb.settings.memory_limit).toBe(4_000_000_000)
    expect(settings.duckdb.extensions).toEqual(["arrow", "postgres", "mysql"])
    const pool = settings.duckdb.connection_pool
    expect(pool.min_connections).toBe(5)
    expect(pool.max_connections).toBe(20)
    expect(Duration.toMinutes(pool.idle_timeout)).toBe(10)
    expect(seconds(pool.acquire_timeout)).toBe(30)
    expect(pool.validate_on_acquire).toBe(true)
    expect(Duration.toMinutes(pool.validation_interval)).toBe(2)
    expect(Duration.toHours(pool.max_connection_age)).toBe(1)
    expect(
      settings.duckdb.attached_databases.map((database) => ({
        alias: database.alias,
        type: database.type,
        connection_string: Redacted.value(database.connection_string)
      }))
    ).toEqual([
      { alias: "analytics", type: "postgres", connection_string: env.POSTGRES_URL },
      { alias: "crm", type: "mysql", connection_string: env.MYSQL_URL }
    ])

    expect(settings.security.authentication.type).toBe("api-key")
    expect(settings.security.authentication.api_key_header).toBe("X-API-Key")
    expect(settings.security.encryption).toEqual({ algorithm: "AES-256-GCM", key_derivation: "pbkdf2" })
    expect(settings.security.rate_limit).toEqual({ requests_per_minute: 100, burst_size: 20 })
    expect(settings.security.read_only).toBe(true)
    expect(settings.environment).toBe("production")
    expect(settings.secrets.apiKeys.map(Redacted.value)).toEqual(["guide-api-key"])
    expect(settings.generated).toEqual({ apiKey: false, encryptionKey: false })
  })

  it("decodes values to their runtime types", () => {
    expect(typeof settings.server.port).toBe("number")
    expect(typeof settings.duckdb.settings.threads).toBe("number")
    expect(typeof settings.duckdb.settings.memory_limit).toBe("number")
    expect(typeof settings.server.max_body_size).toBe("number")
    expect(typeof settings.security.read_only).toBe("boolean")
    expect(typeof settings.duckdb.connection_pool.validate_on_acquire).toBe("boolean")
    for (const duration of [
      settings.server.read_timeout,
      settings.server.shutdown_timeout,
      settings.duckdb.connection_pool.idle_timeout,
      settings.duckdb.connection_pool.max_connection_age,
      settings.duckdb.instance_idle_timeout,
      settings.query.timeout
    ]) {
      expect(Duration.isDuration(duration)).toBe(true)
    }
    for (const database of settings.duckdb.attached_databases) {
      expect(Redacted.isRedacted(database.connection_string)).toBe(true)
    }
  })
})

describe("secrets never print", () => {
  const secrets = {
    API_KEY: "apikey-AAAA-1111,apikey-BBBB-2222",
    ENCRYPTION_KEY: "encryption-CCCC-3333-xxxxxxxxxxxxxxxx",
    JWT_SECRET: "jwtsecret-DDDD-4444-xxxxxxxxxxxxxxxxx",
    PG_URL: "postgresql://reader:pgpass-EEEE-5555@db/app",
    REDIS_URL: "redis://:redispass-FFFF-6666@cache:6379"
  }
  const settings = settingsOf(
    lines(
      "security:",
      "  authentication:",
      "    type: jwt",
      "duckdb:",
      "  attached_databases:",
      "    - alias: app",
      "      type: postgres",
      "      connection_string: ${PG_URL}",
      "state:",
      "  redis_url: ${REDIS_URL}"
    ),
    secrets
  )
  const marks = ["AAAA", "BBBB", "CCCC", "DDDD", "EEEE", "FFFF"]

  it("holds every secret as Redacted", () => {
    expect(settings.secrets.apiKeys).toHaveLength(2)
    expect(Redacted.isRedacted(settings.secrets.encryptionKey)).toBe(true)
    expect(Option.getOrThrow(settings.secrets.jwtSecret)).toSatisfy(Redacted.isRedacted)
    expect(settings.state.redis_url).toSatisfy(Redacted.isRedacted)
    expect(Redacted.value(settings.state.redis_url!)).toBe(secrets.REDIS_URL)
  })

  it.each([
    ["String", (value: unknown) => String(value)],
    ["a template literal", (value: unknown) => `${value}`],
    ["JSON.stringify", (value: unknown) => JSON.stringify(value)],
    ["util.inspect", (value: unknown) => inspect(value, { depth: null, showHidden: true })]
  ])("%s of the whole settings and of its parts shows none of them", (_, show) => {
    for (const shown of [
      settings,
      settings.secrets,
      settings.duckdb,
      settings.state,
      settings.secrets.apiKeys
    ].map(show)) {
      for (const mark of marks) expect(shown).not.toContain(mark)
    }
  })

  it("util.inspect says <redacted> where a secret is", () => {
    expect(inspect(settings.secrets, { depth: null })).toContain("<redacted>")
  })
})
