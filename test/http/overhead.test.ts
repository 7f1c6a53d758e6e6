import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { PerformanceObserver, constants as perfConstants } from "node:perf_hooks"
import * as v8 from "node:v8"
import { runInNewContext } from "node:vm"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ConnectionPoolConfig } from "../../src/domain/Config.js"
import { apiKey, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * A regression guard for the query path's overhead (issues 8 and 14): CPU time per `SELECT 42`
 * through the whole server (gateway, rate limit, auth, gate, pool, encoder, audit, metrics) against
 * a bare node:http + DuckDB handler, both in this process, measured in alternating rounds. CPU time,
 * not wall time, so that other work on a shared machine disturbs it less. The figure counts the
 * client's CPU too (it runs here), which both sides share: measured 1.15 with a fiber per query and
 * 0.96–1.14 without (issue 14), so the bound catches a path half again heavier, not a few percent.
 *
 * The load runs at twice the default pool size, so that most requests wait for a connection (the
 * case issue 14 found slow), and the bare handler reuses its connections from a free list bounded
 * like the pool, as a real server does: one that opens a connection per request is slower than a
 * real limit and would hide overhead.
 */
const maxRatio = 1.5
const requestsPerRound = 1_500
// The server under test runs with the default pool; the bare handler gets the same bound.
const poolSize = Schema.decodeSync(ConnectionPoolConfig)({}).max_connections
const concurrency = 2 * poolSize
const body = JSON.stringify({ query: "SELECT 42" })

let server: RunningServer
let bare: http.Server
let bareUrl: string
let engine: DuckDBInstance

/** The bare handler's connections: a free list of at most `poolSize`, then a FIFO of waiters. */
const makeFreeList = (instance: DuckDBInstance) => {
  const free: Array<DuckDBConnection> = []
  const waiting: Array<(connection: DuckDBConnection) => void> = []
  let opened = 0
  return {
    take: async (): Promise<DuckDBConnection> => {
      const ready = free.pop()
      if (ready !== undefined) return ready
      if (opened < poolSize) {
        opened++
        return instance.connect()
      }
      return new Promise((resolve) => waiting.push(resolve))
    },
    giveBack: (connection: DuckDBConnection) => {
      const next = waiting.shift()
      if (next !== undefined) next(connection)
      else free.push(connection)
    },
    close: () => {
      for (const connection of free) connection.closeSync()
    }
  }
}
let connections: ReturnType<typeof makeFreeList>

beforeAll(async () => {
  server = await startServer(testSettings())
  engine = await DuckDBInstance.create(undefined, { threads: "4" })
  connections = makeFreeList(engine)
  bare = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", async () => {
      const { query } = JSON.parse(Buffer.concat(chunks).toString()) as { query: string }
      const connection = await connections.take()
      const reader = await connection.runAndReadAll(query)
      connections.giveBack(connection)
      const payload = JSON.stringify({
        columns: reader.columnNames().map((name, i) => ({ name, type: reader.columnTypes()[i]!.toString() })),
        rows: reader.getRowsJson(),
        rowCount: reader.currentRowCount,
        truncated: false
      })
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
      res.end(payload)
    })
  })
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve))
  bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1/instances/default/query`
})

afterAll(async () => {
  await new Promise<void>((resolve) => bare.close(() => resolve()))
  connections.close()
  engine.closeSync()
  await server.dispose()
})

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })

const post = (url: string) =>
  new Promise<number>((resolve, reject) => {
    const request = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "x-api-key": apiKey } },
      (response) => {
        response.resume()
        response.on("end", () => resolve(response.statusCode ?? 0))
      }
    )
    request.on("error", reject)
    request.end(body)
  })

/** CPU microseconds per request (this process: client and server alike) for one round. */
const round = async (url: string): Promise<number> => {
  let next = 0
  const before = process.cpuUsage()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requestsPerRound) expect(await post(url)).toBe(200)
    })
  )
  const used = process.cpuUsage(before)
  return (used.user + used.system) / requestsPerRound
}

describe("query path overhead", () => {
  it(`stays within ${maxRatio}x a bare node:http + DuckDB handler, in CPU per request, at ${concurrency} concurrent requests (twice the pool)`, async () => {
    const serverUrl = `${server.url}/v1/instances/default/query`
    await round(serverUrl)
    await round(bareUrl)
    const ours: Array<number> = []
    const theirs: Array<number> = []
    for (let i = 0; i < 3; i++) {
      ours.push(await round(serverUrl))
      theirs.push(await round(bareUrl))
    }
    const median = (values: Array<number>) => [...values].sort((a, b) => a - b)[1]!
    const ratio = median(ours) / median(theirs)
    console.log(
      `[overhead] ${concurrency} concurrent: server ${median(ours).toFixed(0)} µs/request, bare ${median(theirs).toFixed(0)} µs/request, ratio ${ratio.toFixed(2)}`
    )
    expect(ratio).toBeLessThan(maxRatio)
  }, 120_000)
})

/**
 * What the query path leaves for the old generation (issue 14): bytes that outlive two young GCs
 * are promoted, and only a full GC reclaims them. A `Map` or `Set` that takes and drops an entry per
 * query promoted about 3 KB per request this way (see src/collections/LinkedList.ts), which made
 * full GCs frequent and put the p99 at 50–64 connections at 1.6x the bare server's; without that
 * churn it is a few hundred bytes, like the bare handler's. Measured as the old space's growth over
 * a round that no full GC interrupted, after a full GC.
 */
const maxPromotedBytesPerRequest = 1_024

describe("query path garbage", () => {
  it(`promotes under ${maxPromotedBytesPerRequest} bytes per request to the old generation at ${concurrency} concurrent requests`, async () => {
    v8.setFlagsFromString("--expose-gc")
    const collect = runInNewContext("gc") as () => void
    // Start times of the full GCs (the observer hears of them a little later).
    const fullGcs: Array<number> = []
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as { detail?: { kind?: number } }).detail?.kind
        if (kind !== perfConstants.NODE_PERFORMANCE_GC_MINOR) fullGcs.push(entry.startTime)
      }
    })
    observer.observe({ entryTypes: ["gc"] })
    const oldSpaceUsed = () =>
      v8.getHeapSpaceStatistics().find((space) => space.space_name === "old_space")!.space_used_size
    const promotedPerRequest = async (url: string): Promise<number | undefined> => {
      collect()
      const started = performance.now()
      const before = oldSpaceUsed()
      await round(url)
      const grown = oldSpaceUsed() - before
      await new Promise((resolve) => setTimeout(resolve, 50))
      return fullGcs.some((at) => at >= started) ? undefined : grown / requestsPerRound
    }
    const serverUrl = `${server.url}/v1/instances/default/query`
    const measure = async (url: string) => {
      // A full GC V8 starts on its own during a round hides what was promoted: measure again.
      for (let attempt = 0; attempt < 5; attempt++) {
        const bytes = await promotedPerRequest(url)
        if (bytes !== undefined) return bytes
      }
      return expect.fail("a full GC interrupted every round")
    }
    await round(serverUrl)
    const ours = await measure(serverUrl)
    const theirs = await measure(bareUrl)
    observer.disconnect()
    console.log(
      `[garbage] ${concurrency} concurrent: promoted ${ours.toFixed(0)} bytes/request through the server, ${theirs.toFixed(0)} through the bare handler`
    )
    expect(ours).toBeLessThan(maxPromotedBytesPerRequest)
  }, 120_000)
})
