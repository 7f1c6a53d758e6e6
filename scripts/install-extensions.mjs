#!/usr/bin/env node
// Fills an extension directory with the DuckDB extensions the server loads, for the DuckDB version
// pinned by @duckdb/node-api. Run at image build time (and wherever the network allows); the server
// itself never downloads an extension.
//
//   npm run extensions:install -- [--dir DIR] [--repository URL|PATH] [--config FILE]
//                                  [--timeout SECONDS] [--no-defaults] [--dry-run] [EXTENSION...]
//
// Extensions: postgres, mysql and sqlite (unless --no-defaults), plus those named by the config file
// (duckdb.extensions and the types of duckdb.attached_databases) and on the command line.
// DIR defaults to /opt/pondpilot/extensions when /opt/pondpilot exists (the image), else ./extensions.
// The config's duckdb.extension_directory / extension_repository are used unless given here.
// Exit status: 0 all installed and loadable, 1 an extension could not be installed (network,
// repository, timeout), 2 bad usage.

import * as fs from "node:fs"
import * as path from "node:path"
import { parseArgs } from "node:util"

// Keep in step with src/duckdb/Extensions.ts (a test compares the two).
const aliases = {
  postgresql: "postgres",
  postgres_scanner: "postgres",
  mysql_scanner: "mysql",
  mariadb: "mysql",
  sqlite3: "sqlite",
  sqlite_scanner: "sqlite"
}
const builtIn = new Set(["core_functions", "icu", "json", "parquet", "autocomplete"])
const skipped = {
  arrow: "not needed: the server encodes Arrow IPC itself (apache-arrow)",
  nanoarrow: "not needed: the server encodes Arrow IPC itself (apache-arrow)"
}
const typeExtensions = { postgres: "postgres", postgresql: "postgres", mysql: "mysql", sqlite: "sqlite" }
const defaults = ["postgres", "mysql", "sqlite"]
const validName = /^[a-z][a-z0-9_]{0,63}$/

const usage = (problem) => {
  process.stderr.write(`install-extensions: ${problem}\n`)
  process.stderr.write(
    "usage: install-extensions [--dir DIR] [--repository URL|PATH] [--config FILE] [--timeout SECONDS] [--no-defaults] [--dry-run] [EXTENSION...]\n"
  )
  process.exit(2)
}

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      repository: { type: "string" },
      config: { type: "string" },
      timeout: { type: "string", default: "300" },
      "dry-run": { type: "boolean", default: false },
      "no-defaults": { type: "boolean", default: false },
      help: { type: "boolean", default: false }
    }
  })
} catch (error) {
  usage(error.message)
}
const { values: options, positionals } = parsed
if (options.help) usage("help requested")

const timeoutSeconds = Number(options.timeout)
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
  usage("--timeout must be a positive number of seconds")

/** What the config file asks for; `${VAR}` values are left to the server and ignored here. */
const readConfig = async (file) => {
  const { parse } = await import("yaml")
  const text = fs.readFileSync(file, "utf8")
  const duckdb = parse(text)?.duckdb ?? {}
  const literal = (value) => (typeof value === "string" && !value.includes("${") ? value : undefined)
  const configDir = path.dirname(path.resolve(file))
  const directory = literal(duckdb.extension_directory)
  const repository = literal(duckdb.extension_repository)
  const isUrl = (value) => /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
  return {
    extensions: [
      ...(Array.isArray(duckdb.extensions) ? duckdb.extensions.filter((e) => typeof e === "string") : []),
      ...(Array.isArray(duckdb.attached_databases)
        ? duckdb.attached_databases.map((db) => typeExtensions[db?.type]).filter(Boolean)
        : [])
    ],
    directory: directory === undefined ? undefined : path.resolve(configDir, directory),
    repository:
      repository === undefined || isUrl(repository) ? repository : path.resolve(configDir, repository)
  }
}

const configFile = options.config ?? process.env.CONFIG_FILE
let fromConfig = { extensions: [], directory: undefined, repository: undefined }
if (configFile) {
  try {
    fromConfig = await readConfig(configFile)
  } catch (error) {
    usage(`cannot read the config file: ${error.message.split("\n")[0]}`)
  }
}

const defaultDirectory = fs.existsSync("/opt/pondpilot")
  ? "/opt/pondpilot/extensions"
  : path.resolve("extensions")
