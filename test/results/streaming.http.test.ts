import { RecordBatchReader, tableFromIPC } from "apache-arrow"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { query, type Received, send } from "../support/QueryClient.js"
import { type RunningServer, startServer, testSettings } from "../support/TestServer.js"
import { parseCsv } from "./readBack.js"

/**
 * Results that stream (larger than 1 MiB): how a failure after the headers is told to the client, and
 * how `query.max_rows` truncation is flagged (a header when known before the headers, else a trailer).
 */
const maxRows = 100_000
let server: RunningServer

beforeAll(async () => {
  server = await startServer(
    testSettings({ duckdb: { settings: { threads: 2 } }, query: { max_rows: maxRows, timeout: "60s" } })
  )
})
afterAll(() => server.dispose())

const ask = (sql: string, format: string) => query(server.url, "default", { query: sql }, { format })
const text = (response: Received) => response.body.toString("utf8")

/** A runtime error in a chunk DuckDB produces long after the first rows were sent. */
const lateError = `SELECT CASE WHEN i = 1500000 THEN error('boom') ELSE i END AS v FROM range(2000000) t(i)`
/** A cast that fails late: no error() call needed. */
const lateCast = `SELECT CAST(CASE WHEN i = 1200000 THEN 'x' ELSE i::VARCHAR END AS INTEGER) AS v FROM range(2000000) t(i)`

const expectBrokenTransfer = (response: Received) => {
  expect(response.status).toBe(200)
  expect(response.headers["transfer-encoding"]).toBe("chunked")
  expect(response.complete).toBe(false)
  expect(response.aborted).toBe(true)
}

describe("an error after streaming began", () => {
  // These queries return up to maxRows rows; a server with a higher cap serves them.
  let wide: RunningServer
  beforeAll(async () => {
    wide = await startServer(
      testSettings({ duckdb: { settings: { threads: 2 } }, query: { timeout: "60s" } })
    )
  })
  afterAll(() => wide.dispose())
  const late = (sql: string, format: string) => query(wide.url, "default", { query: sql }, { format })

  it("json: the document ends with an error member and no rowCount, and the transfer breaks", async () => {
    const response = await late(lateError, "json")
    expectBrokenTransfer(response)
    const body = JSON.parse(text(response)) as Record<string, unknown>
    expect(body).not.toHaveProperty("rowCount")
    expect(body).not.toHaveProperty("truncated")
    expect(body.error).toEqual({ code: "sql_error", message: expect.stringContaining("failed") })
    const rows = body.rows as Array<Array<number>>
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.length).toBeLessThan(1_500_000)
  })

  it('ndjson: the last line is {"$error": …}, and the transfer breaks', async () => {
    const response = await late(lateCast, "ndjson")
    expectBrokenTransfer(response)
    const lines = text(response).split("\n")
    expect(lines.pop()).toBe("")
    const last = JSON.parse(lines.pop()!)
    expect(last).toEqual({ $error: { code: "sql_error", message: expect.any(String) } })
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.length).toBeLessThan(1_200_000)
    expect(JSON.parse(lines.at(-1)!)).toHaveProperty("v")
  })

  it("csv: whole records only, then the transfer breaks", async () => {
    const response = await late(lateError, "csv")
    expectBrokenTransfer(response)
    const body = text(response)
    expect(body.endsWith("\r\n")).toBe(true)
    const records = parseCsv(body)
    expect(records[0]).toEqual(["v"])
    expect(records.length - 1).toBeLessThan(1_500_000)
  })

  it("arrow: no end-of-stream marker, and the transfer breaks", async () => {
    const response = await late(lateError, "arrow")
    expectBrokenTransfer(response)
    const endOfStream = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
    expect(response.body.subarray(-8).equals(endOfStream)).toBe(false)
    // What arrived still reads, which is why the broken transfer is the signal.
    const batches = [...RecordBatchReader.from(response.body)]
    const rows = batches.reduce((sum, batch) => sum + batch.numRows, 0)
    expect(rows).toBeGreaterThan(0)
    expect(rows).toBeLessThan(1_500_000)
  })

  it("a complete stream ends normally, for contrast", async () => {
    const response = await late("SELECT i AS v FROM range(2000000) t(i)", "arrow")
    expect(response.headers["transfer-encoding"]).toBe("chunked")
    expect(response.complete).toBe(true)
    expect(response.aborted).toBe(false)
    expect(tableFromIPC(response.body).numRows).toBe(2_000_000)
  })

  it("an error before anything was sent is a plain 400 sql_error, even after rows were produced", async () => {
    for (const sql of [
      "SELECT CASE WHEN i = 3000 THEN error('boom') ELSE i END AS v FROM range(5000) t(i)",
      "SELECT CASE WHEN i = 60000 THEN error('boom') ELSE i END AS v FROM range(100000) t(i)"
    ]) {
      for (const format of ["json", "csv"]) {
        const response = await late(sql, format)
        expect(response.status).toBe(400)
        expect(response.complete).toBe(true)
        expect(JSON.parse(text(response))).toMatchObject({ code: "sql_error" })
      }
    }
  })
})

