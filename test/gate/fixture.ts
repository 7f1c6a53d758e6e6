import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { Effect } from "effect"
import { creationOptions, lockdown } from "../../src/gate/Lockdown.js"

/**
 * A locked-down instance set up the way the server sets one up, inside a temp directory that is also the
 * process's working directory (relative paths in hostile SQL land there). Reusable by the HTTP tests.
 *
 * - memory tables `t`, `customers`, `sales`, `wide`, `events` and a view `big_sales` (server-made)
 * - `att`: a DuckDB file attached READ_ONLY, with `orders` and a view `v_orders`
 * - allowed_paths holds the attached file and `secret.csv`, so that file access the gate lets through
 *   would really succeed: the gate, not the settings, is what these tests prove
 */
export interface GateFixture {
  readonly dir: string
  readonly attachedPath: string
  readonly allowedCsvPath: string
  readonly instance: DuckDBInstance
  /** Server-owned and never gated: reads settings and state for the before/after comparison. */
  readonly server: DuckDBConnection
  /** The connection the gate inspects statements on. */
  readonly client: DuckDBConnection
  /** `{{DIR}}`, `{{ATTACHED}}`, `{{ALLOWED_CSV}}` replaced by this fixture's paths. */
  readonly materialize: (sql: string) => string
  readonly snapshot: () => Promise<Snapshot>
  readonly close: () => void
}

export interface Snapshot {
  readonly files: Record<string, string>
  readonly settings: Record<string, string>
  readonly catalog: string
}

export const serverSetupSql = [
  "CREATE TABLE t (a VARCHAR, b INTEGER)",
  "INSERT INTO t VALUES ('x', 1), ('y', 2), ('z', 3)",
  "CREATE TABLE customers (id INTEGER, name VARCHAR, country VARCHAR, signup DATE)",
  `INSERT INTO customers VALUES (1, 'Ada', 'UK', DATE '2023-01-05'), (2, 'Linus', 'FI', DATE '2023-03-17'),
     (3, 'Grace', 'US', DATE '2024-02-29'), (4, 'Edsger', 'NL', DATE '2024-07-01')`,
  "CREATE TABLE sales (id INTEGER, customer_id INTEGER, region VARCHAR, year INTEGER, amount DECIMAL(10,2), sold_at TIMESTAMP)",
  `INSERT INTO sales SELECT i, 1 + i % 4, CASE WHEN i % 2 = 0 THEN 'north' ELSE 'south' END, 2023 + i % 2,
     (i * 37 % 500)::DECIMAL(10,2), TIMESTAMP '2023-01-01' + INTERVAL (i * 3) DAY FROM range(1, 201) r(i)`,
  "CREATE TABLE wide (product VARCHAR, q1 INTEGER, q2 INTEGER, q3 INTEGER)",
  "INSERT INTO wide VALUES ('a', 1, 2, 3), ('b', 4, 5, 6)",
  "CREATE TABLE events (id INTEGER, payload JSON, tags VARCHAR[])",
  `INSERT INTO events VALUES (1, '{"user": {"name": "ada", "roles": ["admin", "dev"]}, "n": 3}', ['a', 'b']),
     (2, '{"user": {"name": "bob", "roles": []}, "n": 5}', ['c'])`,
  "CREATE VIEW big_sales AS SELECT * FROM sales WHERE amount > 250"
]

/** The attached DuckDB file's tables (`att`): `orders` and the view `v_orders`. */
export const attachedSetupSql = [
  "CREATE TABLE orders (id INTEGER, customer_id INTEGER, total DOUBLE)",
  "INSERT INTO orders SELECT i, 1 + i % 4, i * 1.5 FROM range(1, 51) r(i)",
  "CREATE VIEW v_orders AS SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id",
  "CHECKPOINT"
]

const hashFile = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

/** Every file and directory under `dir` with its content hash: what "nothing written" compares. */
export const listFiles = (dir: string): Record<string, string> => {
  const result: Record<string, string> = {}
  const visit = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name)
      const key = path.relative(dir, full)
      if (entry.isDirectory()) {
        result[`${key}/`] = "dir"
        visit(full)
      } else {
        result[key] = entry.isFile() ? hashFile(full) : "other"
      }
    }
  }
  visit(dir)
  return result
}

const rowsJson = async (connection: DuckDBConnection, sql: string) =>
  (await connection.runAndReadAll(sql)).getRowsJson()

export const createGateFixture = async (): Promise<GateFixture> => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-gate-")))
  const attachedPath = path.join(dir, "att.duckdb")
  const allowedCsvPath = path.join(dir, "secret.csv")
  fs.writeFileSync(allowedCsvPath, "secret,value\ns3cr3t,42\n")
  fs.writeFileSync(path.join(dir, "data.json"), '[{"secret": "json"}]\n')
  fs.writeFileSync(path.join(dir, "notes.txt"), "private notes\n")

  const maker = await DuckDBInstance.create(attachedPath)
  const makerConnection = await maker.connect()
  for (const sql of attachedSetupSql) await makerConnection.run(sql)
  makerConnection.closeSync()
  maker.closeSync()

  const previousCwd = process.cwd()
  process.chdir(dir)
  const instance = await DuckDBInstance.create(
    undefined,
    creationOptions({ threads: 2, memoryLimitBytes: 1_000_000_000 })
  )
  const server = await instance.connect()
  for (const sql of serverSetupSql) await server.run(sql)
  await server.run(`ATTACH '${attachedPath}' AS att (READ_ONLY)`)
  await Effect.runPromise(lockdown(server, { allowedPaths: [attachedPath, allowedCsvPath] }))
  const client = await instance.connect()

  const materialize = (sql: string) =>
    sql
      .replaceAll("{{DIR}}", dir)
      .replaceAll("{{ATTACHED}}", attachedPath)
      .replaceAll("{{ALLOWED_CSV}}", allowedCsvPath)

  const snapshot = async (): Promise<Snapshot> => {
    const settings: Record<string, string> = {}
    for (const [name, value] of await rowsJson(
      server,
      "SELECT name, value FROM duckdb_settings() ORDER BY name"
    )) {
      settings[String(name)] = JSON.stringify(value)
    }
    const catalog = JSON.stringify([
      await rowsJson(server, "SELECT database_name, readonly, type FROM duckdb_databases() ORDER BY ALL"),
      await rowsJson(
        server,
        "SELECT database_name, schema_name, table_name, column_count, estimated_size FROM duckdb_tables() ORDER BY ALL"
      ),
      await rowsJson(
        server,
        "SELECT database_name, schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL"
      ),
      await rowsJson(server, "SELECT function_name FROM duckdb_functions() WHERE NOT internal ORDER BY ALL"),
      await rowsJson(server, "SELECT count(*) FROM duckdb_secrets()"),
      await rowsJson(server, "SELECT string_agg(a || b, ',' ORDER BY a, b) FROM t"),
      await rowsJson(server, "SELECT count(*), sum(amount) FROM sales"),
      await rowsJson(server, "SELECT count(*), sum(total) FROM att.orders"),
      await rowsJson(client, "SELECT count(*) FROM duckdb_variables()"),
      await rowsJson(client, "SELECT current_database(), current_schema()")
    ])
    return { files: listFiles(dir), settings, catalog }
  }

  const close = () => {
    client.closeSync()
    server.closeSync()
    instance.closeSync()
    process.chdir(previousCwd)
    fs.rmSync(dir, { recursive: true, force: true })
  }

  return { dir, attachedPath, allowedCsvPath, instance, server, client, materialize, snapshot, close }
}
