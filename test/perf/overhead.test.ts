import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiKey, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * A regression guard for the query path's overhead (issue 8): CPU time per `SELECT 42` through the
 * whole server (gateway, rate limit, auth, gate, pool, encoder, audit, metrics) against a bare
 * node:http + DuckDB handler, both in this process, measured in alternating rounds. CPU time, not
 * wall time, so that other work on a shared machine disturbs it less; the bound is generous and
 * catches a change that makes the path several times heavier, not a few percent.
 */
const maxRatio = 2
const requestsPerRound = 1_500
const concurrency = 16
const body = JSON.stringify({ query: "SELECT 42" })

let server: RunningServer
let bare: http.Server
let bareUrl: string
let engine: DuckDBInstance

beforeAll(async () => {
  server = await startServer(testSettings())
  engine = await DuckDBInstance.create(undefined, { threads: "4" })
  bare = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", async () => {
      const { query } = JSON.parse(Buffer.concat(chunks).toString()) as { query: string }
      const connection = await engine.connect()
      const reader = await connection.runAndReadAll(query)
      const payload = JSON.stringify({
        columns: reader.columnNames().map((name, i) => ({ name, type: reader.columnTypes()[i]!.toString() })),
        rows: reader.getRowsJson(),
        rowCount: reader.currentRowCount,
        truncated: false
      })
      connection.closeSync()
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
      res.end(payload)
    })
  })
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve))
  bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1/instances/default/query`
})

afterAll(async () => {
  await new Promise<void>((resolve) => bare.close(() => resolve()))
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
  it(`stays within ${maxRatio}x a bare node:http + DuckDB handler, in CPU per request`, async () => {
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
      `[overhead] server ${median(ours).toFixed(0)} µs/request, bare ${median(theirs).toFixed(0)} µs/request, ratio ${ratio.toFixed(2)}`
    )
    expect(ratio).toBeLessThan(maxRatio)
  }, 120_000)
})
