import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { Effect, Either, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AttachPlan, planAttach } from "../../src/attach/AttachPlan.js"
import { isFileConnection, parseConnectionString } from "../../src/attach/ConnectionStrings.js"
import { classifyExtensionError, planExtensions } from "../../src/attach/Extensions.js"
import { checkFileAttach } from "../../src/attach/FilePolicy.js"
import {
  checkHost,
  classifyUpstreamError,
  classifyUpstreamFailure,
  compileHostPolicy,
  systemResolver
} from "../../src/attach/HostPolicy.js"
import type { DatabaseType } from "../../src/domain/Config.js"
import { quoteLiteral } from "../../src/sql/Quote.js"
import { errorOf, openInstance, rows } from "../support/DuckDBFiles.js"
import {
  findBinaries,
  freePort,
  type MariaDb,
  type Postgres,
  skipUnlessReady,
  startMariaDb,
  startPostgres
} from "./upstreams.js"

/**
 * Real PostgreSQL + MariaDB + a DuckDB file, joined in one DuckDB query through the attach plans.
 *
 * Runs when PONDPILOT_TEST_EXTENSION_DIR names a directory holding the postgres and mysql extensions
 * for this DuckDB (fill one with `npm run extensions:install -- --dir DIR`), and Debian's
 * postgresql and mariadb-server are installed. PONDPILOT_TEST_UPSTREAMS=1 runs only the server
 * part (start, seed, measured client errors), for machines without the extensions.
 */

const execute = promisify(execFile)

const canConnect = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port, timeout: 2_000 })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
  })
const extensionDir = process.env.PONDPILOT_TEST_EXTENSION_DIR
const upstreamsWanted = extensionDir !== undefined || process.env.PONDPILOT_TEST_UPSTREAMS === "1"
const found = findBinaries()
const binaries = "binaries" in found ? found.binaries : undefined

const upstreamSkip = !upstreamsWanted
  ? "PONDPILOT_TEST_EXTENSION_DIR is not set (a directory with the postgres and mysql extensions for DuckDB 1.5.5: npm run extensions:install -- --dir DIR)"
  : "reason" in found
    ? found.reason
    : undefined
const joinSkip =
  upstreamSkip ??
  (extensionDir === undefined
    ? "PONDPILOT_TEST_EXTENSION_DIR is not set (only the servers were tested)"
    : !fs.existsSync(extensionDir)
      ? "PONDPILOT_TEST_EXTENSION_DIR does not exist"
      : undefined)
// Locally: one printed line. Under CI=true: the file fails instead (skipUnlessReady).
skipUnlessReady("attach integration", joinSkip)

// Passwords with every character that quoting could get wrong.
const pgPassword = `pg'pa ss\\w"rd@#%:/?`
const myPassword = `my'pa ss\\w"rd@#%:/?`
const enc = encodeURIComponent

let work: string
let pg: Postgres | undefined
let maria: MariaDb | undefined
let duckdbFile: string

beforeAll(async () => {
  if (upstreamSkip !== undefined || binaries === undefined) return
  work = fs.mkdtempSync(path.join(os.tmpdir(), "pp-upstreams-"))
  fs.chmodSync(work, 0o755) // the servers run as their own users
  ;[pg, maria] = await Promise.all([startPostgres(binaries, work), startMariaDb(binaries, work)])
  await pg.sql("postgres", `CREATE ROLE reader LOGIN PASSWORD ${quoteLiteral(pgPassword)}`)
  await pg.sql("postgres", "CREATE DATABASE shop")
  await pg.sql(
    "shop",
    "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);" +
      "INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger');" +
      "GRANT SELECT ON customers TO reader;"
  )
  const mariaLiteral = `'${myPassword.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`
  await maria.sql(
    "CREATE DATABASE crm;" +
      "CREATE TABLE crm.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL);" +
      "INSERT INTO crm.orders VALUES (10, 1, 12.50), (11, 2, 7.25), (12, 1, 3.00), (13, 3, 99.99);" +
      `CREATE USER 'reader'@'%' IDENTIFIED BY ${mariaLiteral};` +
      "GRANT SELECT ON crm.* TO 'reader'@'%';"
  )
  duckdbFile = path.join(work, "tiers.duckdb")
  const writer = await openInstance()
  await writer.connection.run(`ATTACH ${quoteLiteral(duckdbFile)} AS w`)
  await writer.connection.run(
    "CREATE TABLE w.tiers AS SELECT * FROM (VALUES (1, 'gold'), (2, 'silver'), (3, 'bronze')) t(customer_id, tier)"
  )
  await writer.connection.run("DETACH w")
  writer.close()
}, 120_000)

