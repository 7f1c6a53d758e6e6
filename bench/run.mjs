// `npm run bench`: PondPilot Proxy (built, production feature set) against the bare baseline
// (bench/baseline.mjs), both as child processes on free ports, in alternating A/B rounds.
// See bench/README.md for the cases and how to read the output.
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { bigCase, heavyCase, ROWS_SQL, rateCase, SMALL_SQL } from "./lib/cases.mjs"
import { postJson } from "./lib/load.mjs"
import { freePort, memoryOf, startProcess, stopProcess, waitHealthy } from "./lib/processes.mjs"
import { chartSvg, passes, ratioTable, table } from "./lib/report.mjs"
import { upstreamCase, upstreamSkipReason } from "./lib/upstream.mjs"

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const repoDir = path.dirname(benchDir)
const resultsDir = path.join(benchDir, "results")
// "idle" is always measured; `--only idle` measures nothing else.
const ALL_CASES = ["small", "rows1000", "big", "heavy", "upstream", "idle"]

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    rows: { type: "string" },
    "server-dir": { type: "string" },
    peer: { type: "string" },
    help: { type: "boolean", short: "h", default: false }
  }
})
if (args.help) {
  console.log(`usage: npm run bench -- [--quick] [--only ${ALL_CASES.join(",")}] [--rounds N]
       [--duration SECONDS] [--warmup SECONDS] [--rows BIG_RESULT_ROWS] [--server-dir DIR] [--peer DIR]
  --quick   2 short rounds, 500k-row big results, 10M-row aggregations (~1.5 minutes)
  --only    comma-separated cases; idle RSS is always measured
  --server-dir  a checkout whose built server (bin/pondpilot-proxy, dist/) to measure instead of
                this one's, e.g. another branch; the baseline and the cases stay this checkout's
  --peer    a built checkout of tobilg/duckdb-api (dist/index.js and its node_modules) to start
            next to the other two and measure in the SELECT 42 and 1,000-row cases`)
  process.exit(0)
}
const only = args.only ? args.only.split(",").map((c) => c.trim()) : ALL_CASES
const unknown = only.filter((c) => !ALL_CASES.includes(c))
if (unknown.length > 0) {
  console.error(`unknown case ${unknown.join(", ")}; cases: ${ALL_CASES.join(", ")}`)
  process.exit(2)
}
const number = (text, fallback) => (text === undefined ? fallback : Number(text))
const opts = {
  quick: args.quick,
  cases: only,
  rounds: number(args.rounds, args.quick ? 2 : 5),
  warmupSec: number(args.warmup, args.quick ? 1 : 2),
  durationSec: number(args.duration, args.quick ? 2 : 5),
  connectionCounts: [1, 16, 50, 64],
  rows1000Connections: 16,
  bigRows: number(args.rows, args.quick ? 500_000 : 5_000_000),
  heavyCount: 20,
  heavyRows: args.quick ? 10_000_000 : 20_000_000
}
const badOption = ["rounds", "warmupSec", "durationSec", "bigRows"].find(
  (key) => !Number.isFinite(opts[key]) || opts[key] < 0 || (key !== "warmupSec" && opts[key] === 0)
)
if (badOption) {
  console.error(`invalid option value: ${badOption} = ${opts[badOption]}`)
  process.exit(2)
}
const serverDir = path.resolve(args["server-dir"] ?? repoDir)
const peerDir = args.peer === undefined ? undefined : path.resolve(args.peer)
const peerMain = peerDir && path.join(peerDir, "dist", "index.js")
if (peerMain && !fs.existsSync(peerMain)) {
  console.error(`--peer: ${peerMain} is missing: build the peer first (npm ci && npm run build in it).`)
  process.exit(2)
}

const distMain = path.join(serverDir, "dist", "pondpilot-proxy.mjs")
if (!fs.existsSync(distMain)) {
  console.error("dist/pondpilot-proxy.mjs is missing: run `npm run build` first (npm run bench does).")
  process.exit(2)
}

