import type { DuckDBDataChunk } from "@duckdb/node-api"
import { type ColumnWriter, columnWriter, type FieldWriter } from "./ByteColumns.js"
import { Output } from "./ByteOutput.js"
import type { ResultColumn, ResultEncoder, ResultError, ResultSummary } from "./Encoder.js"
import { contentTypeOf } from "./Format.js"
import { chunkColumn } from "./RawVector.js"
import { drain, hugeValue, markerUnlessCut, partBytes, Slices } from "./StringBytes.js"
import { csvField, errorJson, uniqueNames } from "./TextEncoders.js"
import { type BindWriteParts, boundParts, hugeField, partsWriter, type WriteParts } from "./ValueParts.js"

const empty = new Uint8Array(0)
const comma = 0x2c

/** Bytes per row a chunk's buffer starts with; it grows when a chunk needs more. */
const guessPerColumn = 12

/**
 * The rows of a chunk that holds a huge value (a writer threw `hugeValue`), as the encoder's own loop
 * writes them (`before` each field, `after` each row), but with each huge value in parts and a part
 * handed over whenever `partBytes` are pending.
 */
function* slicedRows(
  out: Output,
  n: number,
  fields: ReadonlyArray<FieldWriter>,
  parts: ReadonlyArray<WriteParts | undefined>,
  before: (c: number) => void,
  after: () => void
): Generator<Uint8Array> {
  for (let row = 0; row < n; row++) {
    for (let c = 0; c < fields.length; c++) {
      before(c)
      try {
        fields[c]!(out, row)
      } catch (error) {
        yield* hugeField(error, parts[c], out, row)
      }
    }
    after()
    if (out.length >= partBytes) yield out.take()
  }
  yield out.take()
}

/** RFC 4180: a header row, then one record per row, every line ended by CRLF as the RFC says. */
export class CsvEncoder implements ResultEncoder {
  readonly format = "csv"
  readonly mediaType = contentTypeOf("csv")
  private writers: ReadonlyArray<ColumnWriter> = []
  private parts: ReadonlyArray<BindWriteParts | undefined> = []
  private readonly out = new Output()

  begin(columns: ReadonlyArray<ResultColumn>): Uint8Array {
    this.writers = columns.map((column) => columnWriter(column, "csv"))
    this.parts = columns.map((column) => partsWriter(column.type, "csv"))
    return Buffer.from(`${columns.map((column) => csvField(column.name, false)).join(",")}\r\n`, "utf8")
  }

  rows(chunk: DuckDBDataChunk, count: number): Uint8Array {
    return drain(this.sliced(chunk, count))
  }

  sliced(chunk: DuckDBDataChunk, count: number): Uint8Array | Slices {
    const n = Math.min(count, chunk.rowCount)
    if (n <= 0) return empty
    const fields = this.writers.map((writer, c) => writer(chunkColumn(chunk.chunk, c), chunk.rowCount))
    const width = fields.length
    const out = this.out
    out.reserve(n * (2 + width * guessPerColumn))
    try {
      for (let row = 0; row < n; row++) {
        for (let c = 0; c < width; c++) {
          if (c > 0) out.byte(comma)
          fields[c]!(out, row)
        }
        out.byte(0x0d)
        out.byte(0x0a)
      }
    } catch (error) {
      if (error !== hugeValue) throw error
      out.take()
      const before = (c: number) => {
        if (c > 0) out.byte(comma)
      }
      const after = () => {
        out.byte(0x0d)
        out.byte(0x0a)
      }
      return new Slices(slicedRows(out, n, fields, boundParts(chunk, this.parts), before, after))
    }
    return out.take()
  }

  end(_summary: ResultSummary): Uint8Array {
    return empty
  }

  abort(_error: ResultError): Uint8Array {
    return empty
  }
}

/** One JSON object per row, keyed by column name, each line ended by `\n` (JSON escapes every `\n` inside values). */
export class NdjsonEncoder implements ResultEncoder {
  readonly format = "ndjson"
  readonly mediaType = contentTypeOf("ndjson")
  private writers: ReadonlyArray<ColumnWriter> = []
  /** `{"a":` for the first column, `,"b":` for the others. */
  private keys: ReadonlyArray<Buffer> = []
  private parts: ReadonlyArray<BindWriteParts | undefined> = []
  private readonly out = new Output()
  private slices: Slices | undefined

  begin(columns: ReadonlyArray<ResultColumn>): Uint8Array {
    this.writers = columns.map((column) => columnWriter(column, "json"))
    this.parts = columns.map((column) => partsWriter(column.type, "json"))
    this.keys = uniqueNames(columns.map((column) => column.name)).map((name, c) =>
      Buffer.from(`${c === 0 ? "{" : ","}${JSON.stringify(name)}:`, "utf8")
    )
    return empty
  }

  rows(chunk: DuckDBDataChunk, count: number): Uint8Array {
    return drain(this.sliced(chunk, count))
  }

  sliced(chunk: DuckDBDataChunk, count: number): Uint8Array | Slices {
    const n = Math.min(count, chunk.rowCount)
    if (n <= 0) return empty
    const fields = this.writers.map((writer, c) => writer(chunkColumn(chunk.chunk, c), chunk.rowCount))
    const keys = this.keys
    const width = fields.length
    const out = this.out
    out.reserve(n * (2 + width * (guessPerColumn + 8)))
    try {
      for (let row = 0; row < n; row++) {
        if (width === 0) out.byte(0x7b)
        for (let c = 0; c < width; c++) {
          out.bytes(keys[c]!)
          fields[c]!(out, row)
        }
        out.byte(0x7d)
        out.byte(0x0a)
      }
    } catch (error) {
      if (error !== hugeValue) throw error
      out.take()
      const before = (c: number) => out.bytes(keys[c]!)
      const after = () => {
        out.byte(0x7d)
        out.byte(0x0a)
      }
      this.slices = new Slices(slicedRows(out, n, fields, boundParts(chunk, this.parts), before, after))
      return this.slices
    }
    return out.take()
  }

  end(_summary: ResultSummary): Uint8Array {
    return empty
  }

  abort(error: ResultError): Uint8Array {
    return markerUnlessCut(this.slices, () => Buffer.from(`{"$error":${errorJson(error)}}\n`, "utf8"))
  }
}
