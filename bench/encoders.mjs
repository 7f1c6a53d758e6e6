// Encoder throughput: rows/s per format for one result streamed from DuckDB, and the process's peak
// RSS while doing it (per line; "fetch only" allocates almost no JS memory, so V8 rarely collects and
// the native chunks it has dropped pile up until it does — the encoders' own garbage keeps that in
// check). Not a test. Run after `npm run build`:
//   node bench/encoders.mjs [rows=1000000] [shape=mixed|ints|strings|wide|big] [formats=json,ndjson,csv,arrow]
// It times DuckDB producing the chunks on its own first ("fetch only"), so the encoder's share is the
// difference. Figures are for comparison between runs on the same machine, not absolutes. Shape `big`
// is the bench's big result (bench/lib/cases.mjs); `cpu` is this process's CPU time per million rows,
// which other work on a shared machine disturbs less than rows per second.
import { DuckDBInstance } from "@duckdb/node-api"
import { makeEncoder } from "../dist/results/Encoders.js"
import { bigSql } from "./lib/cases.mjs"

const rows = Number(process.argv[2] ?? 1_000_000)
const shape = process.argv[3] ?? "mixed"
const formats = (process.argv[4] ?? "json,ndjson,csv,arrow").split(",")

const queries = {
  ints: `SELECT i, i * 2 AS j, i % 1000 AS k FROM range(${rows}) t(i)`,
  strings: `SELECT 'name ' || i AS name, md5(i::VARCHAR) AS hash FROM range(${rows}) t(i)`,
  mixed: `SELECT i AS id, 'user_' || i AS name, i * 1.5 AS score, (i % 100)::DECIMAL(10,2) / 7 AS amount,
      TIMESTAMP '2024-01-01' + to_seconds(i) AS at, i % 3 = 0 AS flag,
      CASE WHEN i % 10 = 0 THEN NULL ELSE i % 7 END AS maybe FROM range(${rows}) t(i)`,
  wide: `SELECT i, [i, i + 1, i + 2] AS l, {'a': i, 'b': 'x' || i} AS s, DATE '2000-01-01' + (i % 10000)::INTEGER AS d,
      uuid() AS u FROM range(${rows}) t(i)`,
  big: bigSql(rows)
}
const sql = queries[shape]
if (sql === undefined) throw new Error(`unknown shape ${shape}`)

const instance = await DuckDBInstance.create(undefined, { threads: "1" })
const connection = await instance.connect()

let peakRss = 0
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}

const run = async (format, query = sql) => {
  const result = await connection.stream(query)
  const encoder = format === null ? null : makeEncoder(format)
  const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i) }))
  let bytes = encoder?.begin(columns).byteLength ?? 0
  let count = 0
  let chunks = 0
  const started = performance.now()
  const cpu = process.cpuUsage()
  for (;;) {
    const chunk = await result.fetchChunk()
    if (chunk === null || chunk.rowCount === 0) break
    if (encoder !== null) bytes += encoder.rows(chunk, chunk.rowCount).byteLength
    count += chunk.rowCount
    if (++chunks % 64 === 0) sampleRss()
  }
  bytes += encoder?.end({ rowCount: count, truncated: false }).byteLength ?? 0
  const used = process.cpuUsage(cpu)
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, count, bytes }
}

const report = (label, { ms, cpuMs, count, bytes }) => {
  console.log(
    `${label.padEnd(11)} ${String(Math.round(count / (ms / 1000))).padStart(10)} rows/s  ${(ms / 1000).toFixed(2)} s  cpu ${String(Math.round(cpuMs / (count / 1e6))).padStart(5)} ms/M rows  ${(bytes / 2 ** 20).toFixed(1).padStart(7)} MiB out  peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`
  )
  peakRss = 0
}

console.log(`${rows} rows, shape ${shape}, node ${process.version}`)
for (const format of formats) await run(format, `${sql} LIMIT 100000`) // warm up the JIT
peakRss = 0
report("fetch only", await run(null))
for (const format of formats) report(format, await run(format))

// The smallest result, as a request for `SELECT 42` produces it: begin, one row, end.
const small = performance.now()
const smallRuns = 20_000
for (let i = 0; i < smallRuns; i++) {
  const result = await connection.stream("SELECT 42 AS answer")
  const encoder = makeEncoder("json")
  encoder.begin([{ name: "answer", type: result.columnType(0) }])
  const chunk = await result.fetchChunk()
  encoder.rows(chunk, chunk.rowCount)
  encoder.end({ rowCount: 1, truncated: false })
}
console.log(
  `SELECT 42   ${(((performance.now() - small) * 1000) / smallRuns).toFixed(1)} µs per query incl. DuckDB (json)`
)
connection.closeSync()
instance.closeSync()
