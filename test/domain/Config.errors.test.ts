import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { loadSettings } from "../../src/domain/ConfigLoader.js"
import { cwd, lines, load, problemsOf, settingsOf } from "../support/ConfigFiles.js"

const notADuration = "not a duration (use e.g. 500ms, 30s, 10m, 1h)"
const notASize = "not a size (use e.g. 512MB, 4GB, 1GiB)"
const databaseTypes = "expected one of postgres, postgresql, mysql, sqlite, duckdb"

const attached = (...databases: ReadonlyArray<string>) =>
  lines("duckdb:", "  attached_databases:", ...databases.map((database) => `    - ${database}`))

describe("unknown keys", () => {
  it("reports a typo at the top level", () => {
    expect(problemsOf("serverx:\n  port: 1")).toEqual(["serverx: unknown key"])
  })

  it("reports a typo in a section with its full path", () => {
    expect(problemsOf(lines("server:", "  prot: 8080"))).toEqual(["server.prot: unknown key"])
  })

  it("reports a typo deep inside nested sections and list items", () => {
    expect(problemsOf(lines("security:", "  authentication:", "    jwt:", "      isuser: x"))).toEqual([
      "security.authentication.jwt.isuser: unknown key"
    ])
    expect(problemsOf(attached("{ alias: a, type: sqlite, connection_string: x, password: y }"))).toEqual([
      "duckdb.attached_databases[0].password: unknown key"
    ])
  })
})

describe("wrong types", () => {
  it.each(["abc", "70000", "-1", "80.5", "true", "[1]"])("port %s is not a port", (port) => {
    expect(problemsOf(`server:\n  port: ${port}`)).toEqual(["server.port: expected a port number (0-65535)"])
  })

  it("accepts a port written as a quoted number", () => {
    expect(settingsOf(`server:\n  port: "9000"`).server.port).toBe(9000)
  })

  it.each([
    ["server:\n  host: 5", "server.host: expected a string"],
    ["server:\n  cors_origins: '*'", "server.cors_origins: expected a list of strings"],
    ["duckdb:\n  extensions: [arrow, 5]", "duckdb.extensions[1]: expected a string"],
    ["duckdb:\n  max_instances: 0", "duckdb.max_instances: expected a positive integer"],
    ["duckdb:\n  settings:\n    threads: 1.5", "duckdb.settings.threads: expected a positive integer"],
    [
      "security:\n  rate_limit:\n    burst_size: -1",
      "security.rate_limit.burst_size: expected a non-negative integer"
    ],
    ["security:\n  read_only: yes", "security.read_only: expected true or false"],
    [
      "duckdb:\n  connection_pool:\n    validate_on_acquire: 1",
      "duckdb.connection_pool.validate_on_acquire: expected true or false"
    ],
    ["server: 5", "server: expected a mapping"],
    ["duckdb:\n  connection_pool: [1, 2]", "duckdb.connection_pool: expected a mapping"],
    ["metrics: null", "metrics: expected a mapping"],
    ["state:\n  redis_url: 6379", "state.redis_url: expected a string"],
    [attached("just-a-name"), "duckdb.attached_databases[0]: expected a mapping"],
    ["duckdb:\n  attached_databases: {}", "duckdb.attached_databases: expected a list of databases"]
  ])("%j → %s", (text, problem) => {
    expect(problemsOf(text)).toEqual([problem])
  })

  it("refuses min_connections above max_connections", () => {
    expect(
      problemsOf(lines("duckdb:", "  connection_pool:", "    min_connections: 5", "    max_connections: 2"))
    ).toEqual(["duckdb.connection_pool.min_connections: must not exceed max_connections"])
  })
})

describe("durations and sizes", () => {
  it.each(["10x", "10", "-5s", "1h 30m", "soon", "5"])("read_timeout %s is not a duration", (value) => {
    expect(problemsOf(`server:\n  read_timeout: ${value}`)).toEqual([`server.read_timeout: ${notADuration}`])
  })

  it("reports a bad duration in a nested section", () => {
    expect(problemsOf(lines("duckdb:", "  connection_pool:", "    idle_timeout: 5 minutes"))).toEqual([
      `duckdb.connection_pool.idle_timeout: ${notADuration}`
    ])
  })

  it("memory_limit below what DuckDB can run with is refused", () => {
    expect(problemsOf("duckdb:\n  settings:\n    memory_limit: 1MB")).toEqual([
      "duckdb.settings.memory_limit: expected at least 16MB"
    ])
  })

  it.each(["4XB", "-1GB", "lots", "true", "GB"])("memory_limit %s is not a size", (value) => {
    expect(problemsOf(`duckdb:\n  settings:\n    memory_limit: ${value}`)).toEqual([
      `duckdb.settings.memory_limit: ${notASize}`
    ])
  })
})

