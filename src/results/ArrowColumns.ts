import { type DuckDBType, DuckDBTypeId } from "@duckdb/node-api"
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  makeData,
  TimeMicrosecond,
  TimeNanosecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8
} from "apache-arrow"
import type { ArrowColumn, ArrowContext } from "./ArrowColumn.js"
import { enumColumn, intervalColumn, nullColumn, textColumn, uuidColumn } from "./ArrowConverted.js"
import { arrayColumn, listColumn, mapColumn, structColumn } from "./ArrowNested.js"
import { isValidAt, selectionBitmap, sourceRow } from "./ArrowSelection.js"
import { bytesOf, hugeValueBytes, StringItems } from "./RawVector.js"

/**
 * One DuckDB type as an Arrow type, and how to turn a native vector into Arrow data.
 *
 * Type mapping (docs/results.md has the table): integers of each width and sign as themselves;
 * HUGEINT → Decimal128(38,0) (the same 16 bytes, DuckDB's own Arrow export does the same; values
 * beyond 38 digits, up to ±1.7e38, keep their exact bits but exceed the declared precision);
 * UHUGEINT → Decimal256(39,0); DECIMAL(w,s) → Decimal128(w,s); FLOAT/DOUBLE; BOOLEAN; VARCHAR → Utf8
 * (JSON-typed columns carry the `arrow.json` extension name); BLOB → Binary; DATE → Date32;
 * TIME → Time64(µs), TIME_NS → Time64(ns); TIMESTAMP, _S, _MS, _NS → Timestamp of that unit without
 * zone, TIMESTAMPTZ → Timestamp(µs, "UTC") (±infinity keep DuckDB's ±(2^63−1)); INTERVAL →
 * Interval(MonthDayNano); UUID → FixedSizeBinary(16) big-endian with the `arrow.uuid` extension name;
 * LIST → List, ARRAY → FixedSizeList, STRUCT → Struct, MAP → Map; ENUM → Dictionary(Utf8) with the
 * smallest signed index type that fits, one dictionary batch sent before the first record batch;
 * TIMETZ, BIT, BIGNUM, UNION, VARIANT, GEOMETRY → Utf8 holding the CSV text of the value.
 */
export const arrowColumn = (type: DuckDBType, context: ArrowContext): ArrowColumn => {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return booleanColumn
    case DuckDBTypeId.TINYINT:
      return fixed(new Int8(), 1)
    case DuckDBTypeId.SMALLINT:
      return fixed(new Int16(), 2)
    case DuckDBTypeId.INTEGER:
      return fixed(new Int32(), 4)
    case DuckDBTypeId.BIGINT:
      return fixed(new Int64(), 8)
    case DuckDBTypeId.UTINYINT:
      return fixed(new Uint8(), 1)
    case DuckDBTypeId.USMALLINT:
      return fixed(new Uint16(), 2)
    case DuckDBTypeId.UINTEGER:
      return fixed(new Uint32(), 4)
    case DuckDBTypeId.UBIGINT:
      return fixed(new Uint64(), 8)
    case DuckDBTypeId.HUGEINT:
      return fixed(new Decimal(0, 38, 128), 16)
    case DuckDBTypeId.UHUGEINT:
      return widened(new Decimal(0, 39, 256), 16, 32, false)
    case DuckDBTypeId.FLOAT:
      return fixed(new Float32(), 4)
    case DuckDBTypeId.DOUBLE:
      return fixed(new Float64(), 8)
    case DuckDBTypeId.DECIMAL: {
      const arrowType = new Decimal(type.scale, type.width, 128)
      if (type.width > 18) return fixed(arrowType, 16)
      return widened(arrowType, type.width <= 4 ? 2 : type.width <= 9 ? 4 : 8, 16, true)
    }
    case DuckDBTypeId.VARCHAR:
      return withMetadata(bytesColumn(new Utf8()), type.alias === "JSON" ? "arrow.json" : undefined)
    case DuckDBTypeId.BLOB:
      return bytesColumn(new Binary())
    case DuckDBTypeId.DATE:
      return fixed(new DateDay(), 4)
    case DuckDBTypeId.TIME:
      return fixed(new TimeMicrosecond(), 8)
    case DuckDBTypeId.TIME_NS:
      return fixed(new TimeNanosecond(), 8)
    case DuckDBTypeId.TIMESTAMP:
      return fixed(new TimestampMicrosecond(), 8)
    case DuckDBTypeId.TIMESTAMP_S:
      return fixed(new TimestampSecond(), 8)
    case DuckDBTypeId.TIMESTAMP_MS:
      return fixed(new TimestampMillisecond(), 8)
    case DuckDBTypeId.TIMESTAMP_NS:
      return fixed(new TimestampNanosecond(), 8)
    case DuckDBTypeId.TIMESTAMP_TZ:
      return fixed(new TimestampMicrosecond("UTC"), 8)
    case DuckDBTypeId.INTERVAL:
      return intervalColumn
    case DuckDBTypeId.UUID:
      return withMetadata(uuidColumn, "arrow.uuid")
    case DuckDBTypeId.ENUM:
      return enumColumn(type.values, type.internalTypeId, context.nextDictionaryId++)
    case DuckDBTypeId.LIST:
      return listColumn(arrowColumn(type.valueType, context))
    case DuckDBTypeId.ARRAY:
      return arrayColumn(arrowColumn(type.valueType, context), type.length)
    case DuckDBTypeId.STRUCT:
      return structColumn(
        type.entryNames,
        type.entryTypes.map((t) => arrowColumn(t, context))
      )
    case DuckDBTypeId.MAP:
      return mapColumn(arrowColumn(type.keyType, context), arrowColumn(type.valueType, context))
    case DuckDBTypeId.SQLNULL:
      return nullColumn
    default:
      return textColumn(type)
  }
}

