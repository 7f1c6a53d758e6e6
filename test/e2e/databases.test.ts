import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { makeDuckDbFile, tempRoot, waitFor } from "../support/Databases.js"
import {
  ensureBuilt,
  freePort,
  jsonLines,
  type ServerProcess,
  spawnServer,
  waitUntilHealthy
} from "../support/Process.js"

/**
 * Attached databases through the built server, started as `npm start` does: the config's databases
 * on `default`, `/ready`, recovery without a restart, and what the process prints (never a secret).
 */
const running: Array<ServerProcess> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop("SIGKILL")))
})

beforeAll(() => ensureBuilt())

const start = async (dir: string, yaml: string) => {
  const configFile = path.join(dir, "config.yaml")
  fs.writeFileSync(configFile, yaml)
  const port = await freePort()
  const server = spawnServer("sh", ["bin/pondpilot-proxy"], {
    env: { CONFIG_FILE: configFile, PORT: String(port), API_KEY: "e2e-key", LOG_LEVEL: "info" },
    port
  })
  running.push(server)
  return server
}

/**
 * Resolves once the child's output streams are closed too: its "exit" event may come before the last
 * chunks of stdout/stderr have been read.
 */
const outputComplete = async (server: ServerProcess): Promise<void> => {
  await server.exited
  const { stdout, stderr } = server.child
  if (stdout?.closed === false || stderr?.closed === false) {
    await new Promise((resolve) => server.child.once("close", resolve))
  }
}

