import * as nodePath from "node:path"
import type { DuckDBConnection } from "@duckdb/node-api"
import { Data, Effect } from "effect"
import { quoteLiteral } from "../sql/Quote.js"

/**
 * The DuckDB side of the sandbox (security.md §1–2): what an instance is created with, and the one-way
 * lockdown after the server's own setup. The statement gate (StatementGate.ts) closes what settings cannot.
 */

export interface InstanceSettings {
  readonly threads: number
  readonly memoryLimitBytes: number
  /** Only when the operator ships signed-elsewhere local builds of extensions. */
  readonly allowUnsignedExtensions?: boolean
  /** Where the server's pre-installed extensions live; DuckDB never downloads any. */
  readonly extensionDirectory?: string
}

/**
 * Options for `DuckDBInstance.create(undefined, options)`. The path must be `undefined`, not `':memory:'`:
 * with `':memory:'` and external access off, DuckDB allows `<cwd>/:memory:` and its `.wal`, so
 * `COPY ... TO ':memory:'` writes a file.
 */
export const creationOptions = (settings: InstanceSettings): Record<string, string> => ({
  threads: String(Math.max(1, Math.floor(settings.threads))),
  // DuckDB reads a bare number as an error; "<n>B" is a byte count ("1GB" would be 10^9 bytes).
  memory_limit: `${Math.max(1, Math.floor(settings.memoryLimitBytes))}B`,
  // Without a temp directory nothing spills to disk, and COPY cannot write into a directory DuckDB allows.
  temp_directory: "",
  autoinstall_known_extensions: "false",
  autoload_known_extensions: "false",
  allow_community_extensions: "false",
  allow_unsigned_extensions: settings.allowUnsignedExtensions === true ? "true" : "false",
  allow_extensions_metadata_mismatch: "false",
  allow_persistent_secrets: "false",
  allow_unredacted_secrets: "false",
  // Settings listed here would stay changeable after lock_configuration.
  allowed_configs: "[]",
  // Errors stay plain text, which the scrubber expects.
  errors_as_json: "false",
  ...(settings.extensionDirectory === undefined ? {} : { extension_directory: settings.extensionDirectory })
})

/** The instance could not be locked down; it must be closed, never served. Operators only. */
export class LockdownFailed extends Data.TaggedError("LockdownFailed")<{
  readonly setting: string
  readonly cause?: unknown
}> {
  override get message() {
    return `DuckDB lockdown failed at ${this.setting}`
  }
}

export interface LockdownOptions {
  /** DuckDB files the server may attach after lockdown. Each file's `.wal` is allowed with it. */
  readonly allowedPaths: ReadonlyArray<string>
}

/** The paths DuckDB is told to allow: each file and its write-ahead log. */
export const allowedPathList = (paths: ReadonlyArray<string>): ReadonlyArray<string> => [
  ...new Set(paths.flatMap((path) => [path, `${path}.wal`]))
]

/** Settings that must hold after lockdown, as `current_setting` reports them. */
const expectedAfterLockdown: ReadonlyArray<readonly [string, unknown]> = [
  ["enable_external_access", false],
  ["lock_configuration", true],
  ["autoinstall_known_extensions", false],
  ["autoload_known_extensions", false],
  ["allow_community_extensions", false],
  ["allow_persistent_secrets", false],
  ["allow_unredacted_secrets", false],
  ["temp_directory", ""]
]

const step = <A>(setting: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (cause) => new LockdownFailed({ setting, cause }) })

const currentSetting = (connection: DuckDBConnection, name: string) =>
  step(name, async () => {
    const reader = await connection.runAndReadAll("SELECT current_setting($1)", [name])
    return reader.getRowsJson()[0]?.[0]
  })

/**
 * DuckDB stores absolute, normalised paths, and `enable_external_access = false` itself adds every attached
 * file with its `.wal`, `.wal.checkpoint` and `.wal.recovery` (measured on 1.5.5). Anything else is wrong.
 */
const expectedPaths = (
  actual: unknown,
  expected: ReadonlyArray<string>,
  attachedFiles: ReadonlyArray<string>
) => {
  if (!Array.isArray(actual)) return false
  const present = new Set(actual.map(String))
  const addedByDuckDB = new Set(
    attachedFiles.flatMap((file) =>
      ["", ".wal", ".wal.checkpoint", ".wal.recovery"].map((suffix) => file + suffix)
    )
  )
  return (
    expected.every((file) => present.has(nodePath.resolve(file))) &&
    [...present].every(
      (file) => addedByDuckDB.has(file) || expected.some((e) => nodePath.resolve(e) === file)
    )
  )
}

/**
 * security.md §2 steps 2–4 on a server-owned connection, after the server has loaded extensions, created
 * secrets and attached databases: `allowed_paths`, then `enable_external_access = false`, then
 * `lock_configuration = true` (both one way, for every connection). Then checks that each setting holds
 * and that the configuration really is locked. On failure, close the instance.
 */
export const lockdown = Effect.fn("Lockdown.lockdown")(function* (
  connection: DuckDBConnection,
  options: LockdownOptions
) {
  const paths = allowedPathList(options.allowedPaths)
  yield* step("allowed_paths", () =>
    connection.run(`SET allowed_paths = [${paths.map(quoteLiteral).join(", ")}]`)
  )
  yield* step("enable_external_access", () => connection.run("SET enable_external_access = false"))
  yield* step("lock_configuration", () => connection.run("SET lock_configuration = true"))

  for (const [name, expected] of expectedAfterLockdown) {
    const actual = yield* currentSetting(connection, name)
    if (actual !== expected) return yield* new LockdownFailed({ setting: name })
  }
  const actualPaths = yield* currentSetting(connection, "allowed_paths")
  const attached = yield* step("allowed_paths", async () =>
    (
      await connection.runAndReadAll("SELECT path FROM duckdb_databases() WHERE path IS NOT NULL")
    ).getRowsJson()
  )
  if (
    !expectedPaths(
      actualPaths,
      paths,
      attached.map((row) => String(row[0]))
    )
  ) {
    return yield* new LockdownFailed({ setting: "allowed_paths" })
  }
  // The proof that the lock holds: a harmless change must now be refused.
  const changed = yield* Effect.promise(() =>
    connection.run("SET allowed_paths = []").then(
      () => true,
      () => false
    )
  )
  if (changed) return yield* new LockdownFailed({ setting: "lock_configuration" })
})
