import {
  type DuckDBArrayType,
  type DuckDBDataChunk,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBUnionType
} from "@duckdb/node-api"
import { Output } from "./ByteOutput.js"
import { valueReader } from "./JsonValues.js"
import {
  arrayChild,
  bytesOf,
  chunkColumn,
  hugeBitBytes,
  hugeValueBytes,
  isValid,
  ListEntries,
  type NativeVector,
  StringItems,
  structChild,
  validityOf
} from "./RawVector.js"
import {
  base64Parts,
  bitParts,
  csvNeedsQuotes,
  csvQuoted,
  hugeValue,
  jsonStringIn,
  jsonStringParts,
  type Parts,
  partBytes,
  rawParts
} from "./StringBytes.js"
import type { JsonItem, TextItem } from "./ValueReader.js"

/**
 * One value of any type in parts, for a value too big to encode in one turn of the event loop (its
 * reader threw `hugeValue`): the same bytes as the reader's JSON or CSV text, written into an
 * `Output` and handed over whenever `partBytes` are pending, a huge string, BLOB or BIT a slice at a
 * time (StringBytes.ts). Items that are always small (numbers, dates) are written whole, without a
 * generator each. Only the sliced path uses this module; the ordinary one never does.
 */

/** Writes item `i` into `out` in parts (see `Parts`). */
export type WriteParts = (out: Output, i: number) => Parts

/** A bound column whose items are always small: their text in one piece. */
class Small {
  constructor(readonly item: (i: number) => string | null) {}
}

type Bound = Small | WriteParts
type Bind = (vector: NativeVector, size: number) => Bound

const nullText = "null"

/** Item `j` of `child` into `out`, a part handed over when enough is pending. */
function* writeItem(out: Output, child: Bound, j: number): Parts {
  if (child instanceof Small) {
    const text = child.item(j)
    if (text !== null) out.text(text)
  } else yield* child(out, j)
  if (out.length >= partBytes) yield out.take()
}

const stringParts =
  (json: boolean): Bind =>
  (vector, size) => {
    const items = new StringItems(vector, size)
    return function* (out, i) {
      if (!isValid(items.validity, i)) {
        if (json) out.ascii(nullText)
        return
      }
      const length = items.lengthAt(i)
      if (length > hugeValueBytes) {
        const read = items.rangeReader(i)
        yield* json ? jsonStringParts(out, length, read) : rawParts(out, length, read)
      } else if (json) jsonStringIn(out, items.locate(i), items.located, items.located + length)
      else out.range(items.locate(i), items.located, items.located + length)
    }
  }

/**
 * BLOB and BIT: their text made a slice at a time above `maxBytes` (where their reader throws), the
 * reader's own below.
 */
const bytesParts =
  (
    json: boolean,
    sliced: typeof base64Parts,
    maxBytes: number,
    small: (vector: NativeVector, size: number) => JsonItem
  ): Bind =>
  (vector, size) => {
    const items = new StringItems(vector, size)
    const whole = small(vector, size)
    return function* (out, i) {
      const length = isValid(items.validity, i) ? items.lengthAt(i) : 0
      if (length > maxBytes) yield* sliced(out, json, length, items.rangeReader(i))
      else out.text(whole(i))
    }
  }

const listParts =
  (child: Bind): Bind =>
  (vector, size) => {
    const entries = new ListEntries(vector, size)
    const validity = validityOf(vector, size)
    const item = child(entries.child, entries.childSize)
    return function* (out, i) {
      if (!isValid(validity, i)) return out.ascii(nullText)
      const start = entries.offsetAt(i)
      yield* sequenceParts(out, item, start, entries.lengthAt(i))
    }
  }

function* sequenceParts(out: Output, item: Bound, start: number, length: number): Parts {
  out.byte(0x5b)
  for (let k = 0; k < length; k++) {
    if (k > 0) out.byte(0x2c)
    yield* writeItem(out, item, start + k)
  }
  out.byte(0x5d)
}

const arrayParts =
  (type: DuckDBArrayType, child: Bind): Bind =>
  (vector, size) => {
    const validity = validityOf(vector, size)
    const item = child(arrayChild(vector), size * type.length)
    return function* (out, i) {
      if (!isValid(validity, i)) return out.ascii(nullText)
      yield* sequenceParts(out, item, i * type.length, type.length)
    }
  }

