import { Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import {
  type ConnectionStringError,
  type NetworkConnection,
  type ParsedConnection,
  parseConnectionString
} from "../../src/attach/ConnectionStrings.js"
import type { DatabaseType } from "../../src/domain/Config.js"

const config = { baseDir: "/etc/pondpilot", source: "config" } as const
const api = { baseDir: "/srv/data", source: "api" } as const

const ok = (
  type: DatabaseType,
  text: string,
  options: typeof config | typeof api = config
): ParsedConnection =>
  Either.getOrThrowWith(
    parseConnectionString(type, Redacted.make(text), options),
    (e) => new Error(e.message)
  )

const net = (type: DatabaseType, text: string, options: typeof config | typeof api = config) => {
  const parsed = ok(type, text, options)
  if (parsed.type !== "postgres" && parsed.type !== "mysql") throw new Error("expected a network connection")
  const { password, secretOptions, ...rest } = parsed as NetworkConnection
  return {
    ...rest,
    password: Redacted.value(password),
    secretOptions: Object.fromEntries(Object.entries(secretOptions).map(([k, v]) => [k, Redacted.value(v)]))
  }
}

const fail = (
  type: DatabaseType,
  text: string,
  options: typeof config | typeof api = config
): ConnectionStringError => {
  const result = parseConnectionString(type, text, options)
  if (Either.isRight(result)) throw new Error("expected a failure")
  return result.left
}

describe("postgres URIs", () => {
  it("parses every part, with defaults", () => {
    expect(
      net("postgresql", "postgresql://app:pw@db.internal:6543/sales?sslmode=require&application_name=pp")
    ).toEqual({
      type: "postgres",
      host: "db.internal",
      port: 6543,
      database: "sales",
      user: "app",
      password: "pw",
      options: { sslmode: "require", application_name: "pp" },
      secretOptions: {}
    })
    expect(net("postgres", "postgres://app@db")).toMatchObject({ port: 5432, database: "app", password: "" })
  })

  it("decodes percent-escapes everywhere", () => {
    const parsed = net(
      "postgres",
      "postgresql://us%40er:p%40ss%3Aw%2Fo%25rd%20%27x@db.internal/my%20db?application_name=a%26b"
    )
    expect(parsed.user).toBe("us@er")
    expect(parsed.password).toBe("p@ss:w/o%rd 'x")
    expect(parsed.database).toBe("my db")
    expect(parsed.options.application_name).toBe("a&b")
  })

  it("accepts an unescaped @ in the password (the last @ ends the user part)", () => {
    expect(net("postgres", "postgresql://app:p@ss@db:5432/x")).toMatchObject({ password: "p@ss", host: "db" })
  })

  it("reads IPv6 hosts in brackets", () => {
    expect(net("postgres", "postgresql://u:p@[::1]:5433/d")).toMatchObject({ host: "::1", port: 5433 })
    expect(net("postgres", "postgresql://u:p@[fd00::5]/d")).toMatchObject({ host: "fd00::5", port: 5432 })
  })

  it("lets query parameters override the URI, as libpq does; ssl=true means sslmode=require", () => {
    expect(net("postgres", "postgresql://u:p@db/d?host=other&port=7000&dbname=e&ssl=true")).toMatchObject({
      host: "other",
      port: 7000,
      database: "e",
      options: { sslmode: "require" }
    })
  })

  it("keeps credential options apart", () => {
    const parsed = net("postgres", "postgresql://u:p@db/d?sslpassword=kp", config)
    expect(parsed.options).toEqual({})
    expect(parsed.secretOptions).toEqual({ sslpassword: "kp" })
  })

  it.each([
    ["postgresql://u:p@db:99999/d", "port must be a number between 1 and 65535"],
    ["postgresql://u:p@db:0/d", "port must be a number"],
    ["postgresql://u:p@db:54x/d", "port must be a number"],
    ["postgresql://u:p@/d", "the host is missing"],
    ["postgresql://u:p@h1:5432,h2:5432/d", "several hosts"],
    ["postgresql://u:p@[::1/d", 'closing "]"'],
    ["postgresql://u:p%zz@db/d", "password has a malformed percent-escape"],
    ["postgresql://u:p#x@db/d", '"#" must be percent-encoded'],
    ["postgresql://u:p@db/d?sslmode=sometimes", "sslmode must be one of"],
    ["postgresql://u:p@db/d?sslmode=require&nonsense=1", "option 2 is not a supported option"],
    ["postgresql://u:p@db/d?database=x", '"database" is not a supported option (did you mean "dbname"?)'],
    ["postgresql://u:p@db/d?flag", "key=value"],
    ["mysql://u:p@db/d", "expected a postgresql:// URI"],
    ["just some text", "expected postgresql://"]
  ])("refuses %s clearly", (text, problem) => {
    const error = fail("postgres", text)
    expect(error._tag).toBe("InvalidRequest")
    expect(error.message).toContain(problem)
    expect(error.message.startsWith("invalid postgres connection string: ")).toBe(true)
  })

  it("never echoes the password or the string in its messages", () => {
    for (const text of [
      "postgresql://u:SUPERSECRET@db:notaport/d",
      "postgresql://u:SUPERSECRET@db/d?SUPERSECRET=1",
      "postgresql://u:SUPERSECRET%zz@db/d",
      "host=db password=SUPERSECRET SUPERSECRET",
      "host=db password='SUPERSECRET",
      "host=db SUPERSECRET=x"
    ]) {
      expect(fail("postgres", text).message).not.toContain("SUPERSECRET")
    }
  })
})

describe("libpq key=value strings", () => {
  it("parses bare and quoted values", () => {
    expect(
      net("postgres", "host=db.internal port=6432 dbname=sales user=app password=secret sslmode=verify-full")
    ).toEqual({
      type: "postgres",
      host: "db.internal",
      port: 6432,
      database: "sales",
      user: "app",
      password: "secret",
      options: { sslmode: "verify-full" },
      secretOptions: {}
    })
  })

  it("follows libpq quoting: backslash escapes, and spaces around =", () => {
    expect(net("postgres", String.raw`host = db password='it\'s a \\ test' user=a\ b`)).toMatchObject({
      password: String.raw`it's a \ test`,
      user: "a b"
    })
    expect(net("postgres", "host=db password='' user=u")).toMatchObject({ password: "", user: "u" })
  })

  it("also accepts a doubled quote inside quotes, as SQL writes it", () => {
    expect(net("postgres", "host=db password='it''s' dbname=d")).toMatchObject({
      password: "it's",
      database: "d"
    })
    expect(net("postgres", "host=db password='''' dbname=d")).toMatchObject({ password: "'" })
  })

  it.each([
    ["host=db password='open", "unterminated quoted value"],
    ["host=db password", 'missing "=" after "password"'],
    ["host=db password=two words", 'missing "=" after option 3'],
    ["host=db =x", "has no key"],
    ["host=db port=abc", "port must be a number"],
    ["host=db password='a'b", "unexpected text after the value"],
    ["port=5432 dbname=x", "the host is missing"]
  ])("refuses %s clearly", (text, problem) => {
    expect(fail("postgres", text).message).toContain(problem)
  })
})

describe("mysql", () => {
  it("parses URIs with percent-escapes and a default port", () => {
    expect(net("mysql", "mysql://app:p%40ss%2Fw@db.internal/shop")).toEqual({
      type: "mysql",
      host: "db.internal",
      port: 3306,
      database: "shop",
      user: "app",
      password: "p@ss/w",
      options: {},
      secretOptions: {}
    })
    expect(net("mysql", "mariadb://app@[::1]:3307")).toMatchObject({ host: "::1", port: 3307, database: "" })
  })

  it("maps ssl-mode (MySQL URI style) and ssl_mode to the secret's ssl_mode", () => {
    expect(net("mysql", "mysql://u:p@db/s?ssl-mode=REQUIRED").options).toEqual({ ssl_mode: "required" })
    expect(net("mysql", "mysql://u:p@db/s?ssl_mode=verify_identity&ssl-cipher=AES").options).toEqual({
      ssl_mode: "verify_identity",
      ssl_cipher: "AES"
    })
    expect(fail("mysql", "mysql://u:p@db/s?ssl-mode=sometimes").message).toContain("ssl_mode must be one of")
    expect(fail("mysql", "mysql://u:p@db/s?compress=1").message).toContain(
      '"compress" is not a supported option'
    )
  })

  it("parses DuckDB's key=value form with double-quoted values", () => {
    expect(net("mysql", String.raw`host=db user=app passwd="a \"b\" \\c" db=shop port=3310`)).toMatchObject({
      host: "db",
      user: "app",
      password: String.raw`a "b" \c`,
      database: "shop",
      port: 3310
    })
  })
})

describe("what an API client may not set", () => {
  it.each([
    ["postgres", "postgresql://u:p@db/d?sslkey=/etc/ssl/private/key.pem", "sslkey"],
    ["postgres", "postgresql://u:p@db/d?passfile=/root/.pgpass", "passfile"],
    ["postgres", "postgresql://u:p@db/d?service=prod", "service"],
    ["postgres", "postgresql://u:p@db/d?sslkeylogfile=/tmp/keys", "sslkeylogfile"],
    ["postgres", "postgresql://u:p@db/d?hostaddr=10.0.0.1", "hostaddr"],
    ["postgres", "postgresql://u:p@db/d?sslrootcert=/etc/ca.pem", "sslrootcert"],
    ["postgres", "host=/var/run/postgresql dbname=d", "Unix socket"],
    ["postgres", "postgresql://u:p@db/d?options=-c%20role%3Dadmin", "options"],
    ["postgres", "postgresql://u:p@db/d?gssencmode=prefer", "gssencmode"],
    ["postgres", "host=db user=u krbsrvname=postgres", "krbsrvname"],
    ["postgres", "postgresql://u:p@db/d?sslcertmode=require", "sslcertmode"],
    ["postgres", "postgresql://u:p@db/d?sslcert=/root/.postgresql/postgresql.crt", "sslcert"],
    ["postgres", "postgresql://u:p@db/d?sslcrl=/etc/crl.pem", "sslcrl"],
    ["mysql", "mysql://u:p@db/s?ssl-key=/k.pem", "ssl_key"],
    ["mysql", "host=localhost socket=/run/mysqld/mysqld.sock", "socket"]
  ] as const)("%s: %s", (type, text, option) => {
    const error = fail(type, text, api)
    expect(error._tag).toBe("ForbiddenStatement")
    expect(error.message).toContain(option)
    expect(error.message).toContain("config file")
    // The operator's config file may set them.
    expect(Either.isRight(parseConnectionString(type, text, config))).toBe(true)
  })

  it("allows gssencmode and sslcertmode only as disable, the values an API attach gets anyway", () => {
    expect(
      net("postgres", "postgresql://u:p@db/d?gssencmode=disable&sslcertmode=disable", api).options
    ).toEqual({
      gssencmode: "disable",
      sslcertmode: "disable"
    })
  })

  it("allows sslrootcert=system, the system's CA store", () => {
    expect(
      net("postgres", "postgresql://u:p@db/d?sslrootcert=system&sslmode=verify-full", api).options
    ).toEqual({
      sslrootcert: "system",
      sslmode: "verify-full"
    })
  })
})

describe("file databases", () => {
  it("resolves relative paths against baseDir and keeps absolute ones", () => {
    expect(ok("duckdb", "data/sales.duckdb")).toEqual({
      type: "duckdb",
      path: "/etc/pondpilot/data/sales.duckdb"
    })
    expect(ok("sqlite", "/var/lib/app.db")).toEqual({ type: "sqlite", path: "/var/lib/app.db" })
    expect(ok("duckdb", "/a/b/../c.duckdb")).toEqual({ type: "duckdb", path: "/a/c.duckdb" })
  })

  it.each([
    ["", "empty"],
    ["   ", "empty"],
    [":memory:", "not a URI"],
    ["s3://bucket/x.duckdb", "not a URI"],
    ["md:my_db", "not a URI"],
    ["file:app.db?mode=ro", "not a URI"],
    ["a\0b", "NUL"]
  ])("refuses %j", (text, problem) => {
    expect(fail("duckdb", text).message).toContain(problem)
  })
})
