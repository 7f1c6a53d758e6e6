import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"

/** A sandbox-like instance: in memory, nothing installed or loaded behind the server's back. */
export const openInstance = async (extra: Record<string, string> = {}) => {
  const instance = await DuckDBInstance.create(undefined, {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false",
    allow_persistent_secrets: "false",
    ...extra
  })
  const connection = await instance.connect()
  return {
    instance,
    connection,
    close: () => {
      connection.closeSync()
      instance.closeSync()
    }
  }
}

/** The error message DuckDB gives for `sql`, or undefined when it runs. */
export const errorOf = async (connection: DuckDBConnection, sql: string): Promise<string | undefined> => {
  try {
    await connection.run(sql)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

export const rows = async (connection: DuckDBConnection, sql: string) =>
  (await connection.runAndReadAll(sql)).getRowObjectsJson()

/** A DuckDB file holding `sales(id, amount)`, three rows summing to 242.75 (the fleet tests' data). */
export const writeSalesFile = async (file: string) => {
  const writer = await openInstance()
  await writer.connection.run(`ATTACH '${file}' AS w`)
  await writer.connection.run(
    "CREATE TABLE w.sales AS SELECT * FROM (VALUES (1, 120.5), (2, 80.0), (3, 42.25)) t(id, amount)"
  )
  await writer.connection.run("DETACH w")
  writer.close()
}
