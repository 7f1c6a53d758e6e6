import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { RecordBatchReader, tableFromIPC } from "apache-arrow"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseCsv } from "../results/readBack.js"
import {
  ensureBuilt,
  freePort,
  type ServerProcess,
  spawnServer,
  tempDir,
  waitUntilHealthy
} from "../support/Process.js"
import { cpuShare, query, send, within } from "../support/QueryClient.js"

/**
 * Results end to end: the built server as a child process (`sh bin/pondpilot-proxy`), watched from
 * outside through /proc — its resident memory while 20M-row results stream to a client that reads
 * and discards them, and its CPU time after a deadline or a disconnect. The 20M-row part is the
 * slowest test of the suite (tens of seconds); everything else here takes a few seconds.
 */
const key = "e2e-results-key"
let streaming: ServerProcess
let strict: ServerProcess

const start = async (yaml: string) => {
  const dir = tempDir("results")
  const configFile = path.join(dir, "config.yaml")
  fs.writeFileSync(configFile, yaml)
  const port = await freePort()
  const server = spawnServer("sh", ["bin/pondpilot-proxy"], {
    env: { CONFIG_FILE: configFile, PORT: String(port), API_KEY: key },
    port
  })
  await waitUntilHealthy(server)
  return server
}

beforeAll(async () => {
  ensureBuilt()
  const limits = "security:\n  rate_limit:\n    requests_per_minute: 100000\n    burst_size: 1000\n"
  ;[streaming, strict] = await Promise.all([
    start(`duckdb:\n  settings:\n    threads: 2\nquery:\n  max_rows: 100000000\n  timeout: 5m\n${limits}`),
    start(`duckdb:\n  settings:\n    threads: 2\nquery:\n  timeout: 2s\n${limits}`)
  ])
}, 60_000)
afterAll(async () => {
  await Promise.all([streaming?.stop("SIGKILL"), strict?.stop("SIGKILL")])
})

const pidOf = (server: ServerProcess) => server.child.pid!

/** Resident memory of the server process, in MiB. */
const rssMiB = (server: ServerProcess): number => {
  const status = fs.readFileSync(`/proc/${pidOf(server)}/status`, "utf8")
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024
}