afterAll(async () => {
  await Promise.all([pg?.stop(), maria?.stop()])
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true })
}, 60_000)

describe.skipIf(upstreamSkip !== undefined)("upstream servers (start, seed, client errors)", () => {
  it("are seeded and readable with the reader's password", async () => {
    const psql = await execute(
      binaries!.psql,
      [
        "-h",
        "127.0.0.1",
        "-p",
        String(pg!.port),
        "-U",
        "reader",
        "-d",
        "shop",
        "-qAt",
        "-c",
        "SELECT count(*) FROM customers"
      ],
      { env: { ...process.env, PGPASSWORD: pgPassword } }
    )
    expect(psql.stdout.trim()).toBe("3")
    const mariadb = await execute(binaries!.mariadb, [
      "--no-defaults",
      "-h",
      "127.0.0.1",
      "-P",
      String(maria!.port),
      "-u",
      "reader",
      `-p${myPassword}`,
      "-N",
      "-B",
      "-e",
      "SELECT count(*) FROM crm.orders"
    ])
    expect(mariadb.stdout.trim()).toBe("4")
  })

  it("the client libraries' refusals classify as the scanners' will", async () => {
    const failure = async (command: string, args: Array<string>, env: Record<string, string> = {}) => {
      try {
        await execute(command, args, { env: { ...process.env, ...env } })
        return "no error"
      } catch (error) {
        return String((error as { stderr?: string }).stderr)
      }
    }
    const closed = String(await freePort())
    const psql = (port: string, password: string) =>
      failure(
        binaries!.psql,
        ["-h", "127.0.0.1", "-p", port, "-U", "reader", "-d", "shop", "-w", "-c", "SELECT 1"],
        {
          PGPASSWORD: password
        }
      )
    const mariadb = (port: string, password: string) =>
      failure(binaries!.mariadb, [
        "--no-defaults",
        "-h",
        "127.0.0.1",
        "-P",
        port,
        "-u",
        "reader",
        `-p${password}`,
        "-e",
        "SELECT 1"
      ])
    expect(classifyUpstreamFailure(await psql(String(pg!.port), "wrong"))).toBe("refused_login")
    expect(classifyUpstreamFailure(await psql(closed, "x"))).toBe("refused")
    expect(classifyUpstreamFailure(await mariadb(String(maria!.port), "wrong"))).toBe("refused_login")
    expect(classifyUpstreamFailure(await mariadb(closed, "x"))).toBe("refused")
  })
})