describe("enumerations", () => {
  it("names the allowed database types at the item's path", () => {
    expect(
      problemsOf(
        attached(
          "{ alias: a, type: postgres, connection_string: x }",
          "{ alias: b, type: oracle, connection_string: x }"
        )
      )
    ).toEqual([`duckdb.attached_databases[1].type: ${databaseTypes}`])
  })

  it.each([
    ["environment: prod", "environment: expected one of development, staging, production"],
    [
      "security:\n  authentication:\n    type: basic",
      "security.authentication.type: expected one of api-key, jwt, none"
    ],
    [
      "security:\n  encryption:\n    algorithm: DES",
      "security.encryption.algorithm: expected one of AES-256-GCM"
    ],
    [
      "security:\n  encryption:\n    key_derivation: md5",
      "security.encryption.key_derivation: expected one of pbkdf2, scrypt"
    ]
  ])("%j → %s", (text, problem) => {
    expect(problemsOf(text)).toEqual([problem])
  })
})

describe("attached databases", () => {
  it("refuses a duplicate alias", () => {
    expect(
      problemsOf(
        attached(
          "{ alias: a, type: sqlite, connection_string: x }",
          "{ alias: a, type: duckdb, connection_string: y }"
        )
      )
    ).toEqual(['duckdb.attached_databases: duplicate alias "a"'])
  })

  it("reports a duplicate alias in the same run as other problems of the file", () => {
    expect(
      problemsOf(
        lines(
          "server:",
          "  read_timeout: soon",
          "duckdb:",
          "  attached_databases:",
          "    - { alias: a, type: oracle, connection_string: x }",
          "    - { alias: a, type: sqlite, connection_string: y }"
        )
      )
    ).toEqual([
      `server.read_timeout: ${notADuration}`,
      `duckdb.attached_databases[0].type: ${databaseTypes}`,
      'duckdb.attached_databases: duplicate alias "a"'
    ])
  })

  it("reports the deeper checks in the same run as the environment's refusals", () => {
    const result = loadSettings({
      env: { CONFIG_FILE: "config.yaml", ENCRYPTION_KEY: "short" },
      cwd,
      readFile: () => lines("environment: production", "server:", "  trusted_proxies: [not-a-cidr]"),
      check: (settings) =>
        settings.server.trusted_proxies.map((entry) => `server.trusted_proxies: bad ${entry}`)
    })
    expect(Either.isLeft(result) ? result.left : []).toEqual([
      "API_KEY: required in production with api-key authentication",
      "ENCRYPTION_KEY: must be at least 32 characters",
      "server.trusted_proxies: bad not-a-cidr"
    ])
  })

  it("compares aliases without regard to case, as DuckDB does", () => {
    expect(
      problemsOf(
        attached(
          "{ alias: Sales, type: sqlite, connection_string: x }",
          "{ alias: sales, type: duckdb, connection_string: y }"
        )
      )
    ).toEqual(['duckdb.attached_databases: duplicate alias "sales"'])
  })

  it.each([
    "main",
    "Memory",
    "SYSTEM",
    "temp",
    "pg_catalog",
    "Information_Schema"
  ])("refuses the reserved alias %s", (alias) => {
    expect(problemsOf(attached(`{ alias: ${alias}, type: sqlite, connection_string: x }`))).toEqual([
      `duckdb.attached_databases[0].alias: "${alias}" is a reserved catalog or schema name`
    ])
  })

  it.each(["1sales", "my-db", "a b", "x".repeat(64)])("refuses the alias %s", (alias) => {
    expect(problemsOf(attached(`{ alias: "${alias}", type: sqlite, connection_string: x }`))).toEqual([
      "duckdb.attached_databases[0].alias: must match ^[A-Za-z_][A-Za-z0-9_]{0,62}$"
    ])
  })

  it("names each missing required key", () => {
    expect(problemsOf(attached("{ type: postgres, connection_string: x }"))).toEqual([
      "duckdb.attached_databases[0].alias: is required"
    ])
    expect(problemsOf(attached("{ alias: a }"))).toEqual([
      "duckdb.attached_databases[0].type: is required",
      "duckdb.attached_databases[0].connection_string: is required"
    ])
  })
})

