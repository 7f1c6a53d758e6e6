import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  client,
  expectError,
  makeDuckDbFile,
  rowsOf,
  sha256,
  startLoggedServer,
  tempRoot
} from "../support/Databases.js"
import { otherKey, type RunningServer, testSettings } from "../support/TestServer.js"

/**
 * The databases API on an API-created instance, with real DuckDB files under `duckdb.file_roots`:
 * attach, list, cross-database joins, read-only enforcement, detach, and the request rules.
 */
let server: RunningServer
let api: ReturnType<typeof client>
let root: string
let salesFile: string
let crmFile: string

beforeAll(async () => {
  root = tempRoot("databases-root")
  salesFile = await makeDuckDbFile(path.join(root, "sales.duckdb"), [
    "CREATE TABLE orders (id INTEGER, customer_id INTEGER, amount INTEGER)",
    "INSERT INTO orders VALUES (10, 1, 1250), (11, 2, 725), (12, 1, 300), (13, 3, 9999)"
  ])
  crmFile = await makeDuckDbFile(path.join(root, "crm.duckdb"), [
    "CREATE TABLE customers (id INTEGER, name VARCHAR)",
    "INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger')"
  ])
  await makeDuckDbFile(path.join(root, "extra.duckdb"), ["CREATE TABLE t AS SELECT 42 AS answer"])
  server = await startLoggedServer(
    testSettings({
      duckdb: {
        file_roots: [root],
        // An empty directory: no scanner can load, whatever the machine has installed.
        extension_directory: tempRoot("databases-noext")
      }
    })
  )
  api = client(server)
})
afterAll(() => server.dispose())

const sales = () => ({ type: "duckdb", alias: "sales", connectionString: salesFile })
const crm = () => ({ type: "duckdb", alias: "crm", connectionString: crmFile })

