import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { Effect } from "effect"
import { expect } from "vitest"
import type { PooledConnection } from "../../src/duckdb/PooledConnection.js"
import { InstanceRegistry } from "../../src/services/InstanceRegistry.js"
import { attachedSetupSql, listFiles } from "../gate/fixture.js"
import { apiKey, json, type RunningServer } from "./TestServer.js"

/** The contract's error body: exactly `code`, `error`, `requestId`, the id echoed in the header. */
export const expectError = async (response: Response, status: number, code: string) => {
  const text = await response.text()
  expect(response.status, text).toBe(status)
  expect(response.headers.get("content-type")).toMatch(/^application\/json/)
  const payload = JSON.parse(text) as Record<string, unknown>
  expect(Object.keys(payload).sort()).toEqual(["code", "error", "requestId"])
  expect(payload.code).toBe(code)
  expect(typeof payload.error).toBe("string")
  expect(payload.requestId).toBe(response.headers.get("x-request-id"))
  return payload as { code: string; error: string; requestId: string }
}

export const postQuery = (
  url: string,
  instanceId: string,
  query: string,
  params?: unknown,
  key: string = apiKey
): Promise<Response> =>
  fetch(
    `${url}/v1/instances/${instanceId}/query`,
    json(params === undefined ? { query } : { query, params }, key)
  )

/** Writes a DuckDB file with the corpora's `orders` table and `v_orders` view, and closes it. */
export const makeAttachedFile = async (file: string): Promise<void> => {
  const maker = await DuckDBInstance.create(file)
  const connection = await maker.connect()
  for (const sql of attachedSetupSql) await connection.run(sql)
  connection.closeSync()
  maker.closeSync()
}

export { listFiles }

/**
 * A watched directory: files the hostile SQL names (a CSV, a JSON file, notes), DuckDB files to attach,
 * and nothing else. Tests compare `listFiles(dir)` before and after.
 */
export interface WatchedDir {
  readonly dir: string
  readonly allowedCsvPath: string
  readonly remove: () => void
}

export const makeWatchedDir = (prefix: string): WatchedDir => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `pondpilot-${prefix}-`)))
  const allowedCsvPath = path.join(dir, "secret.csv")
  fs.writeFileSync(allowedCsvPath, "secret,value\ns3cr3t,42\n")
  fs.writeFileSync(path.join(dir, "data.json"), '[{"secret": "json"}]\n')
  fs.writeFileSync(path.join(dir, "notes.txt"), "private notes\n")
  return { dir, allowedCsvPath, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** `{{DIR}}`, `{{ATTACHED}}`, `{{ALLOWED_CSV}}` of the gate corpus, for one target. */
export const materializer =
  (watched: WatchedDir, attachedPath: string) =>
  (sql: string): string =>
    sql
      .replaceAll("{{DIR}}", watched.dir)
      .replaceAll("{{ATTACHED}}", attachedPath)
      .replaceAll("{{ALLOWED_CSV}}", watched.allowedCsvPath)

/**
 * A connection of an instance's current engine, taken from its pool on the server's side: the
 * operator's stand-in, never gated. Used to create the corpora's memory tables on instances whose
 * clients may not create tables, and to read settings and catalog before and after hostile SQL.
 */
export interface ServerSide {
  readonly run: (sql: string) => Promise<void>
  readonly rows: (sql: string) => Promise<ReadonlyArray<ReadonlyArray<unknown>>>
  readonly release: () => void
}

export const serverSide = async (server: RunningServer, instanceId: string): Promise<ServerSide> => {
  const connection: PooledConnection = await server.runtime.runPromise(
    Effect.gen(function* () {
      const registry = yield* InstanceRegistry
      const instance = yield* registry.find(instanceId)
      return yield* instance.acquire()
    }).pipe(Effect.orDie)
  )
  return {
    run: async (sql) => {
      await connection.raw.run(sql)
    },
    rows: async (sql) => (await connection.raw.runAndReadAll(sql)).getRowsJson(),
    release: () => connection.owner.release(connection)
  }
}

/**
 * The catalog as the server sees it: a statement that attached or detached anything, or created or
 * changed an object, shows up here. Cheap enough to take around every statement.
 */
export const catalogState = async (side: ServerSide): Promise<string> =>
  JSON.stringify([
    await side.rows("SELECT database_name, readonly, type, path FROM duckdb_databases() ORDER BY ALL"),
    await side.rows(
      "SELECT database_name, schema_name, table_name, estimated_size FROM duckdb_tables() ORDER BY ALL"
    ),
    await side.rows(
      "SELECT database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY ALL"
    ),
    await side.rows("SELECT count(*) FROM duckdb_secrets()")
  ])

/** `catalogState` plus every setting and every non-internal function (slower: tens of milliseconds). */
export const instanceState = async (side: ServerSide): Promise<string> =>
  JSON.stringify([
    await catalogState(side),
    await side.rows("SELECT name, value FROM duckdb_settings() ORDER BY name"),
    await side.rows("SELECT function_name FROM duckdb_functions() WHERE NOT internal ORDER BY ALL")
  ])

/**
 * The gate corpora give rows as DuckDB's `getRowsJson()` does (BIGINT as a string, TIMESTAMP with a
 * space); the HTTP contract writes safe integers as numbers and timestamps in ISO-8601. Both sides are
 * brought to the same text before comparing.
 */
export const comparable = (value: unknown): unknown => {
  if (typeof value === "number" || typeof value === "bigint") return String(value)
  if (typeof value === "string") {
    const iso = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.0+)?Z?$/.exec(value)
    return iso === null ? value : `${iso[1]} ${iso[2]}`
  }
  if (Array.isArray(value)) return value.map(comparable)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, comparable(inner)]))
  }
  return value
}

/** `/health` answers 200: the process is alive and its event loop free. */
export const expectHealthy = async (url: string) => {
  const health = await fetch(`${url}/health`)
  expect(health.status).toBe(200)
  await health.body?.cancel()
}
