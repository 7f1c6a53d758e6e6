// The upstream case: a throwaway PostgreSQL with a million-row table, attached to a proxy of its own
// (the configured `default` instance), against DuckDB's own `COPY (FROM upstream) TO file` in this
// process: CSV and Arrow out through the proxy, and point lookups per second.
import { execFile, execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import { promisify } from "node:util"
import { hammer, median, streamQuery } from "./load.mjs"
import { freePort, startProcess, stopProcess, waitHealthy, withPeakRss } from "./processes.mjs"

const run = promisify(execFile)
export const UPSTREAM_ROWS = 1_000_000
const TABLE_SQL = "SELECT * FROM pg.public.big"
const LOOKUP_SQL = "SELECT name FROM pg.public.big WHERE id = 123456"

const isRoot = () => process.getuid?.() === 0

/** PostgreSQL's server binaries (Debian's layout), or undefined. */
const postgresBin = () => {
  const root = "/usr/lib/postgresql"
  if (!fs.existsSync(root)) return undefined
  const version = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a))[0]
  return version === undefined ? undefined : path.join(root, version, "bin")
}

/** The extension directory with the postgres scanner for this DuckDB, or undefined. */
const extensionDirectory = (repoDir) =>
  [
    process.env.PONDPILOT_BENCH_EXTENSION_DIR,
    process.env.PONDPILOT_TEST_EXTENSION_DIR,
    path.join(repoDir, "extensions")
  ].find(
    (dir) =>
      dir !== undefined &&
      fs.existsSync(dir) &&
      fs
        .readdirSync(dir, { recursive: true })
        .some((f) => String(f).endsWith("postgres_scanner.duckdb_extension"))
  )

/** Why the case cannot run here, or undefined. */
export const upstreamSkipReason = (repoDir) => {
  if (postgresBin() === undefined)
    return "PostgreSQL's server binaries are not installed (apt-get install postgresql)"
  if (extensionDirectory(repoDir) === undefined) {
    return "no extension directory with the postgres scanner (PONDPILOT_BENCH_EXTENSION_DIR, PONDPILOT_TEST_EXTENSION_DIR or ./extensions: npm run extensions:install)"
  }
  if (isRoot()) {
    try {
      execFileSync("id", ["-u", "postgres"], { stdio: "ignore" })
    } catch {
      return "running as root without a postgres user for the server to run as"
    }
  }
  return undefined
}

