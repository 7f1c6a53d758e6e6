import type { DuckDBDataChunk } from "@duckdb/node-api"
import { makeData, RecordBatch, RecordBatchStreamWriter, Schema, Struct } from "apache-arrow"
import type { ArrowColumn, Later } from "./ArrowColumn.js"
import { arrowColumn } from "./ArrowColumns.js"
import { fieldOf } from "./ArrowNested.js"
import { rangeSelection } from "./ArrowSelection.js"
import type { ResultColumn, ResultEncoder, ResultError, ResultSummary } from "./Encoder.js"
import { contentTypeOf } from "./Format.js"
import { chunkColumn } from "./RawVector.js"
import { drain, Slices } from "./StringBytes.js"

const empty = new Uint8Array(0)

/** A huge batch's bytes per part: copies only, so a few milliseconds each. */
const batchPartBytes = 1024 * 1024

/** Arrow IPC end-of-stream marker: continuation token, then a zero metadata length. */
const endOfStream = new Uint8Array(Int32Array.of(-1, 0).buffer)

/**
 * apache-arrow's stream writer, with what it writes collected synchronously instead of queued for
 * an async reader: each call hands back exactly the bytes of the messages it produced. Its file-format
 * block index would grow with every batch; a stream never needs it, so it is dropped.
 */
class CollectingStreamWriter extends RecordBatchStreamWriter {
  private pieces: Array<Uint8Array> = []
  private length = 0

  protected override _write(chunk: ArrayBufferView | ArrayBuffer | string): this {
    if (this._started && typeof chunk !== "string") {
      const bytes = ArrayBuffer.isView(chunk)
        ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : new Uint8Array(chunk)
      if (bytes.byteLength > 0) {
        this.pieces.push(bytes)
        this.length += bytes.byteLength
        this._position += bytes.byteLength
      }
    }
    return this
  }

  startWith(schema: Schema): Uint8Array {
    this.reset(undefined, schema)
    return this.take()
  }

  writeBatch(batch: RecordBatch): Uint8Array {
    this.write(batch)
    this._recordBatchBlocks.length = 0
    this._dictionaryBlocks.length = 0
    return this.take()
  }

  /** `writeBatch` as parts of at most `partBytes` each, a copy per part: a huge batch's bytes in steps. */
  *writeBatchInParts(batch: RecordBatch, partBytes: number): Generator<Uint8Array, void, undefined> {
    this.write(batch)
    this._recordBatchBlocks.length = 0
    this._dictionaryBlocks.length = 0
    const pieces = this.pieces
    this.pieces = []
    this.length = 0
    for (const piece of pieces) {
      for (let start = 0; start < piece.byteLength; start += partBytes)
        yield piece.slice(start, Math.min(start + partBytes, piece.byteLength))
    }
  }

  /** One copy into bytes the caller owns: the pieces may view DuckDB memory that the next chunk reuses. */
  private take(): Uint8Array {
    const out = new Uint8Array(this.length)
    let offset = 0
    for (const piece of this.pieces) {
      out.set(piece, offset)
      offset += piece.byteLength
    }
    this.pieces = []
    this.length = 0
    return out
  }
}

/** Arrow IPC stream: the schema in `begin`, one record batch per DuckDB chunk, the EOS marker in `end`. */
export class ArrowEncoder implements ResultEncoder {
  readonly format = "arrow"
  readonly mediaType = contentTypeOf("arrow")
  private readonly writer = new CollectingStreamWriter()
  private columns: ReadonlyArray<ArrowColumn> = []
  private schema: Schema = new Schema([])
  private struct: Struct = new Struct([])

  begin(columns: ReadonlyArray<ResultColumn>): Uint8Array {
    const context = { nextDictionaryId: 0 }
    this.columns = columns.map((column) => arrowColumn(column.type, context))
    const fields = columns.map((column, c) => fieldOf(column.name, this.columns[c]!))
    this.schema = new Schema(fields)
    this.struct = new Struct(fields)
    return this.writer.startWith(this.schema)
  }

  rows(chunk: DuckDBDataChunk, count: number): Uint8Array {
    return drain(this.sliced(chunk, count))
  }

  /**
   * A batch holding a huge VARCHAR or BLOB (its builder left its copy for `later`) comes in parts:
   * the copies out of DuckDB a slice per part, then the batch's bytes a part at a time.
   */
  sliced(chunk: DuckDBDataChunk, count: number): Uint8Array | Slices {
    const size = chunk.rowCount
    const n = Math.min(count, size)
    if (n <= 0) return empty
    const selection = rangeSelection(0, n)
    const later: Later = []
    const children = this.columns.map((column, c) =>
      column.build(chunkColumn(chunk.chunk, c), size, selection, later)
    )
    const data = makeData({ type: this.struct, length: n, nullCount: 0, children })
    const batch = new RecordBatch(this.schema, data)
    if (later.length === 0) return this.writer.writeBatch(batch)
    return new Slices(this.inParts(batch, later))
  }

  private *inParts(batch: RecordBatch, later: Later): Generator<Uint8Array, void, undefined> {
    for (const copy of later) for (const _ of copy) yield empty
    yield* this.writer.writeBatchInParts(batch, batchPartBytes)
  }

  end(_summary: ResultSummary): Uint8Array {
    return endOfStream.slice()
  }

  abort(_error: ResultError): Uint8Array {
    return empty
  }
}
