import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Either, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { detachStatement, NoPassfile, PostgresApiPins, planAttach } from "../../src/attach/AttachPlan.js"
import { type ParsedConnection, parseConnectionString } from "../../src/attach/ConnectionStrings.js"
import { classifyExtensionError } from "../../src/attach/Extensions.js"
import { checkFileAttach } from "../../src/attach/FilePolicy.js"
import type { DatabaseType } from "../../src/domain/Config.js"
import { quoteIdentifier, quoteLiteral } from "../../src/sql/Quote.js"
import { errorOf, openInstance, rows } from "../support/DuckDBFiles.js"

const parse = (type: DatabaseType, text: string, source: "api" | "config" = "config"): ParsedConnection =>
  Either.getOrThrowWith(
    parseConnectionString(type, text, { baseDir: "/cfg", source }),
    (e) => new Error(e.message)
  )

const prepared = (plan: { prepare: ReadonlyArray<Redacted.Redacted<string>> }) =>
  plan.prepare.map(Redacted.value)

// A value with every character that could break out of a literal or an identifier.
const nasty = String.raw`q'uo"te\back\\slash ' OR 1=1 -- é
tab	end`

describe("planAttach: postgres", () => {
  it("puts credentials in a temporary secret and attaches '' read-only", () => {
    const plan = planAttach(
      "sales",
      parse("postgres", "postgresql://app:pw@db.internal:6543/sales?sslmode=require"),
      { source: "config" }
    )
    expect(prepared(plan)).toEqual([
      `CREATE OR REPLACE TEMPORARY SECRET "__pondpilot_attach_sales" (TYPE postgres, HOST 'db.internal', PORT '6543', DATABASE 'sales', USER 'app', PASSWORD 'pw', FALLBACK_APPLICATION_NAME 'pondpilot-proxy', SSLMODE 'require')`
    ])
    expect(plan.attach).toBe(
      `ATTACH '' AS "sales" (TYPE postgres, SECRET "__pondpilot_attach_sales", READ_ONLY, SECRET_STORAGE_TABLE '')`
    )
    expect(plan.cleanup).toEqual([`DROP TEMPORARY SECRET IF EXISTS "__pondpilot_attach_sales"`])
    expect(plan.extension).toBe("postgres")
    expect(plan.allowedPaths).toEqual([])
  })

  it("for an API attach, sets a passfile that cannot exist (no ~/.pgpass, no PGPASSFILE)", () => {
    const plan = planAttach("a", parse("postgres", "postgresql://u@db/d", "api"), { source: "api" })
    expect(prepared(plan)[0]).toContain(`PASSWORD '', PASSFILE '${NoPassfile}'`)
    const fromConfig = planAttach("a", parse("postgres", "postgresql://u@db/d"), { source: "config" })
    expect(prepared(fromConfig)[0]).not.toContain("PASSFILE")
  })

  it("for an API attach, pins every file and mode through which libpq would use the server's credentials", () => {
    const plan = planAttach("a", parse("postgres", "postgresql://u:p@db/d?sslmode=require", "api"), {
      source: "api"
    })
    const secret = prepared(plan)[0]!
    for (const [key, value] of PostgresApiPins) expect(secret).toContain(`${key.toUpperCase()} '${value}'`)
    expect(secret).toContain("SSLCERT '/nonexistent/")
    expect(secret).toContain("GSSENCMODE 'disable'")
    // What the client chose stays, once.
    const system = planAttach(
      "a",
      parse("postgres", "postgresql://u:p@db/d?sslrootcert=system&sslmode=verify-full", "api"),
      { source: "api" }
    )
    expect(prepared(system)[0]!.match(/SSLROOTCERT/g)).toEqual(["SSLROOTCERT"])
    expect(prepared(system)[0]).toContain("SSLROOTCERT 'system'")
    const fromConfig = planAttach("a", parse("postgres", "postgresql://u:p@db/d"), { source: "config" })
    expect(prepared(fromConfig)[0]).not.toMatch(/SSLCERT|SSLKEY|SSLROOTCERT|GSSENCMODE|SSLCERTMODE/)
  })

  it("pins a checked address with HOSTADDR and keeps HOST for TLS", () => {
    const plan = planAttach("a", parse("postgres", "postgresql://u:p@db.internal/d", "api"), {
      pinnedAddress: "10.1.2.3"
    })
    expect(prepared(plan)[0]).toContain(`HOST 'db.internal', HOSTADDR '10.1.2.3', PORT '5432'`)
  })

  it("never holds the password anywhere but the Redacted secret statement", () => {
    const plan = planAttach("a", parse("postgres", "postgresql://u:TOPSECRET@db/d?sslpassword=KEYSECRET"))
    expect(plan.attach + plan.cleanup.join()).not.toMatch(/SECRET(?:ED)?'|TOPSECRET|KEYSECRET/)
    expect(JSON.stringify(plan)).not.toMatch(/TOPSECRET|KEYSECRET/)
    expect(String(plan.prepare[0])).not.toContain("TOPSECRET")
    expect(prepared(plan)[0]).toContain(`SSLPASSWORD 'KEYSECRET'`)
    expect(plan.scrub("x TOPSECRET y KEYSECRET z")).toBe("x <redacted> y <redacted> z")
  })

  it("tells PostgreSQL the proxy's deadline as statement_timeout, after any options the client gave", () => {
    const plain = planAttach("a", parse("postgres", "postgresql://u@db/d"), {
      statementTimeoutMillis: 30_000
    })
    expect(prepared(plain)[0]).toContain(`OPTIONS '-c statement_timeout=30000'`)
    const given = planAttach("a", parse("postgres", "postgresql://u@db/d?options=-c%20search_path%3Dx"), {
      statementTimeoutMillis: 1_500
    })
    expect(prepared(given)[0]).toContain(`OPTIONS '-c search_path=x -c statement_timeout=1500'`)
    const mysql = planAttach("a", parse("mysql", "mysql://u@db/d"), { statementTimeoutMillis: 1_500 })
    expect(prepared(mysql)[0]).not.toContain("statement_timeout")
  })

  it("names its connections pondpilot-proxy unless the client named them (libpq prefers application_name)", () => {
    const named = planAttach("a", parse("postgres", "postgresql://u@db/d?application_name=pp"))
    expect(prepared(named)[0]).toContain(`FALLBACK_APPLICATION_NAME 'pondpilot-proxy', APPLICATION_NAME 'pp'`)
    const fallback = planAttach("a", parse("postgres", "postgresql://u@db/d?fallback_application_name=fb"))
    expect(prepared(fallback)[0]!.match(/FALLBACK_APPLICATION_NAME '[^']*'/g)).toEqual([
      "FALLBACK_APPLICATION_NAME 'fb'"
    ])
  })

  it("has a read-only control attach through the same secret, for the server's own cancels", () => {
    const plan = planAttach("sales", parse("postgres", "postgresql://u:TOPSECRET@db/d"))
    expect(plan.controlAttach).toBe(
      `ATTACH '' AS "__pondpilot_control" (TYPE postgres, SECRET "__pondpilot_attach_sales", READ_ONLY, SECRET_STORAGE_TABLE '')`
    )
  })
})