const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`)
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-bench-"))
// Same DuckDB settings and libuv pool for both, so the comparison is of the code path alone.
const threads = "4"
const memoryLimit = "2GB"
const uvThreadpoolSize = process.env.UV_THREADPOOL_SIZE ?? "64" // the launcher's default
// The baseline's free list holds at most as many connections as the server's default pool.
const baselineMaxConnections = "16"
const apiKey = randomBytes(24).toString("base64url")

fs.writeFileSync(
  path.join(tmpDir, "config.yaml"),
  `# Written by bench/run.mjs: the production feature set with a rate limit too high to trip.
environment: production
duckdb:
  settings:
    threads: ${threads}
    memory_limit: ${memoryLimit}
security:
  authentication:
    type: api-key
  rate_limit:
    requests_per_minute: 10000000
    burst_size: 1000000
audit:
  enabled: true
metrics:
  require_auth: false
`
)

const [serverPort, baselinePort] = [await freePort(), await freePort()]
const baseEnv = { ...process.env, HOST: "127.0.0.1", UV_THREADPOOL_SIZE: uvThreadpoolSize }
const serverProc = startProcess({
  name: "server",
  command: "sh",
  args: [path.join(serverDir, "bin", "pondpilot-proxy")],
  cwd: serverDir,
  env: {
    ...baseEnv,
    PORT: String(serverPort),
    CONFIG_FILE: path.join(tmpDir, "config.yaml"),
    API_KEY: apiKey,
    ENCRYPTION_KEY: randomBytes(32).toString("base64url")
  },
  stdoutFile: path.join(tmpDir, "server-audit.log"),
  stderrFile: path.join(tmpDir, "server-stderr.log")
})
const baselineProc = startProcess({
  name: "baseline",
  command: process.execPath,
  args: [path.join(benchDir, "baseline.mjs")],
  cwd: repoDir,
  env: {
    ...baseEnv,
    PORT: String(baselinePort),
    BASELINE_THREADS: threads,
    BASELINE_MEMORY_LIMIT: memoryLimit,
    BASELINE_MAX_CONNECTIONS: baselineMaxConnections
  },
  stdoutFile: path.join(tmpDir, "baseline-stdout.log"),
  stderrFile: path.join(tmpDir, "baseline-stderr.log")
})
// The peer is started as its README says (`node dist/index.js`, PORT); without API_TOKEN or
// USERNAME/PASSWORD it asks for no credentials. Its DuckDB settings are its own.
const peerPort = peerDir && (await freePort())
const peerProc =
  peerDir &&
  startProcess({
    name: "peer",
    command: process.execPath,
    args: [peerMain],
    cwd: peerDir,
    env: { ...baseEnv, PORT: String(peerPort), API_TOKEN: "", USERNAME: "", PASSWORD: "" },
    stdoutFile: path.join(tmpDir, "peer-stdout.log"),
    stderrFile: path.join(tmpDir, "peer-stderr.log")
  })
const stopAll = () =>
  Promise.all([stopProcess(serverProc), stopProcess(baselineProc), peerProc && stopProcess(peerProc)])
process.on("SIGINT", () => stopAll().finally(() => process.exit(130)))

const side = (proc, port) => ({
  pid: proc.pid,
  url: `http://127.0.0.1:${port}`,
  queryUrl: `http://127.0.0.1:${port}/v1/instances/default/query`,
  headers: { "content-type": "application/json", "x-api-key": apiKey },
  requestsSent: 0
})
const ctx = {
  opts,
  log,
  tmpDir,
  threads,
  memoryLimit,
  server: side(serverProc, serverPort),
  baseline: side(baselineProc, baselinePort),
  peer: peerProc && {
    pid: peerProc.pid,
    url: `http://127.0.0.1:${peerPort}`,
    queryUrl: `http://127.0.0.1:${peerPort}/query`,
    headers: { "content-type": "application/json" },
    requestsSent: 0
  }
}

const machine = () => ({
  cpuModel: os.cpus()[0]?.model,
  cores: os.cpus().length,
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
  loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100)
})
const gitCommit = () => {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: serverDir,
      stdio: ["ignore", "pipe", "ignore"]
    })
      .toString()
      .trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], {
      cwd: serverDir,
      stdio: ["ignore", "pipe", "ignore"]
    })
      .toString()
      .trim()
    return dirty ? `${commit} (src modified)` : commit
  } catch {
    return undefined
  }
}