/** CPU time (user + system) the server process has used, in milliseconds (clock ticks of 10 ms). */
const serverCpuMillis = (server: ServerProcess) => (): number => {
  const stat = fs.readFileSync(`/proc/${pidOf(server)}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Samples the server's RSS every 20 ms until stopped; returns the peak. */
const watchRss = (server: ServerProcess) => {
  let peak = rssMiB(server)
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(server))
  }, 20)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, rssMiB(server))
    }
  }
}

interface Drained {
  readonly status: number
  readonly complete: boolean
  readonly bytes: number
  readonly newlines: number
  readonly headers: http.IncomingHttpHeaders
}

/** Reads a response to its end and keeps nothing but counts; with `paceMillis`, reads slowly. */
const drain = (server: ServerProcess, sql: string, format: string, paceMillis = 0) =>
  new Promise<Drained>((resolve, reject) => {
    const request = http.request(`${server.url}/v1/instances/default/query?format=${format}`, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "x-api-key": key }
    })
    request.on("error", reject)
    request.on("response", (response) => {
      let bytes = 0
      let newlines = 0
      response.on("data", (piece: Buffer) => {
        bytes += piece.length
        for (let at = piece.indexOf(10); at !== -1; at = piece.indexOf(10, at + 1)) newlines++
        if (paceMillis > 0) {
          response.pause()
          setTimeout(() => response.resume(), paceMillis)
        }
      })
      response.on("close", () =>
        resolve({
          status: response.statusCode ?? 0,
          complete: response.complete,
          bytes,
          newlines,
          headers: response.headers
        })
      )
    })
    request.end(JSON.stringify({ query: sql }))
  })

/** Sum of the decimal lengths of 0 … n-1. */
const digitsUpTo = (n: number): number => {
  let total = 0
  for (let from = 0, to = 10, digits = 1; from < n; from = to, to *= 10, digits++) {
    total += (Math.min(n, to) - from) * digits
  }
  return total
}

const rows = 20_000_000
const big = `SELECT i, i % 7 AS k FROM range(${rows}) t(i)`
const rssLimitMiB = 600
const memoryFigures: Array<string> = []

describe("formats end to end", () => {
  const ask = (sql: string, options: Parameters<typeof query>[3] = {}, params?: unknown) =>
    query(strict.url, "default", params === undefined ? { query: sql } : { query: sql, params }, {
      key,
      ...options
    })
  const sql =
    "SELECT 1::BIGINT AS n, 'a,\"b\"' || chr(10) || 'c' AS s, 1.50::DECIMAL(4,2) AS d, DATE '1969-07-20' AS day, NULL AS z"

  it("answers each format with its content type and exact values", async () => {
    const json = await ask(sql)
    expect(json.headers["content-type"]).toBe("application/json")
    expect(JSON.parse(json.body.toString("utf8"))).toEqual({
      columns: [
        { name: "n", type: "BIGINT" },
        { name: "s", type: "VARCHAR" },
        { name: "d", type: "DECIMAL(4,2)" },
        { name: "day", type: "DATE" },
        { name: "z", type: "INTEGER" }
      ],
      rows: [[1, 'a,"b"\nc', "1.50", "1969-07-20", null]],
      rowCount: 1,
      truncated: false
    })
    const ndjson = await ask(sql, { headers: { accept: "application/x-ndjson" } })
    expect(ndjson.headers["content-type"]).toBe("application/x-ndjson")
    expect(ndjson.body.toString("utf8")).toBe(
      '{"n":1,"s":"a,\\"b\\"\\nc","d":"1.50","day":"1969-07-20","z":null}\n'
    )
    const csv = await ask(sql, { headers: { accept: "text/csv;q=0.9, application/json;q=0.1" } })
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8")
    expect(csv.body.toString("utf8")).toBe('n,s,d,day,z\r\n1,"a,""b""\nc",1.50,1969-07-20,\r\n')
    expect(parseCsv(csv.body.toString("utf8"))[1]).toEqual(["1", 'a,"b"\nc', "1.50", "1969-07-20", null])
    const arrow = await ask(sql, { format: "arrow", headers: { accept: "application/json" } })
    expect(arrow.headers["content-type"]).toBe("application/vnd.apache.arrow.stream")
    const table = tableFromIPC(arrow.body)
    expect(table.schema.fields.map((field) => String(field.type))).toEqual([
      "Int64",
      "Utf8",
      "Decimal[4e+2]",
      "Date32<DAY>",
      "Int32"
    ])
    expect(table.getChild("s")!.get(0)).toBe('a,"b"\nc')
  })

  it("refuses what it cannot serve: 406 for Accept, 400 for ?format=, 400 naming a bad parameter", async () => {
    const refused = await ask(sql, { headers: { accept: "application/xml" } })
    expect(refused.status).toBe(406)
    expect(JSON.parse(refused.body.toString("utf8"))).toMatchObject({ code: "not_acceptable" })
    const unknown = await ask(sql, { format: "parquet" })
    expect(unknown.status).toBe(400)
    expect(JSON.parse(unknown.body.toString("utf8"))).toMatchObject({ code: "invalid_request" })
    const wrong = await ask("SELECT $1::INTEGER AS a, $2::VARCHAR AS b", {}, [1, [2]])
    expect(wrong.status).toBe(400)
    expect(JSON.parse(wrong.body.toString("utf8")).error).toContain("params[1]")
    const bound = await ask("SELECT $who AS who", { format: "csv" }, { who: "x'; DROP TABLE t; --" })
    expect(bound.body.toString("utf8")).toBe("who\r\nx'; DROP TABLE t; --\r\n")
  })
})

describe("20M-row results stream in flat memory (the slow part of the suite)", () => {
  it("csv, ndjson and arrow keep the server under 600 MiB while a client reads and discards them", async () => {
    const digits = digitsUpTo(rows)
    const baseline = rssMiB(streaming)

    let watch = watchRss(streaming)
    const csv = await drain(streaming, big, "csv")
    const csvPeak = watch.stop()
    expect(csv.status).toBe(200)
    expect(csv.complete).toBe(true)
    expect(csv.newlines).toBe(rows + 1)
    expect(csv.bytes).toBe("i,k\r\n".length + digits + rows * ",".length + rows * "0\r\n".length)

    watch = watchRss(streaming)
    const ndjson = await drain(streaming, big, "ndjson")
    const ndjsonPeak = watch.stop()
    expect(ndjson.complete).toBe(true)
    expect(ndjson.newlines).toBe(rows)
    expect(ndjson.bytes).toBe(digits + rows * '{"i":,"k":0}\n'.length)

    watch = watchRss(streaming)
    const arrow = await readArrow(big)
    const arrowPeak = watch.stop()
    expect(arrow.rows).toBe(rows)
    expect(arrow.batches).toBe(Math.ceil(rows / 2048))
    expect(arrow.last).toEqual([BigInt(rows - 1), BigInt((rows - 1) % 7)])

    memoryFigures.push(
      `baseline ${baseline.toFixed(0)} MiB; peaks: csv ${csvPeak.toFixed(0)}, ndjson ${ndjsonPeak.toFixed(0)}, arrow ${arrowPeak.toFixed(0)} MiB`,
      `bytes: csv ${(csv.bytes / 2 ** 20).toFixed(0)} MiB, ndjson ${(ndjson.bytes / 2 ** 20).toFixed(0)} MiB`
    )
    for (const peak of [csvPeak, ndjsonPeak, arrowPeak]) expect(peak).toBeLessThan(rssLimitMiB)
  }, 240_000)

  it("a client that reads slowly does not make the server buffer", async () => {
    const abort = new AbortController()
    const before = rssMiB(streaming)
    let received = 0
    const slow = new Promise<void>((resolve) => {
      const request = http.request(`${streaming.url}/v1/instances/default/query?format=csv`, {
        method: "POST",
        agent: false,
        signal: abort.signal,
        headers: { "content-type": "application/json", "x-api-key": key }
      })
      request.on("error", () => resolve())
      request.on("response", (response) => {
        response.on("data", (piece: Buffer) => {
          received += piece.length
          response.pause()
          setTimeout(() => response.resume(), 50)
        })
        response.on("error", () => resolve())
        response.on("close", () => resolve())
      })
      request.end(JSON.stringify({ query: big }))
    })
    const watch = watchRss(streaming)
    await sleep(4_000)
    const peak = watch.stop()
    abort.abort()
    await slow
    memoryFigures.push(
      `slow reader: ${(received / 2 ** 20).toFixed(1)} MiB read in 4 s; RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB`
    )
    // The whole result is ~260 MiB of CSV that DuckDB could produce in a second or two.
    expect(received).toBeLessThan(20 * 2 ** 20)
    expect(peak - before).toBeLessThan(100)
    await within(2_000, async () => {
      const listed = await send(`${streaming.url}/v1/queries`, undefined, { key })
      return JSON.parse(listed.body.toString("utf8")).queries.length === 0
    })
  }, 30_000)

  afterAll(() => {
    console.info(`Server memory while streaming ${rows} rows:\n${memoryFigures.join("\n")}`)
  })
})

/** Reads an Arrow stream batch by batch as it arrives, keeping only counts and the last row. */
const readArrow = (sql: string) =>
  new Promise<{ rows: number; batches: number; last: Array<unknown> }>((resolve, reject) => {
    const request = http.request(`${streaming.url}/v1/instances/default/query?format=arrow`, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "x-api-key": key }
    })
    request.on("error", reject)
    request.on("response", async (response) => {
      try {
        let rowCount = 0
        let batches = 0
        let last: Array<unknown> = []
        const reader = await RecordBatchReader.from(response)
        for await (const batch of reader) {
          rowCount += batch.numRows
          batches++
          last = batch.numRows === 0 ? last : [...batch.get(batch.numRows - 1)!.toArray()]
        }
        if (!response.complete) throw new Error("the Arrow stream did not end normally")
        resolve({ rows: rowCount, batches, last })
      } catch (error) {
        reject(error)
      }
    })
    request.end(JSON.stringify({ query: sql }))
  })

describe("deadlines and disconnects stop DuckDB in the server process", () => {
  const heavy = "SELECT count(*) AS n FROM range(100000000000) t(i) WHERE i % 7 = 3"

  /**
   * The server spends 100 ms of CPU on the query (an idle server needs many seconds for that; other
   * processes may share the cores, so this waits for the work instead of sampling a window).
   */
  const working = async (cpu: () => number) => {
    const since = cpu()
    const waited = await within(1_500, () => cpu() - since >= 100)
    return waited
  }
  /**
   * After the stop: at most a fifth of a core over the next second. A query still running takes a
   * whole core; the rest is GC, logs and a validation. The stop is asynchronous (DuckDB notices the
   * interrupt at its next check), so the window opens 200 ms after the answer, and the bound leaves
   * room for a CI machine running other test files beside this one.
   */
  const idleAfter = async (cpu: () => number) => {
    await sleep(200)
    return cpuShare(cpu, 1_000)
  }

  it("query.timeout: 504, then the server's CPU is idle", async () => {
    const cpu = serverCpuMillis(strict)
    const pending = query(strict.url, "default", { query: heavy }, { key })
    const waited = await working(cpu)
    const response = await pending
    expect(response.status).toBe(504)
    expect(JSON.parse(response.body.toString("utf8"))).toMatchObject({ code: "query_timeout" })
    const idle = await idleAfter(cpu)
    console.info(`server: 100 ms of CPU within ${waited} ms; after the deadline ${idle.toFixed(3)} of a core`)
    expect(idle).toBeLessThanOrEqual(0.2)
  })

  it("a client that disconnects mid-query: the server's CPU is idle, the next query runs", async () => {
    const cpu = serverCpuMillis(strict)
    const abort = new AbortController()
    const pending = query(strict.url, "default", { query: heavy }, { key, signal: abort.signal })
    const waited = await working(cpu)
    abort.abort()
    expect((await pending).error).toBe("aborted")
    const idle = await idleAfter(cpu)
    console.info(
      `server: 100 ms of CPU within ${waited} ms; after the disconnect ${idle.toFixed(3)} of a core`
    )
    expect(idle).toBeLessThanOrEqual(0.2)
    const next = await query(strict.url, "default", { query: "SELECT 42 AS answer" }, { key })
    expect(JSON.parse(next.body.toString("utf8")).rows).toEqual([[42]])
  })
})
