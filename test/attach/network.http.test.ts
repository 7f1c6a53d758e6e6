import * as path from "node:path"
import { Effect, Option, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { HostNotAllowed } from "../../src/attach/HostPolicy.js"
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
 * PostgreSQL, MySQL and SQLite through the API on a machine without their DuckDB extensions: every
 * request is validated (syntax, server-only options, `duckdb.upstream_hosts`) before the missing
 * scanner answers `503 extension_unavailable`, and no part of a connection string reaches a response
 * or a log line. The SQL these attaches run is tested in test/attach.
 */
let server: RunningServer
let api: ReturnType<typeof client>
let root: string
let noExtensions: string

beforeAll(async () => {
  root = tempRoot("network-root")
  noExtensions = tempRoot("network-noext")
  await makeDuckDbFile(path.join(root, "local.duckdb"), ["CREATE TABLE t AS SELECT 7 AS n"])
  server = await startLoggedServer(
    testSettings({
      duckdb: {
        file_roots: [root],
        upstream_hosts: ["db.allowed.example", "*.corp.example", "10.0.0.0/8"],
        extension_directory: noExtensions
      }
    })
  )
  api = client(server)
})
afterAll(() => server.dispose())

/** A connection string and every fragment of it that must never be echoed. */
interface Upstream {
  readonly type: string
  readonly connectionString: string
  readonly extension: string
  readonly secrets: ReadonlyArray<string>
}

const upstreams: ReadonlyArray<Upstream> = [
  {
    type: "postgres",
    connectionString: "postgresql://alice_pg:Pg-S3cret!pw@db.allowed.example:5433/salesdb?sslmode=require",
    extension: "postgres",
    secrets: ["alice_pg", "Pg-S3cret!pw", "db.allowed.example", "5433", "salesdb"]
  },
  {
    type: "postgresql",
    connectionString:
      "host=replica.corp.example port=5432 dbname=ledger user=bob_kv password='kv s3cret pw' application_name=pp",
    extension: "postgres",
    secrets: ["replica.corp.example", "ledger", "bob_kv", "kv s3cret pw", "s3cret"]
  },
  {
    type: "mysql",
    connectionString: "mysql://carol_my:my%40S3cret%3Apw@10.1.2.3:3307/crmdb",
    extension: "mysql",
    secrets: ["carol_my", "my@S3cret:pw", "my%40S3cret%3Apw", "S3cret", "10.1.2.3", "3307", "crmdb"]
  },
  {
    type: "mysql",
    connectionString: "host=mysql.corp.example user=dave_kv password=dave-S3cret database=shopdb",
    extension: "mysql",
    secrets: ["mysql.corp.example", "dave_kv", "dave-S3cret", "shopdb"]
  },
  {
    type: "sqlite",
    connectionString: "app-data.sqlite",
    extension: "sqlite",
    secrets: ["app-data.sqlite", "app-data"]
  }
]

const expectNoLeak = (text: string, secrets: ReadonlyArray<string>) => {
  for (const secret of [...secrets, root, noExtensions]) expect(text).not.toContain(secret)
}

describe("a database type whose extension is not installed", () => {
  it.each(
    upstreams.map((upstream) => [`${upstream.type}: ${upstream.connectionString.slice(0, 10)}…`, upstream])
  )("%s answers 503 extension_unavailable saying how to provide it, and echoes nothing", async (_name, upstream) => {
    const id = await api.createInstance()
    expect(
      (await api.attach(id, { type: "duckdb", alias: "local", connectionString: "local.duckdb" })).status
    ).toBe(201)
    const answer = await api.attach(id, {
      type: upstream.type,
      alias: "remote",
      connectionString: upstream.connectionString
    })
    const message = expectError(answer, 503, "extension_unavailable")
    expect(message).toContain(`The DuckDB extension "${upstream.extension}" is not available`)
    expect(message).toContain("npm run extensions:install")
    expect(message).toContain("duckdb.extension_directory")
    expectNoLeak(answer.text, upstream.secrets)

    // The instance is as it was: the failed engine was never swapped in.
    const list = await api.list(id)
    expect(list.body).toEqual({ databases: [{ alias: "local", type: "duckdb" }] })
    expect(rowsOf(await api.query(id, "SELECT n FROM local.t"))).toEqual([[7]])
    for (const answer of [list, await api.instance(id)]) expectNoLeak(answer.text, upstream.secrets)

    // Nothing of it in any log line either (the attach's own line is there: the log is live).
    await waitFor(() => logText(server).includes(String(answer.body.requestId)), "the attach's log line")
    expectNoLeak(logText(server), upstream.secrets)
  })
})

describe("checks that come before the extension", () => {
  it("refuses a host outside duckdb.upstream_hosts with 403 forbidden_statement, host not allowed", async () => {
    const id = await api.createInstance()
    const refused = [
      ["postgres", "postgresql://u:hostpw1@169.254.169.254/meta"],
      ["postgres", "postgresql://u:hostpw2@127.0.0.1:5432/db"],
      ["postgres", "postgresql://u:hostpw3@[::1]:5432/db"],
      ["postgres", "host=localhost dbname=db user=u password=hostpw4"],
      ["postgresql", "postgresql://u:hostpw5@192.168.1.10/db"],
      ["mysql", "mysql://u:hostpw6@172.16.0.1:3306/db"],
      ["mysql", "host=127.0.0.2 user=u password=hostpw7 database=db"]
    ] as const
    for (const [type, connectionString] of refused) {
      const answer = await api.attach(id, { type, alias: "upstream", connectionString })
      expect({ connectionString, status: answer.status, body: answer.body }).toEqual({
        connectionString,
        status: 403,
        body: { code: "forbidden_statement", error: HostNotAllowed, requestId: answer.body.requestId }
      })
    }
    const texts = logText(server)
    for (const secret of ["hostpw", "169.254.169.254", "192.168.1.10", "172.16.0.1"])
      expect(texts).not.toContain(secret)
  })

  it("answers 400 for a malformed connection string without quoting it", async () => {
    const id = await api.createInstance()
    const malformed = [
      ["postgres", "postgresql://alice:Malformed-pw-1@/nohost"],
      ["postgres", "host=db.allowed.example password=Malformed pw 2 dbname=x"],
      ["postgres", "postgresql://alice:Malformed-pw-3@db.allowed.example:notaport/db"],
      ["postgres", "mysql://alice:Malformed-pw-4@db.allowed.example/db"],
      ["postgres", "just some words with Malformed-pw-5"],
      ["mysql", "mysql://alice:Malformed-pw-6@db.allowed.example:99999/db"],
      ["mysql", "host=db.allowed.example pasword=Malformed-pw-7"],
      ["postgres", "host=db.allowed.example sslmode=sometimes password=Malformed-pw-8"]
    ] as const
    for (const [type, connectionString] of malformed) {
      const answer = await api.attach(id, { type, alias: "bad", connectionString })
      const message = expectError(answer, 400, "invalid_request")
      expect(message).toMatch(/^invalid (postgres|mysql) connection string: /)
      expect(answer.text).not.toContain("Malformed")
      expect(answer.text).not.toContain("alice")
    }
    expect(logText(server)).not.toContain("Malformed")
  })

  it("refuses options only the server's config may set with 403", async () => {
    const id = await api.createInstance()
    const serverOnly = [
      ["postgres", "host=db.allowed.example dbname=x user=u password=so-pw passfile=/root/.pgpass"],
      ["postgres", "postgresql://u:so-pw@db.allowed.example/x?sslkey=/etc/ssl/private/key.pem"],
      ["postgres", "postgresql://u:so-pw@%2Fvar%2Frun%2Fpostgresql/x"],
      ["postgres", "host=db.allowed.example dbname=x user=u hostaddr=127.0.0.1"],
      ["postgres", "postgresql://u:so-pw@db.allowed.example/x?sslcert=/root/.postgresql/postgresql.crt"],
      ["postgres", "postgresql://u:so-pw@db.allowed.example/x?options=-c%20search_path%3Dx"],
      ["postgres", "postgresql://u:so-pw@db.allowed.example/x?gssencmode=prefer"],
      ["postgres", "postgresql://u:so-pw@db.allowed.example/x?sslcertmode=allow"],
      ["mysql", "mysql://u:so-pw@db.allowed.example/x?socket=/run/mysqld/mysqld.sock"]
    ] as const
    for (const [type, connectionString] of serverOnly) {
      const message = expectError(
        await api.attach(id, { type, alias: "so", connectionString }),
        403,
        "forbidden_statement"
      )
      expect(message).toMatch(/may only be set in the server's config file/)
      expect(message).not.toMatch(/so-pw|\/root|\/etc|\/run|\/var/)
    }
  })
})

describe("the secret box is in the path", () => {
  it("keeps an attached database's connection string only sealed in the registry", async () => {
    const id = await api.createInstance()
    const file = path.join(root, "local.duckdb")
    expect((await api.attach(id, { type: "duckdb", alias: "local", connectionString: file })).status).toBe(
      201
    )
    const { descriptor, opened } = await server.runtime.runPromise(
      Effect.gen(function* () {
        const registry = yield* InstanceRegistry
        const { descriptor } = Option.getOrThrow(registry.find(id))
        // The box every engine is built with: the one DatabasesHttp seals with.
        const box = (yield* Engines).context.attach.secretBox
        const opened = yield* box.open(descriptor.databases[0]!.connectionString)
        return { descriptor, opened: Redacted.value(opened) }
      })
    )
    expect(descriptor.databases).toHaveLength(1)
    const stored = descriptor.databases[0]!
    expect({ alias: stored.alias, type: stored.type, source: stored.source }).toEqual({
      alias: "local",
      type: "duckdb",
      source: "api"
    })
    expect(stored.connectionString).toMatch(/^v1\.pbkdf2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/)
    expect(stored.connectionString).not.toContain("local")
    expect(stored.connectionString).not.toContain(root)
    expect(JSON.stringify(descriptor)).not.toContain(root)
    // It is the real thing, sealed with the server's key: it opens to what the client sent.
    expect(opened).toBe(file)
  })
})