/**
 * Same columns, rows, rowCount and truncated flag. Numbers compare by their text: the contract gives
 * a BIGINT that fits in 2^53 as a number, the library's JSON converter (the baseline) as a string.
 */
const sameAnswer = (a, b) => {
  const text = (json) =>
    JSON.stringify(json && [json.columns, json.rows, json.rowCount, json.truncated], (_key, value) =>
      typeof value === "number" ? String(value) : value
    )
  return text(a) === text(b)
}

/** Checks that the run measures what it claims: auth on, metrics served, same answers from both. */
const sanityChecks = async () => {
  const checks = {}
  const unauthenticated = await postJson({
    url: ctx.server.queryUrl,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: SMALL_SQL })
  })
  checks.authRequired = unauthenticated.status === 401
  const metrics = await fetch(`${ctx.server.url}/api/v1/metrics`)
  checks.metricsServed = metrics.status === 200 && (await metrics.text()).includes("pondpilot_")
  if (ctx.peer) {
    // The peer answers row objects (`[{"42":42}]`), not the proxy's shape: it must answer 200 with 42.
    const peer = await postJson({
      url: ctx.peer.queryUrl,
      headers: ctx.peer.headers,
      body: JSON.stringify({ query: SMALL_SQL })
    })
    checks.peerAnswers = peer.status === 200 && JSON.stringify(peer.json).includes("42")
  }
  for (const [name, sql] of [
    ["selectFortyTwo", SMALL_SQL],
    ["thousandRows", ROWS_SQL]
  ]) {
    const answers = await Promise.all(
      [ctx.server, ctx.baseline].map((s) =>
        postJson({ url: s.queryUrl, headers: s.headers, body: JSON.stringify({ query: sql }) })
      )
    )
    ctx.server.requestsSent++
    checks[`sameAnswer.${name}`] =
      answers.every((a) => a.status === 200) && sameAnswer(answers[0].json, answers[1].json)
  }
  return checks
}

const countLines = (file) =>
  new Promise((resolve) => {
    let lines = 0
    fs.createReadStream(file)
      .on("data", (chunk) => {
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++
      })
      .on("end", () => resolve(lines))
      .on("error", () => resolve(undefined))
  })

const results = {
  date: new Date().toISOString(),
  machine: machine(),
  server: { dir: serverDir, commit: gitCommit() },
  ...(peerDir ? { peer: { dir: peerDir } } : {}),
  options: opts
}
const entries = []
try {
  log(`starting the server (port ${serverPort}) and the baseline (port ${baselinePort}); work dir ${tmpDir}`)
  await Promise.all([
    waitHealthy(serverProc, `${ctx.server.url}/health`),
    waitHealthy(baselineProc, `${ctx.baseline.url}/health`),
    peerProc && waitHealthy(peerProc, `${ctx.peer.url}/`)
  ])
  results.checks = await sanityChecks()
  log(`checks: ${JSON.stringify(results.checks)}`)

  await sleep(1_000)
  const idle = { server: memoryOf(serverProc.pid)?.rssMiB, baseline: memoryOf(baselineProc.pid)?.rssMiB }
  log(
    `idle RSS after start: server ${idle.server?.toFixed(0)} MiB, baseline ${idle.baseline?.toFixed(0)} MiB`
  )
  results.idleRss = { afterStart: idle }
  entries.push({
    id: "idleRss.afterStart",
    label: "idle RSS after start",
    kind: "ratio",
    unit: "MiB",
    server: idle.server,
    baseline: idle.baseline,
    value: idle.server / idle.baseline,
    target: { op: "<=", value: 1.5 }
  })

  results.cases = {}
  if (only.includes("small")) {
    const small = await rateCase(ctx, {
      id: "small",
      label: "SELECT 42",
      sql: SMALL_SQL,
      connectionCounts: opts.connectionCounts,
      withTargets: true
    })
    results.cases.small = { sql: SMALL_SQL, ...small }
  }
  if (only.includes("rows1000")) {
    const rows = await rateCase(ctx, {
      id: "rows1000",
      label: "1,000 rows",
      sql: ROWS_SQL,
      connectionCounts: [opts.rows1000Connections],
      withTargets: false
    })
    results.cases.rows1000 = { sql: ROWS_SQL, ...rows }
  }
  if (only.includes("big")) results.cases.big = await bigCase(ctx)
  if (only.includes("heavy")) results.cases.heavy = await heavyCase(ctx)
  if (only.includes("upstream")) {
    const skip = upstreamSkipReason(repoDir)
    if (skip === undefined) results.cases.upstream = await upstreamCase(ctx, repoDir, serverDir)
    else log(`upstream: skipped: ${skip}`)
  }
  for (const c of Object.values(results.cases)) entries.push(...c.entries)

  await sleep(2_000)
  const after = { server: memoryOf(serverProc.pid), baseline: memoryOf(baselineProc.pid) }
  results.idleRss.afterLoad = { server: after.server?.rssMiB, baseline: after.baseline?.rssMiB }
  results.peakRssWholeRun = { server: after.server?.peakMiB, baseline: after.baseline?.peakMiB }
  entries.push({
    id: "idleRss.afterLoad",
    label: "idle RSS after the load",
    kind: "ratio",
    unit: "MiB",
    server: after.server?.rssMiB,
    baseline: after.baseline?.rssMiB,
    value: after.server && after.baseline ? after.server.rssMiB / after.baseline.rssMiB : undefined,
    note: "informational: only the server served the big results"
  })
  const auditLines = await countLines(serverProc.stdoutFile)
  results.checks.auditLines = auditLines
  results.checks.serverRequestsSent = ctx.server.requestsSent
  results.checks.auditLinesCoverRequests = auditLines >= ctx.server.requestsSent
} catch (error) {
  results.error = String(error?.stack ?? error)
  console.error(`benchmark failed: ${error?.message ?? error}`)
  process.exitCode = 1
} finally {
  await stopAll()
}