const structParts = (type: DuckDBStructType): Bind => {
  const fields = type.entryTypes.map(jsonBind)
  const keys = type.entryNames.map((name, k) => `${k === 0 ? "{" : ","}${JSON.stringify(name)}:`)
  return (vector, size) => {
    const validity = validityOf(vector, size)
    const items = fields.map((field, k) => field(structChild(vector, k), size))
    return function* (out, i) {
      if (!isValid(validity, i)) return out.ascii(nullText)
      for (let k = 0; k < items.length; k++) {
        out.text(keys[k]!)
        yield* writeItem(out, items[k]!, i)
      }
      out.byte(0x7d)
    }
  }
}

/** As JsonNested.ts writes a MAP: an object when its keys are strings, else `{"key","value"}` pairs. */
const mapParts = (type: DuckDBMapType): Bind => {
  const keyBind = jsonBind(type.keyType)
  const valueBind = jsonBind(type.valueType)
  const asObject = type.keyType.typeId === DuckDBTypeId.VARCHAR || type.keyType.typeId === DuckDBTypeId.ENUM
  return (vector, size) => {
    const entries = new ListEntries(vector, size)
    const validity = validityOf(vector, size)
    const key = keyBind(structChild(entries.child, 0), entries.childSize)
    const value = valueBind(structChild(entries.child, 1), entries.childSize)
    return function* (out, i) {
      if (!isValid(validity, i)) return out.ascii(nullText)
      const start = entries.offsetAt(i)
      const end = start + entries.lengthAt(i)
      out.byte(asObject ? 0x7b : 0x5b)
      for (let j = start; j < end; j++) {
        if (j > start) out.byte(0x2c)
        if (!asObject) out.ascii('{"key":')
        yield* writeItem(out, key, j)
        out.ascii(asObject ? ":" : ',"value":')
        yield* writeItem(out, value, j)
        if (!asObject) out.byte(0x7d)
      }
      out.byte(asObject ? 0x7d : 0x5d)
    }
  }
}

/** A UNION is its member's value (child 0 holds the tags, member k is child k + 1). */
const unionParts =
  (type: DuckDBUnionType, bindOf: (type: DuckDBType) => Bind, json: boolean): Bind =>
  (vector, size) => {
    const tags = bytesOf(structChild(vector, 0), size, 1)
    const members = type.memberTypes.map((member, k) => bindOf(member)(structChild(vector, k + 1), size))
    const validity = validityOf(vector, size)
    return function* (out, i) {
      if (!isValid(validity, i)) {
        if (json) out.ascii(nullText)
        return
      }
      yield* writeItem(out, members[tags[i]!]!, i)
    }
  }

/** How a value of `type` is written as JSON in parts (the reader's `json`, in pieces). */
const jsonBind = (type: DuckDBType): Bind => {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return stringParts(true)
    case DuckDBTypeId.BLOB:
      return bytesParts(true, base64Parts, hugeValueBytes, valueReader(type).json)
    case DuckDBTypeId.BIT:
      return bytesParts(true, bitParts, hugeBitBytes, valueReader(type).json)
    case DuckDBTypeId.LIST:
      return listParts(jsonBind(type.valueType))
    case DuckDBTypeId.ARRAY:
      return arrayParts(type, jsonBind(type.valueType))
    case DuckDBTypeId.STRUCT:
      return structParts(type)
    case DuckDBTypeId.MAP:
      return mapParts(type)
    case DuckDBTypeId.UNION:
      return unionParts(type, jsonBind, true)
    default: {
      const json = valueReader(type).json
      return (vector, size) => new Small(json(vector, size))
    }
  }
}

/** Text as CSV shows it before quoting: a string's bytes, base64, bits, a nested value's JSON. */
const textBind = (type: DuckDBType): Bind => {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return stringParts(false)
    case DuckDBTypeId.BLOB:
      return bytesParts(false, base64Parts, hugeValueBytes, textOnly(type))
    case DuckDBTypeId.BIT:
      return bytesParts(false, bitParts, hugeBitBytes, textOnly(type))
    case DuckDBTypeId.UNION:
      return unionParts(type, textBind, false)
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
      return jsonBind(type)
    default: {
      const text = valueReader(type).text
      return (vector, size) => new Small(text(vector, size))
    }
  }
}