const ready = async (server: ServerProcess) => {
  const response = await fetch(`${server.url}/ready`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const post = (server: ServerProcess, route: string, body: unknown) =>
  fetch(`${server.url}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "e2e-key" },
    body: JSON.stringify(body)
  })

/** An empty extension directory: the machine's own extensions never change what these tests see. */
const noExtensions = (dir: string) => {
  const directory = path.join(dir, "extensions")
  fs.mkdirSync(directory)
  return directory
}

describe("configured databases in the built server", () => {
  it("attaches config files relative to the config, reports one that is down, and attaches it when it appears", async () => {
    const dir = tempRoot("e2e-databases")
    fs.mkdirSync(path.join(dir, "data"))
    await makeDuckDbFile(path.join(dir, "data", "warehouse.duckdb"), [
      "CREATE TABLE products AS SELECT * FROM (VALUES (1, 'pond'), (2, 'pilot')) t(id, name)"
    ])
    const server = await start(
      dir,
      [
        "duckdb:",
        `  extension_directory: ${JSON.stringify(noExtensions(dir))}`,
        "  attached_databases:",
        "    - { alias: warehouse, type: duckdb, connection_string: data/warehouse.duckdb }",
        "    - { alias: late, type: duckdb, connection_string: data/late.duckdb }"
      ].join("\n")
    )
    await waitUntilHealthy(server)
    expect(await ready(server)).toEqual({
      status: 503,
      body: { status: "not_ready", error: 'database "late" not connected' }
    })
    const products = await post(server, "/v1/instances/default/query", {
      query: "SELECT name FROM warehouse.products ORDER BY id"
    })
    expect(((await products.json()) as { rows: unknown }).rows).toEqual([["pond"], ["pilot"]])

    const staging = path.join(tempRoot("e2e-staging"), "late.duckdb")
    await makeDuckDbFile(staging, ["CREATE TABLE events AS SELECT * FROM range(3) r(n)"])
    fs.renameSync(staging, path.join(dir, "data", "late.duckdb"))
    await waitFor(async () => (await ready(server)).status === 200, "/ready to turn 200", 12_000)
    expect(await ready(server)).toEqual({ status: 200, body: { status: "ready", databases: 2 } })

    expect(await server.stop("SIGTERM")).toBe(0)
    await outputComplete(server)
    const lines = jsonLines(server.stdout())
    expect(lines.find((line) => line.alias === "late")).toMatchObject({
      level: "warn",
      message: "configured database not attached; retrying in the background",
      code: "invalid_request"
    })
    expect(lines.some((line) => line.message === "configured databases attached")).toBe(true)
    expect(server.stdout() + server.stderr()).not.toContain(dir)
  }, 30_000)

  it("starts without the postgres and mysql extensions, names the aliases, and prints no secret", async () => {
    const dir = tempRoot("e2e-network")
    const server = await start(
      dir,
      [
        "duckdb:",
        `  extension_directory: ${JSON.stringify(noExtensions(dir))}`,
        "  attached_databases:",
        "    - alias: sales",
        "      type: postgresql",
        '      connection_string: "postgresql://e2e_user:E2e-Pg-Secret@pg.e2e.example:5432/e2e_sales"',
        "    - alias: crm",
        "      type: mysql",
        '      connection_string: "host=my.e2e.example user=e2e_my password=E2e-My-Secret database=e2e_crm"'
      ].join("\n")
    )
    await waitUntilHealthy(server)
    expect(await ready(server)).toEqual({
      status: 503,
      body: { status: "not_ready", error: 'database "sales", "crm" not connected' }
    })
    // An API attach of the same kind: 503, the how-to message, nothing of the string.
    const created = (await (await post(server, "/v1/instances", {})).json()) as { id: string }
    const attach = await post(server, `/v1/instances/${created.id}/databases`, {
      type: "postgres",
      alias: "api_pg",
      connectionString: "postgresql://api_user:Api-Pg-Secret@api.e2e.example/api_db"
    })
    expect(attach.status).toBe(503)
    const answer = await attach.text()
    expect(JSON.parse(answer)).toMatchObject({ code: "extension_unavailable" })
    expect(await server.stop("SIGTERM")).toBe(0)
    await outputComplete(server)
    const printed = server.stdout() + server.stderr() + answer
    for (const secret of ["E2e-Pg-Secret", "e2e_user", "pg.e2e.example", "e2e_sales", "E2e-My-Secret"]) {
      expect(printed).not.toContain(secret)
    }
    for (const secret of [
      "e2e_my",
      "my.e2e.example",
      "e2e_crm",
      "Api-Pg-Secret",
      "api_user",
      "api.e2e.example"
    ]) {
      expect(printed).not.toContain(secret)
    }
    const warnings = jsonLines(server.stdout()).filter(
      (line) => line.message === "configured database not attached; retrying in the background"
    )
    expect(warnings.map((line) => [line.alias, line.code])).toEqual([
      ["sales", "extension_unavailable"],
      ["crm", "extension_unavailable"]
    ])
  }, 30_000)
})

describe("invalid connection strings in the config", () => {
  it("stop the server before it listens, one line per database, without echoing the strings", async () => {
    const dir = tempRoot("e2e-invalid")
    await makeDuckDbFile(path.join(dir, "ok.duckdb"), ["CREATE TABLE t AS SELECT 1 AS n"])
    const server = await start(
      dir,
      [
        "duckdb:",
        "  attached_databases:",
        "    - { alias: ok, type: duckdb, connection_string: ok.duckdb }",
        '    - { alias: pg, type: postgres, connection_string: "postgresql://Inv-User:Inv-Pg-Secret@/nohost" }',
        '    - { alias: my, type: mysql, connection_string: "mysql://root:Inv-My-Secret@db.example:notaport/x" }',
        '    - { alias: kv, type: postgres, connection_string: "host=db.example password=Inv Kv Secret" }',
        '    - { alias: mem, type: duckdb, connection_string: ":memory:" }'
      ].join("\n")
    )
    const code = await server.exited
    expect(code).not.toBe(0)
    await outputComplete(server)
    const problems = server.stderr().trim().split("\n")
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^config error: duckdb\.attached_databases\[1\]\.connection_string: invalid postgres connection string: /
        ),
        expect.stringMatching(
          /^config error: duckdb\.attached_databases\[2\]\.connection_string: invalid mysql connection string: /
        ),
        expect.stringMatching(
          /^config error: duckdb\.attached_databases\[3\]\.connection_string: invalid postgres connection string: /
        ),
        expect.stringMatching(
          /^config error: duckdb\.attached_databases\[4\]\.connection_string: invalid duckdb connection string: /
        )
      ])
    )
    expect(problems.some((line) => line.includes("attached_databases[0]"))).toBe(false)
    const printed = server.stdout() + server.stderr()
    for (const secret of [
      "Inv-User",
      "Inv-Pg-Secret",
      "Inv-My-Secret",
      "Inv Kv Secret",
      "Kv Secret",
      "nohost"
    ]) {
      expect(printed).not.toContain(secret)
    }
    await expect(fetch(`${server.url}/health`)).rejects.toThrow()
  })
})
