import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { catalogRelationLimit } from "../../src/services/Catalog.js"
import {
  client,
  expectError,
  makeDuckDbFile,
  rowsOf,
  startLoggedServer,
  tempRoot
} from "../support/Databases.js"
import { authed, otherKey, type RunningServer, testSettings } from "../support/TestServer.js"

/**
 * `GET /v1/instances/{id}/catalog` with DuckDB files: what it lists (and never shows), ownership, the
 * per-engine cache following attach and detach, and the cap for a database with thousands of tables.
 * The same route with PostgreSQL and MariaDB attached is tested in test/attach/catalog.upstream.test.ts.
 */
let server: RunningServer
let api: ReturnType<typeof client>
let root: string

beforeAll(async () => {
  root = tempRoot("catalog-root")
  await makeDuckDbFile(path.join(root, "shop.duckdb"), [
    "CREATE TABLE orders (id INTEGER NOT NULL, amount DECIMAL(10,2), placed TIMESTAMPTZ, tags VARCHAR[])",
    "CREATE SCHEMA archive",
    "CREATE TABLE archive.old_orders (id BIGINT, note VARCHAR)",
    "CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100",
    "CREATE SCHEMA empty_one"
  ])
  await makeDuckDbFile(path.join(root, "many.duckdb"), [
    `SELECT 1; ${Array.from({ length: catalogRelationLimit + 5 }, (_, i) => `CREATE TABLE t${String(i).padStart(4, "0")} (x INTEGER);`).join("")}`
  ])
  server = await startLoggedServer(
    testSettings({ duckdb: { file_roots: [root], extension_directory: tempRoot("catalog-noext") } })
  )
  api = client(server)
})
afterAll(() => server.dispose())

const catalogOf = (id: string, key?: string) => api.call(`/v1/instances/${id}/catalog`, authed(key))

interface Listed {
  readonly databases: ReadonlyArray<{
    readonly name: string
    readonly type: string
    readonly schemas: ReadonlyArray<{
      readonly name: string
      readonly tables: ReadonlyArray<{ name: string; columns: ReadonlyArray<unknown> }>
      readonly views: ReadonlyArray<{ name: string; columns: ReadonlyArray<unknown> }>
    }>
  }>
  readonly truncated: boolean
}

const listed = async (id: string): Promise<Listed> => {
  const answer = await catalogOf(id)
  expect(answer.status, answer.text).toBe(200)
  for (const hidden of [root, ".duckdb", "system", "temp", "information_schema", "pg_catalog", "SELECT"]) {
    expect(answer.text).not.toContain(hidden)
  }
  return answer.body as unknown as Listed
}

const emptyMemory = { name: "memory", type: "duckdb", schemas: [{ name: "main", tables: [], views: [] }] }

describe("the catalog of an instance", () => {
  it("lists the instance's own database and an attached file: schemas, tables, views, columns and types", async () => {
    const id = await api.createInstance()
    expect(await listed(id)).toEqual({ databases: [emptyMemory], truncated: false })

    expect(
      (await api.attach(id, { type: "duckdb", alias: "shop", connectionString: "shop.duckdb" })).status
    ).toBe(201)
    expect(await listed(id)).toEqual({
      databases: [
        emptyMemory,
        {
          name: "shop",
          type: "duckdb",
          schemas: [
            {
              name: "archive",
              tables: [
                {
                  name: "old_orders",
                  columns: [
                    { name: "id", type: "BIGINT", nullable: true },
                    { name: "note", type: "VARCHAR", nullable: true }
                  ]
                }
              ],
              views: []
            },
            { name: "empty_one", tables: [], views: [] },
            {
              name: "main",
              tables: [
                {
                  name: "orders",
                  columns: [
                    { name: "id", type: "INTEGER", nullable: false },
                    { name: "amount", type: "DECIMAL(10,2)", nullable: true },
                    { name: "placed", type: "TIMESTAMP WITH TIME ZONE", nullable: true },
                    { name: "tags", type: "VARCHAR[]", nullable: true }
                  ]
                }
              ],
              views: [
                {
                  name: "big_orders",
                  columns: [
                    { name: "id", type: "INTEGER", nullable: true },
                    { name: "amount", type: "DECIMAL(10,2)", nullable: true }
                  ]
                }
              ]
            }
          ]
        }
      ],
      truncated: false
    })
  })

  it("follows attach and detach (the cache is the engine's), and shows tables a client creates at once", async () => {
    const id = await api.createInstance()
    expect(
      (await api.attach(id, { type: "duckdb", alias: "shop", connectionString: "shop.duckdb" })).status
    ).toBe(201)
    expect((await listed(id)).databases.map((d) => d.name)).toEqual(["memory", "shop"])
    expect((await api.detach(id, "shop")).status).toBe(204)
    expect((await listed(id)).databases.map((d) => d.name)).toEqual(["memory"])
    expect(
      (await api.attach(id, { type: "duckdb", alias: "again", connectionString: "shop.duckdb" })).status
    ).toBe(201)
    expect((await listed(id)).databases.map((d) => d.name)).toEqual(["memory", "again"])

    rowsOf(await api.query(id, "CREATE TABLE scratch (k VARCHAR)"))
    const memory = (await listed(id)).databases[0]!
    expect(memory.schemas[0]!.tables).toEqual([
      { name: "scratch", columns: [{ name: "k", type: "VARCHAR", nullable: true }] }
    ])
  })

  it("stops at the documented cap and says so", async () => {
    const id = await api.createInstance()
    expect(
      (await api.attach(id, { type: "duckdb", alias: "many", connectionString: "many.duckdb" })).status
    ).toBe(201)
    const catalog = await listed(id)
    expect(catalog.truncated).toBe(true)
    const many = catalog.databases.find((d) => d.name === "many")!
    const tables = many.schemas.flatMap((s) => s.tables.map((t) => t.name))
    expect(tables).toHaveLength(catalogRelationLimit)
    expect(tables[0]).toBe("t0000")
    expect(tables.at(-1)).toBe(`t${String(catalogRelationLimit - 1).padStart(4, "0")}`)
  })

  it("the shared default instance lists its (here no) configured databases", async () => {
    expect(await listed("default")).toEqual({ databases: [emptyMemory], truncated: false })
  })

  it("is the owner's only, as every instance route: 404 for another principal, 401 without a key", async () => {
    const id = await api.createInstance()
    expectError(await catalogOf(id, otherKey), 404, "not_found")
    expectError(await catalogOf("inst_missing"), 404, "not_found")
    expectError(await api.call(`/v1/instances/${id}/catalog`), 401, "unauthorized")
  })
})
