import { describe, expect, it } from "vitest"
import { trimSandboxHints } from "../../src/duckdb/ErrorHints.js"

/** DuckDB 1.5.5's own messages (collected through the gate), as the client would have seen them. */
describe("trimSandboxHints", () => {
  it("drops advice to SET a setting the client cannot change", () => {
    expect(
      trimSandboxHints(
        'Parser Error: Max expression depth limit of 1000 exceeded. Use "SET max_expression_depth TO x" to increase the maximum expression depth.'
      )
    ).toBe("Parser Error: Max expression depth limit of 1000 exceeded.")
  })

  it("replaces INSTALL/LOAD advice: extensions are the server's", () => {
    expect(
      trimSandboxHints(
        'Catalog Error: Scalar Function with name "st_point" is not in the catalog, but it exists in the spatial extension.\n\nPlease try installing and loading the spatial extension:\nINSTALL spatial;\nLOAD spatial;\n'
      )
    ).toBe(
      'Catalog Error: Scalar Function with name "st_point" is not in the catalog, but it exists in the spatial extension.\n\nThe spatial extension is not available on this server.'
    )
  })

  it("drops the in-memory engine's temp_directory advice", () => {
    expect(
      trimSandboxHints(
        "Out of Memory Error: failed to allocate data of size 32.0 KiB (244.1 MiB/244.1 MiB used)\nDatabase is launched in in-memory mode and no temporary directory is specified.\nUnused blocks cannot be offloaded to disk.\n\nLaunch the database with a persistent storage back-end\nOr set SET temp_directory='<path>/tmp.tmp'\n\nSee also https://duckdb.org/docs/stable/guides/performance/how_to_tune_workloads"
      )
    ).not.toContain("SET temp_directory")
  })

  it("drops an out-of-memory error's SET suggestions and their heading", () => {
    const message =
      "Out of Memory Error: failed to allocate data of size 16.0 MiB (488.2 MiB/488.2 MiB used)\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)\n* Disabling insertion-order preservation (SET preserve_insertion_order=false)\n* Increasing the memory limit (SET memory_limit='...')\n"
    expect(trimSandboxHints(message)).toBe(
      "Out of Memory Error: failed to allocate data of size 16.0 MiB (488.2 MiB/488.2 MiB used)"
    )
  })

  it.each([
    ["Table", "pg_setting", "pg_settings"],
    ["Table", "duckdb_database", "duckdb_databases"],
    ["Table", "pragma_database_lis", "pragma_database_list"],
    ["Scalar Function", "curent_setting", "current_setting"],
    ["Scalar Function", "getvariabl", "getvariable"],
    ["Scalar Function", "json_serialize_pla", "json_serialize_plan"],
    ["Table Function", "read_csvv", "read_csv"],
    ["Table", "pg_setting", "pg_catalog.pg_settings"]
  ])("drops a suggestion of a hidden name: %s %s → %s", (kind, typed, suggested) => {
    const message = `Catalog Error: ${kind} with name ${typed} does not exist!\nDid you mean "${suggested}"?\n\nLINE 1: SELECT * FROM ${typed}\n                      ^`
    expect(trimSandboxHints(message)).toBe(
      `Catalog Error: ${kind} with name ${typed} does not exist!\n\nLINE 1: SELECT * FROM ${typed}\n                      ^`
    )
  })

  it.each([
    ["Table", "custmers", "customers"],
    ["Table", "pg_enumx", "pg_enum"],
    ["Table", "tabls", "information_schema.tables"],
    ["Scalar Function", "enable_loging", "enum_range"],
    ["Table Function", "rnge", "range"]
  ])("keeps a suggestion the client may use: %s %s → %s", (kind, typed, suggested) => {
    const message = `Catalog Error: ${kind} with name ${typed} does not exist!\nDid you mean "${suggested}"?`
    expect(trimSandboxHints(message)).toBe(message)
  })

  it("leaves the client's own SQL in the echo, and plain messages, untouched", () => {
    const echo =
      "Parser Error: syntax error at or near \"x\"\n\nLINE 1: SELECT 'SET threads = 1' x x\n                                  ^"
    expect(trimSandboxHints(echo)).toBe(echo)
    const plain = 'Binder Error: Referenced column "x" not found in FROM clause!\nCandidate bindings: "a"'
    expect(trimSandboxHints(plain)).toBe(plain)
    const update = "Binder Error: Cannot update column in SET clause"
    expect(trimSandboxHints(update)).toBe(update)
  })
})
