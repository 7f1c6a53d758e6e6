import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  type Binaries,
  findBinaries,
  type MariaDb,
  type Postgres,
  startMariaDb,
  startPostgres
} from "../attach/upstreams.js"
import { startLoggedServer } from "./Databases.js"
import { type RunningServer, testSettings } from "./TestServer.js"

/**
 * The proxy in-process with the scanner extensions, and throwaway PostgreSQL and MariaDB servers
 * (test/attach/upstreams.ts) it may attach on loopback. Needs PONDPILOT_TEST_EXTENSION_DIR (a
 * directory with the postgres, mysql and sqlite extensions for this DuckDB) and Debian's postgresql
 * and mariadb-server. Locally a missing prerequisite skips the file with one printed line; with
 * CI=true it fails the file instead.
 */

export interface Prerequisites {
  readonly binaries: Binaries
  readonly extensionDir: string
}

export const upstreamPrerequisites = (label: string): Prerequisites | undefined => {
  const extensionDir = process.env.PONDPILOT_TEST_EXTENSION_DIR
  const found = findBinaries()
  const reason =
    extensionDir === undefined
      ? "PONDPILOT_TEST_EXTENSION_DIR is not set (a directory with the postgres, mysql and sqlite extensions: npm run extensions:install -- --dir DIR)"
      : !fs.existsSync(extensionDir)
        ? "PONDPILOT_TEST_EXTENSION_DIR does not exist"
        : "reason" in found
          ? found.reason
          : undefined
  if (reason !== undefined) {
    if (process.env.CI === "true") throw new Error(`[${label}] cannot run in CI: ${reason}`)
    console.log(`[${label}] skipped: ${reason}`)
    return undefined
  }
  return { binaries: (found as { binaries: Binaries }).binaries, extensionDir: path.resolve(extensionDir!) }
}

export interface UpstreamWorld {
  readonly work: string
  readonly pg: Postgres
  readonly maria: MariaDb
  readonly server: RunningServer
  readonly stop: () => Promise<void>
}

/**
 * Starts PostgreSQL and MariaDB, each with a database `lab` and a user `lab` (password `lab-pw`),
 * then the proxy with
 * the extensions, loopback allowed as an upstream host, and `work` as its file root.
 */
export const startUpstreamWorld = async (
  prerequisites: Prerequisites,
  config: Record<string, unknown> = {}
): Promise<UpstreamWorld> => {
  const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "pp-upstream-world-")))
  fs.chmodSync(work, 0o755) // the servers run as their own users
  const [pg, maria] = await Promise.all([
    startPostgres(prerequisites.binaries, work),
    startMariaDb(prerequisites.binaries, work)
  ])
  await pg.sql("postgres", "CREATE ROLE lab LOGIN SUPERUSER PASSWORD 'lab-pw'")
  await pg.sql("postgres", "CREATE DATABASE lab OWNER lab")
  await maria.sql(
    "CREATE DATABASE lab CHARACTER SET utf8mb4; CREATE USER 'lab'@'%' IDENTIFIED BY 'lab-pw'; GRANT ALL ON *.* TO 'lab'@'%'"
  )
  const server = await startUpstreamProxy(prerequisites, work, config)
  return {
    work,
    pg,
    maria,
    server,
    stop: async () => {
      await server.dispose()
      await Promise.all([pg.stop(), maria.stop()])
      fs.rmSync(work, { recursive: true, force: true })
    }
  }
}

/** Connection strings as the API takes them, for the `lab` users (they may write: the attach may not). */
export const pgUri = (pg: Postgres) => `postgresql://lab:lab-pw@127.0.0.1:${pg.port}/lab?sslmode=disable`
export const mariaUri = (maria: MariaDb) => `mysql://lab:lab-pw@127.0.0.1:${maria.port}/lab`

/** One more proxy for the same upstreams (another configuration); the caller disposes of it. */
export const startUpstreamProxy = (
  prerequisites: Prerequisites,
  work: string,
  config: Record<string, unknown> = {}
): Promise<RunningServer> => {
  const duckdb = (config.duckdb as Record<string, unknown> | undefined) ?? {}
  return startLoggedServer(
    testSettings({
      ...config,
      duckdb: {
        file_roots: [work],
        upstream_hosts: ["127.0.0.0/8"],
        extension_directory: prerequisites.extensionDir,
        ...duckdb
      }
    })
  )
}