const directory = path.resolve(options.dir ?? fromConfig.directory ?? defaultDirectory)
const repository = options.repository ?? fromConfig.repository

const plan = { directory, repository: repository ?? null, install: [], skipped: [] }
const requestedNames = [...(options["no-defaults"] ? [] : defaults), ...fromConfig.extensions, ...positionals]
if (requestedNames.length === 0) usage("no extension to install")
for (const requested of requestedNames) {
  const lower = String(requested).trim().toLowerCase()
  const name = aliases[lower] ?? lower
  if (skipped[name]) plan.skipped.push({ requested, reason: skipped[name] })
  else if (builtIn.has(name)) plan.skipped.push({ requested, reason: "built into DuckDB" })
  else if (!validName.test(name)) usage(`"${requested}" is not a valid extension name`)
  else if (!plan.install.includes(name)) plan.install.push(name)
}

if (options["dry-run"]) {
  process.stdout.write(`${JSON.stringify(plan)}\n`)
  process.exit(0)
}

const quote = (text) => `'${String(text).replaceAll("'", "''")}'`

// DuckDB's downloader has its own long timeouts and retries, and a process blocked in it does not
// even exit promptly: the installing runs in a child process that is killed at the deadline.
if (process.env.PONDPILOT_INSTALL_EXTENSIONS_CHILD !== "1") {
  const { spawn } = await import("node:child_process")
  const child = spawn(process.execPath, process.argv.slice(1), {
    stdio: "inherit",
    env: { ...process.env, PONDPILOT_INSTALL_EXTENSIONS_CHILD: "1" }
  })
  const deadline = setTimeout(() => {
    child.kill("SIGKILL")
    process.stderr.write(
      `install-extensions: timed out after ${timeoutSeconds}s (network or repository unreachable?). ` +
        "Run this where the network allows it, or pass --repository with a reachable mirror or a local directory.\n"
    )
    process.exit(1)
  }, timeoutSeconds * 1000)
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      child.kill("SIGKILL")
      process.exit(1)
    })
  }
  child.on("exit", (code, signal) => {
    clearTimeout(deadline)
    process.exit(code ?? (signal ? 1 : 0))
  })
} else {
  await install()
}

async function install() {
  const { DuckDBInstance } = await import("@duckdb/node-api")
  fs.mkdirSync(directory, { recursive: true })
  const instance = await DuckDBInstance.create(undefined, {
    extension_directory: directory,
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false"
  })
  const connection = await instance.connect()
  const version = (await connection.runAndReadAll("SELECT version() AS v")).getRowObjects()[0].v
  const platform = (await connection.runAndReadAll("PRAGMA platform")).getRowObjects()[0].platform
  process.stdout.write(`install-extensions: DuckDB ${version} (${platform}) into ${directory}\n`)
  for (const skip of plan.skipped) process.stdout.write(`  skip ${skip.requested}: ${skip.reason}\n`)

  const explain = (name, message) => {
    if (
      /Failed to download extension|Could not establish connection|Failed to connect|timed out/i.test(message)
    ) {
      return `extension "${name}" could not be downloaded from ${repository ?? "the default DuckDB repository"}: the network is unavailable or the repository unreachable. Run this where the network allows it, or pass --repository with a reachable mirror or a local directory.`
    }
    if (/no access to the file|not found/i.test(message)) {
      return `extension "${name}" was not found in the repository ${repository ?? ""} for DuckDB ${version} (${platform}).`
    }
    if (/not a DuckDB extension|built for|signature/i.test(message)) {
      return `extension "${name}" in the repository is not a valid, signed build for DuckDB ${version} (${platform}).`
    }
    return `extension "${name}" could not be installed.`
  }

  let failed = false
  for (const name of plan.install) {
    const from = repository === undefined ? "" : ` FROM ${quote(repository)}`
    try {
      await connection.run(`INSTALL ${name}${from}`)
      // Loading proves the file is a signed build for this DuckDB, as the server will need it.
      await connection.run(`LOAD ${name}`)
      process.stdout.write(`  installed ${name}\n`)
    } catch (error) {
      failed = true
      process.stderr.write(`install-extensions: ${explain(name, error.message)}\n`)
      process.stderr.write(`  DuckDB said: ${error.message.replace(/\s*\n\s*/g, " ")}\n`)
    }
  }
  connection.closeSync()
  instance.closeSync()
  process.exit(failed ? 1 : 0)
}
