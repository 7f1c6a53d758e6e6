import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  findBinaries,
  findSqlite3,
  type MariaDb,
  type Postgres,
  skipUnlessReady,
  startMariaDb,
  startPostgres
} from "../attach/upstreams.js"
import {
  type Answer,
  client,
  expectError,
  makeDuckDbFile,
  rowsOf,
  sha256,
  tempRoot,
  waitFor
} from "../support/Databases.js"
import {
  ensureBuilt,
  freePort,
  type ServerProcess,
  spawnServer,
  waitUntilHealthy
} from "../support/Process.js"
import { apiKey } from "../support/TestServer.js"

/**
 * The product's core path, for real, through the built server: PostgreSQL configured on `default`;
 * PostgreSQL, MariaDB, SQLite and a DuckDB file attached through the API to one instance and joined
 * in one statement; read-only against upstream users that may write; no secret in anything the
 * server says; recovery when an upstream goes away and comes back.
 */

const execute = promisify(execFile)
const extensionDir = process.env.PONDPILOT_TEST_EXTENSION_DIR
const found = findBinaries()
const sqlite3 = findSqlite3()
const skip = skipUnlessReady(
  "e2e upstreams",
  extensionDir === undefined
    ? "PONDPILOT_TEST_EXTENSION_DIR is not set (a directory with the postgres, mysql and sqlite extensions for DuckDB 1.5.5: npm run extensions:install -- --wheels DIR|--pypi --dir EXT)"
    : !fs.existsSync(extensionDir)
      ? `PONDPILOT_TEST_EXTENSION_DIR (${extensionDir}) does not exist`
      : "reason" in found
        ? found.reason
        : sqlite3 === undefined
          ? "sqlite3 not found (apt-get install sqlite3)"
          : undefined
)

// Users that may write, so that only the proxy stands between a client and a change upstream.
const pgPassword = "Pg-Writer-Secret-4f1c"
const myPassword = "My-Writer-Secret-9a2e"
const enc = encodeURIComponent

let work: string
let roots: string
let pg: Postgres
let maria: MariaDb
let server: ServerProcess
let pgUri: string
let myUri: string
const sqliteFile = () => path.join(roots, "app.sqlite")
const duckdbFile = () => path.join(roots, "tiers.duckdb")
/** Every answer the server gave, searched for secrets at the end. */
const answers: Array<string> = []
const others: Array<ServerProcess> = []

const api = () => {
  const c = client(server)
  const keep = async (answer: Promise<Answer>) => {
    const a = await answer
    answers.push(a.text)
    return a
  }
  return {
    createInstance: () => c.createInstance(),
    attach: (id: string, type: string, alias: string, connectionString: string) =>
      keep(c.attach(id, { type, alias, connectionString })),
    detach: (id: string, alias: string) => keep(c.detach(id, alias)),
    list: (id: string) => keep(c.list(id)),
    query: (id: string, sql: string) => keep(c.query(id, sql))
  }
}

const startServer = async (dir: string, env: Record<string, string> = {}) => {
  const configFile = path.join(dir, "config.yaml")
  fs.writeFileSync(
    configFile,
    [
      // Hundreds of refused statements in a row are this test's point, not abuse.
      "security:",
      "  rate_limit: { requests_per_minute: 100000, burst_size: 10000 }",
      "duckdb:",
      `  extension_directory: ${JSON.stringify(extensionDir)}`,
      `  file_roots: [${JSON.stringify(roots)}]`,
      "  attached_databases:",
      "    - alias: shop",
      "      type: postgres",
      `      connection_string: "postgresql://writer:\${SHOP_PASSWORD}@127.0.0.1:${pg.port}/shop?sslmode=disable&connect_timeout=5"`
    ].join("\n")
  )
  const port = await freePort()
  const started = spawnServer("sh", ["bin/pondpilot-proxy"], {
    env: { CONFIG_FILE: configFile, PORT: String(port), API_KEY: apiKey, SHOP_PASSWORD: pgPassword, ...env },
    port
  })
  await waitUntilHealthy(started)
  return started
}

const pgSnapshot = () =>
  pg.sql(
    "shop",
    "SELECT (SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM customers) || ' | ' || " +
      "(SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY 1) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) || ' | ' || " +
      "(SELECT string_agg(nspname, ',' ORDER BY 1) FROM pg_namespace) || ' | ' || " +
      "(SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relname = 'customers')"
  )
