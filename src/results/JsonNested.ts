import {
  type DuckDBArrayType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBUnionType
} from "@duckdb/node-api"
import {
  arrayChild,
  bytesOf,
  hugeNestedChars,
  ListEntries,
  type NativeVector,
  structChild,
  validityOf
} from "./RawVector.js"
import { hugeValue } from "./StringBytes.js"
import { isNull, type JsonItem, type ValueReader } from "./ValueReader.js"

/**
 * Nested values: LIST/ARRAY → array; STRUCT → object; MAP → object when its key type is VARCHAR or
 * ENUM (keys are then strings, and DuckDB keeps them unique), otherwise an array of
 * `{"key":…,"value":…}` — the shape depends on the column's type, never on the values; UNION → the
 * value of its member (the tag is not repeated). In CSV a nested value is its JSON text, except UNION
 * whose text is its member's.
 *
 * A value whose JSON grows beyond `hugeNestedChars`, or that holds a huge string (its reader throws),
 * throws `hugeValue` before anything of it is written: the encoder writes it in slices instead
 * (ValueParts.ts writes the same bytes in parts).
 */
export const nestedReader = (type: DuckDBType, readerOf: (type: DuckDBType) => ValueReader): ValueReader => {
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
      return jsonOnly(listJson(readerOf(type.valueType)))
    case DuckDBTypeId.ARRAY:
      return jsonOnly(arrayJson(type, readerOf(type.valueType)))
    case DuckDBTypeId.STRUCT:
      return jsonOnly(structJson(type, readerOf))
    case DuckDBTypeId.MAP:
      return jsonOnly(mapJson(type, readerOf))
    default:
      return unionReader(type as DuckDBUnionType, readerOf)
  }
}

type BindJson = (vector: NativeVector, size: number) => JsonItem

const jsonOnly = (json: BindJson): ValueReader => ({
  plain: false,
  json,
  text: (vector, size) => {
    const item = json(vector, size)
    const validity = validityOf(vector, size)
    return (i) => (isNull(validity, i) ? null : item(i))
  }
})

const sequence = (item: JsonItem, start: number, length: number): string => {
  if (length === 0) return "[]"
  let out = `[${item(start)}`
  for (let k = 1; k < length; k++) {
    out += `,${item(start + k)}`
    if (out.length > hugeNestedChars) throw hugeValue
  }
  return `${out}]`
}

const listJson =
  (child: ValueReader): BindJson =>
  (vector, size) => {
    const entries = new ListEntries(vector, size)
    const validity = validityOf(vector, size)
    const item = child.json(entries.child, entries.childSize)
    return (i) => (isNull(validity, i) ? "null" : sequence(item, entries.offsetAt(i), entries.lengthAt(i)))
  }

const arrayJson =
  (type: DuckDBArrayType, child: ValueReader): BindJson =>
  (vector, size) => {
    const validity = validityOf(vector, size)
    const item = child.json(arrayChild(vector), size * type.length)
    return (i) => (isNull(validity, i) ? "null" : sequence(item, i * type.length, type.length))
  }

const structJson = (type: DuckDBStructType, readerOf: (type: DuckDBType) => ValueReader): BindJson => {
  const fields = type.entryTypes.map(readerOf)
  const keys = type.entryNames.map((name, k) => `${k === 0 ? "{" : ","}${JSON.stringify(name)}:`)
  return (vector, size) => {
    const validity = validityOf(vector, size)
    const items = fields.map((field, k) => field.json(structChild(vector, k), size))
    return (i) => {
      if (isNull(validity, i)) return "null"
      let out = ""
      for (let k = 0; k < items.length; k++) {
        out += keys[k]! + items[k]!(i)
        if (out.length > hugeNestedChars) throw hugeValue
      }
      return `${out}}`
    }
  }
}

const mapJson = (type: DuckDBMapType, readerOf: (type: DuckDBType) => ValueReader): BindJson => {
  const keyReader = readerOf(type.keyType)
  const valueReader = readerOf(type.valueType)
  const asObject = type.keyType.typeId === DuckDBTypeId.VARCHAR || type.keyType.typeId === DuckDBTypeId.ENUM
  return (vector, size) => {
    const entries = new ListEntries(vector, size)
    const validity = validityOf(vector, size)
    const key = keyReader.json(structChild(entries.child, 0), entries.childSize)
    const value = valueReader.json(structChild(entries.child, 1), entries.childSize)
    return (i) => {
      if (isNull(validity, i)) return "null"
      const start = entries.offsetAt(i)
      const end = start + entries.lengthAt(i)
      if (start === end) return asObject ? "{}" : "[]"
      let out = ""
      for (let j = start; j < end; j++) {
        out += asObject
          ? `${j === start ? "{" : ","}${key(j)}:${value(j)}`
          : `${j === start ? "[" : ","}{"key":${key(j)},"value":${value(j)}}`
        if (out.length > hugeNestedChars) throw hugeValue
      }
      return out + (asObject ? "}" : "]")
    }
  }
}

const unionReader = (type: DuckDBUnionType, readerOf: (type: DuckDBType) => ValueReader): ValueReader => {
  const members = type.memberTypes.map(readerOf)
  // Child 0 of a UNION vector holds each item's tag; member k is child k + 1.
  const bind = <A>(vector: NativeVector, size: number, read: (member: ValueReader) => BindItem<A>) => {
    const tags = bytesOf(structChild(vector, 0), size, 1)
    const items = members.map((member, k) => read(member)(structChild(vector, k + 1), size))
    return { tags, items, validity: validityOf(vector, size) }
  }
  return {
    plain: false,
    json: (vector, size) => {
      const { tags, items, validity } = bind(vector, size, (member) => member.json)
      return (i) => (isNull(validity, i) ? "null" : items[tags[i]!]!(i))
    },
    text: (vector, size) => {
      const { tags, items, validity } = bind(vector, size, (member) => member.text)
      return (i) => (isNull(validity, i) ? null : items[tags[i]!]!(i))
    }
  }
}

type BindItem<A> = (vector: NativeVector, size: number) => (index: number) => A
