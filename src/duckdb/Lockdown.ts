import type { DuckDBConnection } from "@duckdb/node-api"

// Provisional: replaced by the security work (issue 5), which owns this module.
export const creationOptions = (settings: {
  readonly threads: number
  readonly memoryLimitBytes: number
}): Record<string, string> => ({
  threads: String(settings.threads),
  memory_limit: `${settings.memoryLimitBytes}B`,
  temp_directory: "",
  autoinstall_known_extensions: "false",
  autoload_known_extensions: "false",
  allow_community_extensions: "false",
  allow_unsigned_extensions: "false",
  allow_persistent_secrets: "false"
})

export const lockdown = async (
  connection: DuckDBConnection,
  options: { readonly allowedPaths: ReadonlyArray<string> }
): Promise<void> => {
  if (options.allowedPaths.length > 0) {
    await connection.run(
      `SET allowed_paths = [${options.allowedPaths.map((p) => `'${p.replaceAll("'", "''")}'`).join(", ")}]`
    )
  }
  await connection.run("SET enable_external_access = false")
  await connection.run("SET lock_configuration = true")
}
