import { Schema, type SchemaAST } from "effect"
import { describe, expect, it } from "vitest"
import { ConfigFile } from "../../src/domain/Config.js"
import { settingsOf } from "../support/ConfigFiles.js"
import { variablesTheLoaderReads } from "../support/EnvironmentReads.js"
import { readDoc, tableRowsOf } from "../support/Markdown.js"

/**
 * docs/configuration.md against the configuration schema (every key, once) and the loader (every
 * default, every environment variable it reads).
 */

const page = readDoc("docs/configuration.md")
const keyRows = tableRowsOf(page).filter((row) => /^`[a-z_.]+`$/.test(row[0]!) && row.length === 3)
const documented = new Map(keyRows.map((row) => [row[0]!.replaceAll("`", ""), row]))

/** The keys an operator may write: the schema's encoded side, down to each value that is not a mapping. */
const schemaKeys = (ast: SchemaAST.AST, prefix: string): Array<string> => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.flatMap((property) =>
        schemaKeys(
          property.type,
          prefix === "" ? String(property.name) : `${prefix}.${String(property.name)}`
        )
      )
    case "Refinement":
      return schemaKeys(ast.from, prefix)
    case "Union": {
      const mapping = ast.types.find((member) => member._tag === "TypeLiteral")
      return mapping === undefined ? [prefix] : schemaKeys(mapping, prefix)
    }
    default:
      return [prefix]
  }
}
const keys = schemaKeys(Schema.encodedSchema(ConfigFile).ast, "")

/** Keys whose default is not the schema's but chosen where it is used, as the row says. */
const chosenElsewhere = new Set(["duckdb.extension_directory", "tracing.endpoint"])

/** `a.b.c: value` as a YAML document. */
const yamlOf = (key: string, value: string) =>
  key
    .split(".")
    .map((part, depth) => `${"  ".repeat(depth)}${part}:`)
    .join("\n") + ` ${value}`

const secrets = { API_KEY: "k", ENCRYPTION_KEY: "e".repeat(32) }

describe("docs/configuration.md", () => {
  it("has one row for every key of the schema, and none it does not have", () => {
    expect(keys.length).toBeGreaterThan(40)
    const covered = (key: string) =>
      documented.has(key) ||
      // A mapping documented as one row names each of its keys (`security.authentication.jwt`).
      [...documented.keys()].some(
        (row) =>
          key.startsWith(`${row}.`) && documented.get(row)![2]!.includes(`\`${key.slice(row.length + 1)}\``)
      )
    expect(keys.filter((key) => !covered(key))).toEqual([])
    expect(
      [...documented.keys()].filter((row) => !keys.some((key) => key === row || key.startsWith(`${row}.`)))
    ).toEqual([])
  })

  it("gives each key's default as the loader applies it (in staging; development's own where it says so)", () => {
    const base = settingsOf("environment: staging", secrets)
    let checked = 0
    for (const [key, [, cell]] of documented) {
      const value = /^`([^`]+)`/.exec(cell!)?.[1]
      if (value === undefined || chosenElsewhere.has(key) || key === "environment") continue
      expect(settingsOf(`environment: staging\n${yamlOf(key, value)}`, secrets), key).toEqual(base)
      checked++
    }
    expect(checked).toBeGreaterThan(35)
    // Development's own defaults, said as `(development: `x`)`.
    const development = settingsOf("environment: development", secrets)
    for (const [key, [, cell]] of documented) {
      const value = /\(development: `([^`]+)`\)/.exec(cell!)?.[1]
      if (value === undefined) continue
      expect(settingsOf(`environment: development\n${yamlOf(key, value)}`, secrets), key).toEqual(development)
      checked++
    }
    expect(documented.get("environment")![1]).toMatch(
      new RegExp(`^\`${settingsOf(undefined, secrets).environment}\``)
    )
  })

  it("names every environment variable the loader reads", () => {
    const read = variablesTheLoaderReads()
    expect(read.size).toBeGreaterThan(10)
    for (const name of read) expect(page, name).toContain(`\`${name}\``)
  })
})