describe("max_rows truncation", () => {
  const fits = "SELECT 1 AS a FROM range(200000)"
  const streams = "SELECT i AS a, repeat('x', 30) AS pad FROM range(200000) t(i)"

  it("is a header when it is known before the headers are sent, in every format", async () => {
    const counts: Record<string, (response: Received) => number> = {
      json: (response) => JSON.parse(text(response)).rows.length,
      ndjson: (response) => text(response).split("\n").length - 1,
      csv: (response) => parseCsv(text(response)).length - 1,
      arrow: (response) => tableFromIPC(response.body).numRows
    }
    for (const [format, count] of Object.entries(counts)) {
      const response = await ask(fits, format)
      expect(response.status).toBe(200)
      expect(response.headers["content-length"]).toBeDefined()
      expect(response.headers["x-result-truncated"]).toBe("true")
      expect(count(response)).toBe(maxRows)
    }
    const json = JSON.parse(text(await ask(fits, "json")))
    expect(json).toMatchObject({ rowCount: maxRows, truncated: true })
  })

  it("is a trailer when it is found once the result streams, in every format", async () => {
    for (const format of ["json", "ndjson", "csv", "arrow"]) {
      const response = await ask(streams, format)
      expect(response.status).toBe(200)
      expect(response.headers["transfer-encoding"]).toBe("chunked")
      expect(response.headers.trailer).toMatch(/x-result-truncated/i)
      expect(response.headers["x-result-truncated"]).toBeUndefined()
      expect(response.complete).toBe(true)
      expect(response.trailers["x-result-truncated"]).toBe("true")
      if (format === "json") {
        const body = JSON.parse(text(response))
        expect(body).toMatchObject({ rowCount: maxRows, truncated: true })
        expect(body.rows).toHaveLength(maxRows)
      }
      if (format === "arrow") expect(tableFromIPC(response.body).numRows).toBe(maxRows)
    }
  })

  it("is not flagged for a result of exactly max_rows rows", async () => {
    const whole = await ask(`SELECT 1 AS a FROM range(${maxRows})`, "json")
    expect(whole.headers["x-result-truncated"]).toBeUndefined()
    expect(JSON.parse(text(whole))).toMatchObject({ rowCount: maxRows, truncated: false })
    const streamed = await ask(`SELECT i AS a, repeat('x', 30) AS pad FROM range(${maxRows}) t(i)`, "csv")
    expect(streamed.complete).toBe(true)
    expect(streamed.trailers["x-result-truncated"]).toBeUndefined()
    expect(parseCsv(text(streamed))).toHaveLength(maxRows + 1)
  })

  it("is audited as truncated", async () => {
    const response = await send(`${server.url}/v1/instances/default/query`, { query: fits })
    const requestId = String(response.headers["x-request-id"])
    await new Promise((resolve) => setTimeout(resolve, 50))
    const line = server.logLines
      .flatMap((chunk) => chunk.split("\n"))
      .find((entry) => entry.includes(requestId) && entry.includes("query executed"))
    expect(JSON.parse(line!)).toMatchObject({ rows_returned: maxRows })
  })
})