const withMetadata = (column: ArrowColumn, extension: string | undefined): ArrowColumn =>
  extension === undefined
    ? column
    : {
        ...column,
        build: column.build,
        metadata: new Map([
          ["ARROW:extension:name", extension],
          ["ARROW:extension:metadata", ""]
        ])
      }

/** Items whose DuckDB bytes are Arrow's bytes: zero-copy when the rows are a plain range. */
const fixed = (type: DataType, width: number): ArrowColumn => ({
  type,
  build: (vector, size, selection) => {
    const bytes = bytesOf(vector, size, width)
    const { count, indices, start } = selection
    let data: Uint8Array
    if (indices === null) data = bytes.subarray(start * width, (start + count) * width)
    else {
      data = new Uint8Array(count * width)
      for (let k = 0; k < count; k++)
        data.set(bytes.subarray(indices[k]! * width, (indices[k]! + 1) * width), k * width)
    }
    return makeData({ type, length: count, ...selectionBitmap(vector, size, selection), data } as never)
  }
})

/** Two's-complement integers sign- (or zero-) extended to a wider Arrow decimal. */
const widened = (type: DataType, from: 2 | 4 | 8 | 16, to: 16 | 32, signed: boolean): ArrowColumn => ({
  type,
  build: (vector, size, selection) => {
    const bytes = bytesOf(vector, size, from)
    const { count } = selection
    const out = new Uint32Array((count * to) / 4)
    const wordsOut = to / 4
    if (from === 2 || from === 4) {
      const values =
        from === 2
          ? new Int16Array(bytes.buffer, bytes.byteOffset, size)
          : new Int32Array(bytes.buffer, bytes.byteOffset, size)
      for (let k = 0; k < count; k++) {
        const v = values[sourceRow(selection, k)]!
        out[k * wordsOut] = v
        if (v < 0) out.fill(0xffffffff, k * wordsOut + 1, (k + 1) * wordsOut)
      }
    } else {
      const wordsIn = from / 4
      const words = new Uint32Array(bytes.buffer, bytes.byteOffset, size * wordsIn)
      for (let k = 0; k < count; k++) {
        const o = sourceRow(selection, k) * wordsIn
        for (let w = 0; w < wordsIn; w++) out[k * wordsOut + w] = words[o + w]!
        if (signed && (words[o + wordsIn - 1]! & 0x80000000) !== 0) {
          out.fill(0xffffffff, k * wordsOut + wordsIn, (k + 1) * wordsOut)
        }
      }
    }
    return makeData({ type, length: count, ...selectionBitmap(vector, size, selection), data: out } as never)
  }
})

const booleanColumn: ArrowColumn = {
  type: new Bool(),
  build: (vector, size, selection) => {
    const bytes = bytesOf(vector, size, 1)
    const { count } = selection
    const bits = new Uint8Array(Math.ceil(count / 8))
    for (let k = 0; k < count; k++) if (bytes[sourceRow(selection, k)] !== 0) bits[k >> 3]! |= 1 << (k & 7)
    return makeData({
      type: booleanColumn.type as Bool,
      length: count,
      ...selectionBitmap(vector, size, selection),
      data: bits
    })
  }
}

/**
 * VARCHAR and BLOB: offsets and the bytes copied out of DuckDB's string heap. A huge value's bytes
 * are copied later, a slice per step (`later`): copied whole, 300 MB held the event loop for 1 s.
 */
const bytesColumn = (type: Utf8 | Binary): ArrowColumn => ({
  type,
  build: (vector, size, selection, later) => {
    const items = new StringItems(vector, size)
    const bitmap = selectionBitmap(vector, size, selection)
    const { count } = selection
    const offsets = new Int32Array(count + 1)
    let total = 0
    for (let k = 0; k < count; k++) {
      if (isValidAt(bitmap, k)) total += items.lengthAt(sourceRow(selection, k))
      offsets[k + 1] = total
    }
    // Not zeroed: every byte is copied over (a huge buffer zeroed would take a turn of its own).
    const data = total > hugeValueBytes ? Buffer.allocUnsafe(total) : new Uint8Array(total)
    for (let k = 0; k < count; k++) {
      const length = offsets[k + 1]! - offsets[k]!
      if (length === 0) continue
      const row = sourceRow(selection, k)
      if (length > hugeValueBytes) later.push(copyInSlices(data, offsets[k]!, length, items.rangeReader(row)))
      else data.set(items.bytesAt(row), offsets[k]!)
    }
    return makeData({ type, length: count, ...bitmap, valueOffsets: offsets, data } as never)
  }
})

/** Bytes copied out of DuckDB per step: a copy, no work per byte, so larger than a text slice. */
const copySliceBytes = 1024 * 1024

function* copyInSlices(
  data: Uint8Array,
  at: number,
  length: number,
  read: (start: number, end: number) => Uint8Array
): Generator<void, void, undefined> {
  for (let start = 0; start < length; start += copySliceBytes) {
    const end = Math.min(start + copySliceBytes, length)
    data.set(read(start, end), at + start)
    yield
  }
}
