import * as path from "node:path"
import type { DatabaseType } from "../domain/Config.js"
import { ExtensionUnavailable } from "../domain/Errors.js"
import { quoteLiteral } from "../sql/Quote.js"

/**
 * DuckDB extensions: which to load, from where, and what DuckDB says when one is missing.
 *
 * The server only ever `LOAD`s, from `duckdb.extension_directory` (filled at image build by
 * `npm run extensions:install`), before lockdown. It never `INSTALL`s while serving. A *local*
 * `duckdb.extension_repository` (a directory, or `file://`) has the same layout as an extension
 * directory, so it is searched too (DuckDB's `extension_directories`); a remote one (http, https,
 * s3) is only used by the install script.
 *
 * `arrow` is not loaded: since DuckDB 1.3 it is the community `nanoarrow` extension, community
 * extensions stay disabled (security.md §1), and the server encodes Arrow IPC itself with
 * apache-arrow. It is skipped with a reason the caller logs once.
 */

export type ScannerExtension = "postgres" | "mysql" | "sqlite"

/** Where the container image installs extensions. */
export const ImageExtensionDirectory = "/opt/pondpilot/extensions"

const aliases: Readonly<Record<string, string>> = {
  postgresql: "postgres",
  postgres_scanner: "postgres",
  mysql_scanner: "mysql",
  mariadb: "mysql",
  sqlite3: "sqlite",
  sqlite_scanner: "sqlite"
}

const builtIn: ReadonlySet<string> = new Set(["core_functions", "icu", "json", "parquet", "autocomplete"])

const skipReasons: Readonly<Record<string, string>> = {
  arrow:
    "not loaded: Arrow results are encoded by the server itself (apache-arrow); the DuckDB extension (community nanoarrow since DuckDB 1.3) is not needed and community extensions stay disabled",
  nanoarrow:
    "not loaded: Arrow results are encoded by the server itself (apache-arrow); community extensions stay disabled"
}

const validName = /^[a-z][a-z0-9_]{0,63}$/

export type ExtensionRequest =
  | { readonly _tag: "Load"; readonly name: string }
  | { readonly _tag: "Skip"; readonly requested: string; readonly reason: string }

/** What a name in `duckdb.extensions` means: an extension to load, or one skipped and why. */
export const resolveExtension = (requested: string): ExtensionRequest => {
  const lower = requested.trim().toLowerCase()
  const name = aliases[lower] ?? lower
  const skip = skipReasons[name]
  if (skip !== undefined) return { _tag: "Skip", requested, reason: skip }
  if (builtIn.has(name)) return { _tag: "Skip", requested, reason: "built into DuckDB; nothing to load" }
  if (!validName.test(name)) return { _tag: "Skip", requested, reason: "not a valid extension name" }
  return { _tag: "Load", name }
}

/** Problems for a config loader to report (one line per bad entry). */
export const extensionNameProblems = (
  extensions: ReadonlyArray<string>,
  where = "duckdb.extensions"
): ReadonlyArray<string> =>
  extensions.flatMap((requested, index) => {
    const resolved = resolveExtension(requested)
    return resolved._tag === "Skip" && resolved.reason === "not a valid extension name"
      ? [`${where}[${index}]: not a valid extension name`]
      : []
  })

export const extensionForType = (type: DatabaseType): ScannerExtension | undefined => {
  switch (type) {
    case "postgres":
    case "postgresql":
      return "postgres"
    case "mysql":
      return "mysql"
    case "sqlite":
      return "sqlite"
    case "duckdb":
      return undefined
  }
}

/**
 * Table pages (8 KiB) per PostgreSQL scan task. The scanner splits a table into ctid ranges of this
 * many pages and sends a query's pushed-down filter with each, so a point lookup costs one index
 * probe per range: at the scanner's 1,000 that is ~10 probes on a million-row table, 1,000 on a
 * hundred million. At a million pages (8 GB) a lookup is one probe on any table up to that size;
 * the price is that such a table is read by one stream instead of several in parallel.
 */
