import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Engines } from "../../src/services/Engines.js"
import { InstanceRegistry } from "../../src/services/InstanceRegistry.js"
import {
  client,
  expectError,
  logText,
  makeDuckDbFile,
  rowsOf,
  startLoggedServer,
  tempRoot,
  waitFor
} from "../support/Databases.js"
import { type RunningServer, testSettings } from "../support/TestServer.js"

/**
 * The config's `duckdb.attached_databases` on the shared `default` instance: attached at start,
 * counted by `/ready`, tolerated when down (named by alias, never by connection string) and attached
 * by the background recovery once they come back, without a restart.
 */

describe("DuckDB files in the config", () => {
  let server: RunningServer
  let api: ReturnType<typeof client>
  let root: string
  let lateFile: string

  beforeAll(async () => {
    root = tempRoot("config-files")
    const warehouse = await makeDuckDbFile(path.join(root, "warehouse.duckdb"), [
      "CREATE TABLE products (id INTEGER, name VARCHAR)",
      "INSERT INTO products VALUES (1, 'pond'), (2, 'pilot')"
    ])
    lateFile = path.join(root, "late.duckdb")
    server = await startLoggedServer(
      testSettings({
        duckdb: {
          extension_directory: tempRoot("config-noext"),
          attached_databases: [
            { alias: "warehouse", type: "duckdb", connection_string: warehouse },
            // Not there at start: the server starts anyway and attaches it once it appears.
            { alias: "late", type: "duckdb", connection_string: lateFile }
          ]
        }
      })
    )
    api = client(server)
  })
  afterAll(() => server.dispose())

  it("serves the databases that are there at start, says which one is not, and attaches it once it appears", async () => {
    expect(rowsOf(await api.query("default", "SELECT name FROM warehouse.products ORDER BY id"))).toEqual([
      ["pond"],
      ["pilot"]
    ])
    expect((await api.list("default")).body).toEqual({ databases: [{ alias: "warehouse", type: "duckdb" }] })
    const down = await api.ready()
    expect(down.status).toBe(503)
    expect(down.body).toEqual({ status: "not_ready", error: 'database "late" not connected' })
    expect(down.text).not.toContain(root)
    expectError(await api.query("default", "SELECT * FROM late.events"), 400, "sql_error")

    // Written elsewhere and moved in whole, so that no attempt sees a half-written file.
    const staging = path.join(tempRoot("config-staging"), "late.duckdb")
    await makeDuckDbFile(staging, ["CREATE TABLE events AS SELECT * FROM range(5) r(n)"])
    fs.renameSync(staging, lateFile)

    // Attempts run at 0s, 1s, 3s, 7s… after start: the next one or the one after picks it up.
    await waitFor(async () => (await api.ready()).status === 200, "/ready to turn 200", 12_000)
    expect((await api.ready()).body).toEqual({ status: "ready", databases: 2 })
    expect(rowsOf(await api.query("default", "SELECT count(*)::INTEGER FROM late.events"))).toEqual([[5]])
    // The engine swapped in holds both, and a cross-database join across them works.
    expect(
      rowsOf(
        await api.query(
          "default",
          "SELECT p.name, e.n FROM warehouse.products p JOIN late.events e ON e.n = p.id ORDER BY p.id"
        )
      )
    ).toEqual([
      ["pond", 1],
      ["pilot", 2]
    ])
    expect((await api.list("default")).body).toEqual({
      databases: [
        { alias: "warehouse", type: "duckdb" },
        { alias: "late", type: "duckdb" }
      ]
    })
    await waitFor(() => logText(server).includes("configured databases attached"), "the recovery's log line")
    const lines = server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(
      lines.find((line) => line.message?.toString().startsWith("configured database not attached"))
    ).toMatchObject({ level: "warn", alias: "late", code: "invalid_request" })
    expect(logText(server)).not.toContain(root)
  }, 20_000)
})

