import type { DuckDBDataChunk, DuckDBType } from "@duckdb/node-api"
import type { ResultFormat } from "./Format.js"
import type { Slices } from "./StringBytes.js"

export interface ResultColumn {
  readonly name: string
  readonly type: DuckDBType
}

export interface ResultSummary {
  readonly rowCount: number
  readonly truncated: boolean
}

export interface ResultError {
  readonly code: string
  readonly message: string
}

/**
 * Turns one query result into the bytes of one response body, chunk by chunk. The transport calls
 * `begin`, then `rows` for each DuckDB chunk as it is fetched, then `end` — or, when the result is
 * cut short after `begin` (error, timeout, cancel), `abort` and then ends the HTTP transfer
 * abnormally. What each format writes on `abort` (docs/results.md):
 * - json: `],"error":{"code","message"}}` — well-formed, no `rowCount`;
 * - ndjson: a last line `{"$error":{"code","message"}}`;
 * - csv and arrow: nothing (CSV has no way to say it; Arrow readers accept a stream without its
 *   end-of-stream marker) — the broken transfer is the signal.
 *
 * An encoder is stateful and serves one response. It keeps no rows between calls (memory is flat
 * whatever the result's size) and every call returns bytes that the caller owns.
 */
export interface ResultEncoder {
  readonly format: ResultFormat
  /** The `Content-Type` of the body. */
  readonly mediaType: string
  begin(columns: ReadonlyArray<ResultColumn>): Uint8Array
  /** Encodes rows [0, count) of `chunk`. */
  rows(chunk: DuckDBDataChunk, count: number): Uint8Array
  /**
   * The same bytes as `rows`; but a chunk holding a value too large to encode in one turn of the
   * event loop comes as `Slices`, whose parts the caller drains with a yield between parts.
   */
  sliced(chunk: DuckDBDataChunk, count: number): Uint8Array | Slices
  end(summary: ResultSummary): Uint8Array
  abort(error: ResultError): Uint8Array
}