export const postgresPagesPerTask = 1_000_000

/**
 * Settings each scanner is loaded with, so that an upstream's values arrive exact (README, "Types").
 * MySQL's TINYINT(1) is an ordinary 8-bit integer that merely displays one digit: read as BOOLEAN
 * (the scanner's default) a 5 or a -1 would come back as `true`.
 */
export const scannerSettings: Readonly<Record<string, ReadonlyArray<string>>> = {
  mysql: ["SET GLOBAL mysql_tinyint1_as_boolean = false"],
  postgres: [`SET GLOBAL pg_pages_per_task = ${postgresPagesPerTask}`]
}

const isRemoteRepository = (repository: string) =>
  /^[a-z][a-z0-9+.-]*:\/\//i.test(repository) && !repository.startsWith("file://")

/** A local repository's directory, or undefined for a remote one. */
export const localRepositoryDirectory = (
  repository: string | undefined,
  baseDir: string
): string | undefined => {
  if (repository === undefined || repository.trim() === "") return undefined
  if (repository.startsWith("file://")) return path.resolve(baseDir, decodeURIComponent(repository.slice(7)))
  return isRemoteRepository(repository) ? undefined : path.resolve(baseDir, repository)
}

export interface ExtensionSettings {
  /** `duckdb.extensions`. */
  readonly extensions: ReadonlyArray<string>
  /** Database types the instance attaches: their scanners load even when not listed. */
  readonly types?: ReadonlyArray<DatabaseType>
  /** Resolved extension directory (see `resolveExtensionDirectory`); DuckDB's default when undefined. */
  readonly directory: string | undefined
  /** `duckdb.extension_repository` as configured. */
  readonly repository?: string | undefined
  /** Relative directories and repositories resolve against this (the config file's directory). */
  readonly baseDir: string
}

export interface ExtensionPlan {
  /** Run in order on the server's connection, at instance creation, before lockdown. */
  readonly statements: ReadonlyArray<string>
  /** Extension names loaded by `statements`, in order. */
  readonly loads: ReadonlyArray<string>
  /** Requested names not loaded, with the reason to log. */
  readonly skipped: ReadonlyArray<{ readonly requested: string; readonly reason: string }>
  /** Set when a remote repository was configured: it is used by the install script only. */
  readonly remoteRepositoryIgnored: boolean
}

export const planExtensions = (settings: ExtensionSettings): ExtensionPlan => {
  const loads: Array<string> = []
  const skipped: Array<{ requested: string; reason: string }> = []
  const wanted = [
    ...settings.extensions,
    ...(settings.types ?? []).flatMap((type) => extensionForType(type) ?? [])
  ]
  for (const requested of wanted) {
    const resolved = resolveExtension(requested)
    if (resolved._tag === "Skip") skipped.push({ requested: resolved.requested, reason: resolved.reason })
    else if (!loads.includes(resolved.name)) loads.push(resolved.name)
  }
  const statements: Array<string> = []
  if (settings.directory !== undefined) {
    statements.push(
      `SET extension_directory = ${quoteLiteral(path.resolve(settings.baseDir, settings.directory))}`
    )
  }
  const localRepository = localRepositoryDirectory(settings.repository, settings.baseDir)
  if (localRepository !== undefined) {
    statements.push(`SET extension_directories = [${quoteLiteral(localRepository)}]`)
  }
  for (const name of loads) statements.push(`LOAD ${name}`)
  return {
    statements,
    loads,
    skipped,
    remoteRepositoryIgnored:
      settings.repository !== undefined && settings.repository.trim() !== "" && localRepository === undefined
  }
}

/**
 * The extension directory to use: the configured one (relative to `baseDir`), else the image's, else
 * `./extensions` under the working directory when present, else undefined (DuckDB's default,
 * `~/.duckdb/extensions`, where a developer's own `INSTALL` puts them).
 */
