import { DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll } from "vitest"
import type { ResultColumn } from "../../src/results/Encoder.js"
import { makeEncoder } from "../../src/results/Encoders.js"
import type { ResultFormat } from "../../src/results/Format.js"
import { Slices } from "../../src/results/StringBytes.js"

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

/** 7 bytes a unit of a huge test string, so slice boundaries fall inside `€`: `"`, `/`, a comma, LF, `€`, U+0001. */
export const hugeUnit = '"/,\n€\u0001'
export const hugeUnitSql = `'"/,' || chr(10) || '€' || chr(1)`

/** The parts of `slices` taken one by one, with the most CPU one took and the largest. */
export const timedParts = (slices: Slices) => {
  const parts: Array<Uint8Array> = []
  let slowest = 0
  let largest = 0
  const iterator = slices.parts()
  for (;;) {
    const started = process.cpuUsage()
    const next = iterator.next()
    slowest = Math.max(slowest, cpuMs(started))
    if (next.done) break
    largest = Math.max(largest, next.value.length)
    parts.push(next.value)
  }
  return { parts, slowest, largest }
}

/**
 * `sql` through `format`'s `sliced`, chunk by chunk, the way the transport drains it: the stream's
 * bytes, how many chunks came as `Slices`, the largest part, and the most CPU one step took.
 */
export const slicedStream = async (connection: Connection, sql: string, format: ResultFormat) => {
  const result = await connection.stream(sql)
  const columns: Array<ResultColumn> = result
    .columnNames()
    .map((name, i) => ({ name, type: result.columnType(i) }))
  const encoder = makeEncoder(format)
  const begin = Buffer.from(encoder.begin(columns))
  const parts: Array<Uint8Array> = []
  let slowest = 0
  let slicedChunks = 0
  let largest = 0
  let rowCount = 0
  for (;;) {
    const chunk = await result.fetchChunk()
    if (chunk === null || chunk.rowCount === 0) break
    rowCount += chunk.rowCount
    const started = process.cpuUsage()
    const out = encoder.sliced(chunk, chunk.rowCount)
    slowest = Math.max(slowest, cpuMs(started))
    if (!(out instanceof Slices)) {
      parts.push(out)
      continue
    }
    slicedChunks++
    const taken = timedParts(out)
    parts.push(...taken.parts)
    slowest = Math.max(slowest, taken.slowest)
    largest = Math.max(largest, taken.largest)
  }
  const end = encoder.end({ rowCount, truncated: false })
  return { begin, slicedChunks, parts, largest, slowest, rows: Buffer.concat([...parts, end]) }
}
