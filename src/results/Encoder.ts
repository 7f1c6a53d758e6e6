import { type DuckDBDataChunk, type DuckDBType, JsonDuckDBValueConverter } from "@duckdb/node-api"
import type { ResultFormat } from "./Format.js"

// Provisional: replaced by the results work (issue 3), which owns this module.
export interface ResultColumn {
  readonly name: string
  readonly type: DuckDBType
}

export interface ResultEncoder {
  readonly mediaType: string
  begin(columns: ReadonlyArray<ResultColumn>): Uint8Array
  rows(chunk: DuckDBDataChunk, count: number): Uint8Array
  end(summary: { readonly rowCount: number; readonly truncated: boolean }): Uint8Array
  abort(error: { readonly code: string; readonly message: string }): Uint8Array
}

const text = (s: string) => Buffer.from(s, "utf8")

export const makeEncoder = (_format: ResultFormat): ResultEncoder => {
  let first = true
  return {
    mediaType: "application/json",
    begin: (columns) =>
      text(
        `{"columns":${JSON.stringify(columns.map((c) => ({ name: c.name, type: c.type.toString() })))},"rows":[`
      ),
    rows: (chunk, count) => {
      const rows = chunk.convertRows(JsonDuckDBValueConverter).slice(0, count)
      let out = ""
      for (const row of rows) {
        out += (first ? "" : ",") + JSON.stringify(row)
        first = false
      }
      return text(out)
    },
    end: (summary) => text(`],"rowCount":${summary.rowCount},"truncated":${summary.truncated}}`),
    abort: (error) => text(`],"error":${JSON.stringify(error)}}`)
  }
}