/** A throwaway PostgreSQL on loopback, in `dir`, as the `postgres` user when we are root. */
const startPostgres = async (dir) => {
  const bin = postgresBin()
  const as = (command, args) =>
    isRoot() ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args]
  fs.mkdirSync(dir, { recursive: true })
  if (isRoot()) execFileSync("chown", ["postgres", dir])
  const data = path.join(dir, "data")
  const password = randomBytes(12).toString("hex")
  const pwfile = path.join(dir, "pwfile")
  fs.writeFileSync(pwfile, `${password}\n`)
  if (isRoot()) execFileSync("chown", ["postgres", pwfile])
  const port = await freePort()
  await run(
    ...as(path.join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      "bench",
      `--pwfile=${pwfile}`,
      "--auth=scram-sha-256",
      "-E",
      "UTF8",
      "--no-instructions"
    ])
  )
  await run(
    ...as(path.join(bin, "pg_ctl"), [
      "-D",
      data,
      "-o",
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='${dir}'`,
      "-l",
      path.join(dir, "log"),
      "-w",
      "start"
    ])
  )
  const psql = path.join(bin, "psql")
  const sql = (text) =>
    run(
      psql,
      [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "bench",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-qAt",
        "-c",
        text
      ],
      {
        env: { ...process.env, PGPASSWORD: password }
      }
    )
  return {
    port,
    password,
    sql,
    stop: () =>
      run(...as(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"])).catch(
        () => undefined
      )
  }
}

const ratioOf = (reference, measured) =>
  reference !== undefined && measured !== undefined && measured > 0 ? reference / measured : undefined

export const upstreamCase = async (ctx, repoDir, serverDir) => {
  const dir = path.join(ctx.tmpDir, "upstream")
  fs.mkdirSync(dir, { recursive: true })
  if (isRoot()) fs.chmodSync(ctx.tmpDir, 0o755)
  const extensions = extensionDirectory(repoDir)
  ctx.log(`upstream: starting PostgreSQL and filling ${UPSTREAM_ROWS} rows`)
  const pg = await startPostgres(path.join(dir, "pg"))
  let proxy
  let native
  try {
    await pg.sql(
      `CREATE TABLE big AS SELECT i AS id, md5(i::text) AS name, i % 1000 AS k, (i % 100000) / 100.0 AS amount FROM generate_series(1, ${UPSTREAM_ROWS}) i`
    )
    await pg.sql("ALTER TABLE big ADD PRIMARY KEY (id)")
    await pg.sql("VACUUM ANALYZE big")
    const uri = `postgresql://bench:${pg.password}@127.0.0.1:${pg.port}/postgres?sslmode=disable`
    const configFile = path.join(dir, "config.yaml")
    fs.writeFileSync(
      configFile,
      `environment: production
duckdb:
  extension_directory: ${JSON.stringify(extensions)}
  settings:
    threads: ${ctx.threads}
    memory_limit: ${ctx.memoryLimit}
  attached_databases:
    - alias: pg
      type: postgres
      connection_string: ${JSON.stringify(uri)}
query:
  timeout: 10m
  max_rows: 100000000
security:
  authentication:
    type: api-key
  rate_limit:
    requests_per_minute: 10000000
    burst_size: 1000000
`
    )
    const port = await freePort()
    const apiKey = randomBytes(24).toString("base64url")
    proxy = startProcess({
      name: "upstream proxy",
      command: "sh",
      args: [path.join(serverDir, "bin", "pondpilot-proxy")],
      cwd: serverDir,
      env: {
        ...process.env,
        HOST: "127.0.0.1",
        PORT: String(port),
        CONFIG_FILE: configFile,
        API_KEY: apiKey,
        ENCRYPTION_KEY: randomBytes(32).toString("base64url")
      },
      stdoutFile: path.join(dir, "proxy-audit.log"),
      stderrFile: path.join(dir, "proxy-stderr.log")
    })
    await waitHealthy(proxy, `http://127.0.0.1:${port}/ready`)
    const queryUrl = `http://127.0.0.1:${port}/v1/instances/default/query`
    const headers = { "content-type": "application/json", "x-api-key": apiKey }

    const { DuckDBInstance } = await import("@duckdb/node-api")
    native = await DuckDBInstance.create(":memory:", {
      threads: ctx.threads,
      memory_limit: ctx.memoryLimit,
      extension_directory: extensions,
      autoinstall_known_extensions: "false"
    })
    const connection = await native.connect()
    await connection.run("LOAD postgres_scanner")
    await connection.run(`ATTACH ${`'${uri}'`} AS pg (TYPE postgres, READ_ONLY)`)
    const file = path.join(dir, "native.csv")
    const runNative = async () => {
      const started = performance.now()
      await connection.run(`COPY (${TABLE_SQL}) TO '${file}' (FORMAT csv, HEADER)`)
      const wallMs = performance.now() - started
      const bytes = fs.statSync(file).size
      fs.rmSync(file, { force: true })
      return { status: 200, bytes, wallMs }
    }
    const runProxy = async (format) => {
      const { result, peakRssMiB } = await withPeakRss(proxy.pid, () =>
        streamQuery({
          url: `${queryUrl}?format=${format}`,
          headers,
          body: JSON.stringify({ query: TABLE_SQL })
        })
      )
      const problem =
        result.error ??
        (format === "csv" && result.lines !== UPSTREAM_ROWS + 1 ? `${result.lines} lines` : undefined)
      return { ...result, peakRssMiB, ...(problem ? { problem } : {}) }
    }

    const kinds = ["native", "csv", "arrow"]
    const rounds = []
    await runNative() // warm the scanner's connections and catalog on both sides
    await runProxy("csv")
    for (let round = 0; round < ctx.opts.rounds; round++) {
      const measured = {}
      for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) {
        measured[kind] = kind === "native" ? await runNative() : await runProxy(kind)
        const m = measured[kind]
        ctx.log(
          `upstream ${UPSTREAM_ROWS} rows round ${round + 1}/${ctx.opts.rounds} ${kind.padEnd(6)} ` +
            (m.problem
              ? `PROBLEM: ${m.problem}`
              : `${(m.wallMs / 1000).toFixed(2)} s  ${(m.bytes / 1e6).toFixed(0)} MB` +
                (m.peakRssMiB ? `  peak RSS ${m.peakRssMiB.toFixed(0)} MiB` : ""))
        )
      }
      rounds.push(measured)
    }
    const wall = (kind) =>
      median(
        rounds
          .map((r) => r[kind])
          .filter((m) => !m.problem)
          .map((m) => m.wallMs)
      )
    const range = (kind) => {
      const ratios = rounds
        .map((r) =>
          r.native.problem || r[kind].problem ? undefined : ratioOf(r.native.wallMs, r[kind].wallMs)
        )
        .filter((v) => v !== undefined)
      return ratios.length > 0 ? [Math.min(...ratios), Math.max(...ratios)] : undefined
    }

    ctx.log("upstream: point lookups, 16 connections")
    const body = JSON.stringify({ query: LOOKUP_SQL })
    await hammer({ url: queryUrl, headers, body, connections: 16, durationSec: ctx.opts.warmupSec || 1 })
    const lookups = await hammer({
      url: queryUrl,
      headers,
      body,
      connections: 16,
      durationSec: ctx.opts.durationSec
    })
    ctx.log(
      `upstream point lookups: ${lookups.requestsPerSec.toFixed(0)}/s, p50 ${lookups.p50Ms?.toFixed(1)} ms, p99 ${lookups.p99Ms?.toFixed(1)} ms, non-2xx ${lookups.non2xx}`
    )

    const entries = [
      ...["csv", "arrow"].map((format) => ({
        id: `upstream.${format}.vsNative`,
        label: `PostgreSQL 1M rows as ${format.toUpperCase()} vs DuckDB's COPY`,
        kind: "ratio",
        unit: "s",
        server: wall(format) && wall(format) / 1000,
        baseline: wall("native") && wall("native") / 1000,
        value: ratioOf(wall("native"), wall(format)),
        spread: range(format),
        target: { op: ">=", value: 0.5 },
        note: rounds.map((r) => r[format].problem).find((p) => p !== undefined)
      })),
      {
        id: "upstream.lookups",
        label: "PostgreSQL point lookups/s (16 conns)",
        kind: "count",
        unit: "req/s",
        server: lookups.requestsPerSec,
        value: lookups.requestsPerSec,
        note: lookups.non2xx > 0 ? `${lookups.non2xx} non-2xx answers` : undefined
      },
      {
        id: "upstream.lookups.errors",
        label: "point lookup errors",
        kind: "count",
        server: lookups.non2xx + lookups.errors,
        value: lookups.non2xx + lookups.errors,
        target: { op: "<=", value: 0 }
      }
    ]
    connection.closeSync()
    return { rows: UPSTREAM_ROWS, sql: TABLE_SQL, lookupSql: LOOKUP_SQL, rounds, lookups, entries }
  } finally {
    native?.closeSync()
    if (proxy) await stopProcess(proxy)
    await pg.stop()
  }
}