const mariaSnapshot = () =>
  maria.sql(
    "SELECT (SELECT group_concat(id, ':', customer_id, ':', amount ORDER BY id) FROM crm.orders), " +
      "(SELECT group_concat(table_schema, '.', table_name ORDER BY 1) FROM information_schema.tables WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')), " +
      "(SELECT group_concat(schema_name ORDER BY 1) FROM information_schema.schemata)"
  )
const snapshot = async () => ({
  pg: await pgSnapshot(),
  maria: await mariaSnapshot(),
  sqlite: sha256(sqliteFile()),
  duckdb: sha256(duckdbFile())
})

beforeAll(async () => {
  if (skip || "reason" in found) return
  ensureBuilt()
  work = tempRoot("e2e-upstreams")
  fs.chmodSync(work, 0o755) // the database servers run as their own users
  roots = path.join(work, "files")
  fs.mkdirSync(roots)
  ;[pg, maria] = await Promise.all([startPostgres(found.binaries, work), startMariaDb(found.binaries, work)])
  await pg.sql("postgres", `CREATE ROLE writer LOGIN PASSWORD '${pgPassword}'`)
  await pg.sql("postgres", "CREATE DATABASE shop OWNER writer")
  await pg.sql(
    "shop",
    "SET ROLE writer;" +
      "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);" +
      "INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger');"
  )
  await maria.sql(
    "CREATE DATABASE crm;" +
      "CREATE TABLE crm.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL);" +
      "INSERT INTO crm.orders VALUES (10, 1, 12.50), (11, 2, 7.25), (12, 1, 3.00), (13, 3, 99.99);" +
      `CREATE USER 'writer'@'%' IDENTIFIED BY '${myPassword}';` +
      "GRANT ALL ON *.* TO 'writer'@'%';"
  )
  await execute(sqlite3!, [
    sqliteFile(),
    "CREATE TABLE regions (customer_id INTEGER PRIMARY KEY, region TEXT NOT NULL);" +
      "INSERT INTO regions VALUES (1, 'north'), (2, 'south'), (3, 'east');"
  ])
  await makeDuckDbFile(duckdbFile(), [
    "CREATE TABLE tiers AS SELECT * FROM (VALUES (1, 'gold'), (2, 'silver'), (3, 'bronze')) t(customer_id, tier)"
  ])
  pgUri = `postgresql://writer:${enc(pgPassword)}@127.0.0.1:${pg.port}/shop?sslmode=disable&connect_timeout=5`
  myUri = `mysql://writer:${enc(myPassword)}@127.0.0.1:${maria.port}/crm`
  server = await startServer(work)
}, 180_000)

afterEach(async () => {
  await Promise.all(others.splice(0).map((other) => other.stop("SIGKILL")))
})

afterAll(async () => {
  await server?.stop("SIGKILL")
  await Promise.all([pg?.stop(), maria?.stop()])
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true })
}, 60_000)

const joinAll = `SELECT c.name, o.amount::VARCHAR AS amount, t.tier, r.region
  FROM crm.crm.orders o
  JOIN sales.public.customers c ON c.id = o.customer_id
  JOIN tiers.tiers t ON t.customer_id = c.id
  JOIN app.regions r ON r.customer_id = c.id
 ORDER BY o.id`
const joined = [
  ["Ada", "12.50", "gold", "north"],
  ["Grace", "7.25", "silver", "south"],
  ["Ada", "3.00", "gold", "north"],
  ["Edsger", "99.99", "bronze", "east"]
]