describe.skipIf(joinSkip !== undefined)("one query across PostgreSQL, MariaDB and a DuckDB file", () => {
  let db: Awaited<ReturnType<typeof openInstance>>
  const attached: Array<AttachPlan> = []
  const policy = Either.getOrThrow(compileHostPolicy(["127.0.0.0/8", "::1/128"]))

  /** An attach's error as a log may show it (undefined when it attached). */
  const shown = (result: { plan: AttachPlan; error: string | undefined }) =>
    result.error === undefined ? undefined : result.plan.scrub(result.error)

  const attach = async (alias: string, type: DatabaseType, text: string) => {
    const parsed = Either.getOrThrowWith(
      parseConnectionString(type, text, { baseDir: work, source: "api" }),
      (e) => new Error(e.message)
    )
    let plan: AttachPlan
    if (isFileConnection(parsed)) {
      const allowed = await Effect.runPromise(checkFileAttach(parsed, "api", [fs.realpathSync(work)]))
      plan = planAttach(alias, allowed, { source: "api" })
    } else {
      const decision = await Effect.runPromise(checkHost(policy, parsed.host))
      plan = planAttach(alias, parsed, {
        source: "api",
        ...(decision.pinnedAddress === undefined ? {} : { pinnedAddress: decision.pinnedAddress }),
        scrubAlso: [extensionDir!]
      })
    }
    try {
      for (const sql of plan.prepare) await db.connection.run(Redacted.value(sql))
      await db.connection.run(plan.attach)
    } catch (error) {
      return { plan, error: (error as Error).message }
    } finally {
      for (const sql of plan.cleanup) {
        const cleanupError = await errorOf(db.connection, sql)
        if (cleanupError !== undefined)
          console.log(`[attach integration] cleanup failed: ${plan.scrub(cleanupError)}`)
      }
    }
    attached.push(plan)
    return { plan, error: undefined }
  }

  beforeAll(async () => {
    db = await openInstance()
    const extensions = planExtensions({
      extensions: [],
      types: ["postgres", "mysql", "duckdb"],
      directory: extensionDir,
      baseDir: process.cwd()
    })
    for (const sql of extensions.statements) {
      const error = await errorOf(db.connection, sql)
      if (error !== undefined) {
        throw new Error(`extension setup failed: ${classifyExtensionError(error)?.message ?? error}`)
      }
    }
  })
  afterAll(() => db?.close())

  it("attaches all three read-only and joins them", async () => {
    // "localhost" goes through DNS and the pinned-address path when its first address answers
    // (PostgreSQL listens on 127.0.0.1 and, where the machine has it, ::1).
    const [first] = await Effect.runPromise(systemResolver("localhost"))
    const pgHost = first !== undefined && (await canConnect(first, pg!.port)) ? "localhost" : "127.0.0.1"
    const pgUri = await attach(
      "pg",
      "postgres",
      `postgresql://reader:${enc(pgPassword)}@${pgHost}:${pg!.port}/shop?sslmode=disable&application_name=pondpilot-test`
    )
    expect(shown(pgUri)).toBeUndefined()
    const pgKeyValue = await attach(
      "pg_kv",
      "postgresql",
      `host=127.0.0.1 port=${pg!.port} dbname=shop user=reader password='${pgPassword.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}' sslmode=disable`
    )
    expect(shown(pgKeyValue)).toBeUndefined()
    const my = await attach(
      "my",
      "mysql",
      `mysql://reader:${enc(myPassword)}@127.0.0.1:${maria!.port}/crm?ssl-mode=disabled`
    )
    expect(shown(my)).toBeUndefined()
    const file = await attach("ref", "duckdb", duckdbFile)
    expect(shown(file)).toBeUndefined()

    const joined = await rows(
      db.connection,
      `SELECT c.name, o.amount::VARCHAR AS amount, t.tier, k.name AS again
         FROM my.crm.orders o
         JOIN pg.public.customers c ON c.id = o.customer_id
         JOIN ref.tiers t ON t.customer_id = c.id
         JOIN pg_kv.public.customers k ON k.id = c.id
        ORDER BY o.id`
    )
    expect(joined).toEqual([
      { name: "Ada", amount: "12.50", tier: "gold", again: "Ada" },
      { name: "Grace", amount: "7.25", tier: "silver", again: "Grace" },
      { name: "Ada", amount: "3.00", tier: "gold", again: "Ada" },
      { name: "Edsger", amount: "99.99", tier: "bronze", again: "Edsger" }
    ])
  })

  it("reveals no credential in duckdb_databases() or duckdb_secrets()", async () => {
    const databases = await rows(db.connection, "SELECT * FROM duckdb_databases()")
    // Strings as DuckDB holds them: JSON would escape the quotes and backslashes in the passwords.
    const text = databases
      .flatMap((row) =>
        Object.values(row).map((value) => (typeof value === "string" ? value : JSON.stringify(value)))
      )
      .join("\n")
    for (const secret of [pgPassword, myPassword, enc(pgPassword), enc(myPassword)]) {
      expect(text).not.toContain(secret)
    }
    for (const alias of ["pg", "pg_kv", "my", "ref"]) {
      expect(databases.find((d) => d.database_name === alias)?.readonly).toBe(true)
    }
    expect(databases.find((d) => d.database_name === "pg")?.path).toBe("")
    expect(await rows(db.connection, "SELECT count(*) AS n FROM duckdb_secrets()")).toEqual([{ n: "0" }])
  })

  it("keeps working on new connections after the secrets were dropped", async () => {
    const other = await db.instance.connect()
    try {
      expect(await rows(other, "SELECT count(*) AS n FROM pg.public.customers")).toEqual([{ n: "3" }])
      expect(await rows(other, "SELECT count(*) AS n FROM my.crm.orders")).toEqual([{ n: "4" }])
    } finally {
      other.closeSync()
    }
  })

  it("refuses writes to every attached database", async () => {
    for (const sql of [
      "INSERT INTO pg.public.customers VALUES (9, 'x')",
      "INSERT INTO my.crm.orders VALUES (99, 1, 1)",
      "INSERT INTO ref.tiers VALUES (9, 'x')"
    ]) {
      expect(await errorOf(db.connection, sql)).toMatch(/read-only|read only/i)
    }
  })

  it("classifies a wrong password and an unreachable server, revealing neither password nor path", async () => {
    const wrongPg = await attach(
      "bad_pg",
      "postgres",
      `postgresql://reader:${enc(`x${pgPassword}`)}@127.0.0.1:${pg!.port}/shop?sslmode=disable`
    )
    const wrongMy = await attach(
      "bad_my",
      "mysql",
      `mysql://reader:${enc(`x${myPassword}`)}@127.0.0.1:${maria!.port}/crm`
    )
    const closed = await freePort()
    const downPg = await attach(
      "down_pg",
      "postgres",
      `postgresql://reader:pw@127.0.0.1:${closed}/shop?connect_timeout=5`
    )
    const downMy = await attach("down_my", "mysql", `mysql://reader:pw@127.0.0.1:${closed}/crm`)
    const cases = [
      [wrongPg, "refused the login"],
      [wrongMy, "refused the login"],
      [downPg, "could not be reached: the connection was refused"],
      [downMy, "could not be reached: the connection was refused"]
    ] as const
    for (const [result, expected] of cases) {
      console.log(`[attach integration] measured: ${result.plan.scrub(result.error ?? "(no error)")}`)
      expect(result.error).toBeDefined()
      expect(result.error).not.toContain(pgPassword)
      expect(result.error).not.toContain(myPassword)
      expect(result.plan.scrub(result.error!)).not.toContain(extensionDir!)
      expect(classifyUpstreamError(result.plan.alias, result.error!)?.message).toBe(
        `database "${result.plan.alias}" ${expected}`
      )
    }
  })

  it("after lockdown, queries still run and new network attaches are refused", async () => {
    await db.connection.run(
      `SET allowed_paths = [${attached
        .flatMap((p) => p.allowedPaths)
        .map(quoteLiteral)
        .join(", ")}]`
    )
    await db.connection.run("SET enable_external_access = false")
    await db.connection.run("SET lock_configuration = true")
    expect(
      await rows(
        db.connection,
        "SELECT count(*) AS n FROM my.crm.orders o JOIN pg.public.customers c ON c.id = o.customer_id JOIN ref.tiers t ON t.customer_id = c.id"
      )
    ).toEqual([{ n: "4" }])
    const late = await attach(
      "late",
      "postgres",
      `postgresql://reader:${enc(pgPassword)}@127.0.0.1:${pg!.port}/shop`
    )
    console.log(
      `[attach integration] measured after lockdown: ${late.plan.scrub(late.error ?? "(no error)")}`
    )
    expect(late.error).toBeDefined()
  })
})
