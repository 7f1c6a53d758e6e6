#!/usr/bin/env node
// Fills an extension directory with the DuckDB extensions the server loads, for the DuckDB version
// pinned by @duckdb/node-api. Run at image build time (and wherever the network allows); the server
// itself never downloads an extension.
//
//   npm run extensions:install -- [--dir DIR] [--repository URL|PATH | --wheels DIR | --pypi
//                                  [--pip-index-url URL]] [--config FILE] [--timeout SECONDS]
//                                  [--no-defaults] [--dry-run] [EXTENSION...]
//
// Sources: DuckDB's extension repository (the default, or --repository for a mirror or a local
// directory laid out like it), or the official PyPI wheels (duckdb-extension-<name>, versioned like
// DuckDB): --wheels takes a directory of already-downloaded .whl files, --pypi fetches them with pip
// (--pip-index-url for a mirror). A wheel is a zip holding the signed binary DuckDB itself serves.
// Whatever the source, every extension is then LOADed here with DuckDB's signature check on, so a
// tampered or foreign binary is refused now rather than by the server at start.
// Extensions: postgres, mysql and sqlite (unless --no-defaults), plus those named by the config file
// (duckdb.extensions and the types of duckdb.attached_databases) and on the command line.
// DIR defaults to /opt/pondpilot/extensions when /opt/pondpilot exists (the image), else ./extensions.
// The config's duckdb.extension_directory / extension_repository are used unless given here.
// Exit status: 0 all installed and loadable, 1 an extension could not be installed (network,
// repository, timeout), 2 bad usage.

import * as fs from "node:fs"
import * as path from "node:path"
import { parseArgs } from "node:util"

// Keep in step with src/attach/Extensions.ts (a test compares the two).
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
    "usage: install-extensions [--dir DIR] [--repository URL|PATH | --wheels DIR | --pypi [--pip-index-url URL]] [--config FILE] [--timeout SECONDS] [--no-defaults] [--dry-run] [EXTENSION...]\n"
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
      wheels: { type: "string" },
      pypi: { type: "boolean", default: false },
      "pip-index-url": { type: "string" },
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

if ([options.repository !== undefined, options.wheels !== undefined, options.pypi].filter(Boolean).length > 1)
  usage("--repository, --wheels and --pypi are alternatives: give one")
if (options["pip-index-url"] !== undefined && !options.pypi) usage("--pip-index-url goes with --pypi")

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
const source = options.pypi ? "pypi" : options.wheels !== undefined ? "wheels" : "repository"
// The config's repository is DuckDB's kind of source; a wheel source on the command line replaces it.
const repository = source === "repository" ? (options.repository ?? fromConfig.repository) : undefined
const wheels = options.wheels === undefined ? undefined : path.resolve(options.wheels)
if (wheels !== undefined && !fs.statSync(wheels, { throwIfNoEntry: false })?.isDirectory())
  usage(`--wheels ${wheels} is not a directory`)

/** A URL as it may be printed: without the user and password some mirrors carry in it. */
const printable = (url) => {
  try {
    const parsed = new URL(url)
    parsed.username = ""
    parsed.password = ""
    return parsed.href
  } catch {
    return "(the given URL)"
  }
}

const plan = {
  directory,
  source,
  repository: repository ?? null,
  wheels: wheels ?? null,
  pipIndexUrl: options["pip-index-url"] === undefined ? null : printable(options["pip-index-url"]),
  install: [],
  skipped: []
}
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

// DuckDB's own name for an extension's file (and its wheel) where it differs from the name loaded.
const canonicalNames = { postgres: "postgres_scanner", mysql: "mysql_scanner", sqlite: "sqlite_scanner" }
const canonical = (name) => canonicalNames[name] ?? name
// The PyPI platform tag of the wheels built for a DuckDB platform.
const wheelPlatforms = { linux_amd64: "manylinux2014_x86_64", linux_arm64: "manylinux2014_aarch64" }

/**
 * The extension binary inside one of the wheels in `dir`, for this DuckDB version. A wheel's name is
 * `<distribution>-<version>-<python>-<abi>-<platform>.whl` (PEP 427); the binary sits at
 * `<distribution>/extensions/<version>/<file>.duckdb_extension`, neither gzipped nor under a
 * platform folder. Returns { wheel, bytes } or { problem }.
 */
