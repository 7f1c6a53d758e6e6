import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Either, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { planAttach } from "../../src/attach/AttachPlan.js"
import { type AttachSource, parseConnectionString } from "../../src/attach/ConnectionStrings.js"
import { planExtensions } from "../../src/attach/Extensions.js"
import { errorOf, openInstance, rows } from "../support/DuckDBFiles.js"
import { findBinaries, type Postgres, startPostgres } from "./upstreams.js"

/**
 * An API attach authenticates with what the client supplied and nothing of the server's own: here the
 * server process holds a client certificate that a real PostgreSQL accepts for `certuser` (PGSSLCERT /
 * PGSSLKEY, as libpq would otherwise find ~/.postgresql/postgresql.crt), and a pgpass file. The same
 * connection string attaches when the operator's config names it, and fails through the API.
 */

const extensionDir = process.env.PONDPILOT_TEST_EXTENSION_DIR
const found = findBinaries()
const openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].find((file) => fs.existsSync(file))
const skip =
  extensionDir === undefined
    ? "PONDPILOT_TEST_EXTENSION_DIR is not set (a directory with the postgres extension for DuckDB 1.5.5)"
    : "reason" in found
      ? found.reason
      : openssl === undefined
        ? "openssl not found (apt-get install openssl)"
        : undefined
if (skip !== undefined) {
  // Like the attach integration test, it needs the scanner extensions named; given them, CI must run it.
  if (process.env.CI === "true" && extensionDir !== undefined)
    throw new Error(`ambient credential tests cannot run: ${skip}`)
  console.log(`[ambient credentials] skipped: ${skip}`)
}

let work: string
let pg: Postgres | undefined
let db: Awaited<ReturnType<typeof openInstance>> | undefined
const saved: Record<string, string | undefined> = {}
const ambient = (name: string, value: string) => {
  saved[name] = process.env[name]
  process.env[name] = value
}

/** Writes a key and a certificate for `subject`, signed by the CA in `dir` (self-signed for the CA). */
const certificate = (dir: string, name: string, subject: string) => {
  const key = path.join(dir, `${name}.key`)
  const crt = path.join(dir, `${name}.crt`)
  const ssl = (args: ReadonlyArray<string>) => execFileSync(openssl!, args, { stdio: "ignore" })
  if (name === "ca") {
    ssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      crt,
      "-days",
      "2",
      "-subj",
      subject
    ])
  } else {
    const csr = path.join(dir, `${name}.csr`)
    ssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject])
    ssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      path.join(dir, "ca.crt"),
      "-CAkey",
      path.join(dir, "ca.key"),
      "-CAcreateserial",
      "-out",
      crt,
      "-days",
      "2"
    ])
  }
  fs.chmodSync(key, 0o600)
  return { key, crt }
}

