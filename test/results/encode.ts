import { DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll } from "vitest"
import type { ResultColumn } from "../../src/results/Encoder.js"
import { makeEncoder } from "../../src/results/Encoders.js"
import type { ResultFormat } from "../../src/results/Format.js"

/** A DuckDB instance for a test file, created as the server creates them (path undefined). */
export const openDuckDB = async () => {
  const instance = await DuckDBInstance.create(undefined, { threads: "1" })
  const connection = await instance.connect()
  return {
    connection,
    close: () => {
      connection.closeSync()
      instance.closeSync()
    }
  }
}

export type Connection = Awaited<ReturnType<typeof openDuckDB>>["connection"]

/** The test file's DuckDB connection: opened before its tests, closed after them. */
export const fileConnection = (): (() => Connection) => {
  let db: Awaited<ReturnType<typeof openDuckDB>> | undefined
  beforeAll(async () => {
    db = await openDuckDB()
  })
  afterAll(() => db?.close())
  return () => db!.connection
}

/** Streams `sql` through an encoder the way the transport does: begin, rows per chunk, end. */
export const encode = async (
  connection: Connection,
  sql: string,
  format: ResultFormat,
  options: { maxRows?: number } = {}
): Promise<{ bytes: Buffer; pieces: ReadonlyArray<Uint8Array>; chunks: number }> => {
  const result = await connection.stream(sql)
  const encoder = makeEncoder(format)
  const columns: Array<ResultColumn> = result
    .columnNames()
    .map((name, i) => ({ name, type: result.columnType(i) }))
  const pieces: Array<Uint8Array> = [encoder.begin(columns)]
  let rowCount = 0
  let chunks = 0
  let truncated = false
  const max = options.maxRows ?? Number.POSITIVE_INFINITY
  for (;;) {
    const chunk = await result.fetchChunk()
    if (chunk === null || chunk.rowCount === 0) break
    chunks++
    const take = Math.min(chunk.rowCount, max - rowCount)
    pieces.push(encoder.rows(chunk, take))
    rowCount += take
    if (rowCount >= max) {
      truncated = true
      break
    }
  }
  pieces.push(encoder.end({ rowCount, truncated }))
  return { bytes: Buffer.concat(pieces), pieces, chunks }
}

/**
 * Milliseconds of this process's CPU since `started` (a `process.cpuUsage()`): how long a piece of
 * encoding held the thread, whatever else the machine was doing meanwhile (wall time on a shared,
 * loaded machine also counts the scheduler's pauses).
 */
export const cpuMs = (started: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(started)
  return (used.user + used.system) / 1000
}
