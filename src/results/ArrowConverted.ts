import type { DuckDBType } from "@duckdb/node-api"
import { DuckDBTypeId } from "@duckdb/node-api"
import {
  Dictionary,
  FixedSizeBinary,
  Int8,
  Int16,
  Int32,
  IntervalMonthDayNano,
  makeData,
  Null,
  Utf8,
  vectorFromArray
} from "apache-arrow"
import type { ArrowColumn } from "./ArrowColumn.js"
import { selectionBitmap, sourceRow } from "./ArrowSelection.js"
import { Output } from "./ByteOutput.js"
import { valueReader } from "./JsonValues.js"
import { bytesOf, type NativeVector, StringItems, structChild } from "./RawVector.js"
import { uuidBytesInto } from "./ScalarText.js"
import { hugeValue } from "./StringBytes.js"
import { partsWriter, type WriteParts, wholeValue } from "./ValueParts.js"

/** Arrow columns whose values DuckDB stores differently: converted item by item. */

/** A huge text left to be written into the batch later, `length` bytes of it. */
interface LaterText {
  readonly length: number
  readonly fill: (data: Uint8Array, at: number) => Generator<void, void, undefined>
}

/** Item `row`'s text written into `data` from `at`, a part per step. */
function* fillFrom(
  data: Uint8Array,
  at: number,
  write: WriteParts,
  row: number
): Generator<void, void, undefined> {
  const out = new Output()
  for (const part of write(out, row)) {
    data.set(part, at)
    at += part.length
    yield
  }
  data.set(out.take(), at)
}

/** Item `row`'s text length, when it can be known without making the text. */
type TextLength = (vector: NativeVector, size: number, row: number) => number | undefined

/**
 * The length of a huge value's text without making it, for the types where that is cheap: a BIT's
 * is its bit count (eight a byte after the first, less the padding the first byte counts), a
 * VARCHAR's its bytes, a BLOB's base64 four characters per three bytes; a UNION's its member's.
 */
const textLength = (duckdbType: DuckDBType): TextLength | undefined => {
  switch (duckdbType.typeId) {
    case DuckDBTypeId.BIT:
      return (vector, size, row) => {
        const items = new StringItems(vector, size)
        return 8 * (items.lengthAt(row) - 1) - items.rangeReader(row)(0, 1)[0]!
      }
    case DuckDBTypeId.VARCHAR:
      return (vector, size, row) => new StringItems(vector, size).lengthAt(row)
    case DuckDBTypeId.BLOB:
      return (vector, size, row) => 4 * Math.ceil(new StringItems(vector, size).lengthAt(row) / 3)
    case DuckDBTypeId.UNION: {
      const members = duckdbType.memberTypes.map(textLength)
      // Child 0 of a UNION vector holds each item's tag; member k is child k + 1.
      return (vector, size, row) => {
        const tag = bytesOf(structChild(vector, 0), size, 1)[row]!
        return members[tag]?.(structChild(vector, tag + 1), size, row)
      }
    }
    default:
      return undefined
  }
}

/**
 * Types Arrow has no match for: the value's text (what CSV shows), as Utf8. A huge value's text (its
 * reader throws `hugeValue`) is made from its parts (ValueParts.ts): later, a part per step
 * (`later`), when its length is known beforehand (`textLength`); otherwise (a UNION of a huge
 * nested value) whole, at once.
 */
