import { execFile, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { promisify } from "node:util"

/**
 * Throwaway PostgreSQL and MariaDB servers on loopback, on free ports, in a temporary directory,
 * from Debian's packages (`postgresql`, `mariadb-server`; installing them is CI's job). Works as root
 * (the servers run as the `postgres` / `mysql` users) and as an ordinary user.
 */

const run = promisify(execFile)

export interface Binaries {
  readonly pgBin: string
  readonly psql: string
  readonly mariadbd: string
  readonly installDb: string
  readonly mariadb: string
}

const isRoot = () => process.getuid?.() === 0

const findOnPath = (names: ReadonlyArray<string>, extra: ReadonlyArray<string> = []): string | undefined => {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin", "/usr/local/bin", ...extra]
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name)
      if (dir !== "" && fs.existsSync(candidate)) return candidate
    }
  }
  return undefined
}

const userExists = (user: string) => {
  try {
    execFileSync("id", ["-u", user], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/** The binaries, or why they cannot be used here. */
export const findBinaries = (): { readonly binaries: Binaries } | { readonly reason: string } => {
  const versions = fs.existsSync("/usr/lib/postgresql")
    ? fs
        .readdirSync("/usr/lib/postgresql")
        .filter((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))
        .sort((a, b) => Number(b) - Number(a))
    : []
  const pgBin =
    versions[0] !== undefined
      ? `/usr/lib/postgresql/${versions[0]}/bin`
      : path.dirname(findOnPath(["initdb"]) ?? "/nonexistent/initdb")
  const psql = findOnPath(["psql"], [pgBin])
  const mariadbd = findOnPath(["mariadbd", "mysqld"])
  const installDb = findOnPath(["mariadb-install-db", "mysql_install_db"])
  const mariadb = findOnPath(["mariadb", "mysql"])
  const missing = [
    fs.existsSync(path.join(pgBin, "initdb")) && fs.existsSync(path.join(pgBin, "pg_ctl"))
      ? []
      : ["initdb/pg_ctl"],
    psql ? [] : ["psql"],
    mariadbd ? [] : ["mariadbd"],
    installDb ? [] : ["mariadb-install-db"],
    mariadb ? [] : ["mariadb client"]
  ].flat()
  if (missing.length > 0) {
    return { reason: `${missing.join(", ")} not found (apt-get install postgresql mariadb-server)` }
  }
  if (isRoot() && (!userExists("postgres") || !userExists("mysql"))) {
    return { reason: "running as root without the postgres/mysql users the servers must run as" }
  }
  return { binaries: { pgBin, psql: psql!, mariadbd: mariadbd!, installDb: installDb!, mariadb: mariadb! } }
}

/**
 * Whether an upstream test must skip: prints one line saying why and returns true, except under
 * CI=true, where a missing prerequisite fails the test file instead (CI must never skip these).
 */
export const skipUnlessReady = (label: string, reason: string | undefined): boolean => {
  if (reason === undefined) return false
  if (process.env.CI === "true") throw new Error(`[${label}] cannot run in CI: ${reason}`)
  console.log(`[${label}] skipped: ${reason}`)
  return true
}

/** The sqlite3 shell (Debian's `sqlite3`), which writes the SQLite files the tests attach. */
export const findSqlite3 = (): string | undefined => findOnPath(["sqlite3"])

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const chownTo = (file: string, user: string) => {
  if (!isRoot()) return
  const uid = Number(execFileSync("id", ["-u", user]).toString().trim())
  const gid = Number(execFileSync("id", ["-g", user]).toString().trim())
  fs.chownSync(file, uid, gid)
}

const ownedBy = (dir: string, user: string) => {
  fs.mkdirSync(dir, { recursive: true })
  chownTo(dir, user)
  return dir
}

/** Runs a server tool as `user` when we are root (initdb refuses root). */
const asUser = (user: string, command: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  isRoot() ? ["runuser", ["-u", user, "--", command, ...args]] : [command, [...args]]

const waitFor = async (what: string, probe: () => Promise<unknown>, seconds = 60) => {
  const until = Date.now() + seconds * 1000
  let last: unknown
  while (Date.now() < until) {
    try {
      await probe()
      return
    } catch (error) {
      last = error
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  throw new Error(`${what} did not start: ${String(last)}`)
}

export interface Postgres {
  readonly port: number
  /** Runs SQL as the superuser on `database`. */
  readonly sql: (database: string, sql: string) => Promise<string>
  readonly stop: () => Promise<void>
  /** Starts it again on the same port and data after `stop`. */
  readonly start: () => Promise<void>
}

export const startPostgres = async (binaries: Binaries, root: string): Promise<Postgres> => {
  const dir = ownedBy(path.join(root, "pg"), "postgres")
  const data = path.join(dir, "data")
  const adminPassword = "admin-pw"
  const pwfile = path.join(dir, "pwfile")
  fs.writeFileSync(pwfile, `${adminPassword}\n`)
  chownTo(pwfile, "postgres")
  const port = await freePort()
  const [initdb, initArgs] = asUser("postgres", path.join(binaries.pgBin, "initdb"), [
    "-D",
    data,
    "-U",
    "admin",
    `--pwfile=${pwfile}`,
    "--auth=scram-sha-256",
    "-E",
    "UTF8",
    "--no-instructions"
  ])
  await run(initdb, initArgs)
  const startServer = async () => {
    const [pgCtl, ctlArgs] = asUser("postgres", path.join(binaries.pgBin, "pg_ctl"), [
      "-D",
      data,
      "-o",
      `-p ${port} -c listen_addresses='127.0.0.1,::1' -c unix_socket_directories='${dir}'`,
      "-l",
      path.join(dir, "log"),
      "-w",
      "-t",
      "60",
      "start"
    ])
    await run(pgCtl, ctlArgs)
  }
  await startServer()
  const sql = async (database: string, text: string) =>
    (
      await run(
        binaries.psql,
        [
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          "-U",
          "admin",
          "-d",
          database,
          "-v",
          "ON_ERROR_STOP=1",
          "-qAt",
          "-c",
          text
        ],
        { env: { ...process.env, PGPASSWORD: adminPassword, PGCONNECT_TIMEOUT: "5" } }
      )
    ).stdout
  await waitFor("PostgreSQL", () => sql("postgres", "SELECT 1"))
  return {
    port,
    sql,
    start: async () => {
      await startServer()
      await waitFor("PostgreSQL", () => sql("postgres", "SELECT 1"))
    },
    stop: async () => {
      const [stopCmd, stopArgs] = asUser("postgres", path.join(binaries.pgBin, "pg_ctl"), [
        "-D",
        data,
        "-m",
        "immediate",
        "-w",
        "stop"
      ])
      await run(stopCmd, stopArgs).catch(() => undefined)
    }
  }
}

export interface MariaDb {
  readonly port: number
  readonly sql: (sql: string) => Promise<string>
  readonly stop: () => Promise<void>
}

export const startMariaDb = async (binaries: Binaries, root: string): Promise<MariaDb> => {
  const dir = ownedBy(path.join(root, "mariadb"), "mysql")
  const data = path.join(dir, "data")
  const socket = path.join(dir, "sock")
  const port = await freePort()
  const userArgs = isRoot() ? ["--user=mysql"] : []
  await run(binaries.installDb, [
    "--no-defaults",
    `--datadir=${data}`,
    ...userArgs,
    "--auth-root-authentication-method=normal",
    "--skip-test-db"
  ])
  const server = spawn(
    binaries.mariadbd,
    [
      "--no-defaults",
      `--datadir=${data}`,
      ...userArgs,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${socket}`,
      `--pid-file=${path.join(dir, "pid")}`,
      "--skip-name-resolve",
      `--log-error=${path.join(dir, "error.log")}`
    ],
    { stdio: "ignore" }
  )
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()))
  const sql = async (text: string) =>
    (
      await run(binaries.mariadb, [
        "--no-defaults",
        `--socket=${socket}`,
        "-u",
        "root",
        "-N",
        "-B",
        "-e",
        text
      ])
    ).stdout
  await waitFor("MariaDB", () => sql("SELECT 1"))
  return {
    port,
    sql,
    stop: async () => {
      server.kill("SIGTERM")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))])
      if (server.exitCode === null) server.kill("SIGKILL")
    }
  }
}