const readWheel = async (dir, name, version, platform) => {
  const { unzipSync } = await import("fflate")
  const distribution = `duckdb_extension_${canonical(name)}`
  const entry = `${distribution}/extensions/${version}/${canonical(name)}.duckdb_extension`
  const tag = wheelPlatforms[platform]
  const candidates = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith(".whl"))
    .map((file) => ({ file, parts: file.slice(0, -4).split("-") }))
    .filter(({ parts }) => parts[0]?.toLowerCase().replace(/[-_.]+/g, "_") === distribution)
    // This version and platform first; the entry inside decides.
    .sort((a, b) => rank(b) - rank(a))
  function rank({ parts }) {
    return (
      (parts[1] === version.slice(1) ? 2 : 0) + (tag !== undefined && parts.at(-1)?.includes(tag) ? 1 : 0)
    )
  }
  for (const { file } of candidates) {
    let files
    try {
      files = unzipSync(fs.readFileSync(path.join(dir, file)), { filter: (f) => f.name === entry })
    } catch (error) {
      return { problem: `${file} in ${dir} is not a readable wheel (zip): ${error.message}` }
    }
    if (files[entry] !== undefined) return { wheel: file, bytes: files[entry] }
  }
  return {
    problem:
      candidates.length === 0
        ? `no wheel for extension "${name}" in ${dir} (looked for ${distribution}-*.whl)`
        : `no wheel in ${dir} holds extension "${name}" for DuckDB ${version} (looked for ${entry} in ${candidates.map((c) => c.file).join(", ")})`
  }
}