describe("planAttach: mysql", () => {
  it("uses a mysql secret, always sets SOCKET so MYSQL_UNIX_PORT is never read", () => {
    const plan = planAttach("crm", parse("mysql", "mysql://app:pw@db:3307/shop?ssl-mode=required"))
    expect(prepared(plan)).toEqual([
      `CREATE OR REPLACE TEMPORARY SECRET "__pondpilot_attach_crm" (TYPE mysql, HOST 'db', PORT '3307', DATABASE 'shop', USER 'app', PASSWORD 'pw', SOCKET '', SSL_MODE 'required')`
    ])
    expect(plan.attach).toBe(`ATTACH '' AS "crm" (TYPE mysql, SECRET "__pondpilot_attach_crm", READ_ONLY)`)
    expect(plan.controlAttach).toBe(
      `ATTACH '' AS "__pondpilot_control" (TYPE mysql, SECRET "__pondpilot_attach_crm")`
    )
    expect(plan.extension).toBe("mysql")
  })

  it("pins by replacing the host, except when the certificate must match the name", () => {
    const pinned = planAttach("a", parse("mysql", "mysql://u:p@db.internal/s"), { pinnedAddress: "10.0.0.7" })
    expect(prepared(pinned)[0]).toContain(`HOST '10.0.0.7'`)
    const verified = planAttach("a", parse("mysql", "mysql://u:p@db.internal/s?ssl-mode=verify_identity"), {
      pinnedAddress: "10.0.0.7"
    })
    expect(prepared(verified)[0]).toContain(`HOST 'db.internal'`)
  })
})