describe.skipIf(skip)("real upstreams through the built server", () => {
  let id: string

  it("serves the PostgreSQL configured on the default instance", async () => {
    const ready = await client(server).ready()
    expect({ status: ready.status, body: ready.body }).toEqual({
      status: 200,
      body: { status: "ready", databases: 1 }
    })
    expect(
      rowsOf(await api().query("default", "SELECT name FROM shop.public.customers ORDER BY id"))
    ).toEqual([["Ada"], ["Grace"], ["Edsger"]])
  })

  it("attaches PostgreSQL, MariaDB, SQLite and a DuckDB file to one instance and joins all four", async () => {
    const a = api()
    id = await a.createInstance()
    for (const [type, alias, text] of [
      ["postgres", "sales", pgUri],
      ["mysql", "crm", myUri],
      ["sqlite", "app", "app.sqlite"],
      ["duckdb", "tiers", duckdbFile()]
    ] as const) {
      const attached = await a.attach(id, type, alias, text)
      expect(
        { status: attached.status, body: attached.body },
        `${attached.text}\n${server.stdout().slice(-3000)}`
      ).toEqual({
        status: 201,
        body: { alias, type }
      })
    }
    const listed = await a.list(id)
    expect(listed.body).toEqual({
      databases: [
        { alias: "sales", type: "postgres" },
        { alias: "crm", type: "mysql" },
        { alias: "app", type: "sqlite" },
        { alias: "tiers", type: "duckdb" }
      ]
    })
    expect(rowsOf(await a.query(id, joinAll))).toEqual(joined)
  })

  it("detaches one and attaches it again", async () => {
    const a = api()
    expect((await a.detach(id, "app")).status).toBe(204)
    expect(
      ((await a.list(id)).body.databases as Array<{ alias: string }>).map((d) => d.alias).sort()
    ).toEqual(["crm", "sales", "tiers"])
    const gone = await a.query(id, joinAll)
    expect(expectError(gone, 400, "sql_error")).toContain("app")
    expect((await a.attach(id, "sqlite", "app", "app.sqlite")).status).toBe(201)
    expect(rowsOf(await a.query(id, joinAll))).toEqual(joined)
  })

  it("refuses every write and every way around the attach, and the upstreams stay unchanged", async () => {
    const a = api()
    const before = await snapshot()
    const pgKeyValue = `host=127.0.0.1 port=${pg.port} dbname=shop user=writer password=${pgPassword}`
    const myKeyValue = `host=127.0.0.1 port=${maria.port} database=crm user=writer password=${myPassword}`
    const tables = {
      sales: "sales.public.customers",
      crm: "crm.crm.orders",
      app: "app.regions",
      tiers: "tiers.tiers"
    }
    const writes = Object.entries(tables).flatMap(([alias, table]) => [
      `INSERT INTO ${table} SELECT * FROM ${table} LIMIT 0`,
      `INSERT INTO ${table} VALUES (99, 99)`,
      `UPDATE ${table} SET ${table.endsWith("orders") ? "amount = 0" : table.endsWith("tiers") ? "tier = 'x'" : table.endsWith("regions") ? "region = 'x'" : "name = 'x'"}`,
      `DELETE FROM ${table}`,
      `TRUNCATE ${table}`,
      `DROP TABLE ${table}`,
      `ALTER TABLE ${table} ADD COLUMN evil INTEGER`,
      `CREATE TABLE ${alias}.evil (i INTEGER)`,
      `CREATE VIEW ${alias}.evil_view AS SELECT 1 AS i`,
      `CREATE SCHEMA ${alias}.evil_schema`,
      `COPY ${table} FROM '${path.join(roots, "rows.csv")}'`,
      `DETACH ${alias}`,
      `CHECKPOINT ${alias}`
    ])
    const around = [
      "SELECT * FROM postgres_query('sales', 'DELETE FROM customers RETURNING id')",
      "SELECT * FROM postgres_query('sales', 'SELECT 1')",
      "CALL postgres_execute('sales', 'DROP TABLE customers')",
      "SELECT * FROM postgres_execute('sales', 'CREATE TABLE evil (i int)')",
      "SELECT * FROM mysql_query('crm', 'DELETE FROM orders')",
      "CALL mysql_execute('crm', 'DROP TABLE orders')",
      "SELECT * FROM mysql_execute('crm', 'CREATE TABLE crm.evil (i int)')",
      `SELECT * FROM postgres_scan('${pgKeyValue}', 'public', 'customers')`,
      `SELECT * FROM postgres_scan_pushdown('${pgKeyValue}', 'public', 'customers')`,
      `CALL postgres_attach('${pgKeyValue}')`,
      `SELECT * FROM sqlite_scan('${sqliteFile()}', 'regions')`,
      "SELECT * FROM sqlite_scan('app.sqlite', 'regions')",
      `SELECT * FROM sqlite_query('${sqliteFile()}', 'DELETE FROM regions')`,
      `CALL sqlite_attach('${sqliteFile()}')`,
      `SELECT * FROM read_postgres_binary('${sqliteFile()}')`,
      "CALL pg_clear_cache()",
      "CALL mysql_clear_cache()",
      "CALL postgres_configure_pool(max_connections := 1)",
      "SELECT * FROM mysql_explain_federated('crm', 'SELECT 1')",
      "SELECT * FROM mysql_debug_execution_plan('crm', 'SELECT 1')",
      `ATTACH '${pgKeyValue}' AS evil_pg (TYPE postgres)`,
      `ATTACH 'postgres:${pgKeyValue}' AS evil_pg`,
      `ATTACH '${myKeyValue}' AS evil_my (TYPE mysql)`,
      `ATTACH '${sqliteFile()}' AS evil_lite (TYPE sqlite)`,
      `ATTACH '${duckdbFile()}' AS evil_duck`,
      `CREATE SECRET evil (TYPE postgres, HOST '127.0.0.1', PORT ${pg.port}, USER 'writer', PASSWORD '${pgPassword}')`,
      `CREATE PERSISTENT SECRET evil (TYPE mysql, HOST '127.0.0.1', USER 'writer', PASSWORD '${myPassword}')`,
      "DROP SECRET evil",
      "SELECT * FROM duckdb_secrets()",
      "SELECT * FROM which_secret('postgres://x', 'postgres')",
      "SET pg_connection_limit = 1",
      "SET pg_debug_show_queries = true",
      "SET pg_oauth_token = 'x'",
      "SET mysql_pool_size = 1",
      "SET sqlite_all_varchar = true",
      "RESET pg_pool_max_connections",
      "PRAGMA enable_checkpoint_on_shutdown",
      "USE sales",
      "EXPORT DATABASE sales TO '/tmp/evil'",
      "INSTALL postgres",
      "LOAD postgres",
      "FORCE INSTALL mysql FROM 'http://127.0.0.1:1'"
    ]
    for (const sql of [...writes, ...around]) {
      const answer = await a.query(id, sql)
      // The gate refuses each before DuckDB sees it (the attaches are READ_ONLY as well, underneath).
      expect({ status: answer.status, code: answer.body.code }, `${sql} -> ${answer.text}`).toEqual({
        status: 403,
        code: "forbidden_statement"
      })
    }
    expect(await snapshot()).toEqual(before)
    // And the instance still answers.
    expect(rowsOf(await a.query(id, joinAll))).toEqual(joined)
  })

  it("answers each kind of connection failure distinctly, with nothing of the connection", async () => {
    const a = api()
    const other = await a.createInstance()
    const closed = await freePort()
    const pgAt = (userinfo: string, hostPort: string, database: string, options = "") =>
      `postgresql://${userinfo}@${hostPort}/${database}?connect_timeout=5${options}`
    const expected = [
      [
        "postgres",
        pgAt(`writer:${enc(`x${pgPassword}`)}`, `127.0.0.1:${pg.port}`, "shop"),
        "refused the login"
      ],
      [
        "postgres",
        pgAt(`writer:${enc(pgPassword)}`, `127.0.0.1:${pg.port}`, "no_such_db"),
        "refused the login: the server has no database of that name"
      ],
      [
        "postgres",
        pgAt(`writer:${enc(pgPassword)}`, `nonexistent-${pg.port}.invalid:${pg.port}`, "shop"),
        "could not be reached: its host name does not resolve"
      ],
      [
        "postgres",
        pgAt(`writer:${enc(pgPassword)}`, `127.0.0.1:${closed}`, "shop"),
        "could not be reached: the connection was refused"
      ],
      [
        "postgres",
        pgAt(`writer:${enc(pgPassword)}`, `127.0.0.1:${pg.port}`, "shop", "&sslmode=require"),
        "could not be reached: TLS is required but the server does not offer it"
      ],
      ["mysql", `mysql://writer:${enc(`x${myPassword}`)}@127.0.0.1:${maria.port}/crm`, "refused the login"],
      [
        "mysql",
        `mysql://writer:${enc(myPassword)}@127.0.0.1:${maria.port}/no_such_db`,
        "refused the login: the server has no database of that name"
      ],
      [
        "mysql",
        `mysql://writer:${enc(myPassword)}@nonexistent-${maria.port}.invalid:${maria.port}/crm`,
        "could not be reached: its host name does not resolve"
      ],
      [
        "mysql",
        `mysql://writer:${enc(myPassword)}@127.0.0.1:${closed}/crm`,
        "could not be reached: the connection was refused"
      ],
      [
        "mysql",
        `mysql://writer:${enc(myPassword)}@127.0.0.1:${maria.port}/crm?ssl-mode=required`,
        "could not be reached: TLS is required but the server does not offer it"
      ]
    ] as const
    for (const [type, text, explanation] of expected) {
      const answer = await a.attach(other, type, "broken", text)
      expect(expectError(answer, 502, "upstream_unavailable"), text).toBe(`database "broken" ${explanation}`)
    }
    // Nothing was attached by any of them.
    expect((await a.list(other)).body).toEqual({ databases: [] })
  })

  it("shows no credential, connection string or server path in catalog functions, listings and metrics", async () => {
    const a = api()
    // Listings that would show attach strings, settings, secrets or install paths are refused.
    for (const sql of [
      "SELECT * FROM duckdb_databases()",
      "SELECT * FROM duckdb_databases",
      "SELECT path FROM pragma_database_list",
      "SELECT * FROM duckdb_settings()",
      "SELECT * FROM duckdb_extensions()",
      "SELECT * FROM duckdb_secrets()",
      "SELECT * FROM duckdb_secret_types()",
      "SELECT current_setting('extension_directory')",
      "SELECT * FROM pg_settings"
    ]) {
      expect((await a.query(id, sql)).status, sql).toBe(403)
    }
    // Those that are allowed answer, and what they answer is searched with everything else below.
    for (const sql of [
      "SHOW DATABASES",
      "SHOW ALL TABLES",
      "SELECT * FROM duckdb_tables()",
      "SELECT * FROM duckdb_columns()",
      "SELECT * FROM duckdb_schemas()",
      "SELECT * FROM duckdb_views()",
      "SELECT * FROM duckdb_constraints()",
      "SELECT * FROM duckdb_indexes()",
      "SELECT * FROM duckdb_dependencies()",
      "SELECT * FROM information_schema.schemata",
      "SELECT * FROM information_schema.tables",
      "SELECT catalog_name FROM information_schema.schemata WHERE catalog_name = 'sales'"
    ]) {
      expect((await a.query(id, sql)).status, sql).toBe(200)
    }
    const c = client(server)
    const authed = { headers: { "x-api-key": apiKey } }
    for (const route of [
      "/api/v1/metrics",
      "/v1/instances",
      `/v1/instances/${id}`,
      "/v1/queries",
      "/ready"
    ]) {
      answers.push((await c.call(route, authed)).text)
    }
  })

  it("fails a query with a clear code while its upstream is down, and answers again once it is back", async () => {
    const a = api()
    await pg.stop()
    try {
      for (const [instance, table] of [
        ["default", "shop.public.customers"],
        [id, "sales.public.customers"]
      ] as const) {
        const down = await a.query(instance, `SELECT count(*) FROM ${table}`)
        expect(expectError(down, 502, "upstream_unavailable")).toBe(
          "an attached database this query reads could not be reached: the connection was refused"
        )
      }
      // The others attached to the same instance keep answering.
      expect(rowsOf(await a.query(id, "SELECT count(*) FROM crm.crm.orders"))).toEqual([[4]])
    } finally {
      await pg.start()
    }
    expect(rowsOf(await a.query("default", "SELECT count(*) FROM shop.public.customers"))).toEqual([[3]])
    expect(rowsOf(await a.query(id, joinAll))).toEqual(joined)
  }, 60_000)

  it("starts with its configured upstream down: /ready names it, then turns ready on its own", async () => {
    await pg.stop()
    let late: ServerProcess
    try {
      const dir = path.join(work, "late")
      fs.mkdirSync(dir)
      late = await startServer(dir)
      others.push(late)
      const ready = await client(late).ready()
      answers.push(ready.text)
      expect({ status: ready.status, body: ready.body }).toEqual({
        status: 503,
        body: { status: "not_ready", error: 'database "shop" not connected' }
      })
    } finally {
      await pg.start()
    }
    await waitFor(async () => (await client(late).ready()).status === 200, "/ready to turn 200", 45_000)
    expect(rowsOf(await client(late).query("default", "SELECT count(*) FROM shop.public.customers"))).toEqual(
      [[3]]
    )
    await late.stop("SIGTERM")
    answers.push(late.stdout(), late.stderr())
  }, 90_000)

  it("never said a password, a connection string or a server path", async () => {
    await server.stop("SIGTERM")
    const said = [...answers, server.stdout(), server.stderr()].join("\n")
    expect(said.length).toBeGreaterThan(10_000)
    for (const secret of [
      pgPassword,
      myPassword,
      "writer:",
      "password=",
      `@127.0.0.1:${pg.port}`,
      `@127.0.0.1:${maria.port}`,
      `port=${pg.port}`,
      work,
      extensionDir!
    ]) {
      expect(said, secret).not.toContain(secret)
    }
  })
})