/** Downloads the wheel of each extension with pip into `into`; returns the problems. */
const downloadWheels = async (names, into, version, platform) => {
  const { spawnSync } = await import("node:child_process")
  const tag = wheelPlatforms[platform]
  if (tag === undefined) {
    return [
      `--pypi knows the wheel platform of ${Object.keys(wheelPlatforms).join(" and ")} only, not ${platform}: download the wheels for this platform and pass --wheels DIR.`
    ]
  }
  const index = options["pip-index-url"]
  const where = index === undefined ? "PyPI" : printable(index)
  const problems = []
  for (const name of names) {
    const requirement = `duckdb-extension-${canonical(name).replaceAll("_", "-")}==${version.slice(1)}.*`
    const args = [
      "-m",
      "pip",
      "download",
      "--no-deps",
      "--only-binary=:all:",
      "--platform",
      tag,
      "--dest",
      into,
      "--disable-pip-version-check",
      "--no-input",
      "--timeout",
      "30",
      "--retries",
      "2",
      ...(index === undefined ? [] : ["--index-url", index]),
      requirement
    ]
    const python = process.env.PYTHON ?? "python3"
    const result = spawnSync(python, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    if (result.error !== undefined || result.status !== 0) {
      const said = `${result.error?.message ?? ""} ${result.stderr ?? ""}`
      const reason =
        result.error !== undefined || /No module named pip/.test(said)
          ? `pip is not available (${python} -m pip); install Python 3 with pip (Debian: python3-pip), or pass --wheels DIR`
          : /NewConnectionError|ConnectTimeout|ReadTimeout|Network is unreachable|Name or service not known|Temporary failure in name resolution|Connection refused/i.test(
                said
              )
            ? `${where} could not be reached: the network is unavailable or the index unreachable. Pass --pip-index-url with a reachable mirror, or --wheels DIR`
            : /No matching distribution|Could not find a version/i.test(said)
              ? `${where} has no wheel ${requirement} for ${tag}`
              : `pip could not download ${requirement} from ${where}`
      problems.push(`extension "${name}": ${reason}.`)
      const lastLines = said.trim().split("\n").filter(Boolean).slice(-3).join(" | ")
      if (lastLines !== "") problems.push(`  pip said: ${lastLines}`)
    }
  }
  return problems
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
  const from =
    source === "repository" ? "" : ` from ${source === "pypi" ? "PyPI wheels" : `the wheels in ${wheels}`}`
  process.stdout.write(`install-extensions: DuckDB ${version} (${platform}) into ${directory}${from}\n`)
  for (const skip of plan.skipped) process.stdout.write(`  skip ${skip.requested}: ${skip.reason}\n`)
  const finish = (failed) => {
    connection.closeSync()
    instance.closeSync()
    process.exit(failed ? 1 : 0)
  }
  const fail = (message) => process.stderr.write(`install-extensions: ${message}\n`)
  const oneLine = (message) => message.replace(/\s*\n\s*/g, " ")

  if (source === "repository") {
    finish(!(await installFromRepository(connection, version, platform)))
    return
  }

  let wheelDir = wheels
  let downloaded
  if (source === "pypi") {
    downloaded = fs.mkdtempSync(path.join((await import("node:os")).tmpdir(), "pondpilot-wheels-"))
    wheelDir = downloaded
    const problems = await downloadWheels(plan.install, downloaded, version, platform)
    if (problems.length > 0) {
      for (const problem of problems) fail(problem)
      fs.rmSync(downloaded, { recursive: true, force: true })
      finish(true)
      return
    }
  }
  let failed = false
  const target = path.join(directory, version, platform)
  fs.mkdirSync(target, { recursive: true })
  for (const name of plan.install) {
    const found = await readWheel(wheelDir, name, version, platform)
    if (found.problem !== undefined) {
      failed = true
      fail(found.problem)
      continue
    }
    // The layout DuckDB's own INSTALL produces: <dir>/<version>/<platform>/<file>.duckdb_extension.
    const file = path.join(target, `${canonical(name)}.duckdb_extension`)
    fs.writeFileSync(`${file}.partial`, found.bytes)
    fs.renameSync(`${file}.partial`, file)
    // A metadata file left by an earlier INSTALL would describe another source.
    fs.rmSync(`${file}.info`, { force: true })
    try {
      // Loading proves the file is a signed build for this DuckDB, as the server will need it.
      await connection.run(`LOAD ${name}`)
      process.stdout.write(`  installed ${name} (${found.wheel})\n`)
    } catch (error) {
      failed = true
      fs.rmSync(file, { force: true })
      fail(
        `extension "${name}" in ${found.wheel} is not a valid, signed build for DuckDB ${version} (${platform}); it was not installed.`
      )
      process.stderr.write(`  DuckDB said: ${oneLine(error.message)}\n`)
    }
  }
  if (downloaded !== undefined) fs.rmSync(downloaded, { recursive: true, force: true })
  finish(failed)
}

async function installFromRepository(connection, version, platform) {
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

  let ok = true
  for (const name of plan.install) {
    const from = repository === undefined ? "" : ` FROM ${quote(repository)}`
    try {
      await connection.run(`INSTALL ${name}${from}`)
      // Loading proves the file is a signed build for this DuckDB, as the server will need it.
      await connection.run(`LOAD ${name}`)
      process.stdout.write(`  installed ${name}\n`)
    } catch (error) {
      ok = false
      process.stderr.write(`install-extensions: ${explain(name, error.message)}\n`)
      process.stderr.write(`  DuckDB said: ${error.message.replace(/\s*\n\s*/g, " ")}\n`)
    }
  }
  return ok
}

// DuckDB's downloader has its own long timeouts and retries, and a process blocked in it does not
// even exit promptly: the installing runs in a child process (its own process group, so that pip
// started by it goes too) that is killed at the deadline.
if (process.env.PONDPILOT_INSTALL_EXTENSIONS_CHILD !== "1") {
  const { spawn } = await import("node:child_process")
  const child = spawn(process.execPath, process.argv.slice(1), {
    stdio: "inherit",
    detached: true,
    env: { ...process.env, PONDPILOT_INSTALL_EXTENSIONS_CHILD: "1" }
  })
  const killGroup = () => {
    try {
      process.kill(-child.pid, "SIGKILL")
    } catch {
      child.kill("SIGKILL")
    }
  }
  const deadline = setTimeout(() => {
    killGroup()
    process.stderr.write(
      `install-extensions: timed out after ${timeoutSeconds}s (network, repository or package index unreachable?). ` +
        "Run this where the network allows it, or pass --repository or --pip-index-url with a reachable mirror, or --wheels with a local directory.\n"
    )
    process.exit(1)
  }, timeoutSeconds * 1000)
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      killGroup()
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