export const textColumn = (duckdbType: DuckDBType): ArrowColumn => {
  const reader = valueReader(duckdbType)
  const parts = partsWriter(duckdbType, "text")
  const lengthOf = textLength(duckdbType)
  const type = new Utf8()
  return {
    type,
    build: (vector, size, selection, later) => {
      const item = reader.text(vector, size)
      const { count } = selection
      const offsets = new Int32Array(count + 1)
      const pieces: Array<Uint8Array | LaterText> = []
      const bits = new Uint8Array(Math.ceil(count / 8))
      let nullCount = 0
      let total = 0
      let deferred = false
      for (let k = 0; k < count; k++) {
        const row = sourceRow(selection, k)
        let text: string | Uint8Array | LaterText | null
        try {
          text = item(row)
        } catch (error) {
          if (error !== hugeValue || parts === undefined) throw error
          const write = parts(vector, size)
          const length = lengthOf?.(vector, size, row)
          text =
            length === undefined
              ? wholeValue(write, row)
              : { length, fill: (data: Uint8Array, at: number) => fillFrom(data, at, write, row) }
          deferred ||= length !== undefined
        }
        if (text === null) nullCount++
        else {
          bits[k >> 3]! |= 1 << (k & 7)
          const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text
          pieces.push(bytes)
          total += bytes.length
        }
        offsets[k + 1] = total
      }
      let data: Uint8Array
      if (!deferred) data = Buffer.concat(pieces as Array<Uint8Array>, total)
      else {
        // Not zeroed: every byte is written, the huge texts' by `later`.
        data = Buffer.allocUnsafe(total)
        let at = 0
        for (const piece of pieces) {
          if (piece instanceof Uint8Array) data.set(piece, at)
          else later.push(piece.fill(data, at))
          at += piece.length
        }
      }
      return makeData({
        type,
        length: count,
        nullCount,
        ...(nullCount > 0 ? { nullBitmap: bits } : {}),
        valueOffsets: offsets,
        data: new Uint8Array(data.buffer, data.byteOffset, data.length)
      })
    }
  }
}

export const nullColumn: ArrowColumn = {
  type: new Null(),
  build: (_vector, _size, selection) => makeData({ type: new Null(), length: selection.count })
}

export const uuidColumn: ArrowColumn = {
  type: new FixedSizeBinary(16),
  build: (vector, size, selection) => {
    const bytes = bytesOf(vector, size, 16)
    const { count } = selection
    const data = new Uint8Array(count * 16)
    for (let k = 0; k < count; k++) uuidBytesInto(bytes, sourceRow(selection, k) * 16, data, k * 16)
    return makeData({
      type: uuidColumn.type as FixedSizeBinary,
      length: count,
      ...selectionBitmap(vector, size, selection),
      data
    })
  }
}

const microsPerDay = 86_400_000_000n
const int64Max = 9223372036854775807n

/**
 * DuckDB intervals count microseconds, Arrow's nanoseconds. The rare interval whose microseconds
 * times 1000 overflow 64 bits (more than ±292 years of time part) moves whole days of it into the
 * days field.
 */
export const intervalColumn: ArrowColumn = {
  type: new IntervalMonthDayNano(),
  build: (vector, size, selection) => {
    const bytes = bytesOf(vector, size, 16)
    const source = new Int32Array(bytes.buffer, bytes.byteOffset, size * 4)
    const micros = new BigInt64Array(bytes.buffer, bytes.byteOffset, size * 2)
    const { count } = selection
    const out = new Int32Array(count * 4)
    const nanos = new BigInt64Array(out.buffer)
    for (let k = 0; k < count; k++) {
      const row = sourceRow(selection, k)
      let days = source[4 * row + 1]!
      let time = micros[2 * row + 1]! * 1000n
      if (time > int64Max || time < -int64Max) {
        const micro = micros[2 * row + 1]!
        days += Number(micro / microsPerDay)
        time = (micro % microsPerDay) * 1000n
      }
      out[4 * k] = source[4 * row]!
      out[4 * k + 1] = days
      nanos[2 * k + 1] = time
    }
    return makeData({
      type: intervalColumn.type as IntervalMonthDayNano,
      length: count,
      ...selectionBitmap(vector, size, selection),
      data: out
    })
  }
}

export const enumColumn = (
  labels: ReadonlyArray<string>,
  internal: DuckDBTypeId,
  id: number
): ArrowColumn => {
  const indexType = labels.length <= 127 ? new Int8() : labels.length <= 32767 ? new Int16() : new Int32()
  const type = new Dictionary(new Utf8(), indexType, id)
  const dictionary = vectorFromArray([...labels], new Utf8())
  const width = internal === DuckDBTypeId.UTINYINT ? 1 : internal === DuckDBTypeId.USMALLINT ? 2 : 4
  return {
    type,
    build: (vector, size, selection) => {
      const bytes = bytesOf(vector, size, width)
      const source =
        width === 1
          ? bytes
          : width === 2
            ? new Uint16Array(bytes.buffer, bytes.byteOffset, size)
            : new Uint32Array(bytes.buffer, bytes.byteOffset, size)
      const { count } = selection
      const data = new indexType.ArrayType(count)
      for (let k = 0; k < count; k++) data[k] = source[sourceRow(selection, k)]!
      return makeData({ type, length: count, ...selectionBitmap(vector, size, selection), data, dictionary })
    }
  }
}