export const resolveExtensionDirectory = (input: {
  readonly configured: string | undefined
  readonly baseDir: string
  readonly cwd: string
  readonly exists: (directory: string) => boolean
}): string | undefined => {
  if (input.configured !== undefined && input.configured.trim() !== "") {
    return path.resolve(input.baseDir, input.configured)
  }
  if (input.exists(ImageExtensionDirectory)) return ImageExtensionDirectory
  const local = path.resolve(input.cwd, "extensions")
  return input.exists(local) ? local : undefined
}

const canonical = (name: string): string => {
  const lower = name.toLowerCase()
  return aliases[lower] ?? lower
}

/**
 * DuckDB 1.5.5's messages for an extension that cannot be loaded (measured; the first group of each
 * pattern captures the extension's name). Paths in these messages are the server's: never echo them.
 */
const missingPatterns: ReadonlyArray<RegExp> = [
  // LOAD x / ATTACH (TYPE x) with nothing in the directory:
  // IO Error: Extension "<dir>/v1.5.5/linux_amd64/postgres_scanner.duckdb_extension" not found.…
  /Extension "[^"]*?([A-Za-z0-9_]+)\.duckdb_extension" not found/,
  // A file that is not an extension (truncated, wrong platform header):
  // Invalid Input Error: Failed to load 'postgres', The file is not a DuckDB extension.…
  /Failed to load '(?:[^']*\/)?([A-Za-z0-9_]+?)(?:\.duckdb_extension)?', The file is not a DuckDB extension/,
  // IO Error: Failed to install 'mysql_scanner'\nThe file is not a DuckDB extension.…
  /Failed to install '([A-Za-z0-9_]+)'/,
  // An extension built for another DuckDB version or platform, or unsigned:
  /Extension "[^"]*?([A-Za-z0-9_]+)\.duckdb_extension" could not be loaded because its signature/,
  /Failed to load '(?:[^']*\/)?([A-Za-z0-9_]+?)(?:\.duckdb_extension)?'.*?The file was built for/s,
  // CREATE SECRET before the extension is loaded:
  // Invalid Input Error: Secret type 'postgres' does not exist, but it exists in the postgres_scanner extension.
  /Secret type '[^']*' does not exist, but it exists in the ([A-Za-z0-9_]+) extension/,
  // A function or type of an extension that is not loaded (autoload is off):
  /but it exists in the ([A-Za-z0-9_]+) extension/,
  // LOAD after lockdown (a server bug, but the client's answer is the same):
  // Permission Error: Loading external extensions is disabled through configuration
  /()Loading external extensions is disabled through configuration/,
  // INSTALL without network (the install script):
  // IO Error: Failed to download extension "postgres_scanner" at URL "http://extensions.duckdb.org/…" … (ERROR Could not establish connection)
  /Failed to download extension "([A-Za-z0-9_]+)"/
]

export const extensionUnavailable = (name: string | undefined): ExtensionUnavailable =>
  new ExtensionUnavailable({
    message: `${name === undefined ? "A required DuckDB extension" : `The DuckDB extension "${name}"`} is not available on this server. Provide it by running "npm run extensions:install" where the network allows it (the container image does this at build time), or mount a directory holding it at duckdb.extension_directory.`
  })

/**
 * `ExtensionUnavailable` when `message` says an extension could not be loaded; else undefined.
 * Meant for the server's own statements (instance setup, attach plans): a client's query naming a
 * function of an unloaded extension ("… but it exists in the X extension") is its own `sql_error`.
 * `fallbackName` names the extension when DuckDB's message does not (LOAD after lockdown).
 */
export const classifyExtensionError = (
  message: string,
  fallbackName?: string
): ExtensionUnavailable | undefined => {
  for (const pattern of missingPatterns) {
    const match = pattern.exec(message)
    if (match !== null) {
      const found = match[1]
      return extensionUnavailable(found !== undefined && found !== "" ? canonical(found) : fallbackName)
    }
  }
  return undefined
}