describe("quoting, checked by DuckDB's own parser", () => {
  let db: Awaited<ReturnType<typeof openInstance>>
  beforeAll(async () => {
    db = await openInstance({ allow_unredacted_secrets: "true" })
  })
  afterAll(() => db?.close())

  it("a secret literal survives CREATE SECRET intact (built-in http secret type)", async () => {
    await db.connection.run(
      `CREATE OR REPLACE TEMPORARY SECRET ${quoteIdentifier(`s"1`)} (TYPE http, BEARER_TOKEN ${quoteLiteral(nasty)})`
    )
    const [row] = await rows(db.connection, "SELECT secret_string FROM duckdb_secrets(redact=false)")
    expect(String(row!.secret_string).endsWith(`bearer_token=${nasty}`)).toBe(true)
    await db.connection.run(`DROP TEMPORARY SECRET ${quoteIdentifier(`s"1`)}`)
  })

  it.each([
    [
      "postgres",
      `postgresql://${encodeURIComponent(nasty)}:${encodeURIComponent(nasty)}@db/${encodeURIComponent(nasty)}?application_name=${encodeURIComponent(nasty)}`
    ],
    [
      "mysql",
      `mysql://${encodeURIComponent(nasty)}:${encodeURIComponent(nasty)}@db/${encodeURIComponent(nasty)}`
    ]
  ] as const)("%s statements with quotes and backslashes in every field parse as one statement", async (type, text) => {
    const plan = planAttach(`al"ias`, parse(type, text))
    for (const sql of [...prepared(plan), plan.attach, ...plan.cleanup, detachStatement(`al"ias`)]) {
      const extracted = await db.connection.extractStatements(sql)
      expect(extracted.count).toBe(1)
    }
    // Without the extension the secret fails at bind time, past the parser, and says nothing secret.
    const error = await errorOf(db.connection, prepared(plan)[0]!)
    expect(error).toMatch(new RegExp(`^Invalid Input Error: Secret type '${type}' does not exist`))
    expect(error).not.toContain("OR 1=1")
    expect(classifyExtensionError(error!)?.message).toContain(`"${type}"`)
  })

  it("DuckDB's parser echoes a broken statement, password included; scrub removes it", async () => {
    const plan = planAttach("a", parse("postgres", "postgresql://u:Pa55'word@db/d"), { source: "config" })
    const broken = `${prepared(plan)[0]!.slice(0, -1)},,)`
    const error = await errorOf(db.connection, broken)
    expect(error).toContain("Parser Error")
    expect(error).toContain("Pa55''word")
    const scrubbed = plan.scrub(error!)
    expect(scrubbed).not.toContain("Pa55")
    expect(scrubbed).toContain("Parser Error")
  })
})

describe("attaching without the scanner extensions (this machine has none)", () => {
  let db: Awaited<ReturnType<typeof openInstance>>
  let extensionDirectory: string
  beforeAll(async () => {
    extensionDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "pp-ext-"))
    db = await openInstance()
    await db.connection.run(`SET extension_directory = ${quoteLiteral(extensionDirectory)}`)
  })
  afterAll(() => {
    db?.close()
    fs.rmSync(extensionDirectory, { recursive: true, force: true })
  })

  it.each([
    ["postgres", "postgresql://app:Secr3tPw@127.0.0.1:5432/db", "postgres"],
    ["mysql", "mysql://app:Secr3tPw@127.0.0.1:3306/db", "mysql"],
    ["sqlite", "/srv/data/app.sqlite", "sqlite"]
  ] as const)("%s: ATTACH fails as extension_unavailable, and nothing reveals a secret", async (type, text, extension) => {
    const plan = planAttach("up", parse(type, text), { scrubAlso: [extensionDirectory] })
    for (const sql of prepared(plan)) await errorOf(db.connection, sql)
    const raw = await errorOf(db.connection, plan.attach)
    for (const sql of plan.cleanup) expect(await errorOf(db.connection, sql)).toBeUndefined()
    // Measured: IO Error: Extension "<dir>/v1.5.5/<platform>/<name>_scanner.duckdb_extension" not found. …
    expect(raw).toMatch(/^IO Error: Extension ".*_scanner\.duckdb_extension" not found\./)
    const classified = classifyExtensionError(raw!)
    expect(classified?._tag).toBe("ExtensionUnavailable")
    expect(classified?.message).toContain(`"${extension}"`)
    expect(classified?.message).toContain("npm run extensions:install")
    expect(classified?.message).not.toContain("/")
    const scrubbed = plan.scrub(raw!)
    expect(scrubbed).not.toContain(extensionDirectory)
    expect(scrubbed).not.toContain("/srv/data")
    const databases = JSON.stringify(await rows(db.connection, "SELECT * FROM duckdb_databases()"))
    expect(databases).not.toContain("Secr3tPw")
    expect(await rows(db.connection, "SELECT count(*) AS n FROM duckdb_secrets()")).toEqual([{ n: "0" }])
  })
})

