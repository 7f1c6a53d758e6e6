import * as fs from "node:fs"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { creationOptions } from "../../src/gate/Lockdown.js"
import { allowedTableFunctions, deniedFunctions, deniedRelations } from "../../src/gate/SandboxLists.js"
import { decodeSerializedSql, inspectStatements } from "../../src/gate/SqlTree.js"
import { skipUnlessReady } from "../attach/upstreams.js"

/**
 * Tripwires for DuckDB upgrades: the gate's lists were reviewed against the functions and system views in
 * reviewedFunctions.json. When DuckDB adds or renames any, these fail until someone reviews SandboxLists.ts
 * and regenerates the file.
 */
interface Reviewed {
  readonly duckdbVersion: string
  readonly functions: Record<string, ReadonlyArray<string>>
  readonly systemViews: ReadonlyArray<string>
  /** What the postgres, mysql and sqlite extensions add, by function type. */
  readonly extensionFunctions: Record<string, ReadonlyArray<string>>
}
const reviewed: Reviewed = JSON.parse(
  fs.readFileSync(new URL("./reviewedFunctions.json", import.meta.url), "utf8")
)

let instance: DuckDBInstance
let connection: DuckDBConnection
beforeAll(async () => {
  instance = await DuckDBInstance.create(
    undefined,
    creationOptions({ threads: 1, memoryLimitBytes: 500_000_000 })
  )
  connection = await instance.connect()
})
afterAll(() => {
  connection.closeSync()
  instance.closeSync()
})

const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowsJson()

/** The walk's verdict on a piece of SQL, as the gate would give it. */
const refusalOf = async (sql: string) => {
  const [[text]] = (
    await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql])
  ).getRowsJson() as [[string]]
  const serialized = decodeSerializedSql(text)
  if (!serialized.ok) throw new Error(`cannot serialize: ${sql}`)
  return inspectStatements(serialized.statements)?.message
}

describe("reviewed DuckDB surface", () => {
  it("is the DuckDB version the lists were reviewed for", async () => {
    expect(await rows("SELECT version()")).toEqual([[reviewed.duckdbVersion]])
  })

  it("has exactly the reviewed functions", async () => {
    const current = await rows(
      "SELECT function_type, list(DISTINCT function_name ORDER BY function_name) FROM duckdb_functions() GROUP BY ALL ORDER BY 1"
    )
    expect(Object.fromEntries(current)).toEqual(reviewed.functions)
  })

  it("has exactly the reviewed system views", async () => {
    const current = await rows(
      "SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE internal ORDER BY 1"
    )
    expect(current.map((row) => row[0])).toEqual(reviewed.systemViews)
  })

  it("allows only table functions that exist", () => {
    const tableFunctions = new Set([
      ...(reviewed.functions.table ?? []),
      ...(reviewed.functions.table_macro ?? [])
    ])
    expect([...allowedTableFunctions].filter((name) => !tableFunctions.has(name))).toEqual([])
  })

  it("denies by name exactly the system views whose definition the gate would refuse", async () => {
    const refused: Array<string> = []
    for (const [name, sql] of await rows("SELECT view_name, sql FROM duckdb_views() WHERE internal")) {
      const body = String(sql).replace(/^CREATE TEMP VIEW\s+\S+\s+AS\s+/s, "")
      if ((await refusalOf(body)) !== undefined) refused.push(String(name))
    }
    expect(refused.sort()).toEqual([...deniedRelations.keys()].sort())
  })

  it("denies every built-in macro whose body the gate would refuse", async () => {
    const missed: Array<string> = []
    for (const [name, definition] of await rows(
      "SELECT function_name, macro_definition FROM duckdb_functions() WHERE function_type = 'macro'"
    )) {
      const refusal = await refusalOf(`SELECT ${definition}`)
      if (refusal !== undefined && !deniedFunctions.has(String(name))) missed.push(`${name}: ${refusal}`)
    }
    expect(missed).toEqual([])
  })

  it("lets every allowed table function's own definition through (table macros)", async () => {
    const macros = await rows(
      "SELECT function_name, macro_definition FROM duckdb_functions() WHERE function_type = 'table_macro'"
    )
    for (const [name, definition] of macros) {
      if (allowedTableFunctions.has(String(name))) expect(await refusalOf(String(definition))).toBeUndefined()
    }
  })
})

// The extensions the server loads add functions too: with them loaded, every function is reviewed.
const extensionDir = process.env.PONDPILOT_TEST_EXTENSION_DIR
const skipExtensions = skipUnlessReady(
  "gate lists with extensions",
  extensionDir === undefined
    ? "PONDPILOT_TEST_EXTENSION_DIR is not set (a directory with the postgres, mysql and sqlite extensions)"
    : undefined
)

describe.skipIf(skipExtensions)(
  "reviewed surface with the postgres, mysql and sqlite extensions loaded",
  () => {
    let loaded: DuckDBInstance
    let withExtensions: DuckDBConnection
    beforeAll(async () => {
      loaded = await DuckDBInstance.create(
        undefined,
        creationOptions({ threads: 1, memoryLimitBytes: 500_000_000, extensionDirectory: extensionDir! })
      )
      withExtensions = await loaded.connect()
      for (const name of ["postgres", "mysql", "sqlite"]) await withExtensions.run(`LOAD ${name}`)
    })
    afterAll(() => {
      withExtensions?.closeSync()
      loaded?.closeSync()
    })

    const rowsWith = async (sql: string) => (await withExtensions.runAndReadAll(sql)).getRowsJson()

    it("has exactly the reviewed functions: DuckDB's own plus the extensions'", async () => {
      const current = Object.fromEntries(
        await rowsWith(
          "SELECT function_type, list(DISTINCT function_name ORDER BY function_name) FROM duckdb_functions() GROUP BY ALL ORDER BY 1"
        )
      ) as Record<string, ReadonlyArray<string>>
      const added = Object.fromEntries(
        Object.entries(current).flatMap(([type, names]) => {
          const own = new Set(reviewed.functions[type] ?? [])
          const extra = names.filter((name) => !own.has(name))
          return extra.length === 0 ? [] : [[type, extra]]
        })
      )
      const { note: _note, ...extensionFunctions } = reviewed.extensionFunctions
      expect(added).toEqual(extensionFunctions)
    })

    it("allows none of the extensions' table functions: each reaches an upstream or a file on its own", () => {
      const allowed = (reviewed.extensionFunctions.table ?? []).filter((name) =>
        allowedTableFunctions.has(name)
      )
      expect(allowed).toEqual([])
    })

    it("adds no system view and no macro", async () => {
      const views = await rowsWith(
        "SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE internal ORDER BY 1"
      )
      expect(views.map((row) => row[0])).toEqual(reviewed.systemViews)
      expect(reviewed.extensionFunctions.macro).toBeUndefined()
      expect(reviewed.extensionFunctions.table_macro).toBeUndefined()
    })
  }
)
