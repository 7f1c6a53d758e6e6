import { DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readRepoFile } from "../support/RepoFiles.js"

/**
 * The demo's promise: `docker compose up`, then deploy/demo/query.json joins the PostgreSQL and
 * MariaDB seed data. No database server runs here, so the seeds (plain SQL that all three engines
 * read) are loaded into DuckDB catalogs named like the demo's aliases, and the query runs verbatim.
 */

const readme = readRepoFile("deploy/demo/README.md")
const demoQuery: string = JSON.parse(readRepoFile("deploy/demo/query.json")).query

const fenced = (language: string): Array<string> =>
  [...readme.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g"))].map((match) => match[1]!)

let instance: DuckDBInstance
beforeAll(async () => {
  instance = await DuckDBInstance.create()
  const connection = await instance.connect()
  try {
    // postgres scanner: catalog "sales", schema "public"; mysql scanner: catalog "crm", its database's tables.
    await connection.run("ATTACH ':memory:' AS sales; CREATE SCHEMA sales.public; USE sales.public")
    await connection.run(readRepoFile("deploy/demo/postgres/01-sales.sql"))
    await connection.run("ATTACH ':memory:' AS crm; USE crm")
    await connection.run(readRepoFile("deploy/demo/mariadb/01-crm.sql"))
  } finally {
    connection.closeSync()
  }
})
afterAll(() => instance?.closeSync())

const run = async (sql: string) => {
  const connection = await instance.connect()
  try {
    const reader = await connection.runAndReadAll(sql)
    return {
      columns: reader.columnNames().map((name, i) => ({ name, type: String(reader.columnTypes()[i]) })),
      rows: reader.getRowsJson()
    }
  } finally {
    connection.closeSync()
  }
}

describe("demo data", () => {
  it("the README shows the same query as deploy/demo/query.json", () => {
    expect(fenced("sql").map((sql) => sql.trim())).toContain(demoQuery.trim())
    expect(readme).toContain("--data @deploy/demo/query.json")
    expect(readme).toContain("/v1/instances/default/query")
  })

  it("the seeds give every order a known customer and product", async () => {
    const { rows } = await run(`
      SELECT count(*) AS orders,
             count(c.id) AS with_customer,
             count(p.id) AS with_product
      FROM sales.public.orders o
      LEFT JOIN crm.customers c ON o.customer_id = c.id
      LEFT JOIN sales.public.products p ON o.product_id = p.id`)
    const [orders, withCustomer, withProduct] = rows[0]!.map(Number)
    expect(orders).toBeGreaterThan(10)
    expect(withCustomer).toBe(orders)
    expect(withProduct).toBe(orders)
  })

  it("the demo query returns what the README promises", async () => {
    const result = await run(demoQuery)
    const expected = JSON.parse(fenced("json")[0]!) as {
      columns: Array<{ name: string; type: string }>
      rows: Array<Array<unknown>>
      rowCount: number
      truncated: boolean
    }
    expect(result.columns).toEqual(expected.columns)
    // api.md's JSON: BIGINT within 2^53 as numbers, DECIMAL as exact strings.
    const asApiJson = result.rows.map((row) =>
      row.map((value, i) => (expected.columns[i]!.type === "BIGINT" ? Number(value) : value))
    )
    expect(asApiJson).toEqual(expected.rows)
    expect(expected.rowCount).toBe(expected.rows.length)
    expect(expected.truncated).toBe(false)
  })
})