describe("a DuckDB file, for real", () => {
  let dir: string
  let file: string
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pp-attach-"))
    file = path.join(dir, "sales.duckdb")
    const writer = await openInstance()
    await writer.connection.run(`ATTACH ${quoteLiteral(file)} AS w`)
    await writer.connection.run(
      "CREATE TABLE w.orders AS SELECT range AS id, range * 10 AS amount FROM range(3)"
    )
    await writer.connection.run("DETACH w")
    writer.close()
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("attaches read-only, joins with the instance's own tables, detaches", async () => {
    const parsed = parse("duckdb", "sales.duckdb")
    const allowed = await Effect.runPromise(checkFileAttach({ ...parsed, path: file } as never, "config", []))
    const plan = planAttach("sales", allowed)
    expect(plan.attach).toBe(`ATTACH ${quoteLiteral(file)} AS "sales" (TYPE duckdb, READ_ONLY)`)
    expect(plan.allowedPaths).toEqual([file, `${file}.wal`])
    const db = await openInstance()
    try {
      await db.connection.run(plan.attach)
      await db.connection.run(
        "CREATE TABLE names AS SELECT * FROM (VALUES (1, 'one'), (2, 'two')) t(id, name)"
      )
      expect(
        await rows(
          db.connection,
          "SELECT n.name, o.amount FROM names n JOIN sales.orders o USING (id) ORDER BY id"
        )
      ).toEqual([
        { name: "one", amount: "10" },
        { name: "two", amount: "20" }
      ])
      const [info] = await rows(
        db.connection,
        "SELECT readonly, type FROM duckdb_databases() WHERE database_name = 'sales'"
      )
      expect(info).toEqual({ readonly: true, type: "duckdb" })
      expect(await errorOf(db.connection, "INSERT INTO sales.orders VALUES (9, 9)")).toMatch(/read-only/)
      await db.connection.run(detachStatement("sales"))
      expect(
        await rows(
          db.connection,
          "SELECT count(*) AS n FROM duckdb_databases() WHERE database_name = 'sales'"
        )
      ).toEqual([{ n: "0" }])
      // After lockdown, allowedPaths is what lets the server attach it again.
      await db.connection.run(`SET allowed_paths = [${plan.allowedPaths.map(quoteLiteral).join(", ")}]`)
      await db.connection.run("SET enable_external_access = false")
      await db.connection.run("SET lock_configuration = true")
      await db.connection.run(plan.attach)
      expect(await rows(db.connection, "SELECT count(*) AS n FROM sales.orders")).toEqual([{ n: "3" }])
      const other = planAttach("other", { type: "duckdb", path: path.join(dir, "other.duckdb") })
      expect(await errorOf(db.connection, other.attach)).toMatch(/Permission Error/)
    } finally {
      db.close()
    }
  })

  it("a missing file fails with a scrubbed message", async () => {
    const plan = planAttach("nope", { type: "duckdb", path: path.join(dir, "missing.duckdb") })
    const db = await openInstance()
    try {
      const raw = await errorOf(db.connection, plan.attach)
      expect(raw).toContain(dir)
      expect(plan.scrub(raw!)).toBe(
        'IO Error: Cannot open database "<path>/missing.duckdb" in read-only mode: database does not exist'
      )
    } finally {
      db.close()
    }
  })
})