describe("several problems", () => {
  it("reports every problem, one line each, not just the first", () => {
    const problems = problemsOf(
      lines(
        "server:",
        "  prot: 1",
        "  read_timeout: nope",
        "duckdb:",
        "  max_instances: 0",
        "  attached_databases:",
        "    - { alias: a, type: postgres, connection_string: x }",
        "    - { alias: b, type: oracle, connection_string: x }",
        "environment: prod"
      )
    )
    expect([...problems].sort()).toEqual(
      [
        "server.prot: unknown key",
        `server.read_timeout: ${notADuration}`,
        "duckdb.max_instances: expected a positive integer",
        `duckdb.attached_databases[1].type: ${databaseTypes}`,
        "environment: expected one of development, staging, production"
      ].sort()
    )
    for (const problem of problems) expect(problem).not.toContain("\n")
  })
})

describe("the file itself", () => {
  it("reports a YAML syntax error with its line and column", () => {
    expect(problemsOf(lines("server:", "  port: 8080", "  cors_origins: [a, b"))).toEqual([
      "config: YAML error at line 3, column 22: Flow sequence in block collection must be sufficiently indented and end with a ]"
    ])
  })

  it("reports a key written twice", () => {
    expect(problemsOf(lines("server:", "  port: 1", "  port: 2"))).toEqual([
      "config: YAML error at line 3, column 3: Map keys must be unique"
    ])
  })

  it("refuses an alias bomb instead of expanding it", () => {
    const bomb = lines(
      'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]"
    )
    const problems = problemsOf(bomb)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^config: YAML error: /)
  })

  it.each([
    ["a list", "- server\n- duckdb"],
    ["a scalar", "42"],
    ["a string", "just text"]
  ])("refuses a document that is %s", (_, text) => {
    expect(problemsOf(text)).toEqual(["config: expected a mapping of sections"])
  })

  it("treats an empty file or one of comments only as all defaults", () => {
    expect(settingsOf("").server.port).toBe(8080)
    expect(settingsOf("# nothing here\n").environment).toBe("development")
  })

  it("says which path it tried, resolved, and why it could not read it", () => {
    const problemsFor = (file: string, why?: string) =>
      Either.match(
        loadSettings({
          env: { CONFIG_FILE: file },
          cwd,
          readFile: () => (why === undefined ? undefined : { unreadable: why })
        }),
        { onLeft: (problems) => problems, onRight: () => [] }
      )
    expect(problemsFor("/etc/pondpilot/pondpilot.yaml", "no such file")).toEqual([
      "CONFIG_FILE: cannot read /etc/pondpilot/pondpilot.yaml: no such file"
    ])
    expect(problemsFor("conf/pondpilot.yml")).toEqual([`CONFIG_FILE: cannot read ${cwd}/conf/pondpilot.yml`])
  })

  it("resolves a relative CONFIG_FILE against the working directory", () => {
    const read: Array<string> = []
    const result = loadSettings({
      env: { CONFIG_FILE: "conf/pondpilot.yaml" },
      cwd,
      readFile: (file) => {
        read.push(file)
        return "server:\n  port: 1234"
      }
    })
    expect(read).toEqual([`${cwd}/conf/pondpilot.yaml`])
    const settings = Either.getOrThrow(result)
    expect(settings.server.port).toBe(1234)
    expect(settings.configDir).toBe(`${cwd}/conf`)
    expect(settings.configFile).toEqual(expect.objectContaining({ value: `${cwd}/conf/pondpilot.yaml` }))
  })

  it("reads nothing when CONFIG_FILE is not set", () => {
    const result = loadSettings({
      env: {},
      cwd,
      readFile: () => {
        throw new Error("no file should be read")
      }
    })
    expect(Either.isRight(result)).toBe(true)
    expect(Either.getOrThrow(load(undefined)).configDir).toBe(cwd)
  })
})