describe("attaching DuckDB files", () => {
  it("answers 201 {alias,type}, and no listing shows the connection string in any form", async () => {
    const id = await api.createInstance()
    const attached = await api.attach(id, sales())
    expect(attached.status).toBe(201)
    expect(attached.body).toEqual({ alias: "sales", type: "duckdb" })
    // A path relative to the first file root works too, and lists the same way.
    const relative = await api.attach(id, { type: "duckdb", alias: "crm", connectionString: "crm.duckdb" })
    expect(relative.status, relative.text).toBe(201)

    const list = await api.list(id)
    expect(list.status).toBe(200)
    expect(list.body).toEqual({
      databases: [
        { alias: "sales", type: "duckdb" },
        { alias: "crm", type: "duckdb" }
      ]
    })
    const one = await api.instance(id)
    expect(one.body.databases).toEqual(list.body.databases)
    const all = await api.call("/v1/instances", { headers: { "x-api-key": "test-key" } })
    const mine = (all.body.instances as Array<{ id: string; databases: unknown }>).find(
      (entry) => entry.id === id
    )
    expect(mine?.databases).toEqual(list.body.databases)
    for (const answer of [attached, relative, list, one, all]) {
      for (const leak of [root, salesFile, "sales.duckdb", "crm.duckdb", ".duckdb", "connectionString"]) {
        expect(answer.text).not.toContain(leak)
      }
    }
  })

  it("joins two DuckDB files and the instance's own tables in one query", async () => {
    const id = await api.createInstance()
    expect((await api.attach(id, sales())).status).toBe(201)
    expect((await api.attach(id, crm())).status).toBe(201)
    // Own tables are created after the attaches: an attach rebuilds the engine (see the next test).
    expect(
      (
        await api.query(
          id,
          "CREATE TABLE tiers AS SELECT * FROM (VALUES (1, 'gold'), (2, 'silver'), (3, 'bronze')) t(customer_id, tier)"
        )
      ).status
    ).toBe(200)
    const joined = await api.query(
      id,
      "SELECT c.name, t.tier, sum(o.amount)::INTEGER AS total, count(*)::INTEGER AS orders " +
        "FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id " +
        "JOIN tiers t ON t.customer_id = c.id GROUP BY ALL ORDER BY total DESC"
    )
    expect(rowsOf(joined)).toEqual([
      ["Edsger", "bronze", 9999, 1],
      ["Ada", "gold", 1550, 2],
      ["Grace", "silver", 725, 1]
    ])
    // The attached catalogs are DuckDB's own: fully qualified names work as well.
    expect(rowsOf(await api.query(id, "SELECT count(*)::INTEGER FROM sales.main.orders"))).toEqual([[4]])
  })

  it("does not carry the instance's in-memory tables over an attach or a detach (the engine is rebuilt)", async () => {
    const id = await api.createInstance()
    expect((await api.attach(id, sales())).status).toBe(201)
    expect((await api.query(id, "CREATE TABLE notes AS SELECT 'kept?' AS note")).status).toBe(200)
    expect(rowsOf(await api.query(id, "SELECT note FROM notes"))).toEqual([["kept?"]])

    expect((await api.attach(id, crm())).status).toBe(201)
    const afterAttach = await api.query(id, "SELECT note FROM notes")
    expect(expectError(afterAttach, 400, "sql_error")).toMatch(/Table with name notes does not exist/)
    // The attached databases themselves are all there in the new engine.
    expect(rowsOf(await api.query(id, "SELECT count(*)::INTEGER FROM sales.orders"))).toEqual([[4]])
    expect(rowsOf(await api.query(id, "SELECT count(*)::INTEGER FROM crm.customers"))).toEqual([[3]])

    expect((await api.query(id, "CREATE TABLE notes AS SELECT 'again' AS note")).status).toBe(200)
    expect((await api.detach(id, "crm")).status).toBe(204)
    expectError(await api.query(id, "SELECT note FROM notes"), 400, "sql_error")
    expect(rowsOf(await api.query(id, "SELECT count(*)::INTEGER FROM sales.orders"))).toEqual([[4]])
  })

  it("refuses every write to an attached database with 403 and leaves the file byte-identical", async () => {
    const id = await api.createInstance()
    expect((await api.attach(id, sales())).status).toBe(201)
    const before = sha256(salesFile)
    const modifiedBefore = fs.statSync(salesFile).mtimeMs
    const writes = [
      "INSERT INTO sales.orders VALUES (99, 1, 1)",
      "INSERT INTO sales.main.orders SELECT * FROM sales.orders",
      "UPDATE sales.orders SET amount = 0",
      "DELETE FROM sales.orders",
      "CREATE TABLE sales.evil (x INTEGER)",
      "CREATE TABLE sales.main.evil AS SELECT 1 AS x",
      "CREATE VIEW sales.v AS SELECT 1 AS x",
      "DROP TABLE sales.orders",
      "ALTER TABLE sales.orders ADD COLUMN x INTEGER",
      "DETACH sales",
      `ATTACH '${salesFile}' AS sales_rw (READ_WRITE)`,
      "USE sales",
      "CHECKPOINT sales"
    ]
    for (const sql of writes) {
      const answer = await api.query(id, sql)
      expect({ sql, status: answer.status }).toEqual({ sql, status: 403 })
      expect(answer.body.code).toBe("forbidden_statement")
      expect(answer.text).not.toContain(root)
    }
    // The same writes on the instance's own tables are allowed: the refusals are about the target.
    expect((await api.query(id, "CREATE TABLE copy AS SELECT * FROM sales.orders")).status).toBe(200)
    expect((await api.query(id, "DELETE FROM copy WHERE amount > 1000")).status).toBe(200)
    expect(rowsOf(await api.query(id, "SELECT count(*)::INTEGER FROM copy"))).toEqual([[2]])
    expect(rowsOf(await api.query(id, "SELECT count(*)::INTEGER FROM sales.orders"))).toEqual([[4]])
    expect((await api.detach(id, "sales")).status).toBe(204)
    expect(sha256(salesFile)).toBe(before)
    expect(fs.statSync(salesFile).mtimeMs).toBe(modifiedBefore)
    expect(fs.existsSync(`${salesFile}.wal`)).toBe(false)
  })
})

describe("detaching", () => {
  it("answers 204, then the alias is gone from queries and listings; unknown aliases are 404", async () => {
    const id = await api.createInstance()
    expect((await api.attach(id, sales())).status).toBe(201)
    expect((await api.attach(id, crm())).status).toBe(201)
    const detached = await api.detach(id, "crm")
    expect(detached.status).toBe(204)
    expect(detached.text).toBe("")
    const gone = await api.query(id, "SELECT * FROM crm.customers")
    expect(expectError(gone, 400, "sql_error")).toMatch(/crm/)
    expect((await api.list(id)).body).toEqual({ databases: [{ alias: "sales", type: "duckdb" }] })
    expect((await api.instance(id)).body.databases).toEqual([{ alias: "sales", type: "duckdb" }])
    expectError(await api.detach(id, "crm"), 404, "not_found")
    expectError(await api.detach(id, "nosuch"), 404, "not_found")
    // Aliases are DuckDB identifiers: case-insensitive here too.
    expect((await api.detach(id, "SALES")).status).toBe(204)
    expect((await api.list(id)).body).toEqual({ databases: [] })
    // Once detached, the alias can be attached again.
    expect((await api.attach(id, crm())).status).toBe(201)
    expect(rowsOf(await api.query(id, "SELECT count(*)::INTEGER FROM crm.customers"))).toEqual([[3]])
  })
})

