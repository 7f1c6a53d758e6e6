import type { DuckDBDataChunk } from "@duckdb/node-api"
import { duckdbTypeName } from "../sql/TypeName.js"
import { Output } from "./ByteOutput.js"
import type { ResultColumn, ResultEncoder, ResultError, ResultSummary } from "./Encoder.js"
import { contentTypeOf } from "./Format.js"
import { valueReader } from "./JsonValues.js"
import { chunkColumn } from "./RawVector.js"
import { drain, hugeValue, markerUnlessCut, partBytes, Slices } from "./StringBytes.js"
import { type BindWriteParts, boundParts, hugeField, partsWriter, type WriteParts } from "./ValueParts.js"
import type { JsonItem, TextItem, ValueReader } from "./ValueReader.js"

const empty = new Uint8Array(0)
const utf8 = (text: string): Uint8Array => (text.length === 0 ? empty : Buffer.from(text, "utf8"))

/**
 * Rows are built as one string per chunk and converted to UTF-8 once: V8 concatenates into ropes
 * cheaply, and one `Buffer.from` beats many small writes.
 */
abstract class TextFormatEncoder {
  protected readers: ReadonlyArray<ValueReader> = []
  protected parts: ReadonlyArray<BindWriteParts | undefined> = []

  begin(columns: ReadonlyArray<ResultColumn>): Uint8Array {
    this.readers = columns.map((column) => valueReader(column.type))
    // A reader stops at a huge value (`hugeValue`), and the chunk is encoded in slices instead.
    this.parts = columns.map((column) => partsWriter(column.type, "json"))
    return utf8(this.header(columns))
  }

  protected abstract header(columns: ReadonlyArray<ResultColumn>): string

  protected bindJson(chunk: DuckDBDataChunk): ReadonlyArray<JsonItem> {
    const size = chunk.rowCount
    return this.readers.map((reader, c) => reader.json(chunkColumn(chunk.chunk, c), size))
  }

  protected bindText(chunk: DuckDBDataChunk): ReadonlyArray<TextItem> {
    const size = chunk.rowCount
    return this.readers.map((reader, c) => reader.text(chunkColumn(chunk.chunk, c), size))
  }
}

export const errorJson = (error: ResultError): string =>
  `{"code":${JSON.stringify(error.code)},"message":${JSON.stringify(error.message)}}`

/** `{"columns":[{"name","type"}],"rows":[[…],…],"rowCount":N,"truncated":false}`. */
export class JsonEncoder extends TextFormatEncoder implements ResultEncoder {
  readonly format = "json"
  readonly mediaType = contentTypeOf("json")
  private rowsWritten = false
  private slices: Slices | undefined

  protected header(columns: ReadonlyArray<ResultColumn>): string {
    const described = columns.map(
      (column) =>
        `{"name":${JSON.stringify(column.name)},"type":${JSON.stringify(duckdbTypeName(column.type))}}`
    )
    return `{"columns":[${described.join(",")}],"rows":[`
  }

  rows(chunk: DuckDBDataChunk, count: number): Uint8Array {
    return drain(this.sliced(chunk, count))
  }

  sliced(chunk: DuckDBDataChunk, count: number): Uint8Array | Slices {
    const n = Math.min(count, chunk.rowCount)
    if (n <= 0) return empty
    const items = this.bindJson(chunk)
    const width = items.length
    let out = ""
    try {
      for (let r = 0; r < n; r++) {
        out += r === 0 && !this.rowsWritten ? "[" : ",["
        for (let c = 0; c < width; c++) out += c === 0 ? items[c]!(r) : `,${items[c]!(r)}`
        out += "]"
      }
    } catch (error) {
      if (error !== hugeValue) throw error
      const first = !this.rowsWritten
      this.rowsWritten = true
      this.slices = new Slices(slicedRows(items, boundParts(chunk, this.parts), n, first))
      return this.slices
    }
    this.rowsWritten = true
    return utf8(out)
  }

  end(summary: ResultSummary): Uint8Array {
    return utf8(`],"rowCount":${summary.rowCount},"truncated":${summary.truncated}}`)
  }

  abort(error: ResultError): Uint8Array {
    return markerUnlessCut(this.slices, () => utf8(`],"error":${errorJson(error)}}`))
  }
}

/** The loop of `JsonEncoder.rows` with huge values in parts (see ValueParts.ts). */
function* slicedRows(
  items: ReadonlyArray<JsonItem>,
  parts: ReadonlyArray<WriteParts | undefined>,
  n: number,
  first: boolean
): Generator<Uint8Array> {
  let out = ""
  const bytes = new Output()
  for (let r = 0; r < n; r++) {
    out += r === 0 && first ? "[" : ",["
    for (let c = 0; c < items.length; c++) {
      if (c > 0) out += ","
      try {
        out += items[c]!(r)
      } catch (error) {
        bytes.text(out)
        out = ""
        yield* hugeField(error, parts[c], bytes, r)
        yield bytes.take()
      }
    }
    out += "]"
    if (out.length >= partBytes) {
      yield utf8(out)
      out = ""
    }
  }
  yield utf8(out)
}

/**
 * Object keys of NDJSON lines. Duplicate column names (`SELECT 1 AS a, 2 AS a`) would make one value
 * overwrite the other in every JSON parser, so a repeated name gets the first free suffix `_1`, `_2`…
 * that no other column uses (`a`, `a_1`). JSON and CSV keep the names as DuckDB gives them.
 */
export const uniqueNames = (names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const taken = new Set(names)
  const used = new Set<string>()
  return names.map((name) => {
    let unique = name
    if (used.has(name)) {
      let k = 1
      while (taken.has(`${name}_${k}`) || used.has(`${name}_${k}`)) k++
      unique = `${name}_${k}`
    }
    used.add(unique)
    return unique
  })
}

const needsQuotes = /[",\r\n]/
const quote = /"/g

/**
 * RFC 4180 field: quoted when it holds a comma, quote, CR or LF (quotes doubled). NULL is an empty
 * unquoted field and the empty string `""`, so the two stay apart.
 */
export const csvField = (text: string | null, plain: boolean): string => {
  if (text === null) return ""
  if (text === "") return '""'
  if (plain) return text
  return needsQuotes.test(text) ? `"${text.replace(quote, '""')}"` : text
}
