import { DuckDBTypeId } from "@duckdb/node-api"
import type { Output } from "./ByteOutput.js"
import { writeDouble } from "./DoubleDigits.js"
import type { ResultColumn } from "./Encoder.js"
import { valueReader } from "./JsonValues.js"
import {
  bytesOf,
  hugeValueBytes,
  isValid,
  type NativeVector,
  StringItems,
  safeInt64At,
  safeUint64At,
  uint32sOf,
  type Validity,
  validityOf
} from "./RawVector.js"
import { base64Text } from "./ScalarText.js"
import { csvStringIn, hugeValue, jsonStringIn } from "./StringBytes.js"
import { dateText } from "./Temporal.js"
import { csvField } from "./TextEncoders.js"
import type { ValueReader } from "./ValueReader.js"

/**
 * How a column's values are written as bytes, in CSV or in JSON. The common types (integers,
 * VARCHAR, DATE) go from DuckDB's vectors to the output directly; every other type through its text
 * or JSON reader, so the output is the same as the string encoders' for every type.
 */
export type Dialect = "csv" | "json"

/** Writes one row's field (CSV: nothing for NULL; JSON: `null`). */
export type FieldWriter = (out: Output, row: number) => void
export type ColumnWriter = (vector: NativeVector, size: number) => FieldWriter

const quote = 0x22
const nullJson = Buffer.from("null", "latin1")

/** `write` for a valid item; for a NULL, nothing (CSV) or `null` (JSON). A chunk without NULLs needs no check. */
const orNull = (dialect: Dialect, validity: Validity, write: FieldWriter): FieldWriter =>
  validity === null
    ? write
    : (out, row) => {
        if (isValid(validity, row)) write(out, row)
        else if (dialect === "json") out.bytes(nullJson)
      }

const typedIntegers =
  (
    dialect: Dialect,
    view: (bytes: Uint8Array, size: number) => ArrayLike<number>,
    width: number
  ): ColumnWriter =>
  (vector, size) => {
    const values = view(bytesOf(vector, size, width), size)
    return orNull(dialect, validityOf(vector, size), (out, row) => out.integer(values[row]!))
  }

/** 64-bit integers: digits in place while safe; beyond ±(2^53−1) the reader's text (a string in JSON). */
const int64s =
  (dialect: Dialect, signed: boolean, reader: ValueReader): ColumnWriter =>
  (vector, size) => {
    const words = uint32sOf(vector, size, 2)
    // Bound on the first value beyond ±(2^53−1): most chunks have none.
    let big: ((row: number) => string | null) | undefined
    return orNull(dialect, validityOf(vector, size), (out, row) => {
      // 0 ≤ value < 2^32, signed or not: most integers in most results, written without the checks.
      if (words[2 * row + 1] === 0) {
        out.unsigned(words[2 * row]!)
        return
      }
      const safe = signed ? safeInt64At(words, row) : safeUint64At(words, row)
      if (safe !== undefined) out.integer(safe)
      else {
        big ??= dialect === "csv" ? reader.text(vector, size) : reader.json(vector, size)
        out.ascii(big(row)!)
      }
    })
  }

const varchars =
  (dialect: Dialect): ColumnWriter =>
  (vector, size) => {
    const items = new StringItems(vector, size)
    const write = dialect === "csv" ? csvStringIn : jsonStringIn
    return orNull(dialect, items.validity, (out, row) => {
      const length = items.lengthAt(row)
      if (length > hugeValueBytes) throw hugeValue
      const source = items.locate(row)
      write(out, source, items.located, items.located + length)
    })
  }

/** BLOB as base64: quoted in JSON; in CSV as it is (base64 needs no quotes), `""` when empty. */
const blobs =
  (dialect: Dialect): ColumnWriter =>
  (vector, size) => {
    const items = new StringItems(vector, size)
    return orNull(dialect, items.validity, (out, row) => {
      if (items.isHugeAt(row)) throw hugeValue
      const text = base64Text(items.bytesAt(row))
      if (dialect === "json" || text === "") {
        out.byte(quote)
        out.text(text)
        out.byte(quote)
      } else out.text(text)
    })
  }

/** Dates repeat in most results and their text never changes: bytes kept for up to 65,536 days. */
const dateTexts = new Map<number, Buffer>()
const dateBytes = (day: number): Buffer => {
  let bytes = dateTexts.get(day)
  if (bytes === undefined) {
    if (dateTexts.size >= 65_536) dateTexts.clear()
    bytes = Buffer.from(dateText(day), "latin1")
    dateTexts.set(day, bytes)
  }
  return bytes
}

/**
 * The days from 1900-01-01 to 2079-06-06, whose texts are all `YYYY-MM-DD`: kept side by side in
 * one buffer (made on the first DATE written), each written once, so that the common dates cost an
 * index and a 10-byte copy instead of a map lookup (a quarter of a DATE column's time in a big CSV).
 */