describe("request rules", () => {
  it("answers 409 alias_exists for an alias the instance has, whatever its case, and changes nothing", async () => {
    const id = await api.createInstance()
    expect((await api.attach(id, sales())).status).toBe(201)
    for (const alias of ["sales", "SALES", "Sales"]) {
      const message = expectError(
        await api.attach(id, { type: "duckdb", alias, connectionString: crmFile }),
        409,
        "alias_exists"
      )
      expect(message).not.toContain(root)
    }
    expect((await api.list(id)).body).toEqual({ databases: [{ alias: "sales", type: "duckdb" }] })
    expect(rowsOf(await api.query(id, "SELECT count(*)::INTEGER FROM sales.orders"))).toEqual([[4]])
  })

  it("checks aliases against ^[A-Za-z_][A-Za-z0-9_]{0,62}$ and the reserved catalog names", async () => {
    const id = await api.createInstance()
    const bad = [
      "",
      "1sales",
      "sales-2024",
      "sales.orders",
      "sa les",
      'x"y',
      "ünïcode",
      `a${"b".repeat(63)}`,
      "memory",
      "system",
      "temp",
      "main",
      "MEMORY",
      "Main",
      "pg_catalog",
      "information_schema",
      "PG_Catalog",
      "Information_Schema"
    ]
    for (const alias of bad) {
      const answer = await api.attach(id, { type: "duckdb", alias, connectionString: salesFile })
      expect({ alias, status: answer.status, code: answer.body.code }).toEqual({
        alias,
        status: 400,
        code: "invalid_request"
      })
      expect(answer.text).not.toContain(root)
    }
    for (const alias of ["_", "_sales2", `A${"z".repeat(62)}`]) {
      const answer = await api.attach(id, { type: "duckdb", alias, connectionString: salesFile })
      expect({ alias, status: answer.status }).toEqual({ alias, status: 201 })
    }
    expect(rowsOf(await api.query(id, `SELECT count(*)::INTEGER FROM A${"z".repeat(62)}.orders`))).toEqual([
      [4]
    ])
  })

  it("answers 400 for an unknown type, a missing or empty connection string, or an unknown field", async () => {
    const id = await api.createInstance()
    const bodies: Array<Record<string, unknown>> = [
      { type: "oracle", alias: "x", connectionString: salesFile },
      { type: "DuckDB", alias: "x", connectionString: salesFile },
      { alias: "x", connectionString: salesFile },
      { type: "duckdb", alias: "x" },
      { type: "duckdb", alias: "x", connectionString: "" },
      { type: "duckdb", alias: "x", connectionString: "   " },
      { type: "duckdb", alias: "x", connectionString: ":memory:" },
      { type: "duckdb", alias: "x", connectionString: "s3://bucket/file.duckdb" },
      { type: "duckdb", alias: "x", connectionString: 42 }
    ]
    for (const body of bodies) {
      const answer = await api.attach(id, body)
      expect({ body, status: answer.status, code: answer.body.code }).toEqual({
        body,
        status: 400,
        code: "invalid_request"
      })
      expect(answer.text).not.toContain(root)
    }
    expect((await api.list(id)).body).toEqual({ databases: [] })
  })

  it("answers 404 to another principal, as for an instance that does not exist", async () => {
    const id = await api.createInstance()
    expect((await api.attach(id, sales())).status).toBe(201)
    expectError(await api.attach(id, crm(), otherKey), 404, "not_found")
    expectError(await api.list(id, otherKey), 404, "not_found")
    expectError(await api.detach(id, "sales", otherKey), 404, "not_found")
    expectError(await api.query(id, "SELECT * FROM sales.orders", otherKey), 404, "not_found")
    expectError(await api.attach("inst_doesnotexist", crm()), 404, "not_found")
    expectError(await api.list("inst_doesnotexist"), 404, "not_found")
    expectError(await api.detach("inst_doesnotexist", "sales"), 404, "not_found")
    // Nothing changed for the owner.
    expect((await api.list(id)).body).toEqual({ databases: [{ alias: "sales", type: "duckdb" }] })
  })

  it("refuses attach and detach on the shared default instance with 403", async () => {
    expectError(await api.attach("default", sales()), 403, "forbidden_statement")
    expectError(await api.attach("default", sales(), otherKey), 403, "forbidden_statement")
    expectError(await api.detach("default", "sales"), 403, "forbidden_statement")
    const list = await api.list("default")
    expect(list.status).toBe(200)
    expect(list.body).toEqual({ databases: [] })
  })
})