beforeAll(async () => {
  if (skip !== undefined || !("binaries" in found)) return
  work = fs.mkdtempSync(path.join(os.tmpdir(), "pp-ambient-"))
  fs.chmodSync(work, 0o755)
  pg = await startPostgres(found.binaries, work)
  const data = path.join(work, "pg", "data")
  const owner = fs.statSync(data)
  const certs = fs.mkdtempSync(path.join(os.tmpdir(), "pp-ambient-certs-"))
  const ca = certificate(certs, "ca", "/CN=pondpilot-test-ca")
  const server = certificate(certs, "server", "/CN=127.0.0.1")
  const client = certificate(certs, "client", "/CN=certuser")
  for (const [from, to] of [
    [ca.crt, "ca.crt"],
    [server.crt, "server.crt"],
    [server.key, "server.key"]
  ] as const) {
    fs.copyFileSync(from, path.join(data, to))
    fs.chownSync(path.join(data, to), owner.uid, owner.gid)
    fs.chmodSync(path.join(data, to), 0o600)
  }
  // certuser logs in with its certificate only; everyone else as before (scram).
  const hba = path.join(data, "pg_hba.conf")
  fs.writeFileSync(hba, `hostssl all certuser 127.0.0.1/32 cert\n${fs.readFileSync(hba, "utf8")}`)
  await pg.sql("postgres", "ALTER SYSTEM SET ssl_ca_file = 'ca.crt'")
  await pg.sql("postgres", "ALTER SYSTEM SET ssl = on")
  await pg.sql("postgres", "SELECT pg_reload_conf()")
  await pg.sql("postgres", "CREATE ROLE certuser LOGIN")
  await pg.sql("postgres", "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'")
  await pg.sql("postgres", "CREATE TABLE secrets AS SELECT 'only for certuser' AS s")
  await pg.sql("postgres", "GRANT SELECT ON secrets TO certuser")
  // The proxy's own credentials, where libpq looks when a connection names none.
  ambient("PGSSLCERT", client.crt)
  ambient("PGSSLKEY", client.key)
  const pgpass = path.join(certs, "pgpass")
  fs.writeFileSync(pgpass, `*:*:*:certuser:unused\n*:*:*:reader:reader-pw\n`, { mode: 0o600 })
  ambient("PGPASSFILE", pgpass)

  db = await openInstance()
  const extensions = planExtensions({
    extensions: [],
    types: ["postgres"],
    directory: extensionDir,
    baseDir: process.cwd()
  })
  for (const sql of extensions.statements) {
    const error = await errorOf(db.connection, sql)
    if (error !== undefined) throw new Error(`extension setup failed: ${error}`)
  }
}, 120_000)

afterAll(async () => {
  db?.close()
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  await pg?.stop()
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true })
}, 60_000)

let aliases = 0
/** Attaches `text` as the given source wrote it; the error DuckDB gave, or undefined when it attached. */
const attach = async (text: string, source: AttachSource) => {
  const parsed = Either.getOrThrowWith(
    parseConnectionString("postgres", text, { baseDir: work, source }),
    (e) => new Error(e.message)
  )
  const alias = `pg${aliases++}`
  const plan = planAttach(alias, parsed, { source })
  try {
    for (const sql of plan.prepare) await db!.connection.run(Redacted.value(sql))
    await db!.connection.run(plan.attach)
  } catch (error) {
    return { alias, error: (error as Error).message }
  } finally {
    for (const sql of plan.cleanup) await errorOf(db!.connection, sql)
  }
  return { alias, error: undefined }
}

describe.skipIf(skip !== undefined)("an API attach uses no credential of the server's", () => {
  const certOnly = () => `host=127.0.0.1 port=${pg!.port} dbname=postgres user=certuser sslmode=require`

  it("the threat is real: the config's attach logs in with the server's certificate", async () => {
    const attached = await attach(certOnly(), "config")
    expect(attached.error).toBeUndefined()
    expect(await rows(db!.connection, `SELECT s FROM ${attached.alias}.public.secrets`)).toEqual([
      { s: "only for certuser" }
    ])
  })

  it("the same string through the API sends no certificate, and is refused by PostgreSQL", async () => {
    const attached = await attach(certOnly(), "api")
    expect(attached.error).toMatch(/certificate|authentication|password/i)
  })

  it("the API attach does not read the server's pgpass either", async () => {
    const attached = await attach(
      `host=127.0.0.1 port=${pg!.port} dbname=postgres user=reader sslmode=disable`,
      "api"
    )
    expect(attached.error).toMatch(/password/i)
  })

  it("a client's own credentials still work, over TLS too (sslmode=require)", async () => {
    for (const sslmode of ["disable", "require"]) {
      const attached = await attach(
        `postgresql://reader:reader-pw@127.0.0.1:${pg!.port}/postgres?sslmode=${sslmode}`,
        "api"
      )
      expect({ sslmode, error: attached.error }).toEqual({ sslmode, error: undefined })
    }
  })
})
