// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax under test, not a template slip
import { Duration, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { lines, problemsOf, settingsOf } from "../support/ConfigFiles.js"

const secretOf = (value: Redacted.Redacted<string>) => Redacted.value(value)
const connectionStrings = (yaml: string, env: Record<string, string>) =>
  settingsOf(yaml, env).duckdb.attached_databases.map((database) => secretOf(database.connection_string))

const production = { API_KEY: "prod-key", ENCRYPTION_KEY: "e".repeat(32) }

describe("${VAR} substitution", () => {
  it("substitutes anywhere: nested keys, list items, inside longer text", () => {
    const settings = settingsOf(
      lines(
        "server:",
        "  host: ${BIND}",
        "duckdb:",
        "  extensions:",
        "    - ${EXT}",
        "    - json",
        "  attached_databases:",
        "    - alias: ${ALIAS}",
        "      type: postgres",
        '      connection_string: "postgresql://${PG_USER}:${PG_PASS}@db:5432/app"'
      ),
      { BIND: "0.0.0.0", EXT: "parquet", ALIAS: "warehouse", PG_USER: "reader", PG_PASS: "s3cret" }
    )
    expect(settings.server.host).toBe("0.0.0.0")
    expect(settings.duckdb.extensions).toEqual(["parquet", "json"])
    expect(settings.duckdb.attached_databases[0]!.alias).toBe("warehouse")
    expect(secretOf(settings.duckdb.attached_databases[0]!.connection_string)).toBe(
      "postgresql://reader:s3cret@db:5432/app"
    )
  })

  it("decodes substituted numbers, booleans, durations and sizes to their types", () => {
    const settings = settingsOf(
      lines(
        "server:",
        "  port: ${PORT_X}",
        "  read_timeout: ${READ}",
        "duckdb:",
        "  max_instances: ${N}",
        "  settings:",
        "    memory_limit: ${MEM}",
        "security:",
        "  read_only: ${RO}"
      ),
      { PORT_X: "9000", READ: "1m", N: "3", MEM: "1GiB", RO: "true" }
    )
    expect(settings.server.port).toBe(9000)
    expect(Duration.toMillis(settings.server.read_timeout)).toBe(60_000)
    expect(settings.duckdb.max_instances).toBe(3)
    expect(settings.duckdb.settings.memory_limit).toBe(2 ** 30)
    expect(settings.security.read_only).toBe(true)
  })

  it("names an unset variable and where it is used, once", () => {
    expect(problemsOf("server:\n  port: ${PORT_X}")).toEqual([
      "server.port: environment variable PORT_X is not set"
    ])
    expect(
      problemsOf(
        lines(
          "duckdb:",
          "  attached_databases:",
          "    - alias: a",
          "      type: mysql",
          "      connection_string: ${MYSQL_URL}"
        )
      )
    ).toEqual(["duckdb.attached_databases[0].connection_string: environment variable MYSQL_URL is not set"])
  })

  it("reports each unset variable, and other problems beside them", () => {
    const problems = problemsOf(lines("server:", "  host: ${A}", "  port: ${B}", "  prot: 1"), {})
    expect([...problems].sort()).toEqual(
      [
        "server.host: environment variable A is not set",
        "server.port: environment variable B is not set",
        "server.prot: unknown key"
      ].sort()
    )
  })

  it("treats an empty variable as unset", () => {
    expect(problemsOf("server:\n  host: ${BIND}", { BIND: "" })).toEqual([
      "server.host: environment variable BIND is not set"
    ])
  })

  it("uses ${VAR:-default} when the variable is unset or empty", () => {
    expect(settingsOf("server:\n  host: ${BIND:-10.0.0.1}").server.host).toBe("10.0.0.1")
    expect(settingsOf("server:\n  host: ${BIND:-10.0.0.1}", { BIND: "" }).server.host).toBe("10.0.0.1")
    expect(settingsOf("server:\n  host: ${BIND:-10.0.0.1}", { BIND: "::1" }).server.host).toBe("::1")
    expect(settingsOf("server:\n  port: ${PORT_X:-7000}").server.port).toBe(7000)
    expect(settingsOf('server:\n  host: "x${SUFFIX:-}"').server.host).toBe("x")
  })

  it("writes $$ as a literal $ and does not substitute after it", () => {
    const strings = connectionStrings(
      lines(
        "duckdb:",
        "  attached_databases:",
        "    - { alias: a, type: sqlite, connection_string: 'pa$$word' }",
        "    - { alias: b, type: sqlite, connection_string: '$${NOT_A_VAR}' }"
      ),
      {}
    )
    expect(strings).toEqual(["pa$word", "${NOT_A_VAR}"])
  })

  it("cannot change the YAML's structure: a value with #, ': ' or newlines stays one string", () => {
    const hostile = "postgresql://u:p#w: x@db/app\nenvironment: production\n  evil: [1"
    const settings = settingsOf(
      lines(
        "duckdb:",
        "  attached_databases:",
        '    - { alias: a, type: postgres, connection_string: "${PG}" }'
      ),
      { PG: hostile }
    )
    expect(secretOf(settings.duckdb.attached_databases[0]!.connection_string)).toBe(hostile)
    expect(settings.environment).toBe("development")
    expect(settingsOf("server:\n  host: ${H}", { H: "a # b: c" }).server.host).toBe("a # b: c")
  })

  it("leaves a lone $ and unmatched braces alone", () => {
    expect(settingsOf("server:\n  host: a$b{c}$").server.host).toBe("a$b{c}$")
  })
})

describe("environment overrides", () => {
  it("PORT and HOST override the file", () => {
    const settings = settingsOf("server:\n  host: 127.0.0.1\n  port: 8080", { PORT: "9999", HOST: "0.0.0.0" })
    expect(settings.server.port).toBe(9999)
    expect(settings.server.host).toBe("0.0.0.0")
  })

  it("PORT and HOST apply without a config file", () => {
    const settings = settingsOf(undefined, { PORT: "3000", HOST: "::" })
    expect(settings.server).toMatchObject({ port: 3000, host: "::" })
  })

  it("checks PORT like the file's port", () => {
    expect(problemsOf(undefined, { PORT: "http" })).toEqual(["server.port: expected a port number (0-65535)"])
  })

  it("does not hide a server section that is not a mapping", () => {
    expect(problemsOf("server: 8080", { PORT: "9000" })).toEqual(["server: expected a mapping"])
  })

  it("API_KEY holds one or several comma-separated keys, each trimmed", () => {
    expect(settingsOf(undefined, { API_KEY: "only" }).secrets.apiKeys.map(secretOf)).toEqual(["only"])
    const settings = settingsOf(undefined, { API_KEY: "k1, k2 ,,k3" })
    expect(settings.secrets.apiKeys.map(secretOf)).toEqual(["k1", "k2", "k3"])
    expect(settings.generated.apiKey).toBe(false)
  })

  it("ENCRYPTION_KEY and JWT_SECRET are taken from the environment", () => {
    const settings = settingsOf(undefined, { ENCRYPTION_KEY: "k".repeat(40), JWT_SECRET: "j".repeat(32) })
    expect(secretOf(settings.secrets.encryptionKey)).toBe("k".repeat(40))
    expect(settings.generated.encryptionKey).toBe(false)
    expect(Option.map(settings.secrets.jwtSecret, secretOf)).toEqual(Option.some("j".repeat(32)))
  })

  it("no JWT_SECRET is none", () => {
    expect(Option.isNone(settingsOf(undefined).secrets.jwtSecret)).toBe(true)
  })
})

describe("production rules", () => {
  const prod = "environment: production"

  it("accepts a production config with its secrets", () => {
    const settings = settingsOf(prod, production)
    expect(settings.environment).toBe("production")
    expect(settings.generated).toEqual({ apiKey: false, encryptionKey: false })
  })

  it("requires API_KEY with api-key authentication", () => {
    expect(problemsOf(prod, { ENCRYPTION_KEY: production.ENCRYPTION_KEY })).toEqual([
      "API_KEY: required in production with api-key authentication"
    ])
  })

  it("does not take an API_KEY of commas and blanks for a key (no key would be generated in production)", () => {
    expect(problemsOf(prod, { ...production, API_KEY: " , ," })).toEqual([
      "API_KEY: required in production with api-key authentication"
    ])
  })

  it("requires ENCRYPTION_KEY of at least 32 characters", () => {
    expect(problemsOf(prod, { API_KEY: "k" })).toEqual(["ENCRYPTION_KEY: required in production"])
    expect(problemsOf(prod, { API_KEY: "k", ENCRYPTION_KEY: "e".repeat(31) })).toEqual([
      "ENCRYPTION_KEY: must be at least 32 characters"
    ])
  })

  it("refuses authentication none and a wildcard CORS origin", () => {
    expect(problemsOf(lines(prod, "security:", "  authentication:", "    type: none"), production)).toEqual([
      "security.authentication.type: none is not allowed in production"
    ])
    expect(
      problemsOf(lines(prod, "server:", "  cors_origins: ['https://a.example', '*']"), production)
    ).toEqual(['server.cors_origins: "*" is not allowed in production'])
  })

  it("reports every production problem at once", () => {
    expect(problemsOf(lines(prod, "server:", "  cors_origins: ['*']"), {})).toEqual([
      "API_KEY: required in production with api-key authentication",
      "ENCRYPTION_KEY: required in production",
      'server.cors_origins: "*" is not allowed in production'
    ])
  })

  it("requires a JWT_SECRET of 32 characters for jwt without a JWKS URL", () => {
    const jwt = lines(prod, "security:", "  authentication:", "    type: jwt")
    const env = { ENCRYPTION_KEY: production.ENCRYPTION_KEY }
    expect(problemsOf(jwt, env)).toEqual(["JWT_SECRET: required in production, at least 32 characters"])
    expect(problemsOf(jwt, { ...env, JWT_SECRET: "short" })).toEqual([
      "JWT_SECRET: required in production, at least 32 characters"
    ])
    expect(settingsOf(jwt, { ...env, JWT_SECRET: "s".repeat(32) }).security.authentication.type).toBe("jwt")
    const jwks = lines(jwt, "    jwt:", "      jwks_url: https://issuer.example/jwks.json")
    expect(settingsOf(jwks, env).security.authentication.jwt.jwks_url).toBe(
      "https://issuer.example/jwks.json"
    )
  })

  it("does not apply production rules to staging", () => {
    const settings = settingsOf("environment: staging")
    expect(settings.environment).toBe("staging")
    expect(settings.generated).toEqual({ apiKey: true, encryptionKey: true })
  })
})

describe("how the environment is chosen", () => {
  const hint =
    "environment: production (from NODE_ENV=production, as in the image); PONDPILOT_ENVIRONMENT=development runs a development server with generated keys instead"

  it("is development with no file and no variable, generating the keys", () => {
    const settings = settingsOf(undefined)
    expect(settings.environment).toBe("development")
    expect(settings.generated).toEqual({ apiKey: true, encryptionKey: true })
  })

  it("is production under NODE_ENV=production (the image) when the file does not say: missing keys stop the server", () => {
    expect(problemsOf(undefined, { NODE_ENV: "production" })).toEqual([
      "API_KEY: required in production with api-key authentication",
      "ENCRYPTION_KEY: required in production",
      hint
    ])
    expect(problemsOf("query:\n  timeout: 5s", { NODE_ENV: "production" })).toContain(hint)
    expect(settingsOf(undefined, { NODE_ENV: "production", ...production }).environment).toBe("production")
  })

  it("follows the file over NODE_ENV", () => {
    expect(settingsOf("environment: development", { NODE_ENV: "production" }).environment).toBe("development")
    expect(settingsOf("environment: staging", { NODE_ENV: "production" }).environment).toBe("staging")
    // No hint when the file chose production: whoever wrote it knows.
    expect(problemsOf("environment: production", { NODE_ENV: "production" })).not.toContain(hint)
  })

  it("follows PONDPILOT_ENVIRONMENT over the file and NODE_ENV: development only when asked for", () => {
    const asked = settingsOf(undefined, { NODE_ENV: "production", PONDPILOT_ENVIRONMENT: "development" })
    expect(asked.environment).toBe("development")
    expect(asked.generated).toEqual({ apiKey: true, encryptionKey: true })
    expect(settingsOf("environment: production", { PONDPILOT_ENVIRONMENT: "staging" }).environment).toBe(
      "staging"
    )
    expect(problemsOf("environment: development", { PONDPILOT_ENVIRONMENT: "production" })).toEqual([
      "API_KEY: required in production with api-key authentication",
      "ENCRYPTION_KEY: required in production",
      "environment: production (from PONDPILOT_ENVIRONMENT); PONDPILOT_ENVIRONMENT=development runs a development server with generated keys instead"
    ])
    expect(problemsOf(undefined, { PONDPILOT_ENVIRONMENT: "prod" })).toEqual([
      expect.stringMatching(/^environment: /)
    ])
  })
})

describe("jwt authentication outside production", () => {
  it("needs JWT_SECRET or a JWKS URL", () => {
    expect(problemsOf("security:\n  authentication:\n    type: jwt")).toEqual([
      "JWT_SECRET: required with jwt authentication (or set security.authentication.jwt.jwks_url)"
    ])
    const settings = settingsOf("security:\n  authentication:\n    type: jwt", { JWT_SECRET: "dev-secret" })
    expect(settings.generated.apiKey).toBe(false)
    expect(settings.secrets.apiKeys).toEqual([])
  })
})