const windowStart = -25_567
const windowDays = 65_536
const dateWidth = 10
let windowTexts: Buffer | undefined
let windowKnown: Uint8Array | undefined

const writeDate = (out: Output, day: number): void => {
  const index = day - windowStart
  if (index < 0 || index >= windowDays) {
    out.bytes(dateBytes(day))
    return
  }
  if (windowTexts === undefined || windowKnown === undefined) {
    windowTexts = Buffer.alloc(windowDays * dateWidth)
    windowKnown = new Uint8Array(windowDays)
  }
  const at = index * dateWidth
  if (windowKnown[index] === 0) {
    windowTexts.write(dateText(day), at, dateWidth, "latin1")
    windowKnown[index] = 1
  }
  out.range(windowTexts, at, at + dateWidth)
}

const dates =
  (dialect: Dialect): ColumnWriter =>
  (vector, size) => {
    const raw = bytesOf(vector, size, 4)
    const days = new Int32Array(raw.buffer, raw.byteOffset, size)
    return orNull(dialect, validityOf(vector, size), (out, row) => {
      if (dialect === "json") out.byte(quote)
      writeDate(out, days[row]!)
      if (dialect === "json") out.byte(quote)
    })
  }

/**
 * DOUBLE, read straight from the vector: the same text as its reader's (JsonValues.ts), without the
 * reader's closures per value. Non-finite values are strings in JSON.
 */
const doubles =
  (dialect: Dialect): ColumnWriter =>
  (vector, size) => {
    const raw = bytesOf(vector, size, 8)
    const values = new Float64Array(raw.buffer, raw.byteOffset, size)
    return orNull(dialect, validityOf(vector, size), (out, row) => {
      const value = values[row]!
      if (Number.isFinite(value)) {
        writeDouble(out, value)
        return
      }
      const text = Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity"
      if (dialect === "json") out.byte(quote)
      out.ascii(text)
      if (dialect === "json") out.byte(quote)
    })
  }

/** Types whose text is always ASCII without a comma, quote or line break (numbers, times, UUIDs). */
const asciiTypes: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
  DuckDBTypeId.TIMESTAMP_TZ,
  DuckDBTypeId.TIME,
  DuckDBTypeId.TIME_TZ,
  DuckDBTypeId.INTERVAL,
  DuckDBTypeId.UUID
])

/** Any other type: the reader's text (CSV, quoted as RFC 4180 requires) or JSON. */
const viaReader =
  (dialect: Dialect, reader: ValueReader, ascii: boolean): ColumnWriter =>
  (vector, size) => {
    if (dialect === "json") {
      const json = reader.json(vector, size)
      return ascii ? (out, row) => out.ascii(json(row)) : (out, row) => out.text(json(row))
    }
    const text = reader.text(vector, size)
    return (out, row) => {
      const value = text(row)
      if (value === null) return
      if (ascii && value !== "") out.ascii(value)
      else out.text(csvField(value, reader.plain))
    }
  }

const integerView =
  (make: new (buffer: ArrayBufferLike, offset: number, length: number) => ArrayLike<number>) =>
  (bytes: Uint8Array, size: number) =>
    new make(bytes.buffer, bytes.byteOffset, size)

export const columnWriter = (column: ResultColumn, dialect: Dialect): ColumnWriter => {
  const reader = valueReader(column.type)
  switch (column.type.typeId) {
    case DuckDBTypeId.TINYINT:
      return typedIntegers(dialect, integerView(Int8Array), 1)
    case DuckDBTypeId.UTINYINT:
      return typedIntegers(dialect, integerView(Uint8Array), 1)
    case DuckDBTypeId.SMALLINT:
      return typedIntegers(dialect, integerView(Int16Array), 2)
    case DuckDBTypeId.USMALLINT:
      return typedIntegers(dialect, integerView(Uint16Array), 2)
    case DuckDBTypeId.INTEGER:
      return typedIntegers(dialect, integerView(Int32Array), 4)
    case DuckDBTypeId.UINTEGER:
      return typedIntegers(dialect, integerView(Uint32Array), 4)
    case DuckDBTypeId.BIGINT:
      return int64s(dialect, true, reader)
    case DuckDBTypeId.UBIGINT:
      return int64s(dialect, false, reader)
    case DuckDBTypeId.VARCHAR:
      return varchars(dialect)
    case DuckDBTypeId.BLOB:
      return blobs(dialect)
    case DuckDBTypeId.DATE:
      return dates(dialect)
    case DuckDBTypeId.DOUBLE:
      return doubles(dialect)
    default:
      return viaReader(dialect, reader, asciiTypes.has(column.type.typeId) && reader.plain)
  }
}
