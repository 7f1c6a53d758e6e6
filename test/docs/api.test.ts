import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { statusByCode } from "../http/openapiSchema.js"
import { readDoc, tableRowsOf } from "../support/Markdown.js"
import { type RunningServer, startServer } from "../support/TestServer.js"

/**
 * docs/api.md against the server's own description of itself (`/openapi.json`, generated from the
 * HttpApi definition) and the error classes it answers with: every endpoint, every request body's
 * fields, every error code with its status. docs/troubleshooting.md has an entry for each code.
 */

type Json = Record<string, any>

const api = readDoc("docs/api.md")
const troubleshooting = readDoc("docs/troubleshooting.md")
/** The rows of a section's tables, keyed by their first cell without its code marks. */
const rowsUnder = (heading: string): Map<string, Array<string>> =>
  new Map(tableRowsOf(readDoc("docs/api.md", heading, true)).map((row) => [row[0]!.replaceAll("`", ""), row]))

let server: RunningServer
let document: Json
beforeAll(async () => {
  server = await startServer()
  document = (await (await fetch(`${server.url}/openapi.json`)).json()) as Json
})
afterAll(() => server.dispose())

const operations = () =>
  Object.entries<Json>(document.paths).flatMap(([path, methods]) =>
    Object.entries<Json>(methods).map(([method, operation]) => ({
      endpoint: `${method.toUpperCase()} ${path}`,
      operation
    }))
  )

const schemaOf = (schema: Json): Json =>
  schema.$ref ? document.components.schemas[schema.$ref.replace("#/components/schemas/", "")] : schema

describe("docs/api.md", () => {
  it("lists every endpoint the server routes, and the description's own two", () => {
    const listed = [...rowsUnder("API").keys()].flatMap((cell) => cell.split(", "))
    const served = operations().map(({ endpoint }) => endpoint)
    expect(served.length).toBeGreaterThanOrEqual(14)
    expect(listed.sort()).toEqual([...served, "GET /openapi.json", "GET /docs"].sort())
  })

  it("gives each endpoint the statuses the description gives it", () => {
    const table = rowsUnder("Statuses per endpoint")
    expect([...table.keys()].sort()).toEqual(
      operations()
        .map(({ endpoint }) => endpoint)
        .sort()
    )
    for (const { endpoint, operation } of operations()) {
      // 500 and Node's own 431 (before routing) apply to every endpoint and are said once.
      const statuses = Object.keys(operation.responses).filter((status) => !["431", "500"].includes(status))
      expect(table.get(endpoint)![1]!.split(", "), endpoint).toEqual(statuses)
    }
    expect(api).toContain("besides `500 internal` (and `431`")
  })

  it("describes every field of every request body, with its allowed values and bounds", () => {
    const bodies = readDoc("docs/api.md", "Request bodies")
    const withBody = operations().filter(({ operation }) => operation.requestBody !== undefined)
    expect(withBody.length).toBe(3)
    expect(bodies).toContain("Three routes take a JSON body")
    const fieldsOf = (schema: Json): Array<[string, Json]> => {
      const resolved = schemaOf(schema)
      if (resolved.anyOf) return resolved.anyOf.flatMap(fieldsOf)
      return Object.entries<Json>(resolved.properties ?? {}).flatMap(([name, field]) => [
        [name, schemaOf(field)] as [string, Json],
        ...fieldsOf(field)
      ])
    }
    for (const { endpoint, operation } of withBody) {
      const item = bodies.split("\n- ").find((entry) => entry.startsWith(`\`${endpoint.replace("{", "{")}\``))
      expect(item, endpoint).toBeDefined()
      for (const [name, field] of fieldsOf(operation.requestBody.content["application/json"].schema)) {
        expect(item, `${endpoint}: ${name}`).toContain(`\`${name}\``)
        for (const value of field.enum ?? []) expect(item, `${endpoint}: ${name}`).toContain(`\`${value}\``)
        if (field.pattern) expect(item, `${endpoint}: ${name}`).toContain(`\`${field.pattern}\``)
        if (field.minimum !== undefined)
          expect(item, `${endpoint}: ${name}`).toContain(`from ${field.minimum} to ${field.maximum}`)
        if (field.maxLength !== undefined)
          expect(item, `${endpoint}: ${name}`).toContain(
            `${field.minLength} to ${field.maxLength} characters`
          )
      }
    }
  })

  it("lists every error code with the status the server answers it with", async () => {
    // A known path asked with a method it does not serve: the one error built with more than a message.
    const wrongMethod = await fetch(`${server.url}/health`, { method: "DELETE" })
    const { code } = (await wrongMethod.json()) as { code: string }
    expect(wrongMethod.headers.get("allow")).toContain("GET")
    expect(api).toContain(`\`${wrongMethod.status} ${code}\`, with \`Allow\``)
    const answered = { ...Object.fromEntries(statusByCode), [code]: wrongMethod.status }
    const rows = tableRowsOf(readDoc("docs/api.md", "Error codes", true))
    const documented = Object.fromEntries(rows.map((row) => [row[1]!.replaceAll("`", ""), Number(row[0])]))
    expect(Object.keys(documented)).toHaveLength(rows.length)
    expect(documented).toEqual(answered)
  })
})

describe("docs/troubleshooting.md", () => {
  it("has an entry for every error code, under its status", () => {
    for (const [code, status] of statusByCode)
      expect(troubleshooting, code).toContain(`### \`${status} ${code}\``)
  })
})