/** A reader's text with NULL as nothing, for `bytesParts` (which never sees a NULL that is huge). */
const textOnly = (type: DuckDBType) => {
  const text: (vector: NativeVector, size: number) => TextItem = valueReader(type).text
  return (vector: NativeVector, size: number): JsonItem => {
    const item = text(vector, size)
    return (i) => item(i) ?? ""
  }
}

const emptyField = Buffer.from('""', "latin1")

/**
 * An RFC 4180 field from a value's text in parts: whether it needs quotes is known only once a
 * comma, quote or line break is seen, so a first pass looks for one (empty parts; it stops at the
 * first, most often in the first bytes: a nested value's JSON starts `[{"` or `["`), then a second
 * writes the field. Each pass reads the value afresh, a part at a time.
 */
function* csvFieldParts(out: Output, text: WriteParts, i: number): Parts {
  const probe = new Output()
  let quoted = false
  let empty = true
  for (const part of text(probe, i)) {
    if (part.length > 0) empty = false
    if (csvNeedsQuotes(part)) {
      quoted = true
      break
    }
    yield out.take()
  }
  const rest = probe.take()
  if (rest.length > 0) empty = false
  quoted ||= csvNeedsQuotes(rest)
  if (empty) return out.bytes(emptyField)
  if (!quoted) return yield* text(out, i)
  const inner = new Output()
  out.byte(0x22)
  for (const part of text(inner, i)) {
    csvQuoted(out, part)
    yield out.take()
  }
  csvQuoted(out, inner.take())
  out.byte(0x22)
}

/** Binds a column's writer in parts to one chunk's vector. */
export type BindWriteParts = (vector: NativeVector, size: number) => WriteParts

/**
 * The writer in parts of a column of `type`, as `dialect` writes a field of it: JSON (NDJSON and the
 * JSON format), a CSV field, or the plain text (Arrow's text columns). `undefined` for types whose
 * readers never throw `hugeValue`.
 */
export const partsWriter = (
  type: DuckDBType,
  dialect: "csv" | "json" | "text"
): BindWriteParts | undefined => {
  if (!mayBeHuge.has(type.typeId)) return undefined
  const bind = dialect === "json" ? jsonBind(type) : textBind(type)
  if (dialect !== "csv") return (vector, size) => asWriter(bind(vector, size))
  return (vector, size) => {
    const text = asWriter(bind(vector, size))
    return (out, i) => csvFieldParts(out, text, i)
  }
}

const mayBeHuge: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.VARCHAR,
  DuckDBTypeId.BLOB,
  DuckDBTypeId.BIT,
  DuckDBTypeId.LIST,
  DuckDBTypeId.ARRAY,
  DuckDBTypeId.STRUCT,
  DuckDBTypeId.MAP,
  DuckDBTypeId.UNION
])

const asWriter = (bound: Bound): WriteParts =>
  bound instanceof Small ? (out, i) => writeItem(out, bound, i) : bound

/** Per column of `chunk`, its writer in parts (ValueParts.ts), for the columns that have one. */
export const boundParts = (
  chunk: DuckDBDataChunk,
  writers: ReadonlyArray<BindWriteParts | undefined>
): ReadonlyArray<WriteParts | undefined> =>
  writers.map((bind, c) => bind?.(chunkColumn(chunk.chunk, c), chunk.rowCount))

/**
 * Item `row` of a field that threw `hugeValue` (having written nothing of it), in parts; any other
 * error is thrown on.
 */
export const hugeField = (error: unknown, write: WriteParts | undefined, out: Output, row: number) => {
  if (error !== hugeValue || write === undefined) throw error
  return write(out, row)
}

/** Item `i` written in parts, joined: for a caller that needs the value in one piece. */
export const wholeValue = (write: WriteParts, i: number): Uint8Array => {
  const out = new Output()
  const parts = [...write(out, i)]
  parts.push(out.take())
  return Buffer.concat(parts)
}
