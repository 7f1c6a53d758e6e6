import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { mysqlTypes, postgresTypes, sqliteTypes } from "./upstreamTypes.js"

/** docs/upstream-types.md lists every tested upstream type with the DuckDB type the test asserts. */
const doc = fs.readFileSync("docs/upstream-types.md", "utf8")

const section = (title: string) => {
  const start = doc.indexOf(`## ${title}\n`)
  expect(start, title).toBeGreaterThanOrEqual(0)
  const end = doc.indexOf("\n## ", start + 1)
  return doc.slice(start, end === -1 ? undefined : end)
}

describe("docs/upstream-types.md", () => {
  it.each([
    ["PostgreSQL", postgresTypes],
    ["MySQL / MariaDB", mysqlTypes],
    ["SQLite", sqliteTypes]
  ] as const)("%s: one row per tested type, with its DuckDB and Arrow types", (title, cases) => {
    const rows = section(title)
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => line.split(" | ").map((cell) => cell.replace(/^\| /, "")))
    expect(rows.map((cells) => [cells[0], cells[1], cells[4]?.replace(/ \|$/, "")])).toEqual(
      cases.map((c) => [`\`${c.upstream}\``, `\`${c.duckdb}\``, c.arrowType])
    )
  })
})