describe("network databases in the config, without their extensions", () => {
  let server: RunningServer
  let api: ReturnType<typeof client>
  let local: string
  const pgUrl = "postgresql://pg_reader:Config-Pg-S3cret@pg.internal.example:5432/salesdb?sslmode=require"
  const myKv = 'host=mysql.internal.example user=my_reader password="Config My S3cret" database=crmdb'
  const secrets = [
    "pg_reader",
    "Config-Pg-S3cret",
    "pg.internal.example",
    "salesdb",
    "my_reader",
    "Config My S3cret",
    "S3cret",
    "mysql.internal.example",
    "crmdb"
  ]

  beforeAll(async () => {
    const root = tempRoot("config-network")
    local = await makeDuckDbFile(path.join(root, "local.duckdb"), ["CREATE TABLE t AS SELECT 1 AS n"])
    server = await startLoggedServer(
      testSettings({
        duckdb: {
          extension_directory: tempRoot("config-network-noext"),
          // The config may name any host: upstream_hosts limits the API only.
          upstream_hosts: ["10.0.0.0/8"],
          attached_databases: [
            { alias: "pgsales", type: "postgres", connection_string: pgUrl },
            { alias: "mycrm", type: "mysql", connection_string: myKv },
            { alias: "local", type: "duckdb", connection_string: local }
          ]
        }
      })
    )
    api = client(server)
  })
  afterAll(() => server.dispose())

  it("starts, serves the rest, and /ready names the missing aliases only", async () => {
    expect((await api.call("/health")).status).toBe(200)
    const ready = await api.ready()
    expect(ready.status).toBe(503)
    expect(ready.body).toEqual({ status: "not_ready", error: 'database "pgsales", "mycrm" not connected' })
    expect((await api.list("default")).body).toEqual({ databases: [{ alias: "local", type: "duckdb" }] })
    expect(rowsOf(await api.query("default", "SELECT n FROM local.t"))).toEqual([[1]])
    await waitFor(
      () => server.logLines.filter((line) => line.includes("configured database not attached")).length === 2,
      "one warning per missing database"
    )
    const warnings = server.logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.message === "configured database not attached; retrying in the background")
    expect(warnings.map((line) => [line.alias, line.code])).toEqual([
      ["pgsales", "extension_unavailable"],
      ["mycrm", "extension_unavailable"]
    ])
    expect(String(warnings[0]?.reason)).toContain('The DuckDB extension "postgres" is not available')
    for (const answer of [
      ready,
      await api.instance("default"),
      await api.call("/v1/instances", { headers: { "x-api-key": "test-key" } })
    ]) {
      for (const secret of secrets) expect(answer.text).not.toContain(secret)
    }
    for (const secret of secrets) expect(logText(server)).not.toContain(secret)
  })

  it("holds every configured connection string sealed, never in clear", async () => {
    const { databases, opened } = await server.runtime.runPromise(
      Effect.gen(function* () {
        const registry = yield* InstanceRegistry
        const box = (yield* Engines).context.attach.secretBox
        const databases = registry.defaultInstance.descriptor.databases
        const opened = yield* Effect.forEach(databases, (database) =>
          Effect.map(box.open(database.connectionString), Redacted.value)
        )
        return { databases, opened }
      })
    )
    expect(databases.map(({ alias, type, source }) => ({ alias, type, source }))).toEqual([
      { alias: "pgsales", type: "postgres", source: "config" },
      { alias: "mycrm", type: "mysql", source: "config" },
      { alias: "local", type: "duckdb", source: "config" }
    ])
    for (const database of databases) {
      expect(database.connectionString).toMatch(/^v1\.pbkdf2\./)
      for (const secret of [...secrets, local]) expect(database.connectionString).not.toContain(secret)
    }
    // Each opens to the configured text: the sealed values are the real ones, not placeholders.
    expect(opened).toEqual([pgUrl, myKv, local])
    expect(JSON.stringify(databases)).not.toMatch(/S3cret|internal\.example/)
  })
})