results.machine.loadAverageAtEnd = machine().loadAverage
results.ratios = entries.map((e) => ({ ...e, pass: passes(e) }))

console.log("")
console.log(
  `PondPilot Proxy vs bare node:http + DuckDB — ${results.machine.cpuModel}, ${results.machine.cores} cores, ` +
    `Node ${results.machine.node}, load ${results.machine.loadAverage.join(" ")} → ${results.machine.loadAverageAtEnd.join(" ")}` +
    `${opts.quick ? ", QUICK run" : ""}; medians of ${opts.rounds} rounds (per-round ratio range shown)`
)
console.log("")
console.log(ratioTable(entries))
if (results.cases?.big) {
  const big = results.cases.big.median
  console.log("")
  console.log(
    table(
      ["big result", "wall s", "MB/s", "MB", "peak RSS MiB", "failed rounds", "problem"],
      Object.entries(big).map(([kind, m]) => [
        kind === "native" ? "COPY TO file (in-process)" : `server ${kind}`,
        m.wallMs === undefined ? "—" : (m.wallMs / 1000).toFixed(2),
        m.mbPerSec?.toFixed(1) ?? "—",
        m.megabytes?.toFixed(0) ?? "—",
        m.peakRssMiB?.toFixed(0) ?? "",
        m.failedRounds,
        m.problem ?? ""
      ]),
      [1, 2, 3, 4, 5]
    )
  )
}
console.log("")
console.log(`checks: ${JSON.stringify(results.checks ?? {})}`)

fs.mkdirSync(resultsDir, { recursive: true })
const jsonFile = path.join(resultsDir, "latest.json")
const svgFile = path.join(resultsDir, "latest.svg")
const json = `${JSON.stringify(results, null, 2)}\n`
fs.writeFileSync(jsonFile, json)
fs.writeFileSync(path.join(resultsDir, `run-${results.date.replace(/[:.]/g, "-")}.json`), json)
fs.writeFileSync(
  svgFile,
  chartSvg({
    title: "PondPilot Proxy / bare baseline",
    subtitle: `${results.date.slice(0, 16)}Z · ${results.server.commit ?? "no git"} · ${results.machine.cores}× ${results.machine.cpuModel} · Node ${results.machine.node}${opts.quick ? " · quick" : ""}`,
    entries: results.ratios
  })
)
console.log(`wrote ${path.relative(process.cwd(), jsonFile)} and ${path.relative(process.cwd(), svgFile)}`)
if (results.error) console.log(`kept the processes' logs in ${tmpDir}`)
else fs.rmSync(tmpDir, { recursive: true, force: true })
