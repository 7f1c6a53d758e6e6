import {
  ARRAY,
  arrayValue,
  type DuckDBArrayType,
  type DuckDBListType,
  type DuckDBMapType,
  DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBUnionType,
  type DuckDBValue,
  LIST,
  listValue,
  MAP,
  mapValue,
  structValue,
  unionValue
} from "@duckdb/node-api"
import {
  bindTypeOf,
  type Convert,
  type Converted,
  convertNullable,
  describeType,
  expected,
  fail,
  fieldPath,
  isRecord,
  ownValue,
  ParamProblem
} from "./ParamBasics.js"

/** LIST, ARRAY, STRUCT, MAP and UNION parameters: their elements go through `convert` again. */
export const listParam = (
  type: DuckDBListType | DuckDBArrayType,
  value: unknown,
  path: string,
  depth: number,
  convert: Convert
): Converted | ParamProblem => {
  if (!Array.isArray(value)) return expected(path, `an array for ${describeType(type)}`, value)
  if (type.typeId === DuckDBTypeId.ARRAY && value.length !== type.length) {
    return fail(path, `expected ${type.length} elements for ${describeType(type)}`)
  }
  const items: Array<DuckDBValue> = []
  let itemType: DuckDBType = bindTypeOf(type.valueType)
  for (let i = 0; i < value.length; i++) {
    const item = convertNullable(convert, type.valueType, value[i], `${path}[${i}]`, depth + 1)
    if (item instanceof ParamProblem) return item
    items.push(item.value)
    if (value[i] !== null) itemType = item.type
  }
  return type.typeId === DuckDBTypeId.ARRAY
    ? { value: arrayValue(items), type: ARRAY(itemType, type.length) }
    : { value: listValue(items), type: LIST(itemType) }
}

export const structParam = (
  type: DuckDBStructType,
  value: unknown,
  path: string,
  depth: number,
  convert: Convert
): Converted | ParamProblem => {
  if (!isRecord(value)) return expected(path, `an object for ${describeType(type)}`, value)
  const names = new Set(type.entryNames)
  for (const key of Object.keys(value)) {
    if (!names.has(key)) return fail(fieldPath(path, key), `is not a field of ${describeType(type)}`)
  }
  const entries: Array<[string, DuckDBValue]> = []
  const types: Array<DuckDBType> = []
  for (let k = 0; k < type.entryNames.length; k++) {
    const name = type.entryNames[k]!
    const field = convertNullable(
      convert,
      type.entryTypes[k]!,
      ownValue(value, name) ?? null,
      fieldPath(path, name),
      depth + 1
    )
    if (field instanceof ParamProblem) return field
    entries.push([name, field.value])
    types.push(field.type)
  }
  return {
    value: structValue(Object.fromEntries(entries)),
    type: new DuckDBStructType(type.entryNames, types)
  }
}

export const mapParam = (
  type: DuckDBMapType,
  value: unknown,
  path: string,
  depth: number,
  convert: Convert
): Converted | ParamProblem => {
  const pairs: Array<readonly [unknown, unknown, string]> = []
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const entry: unknown = value[i]
      if (!isRecord(entry) || !Object.hasOwn(entry, "key"))
        return expected(`${path}[${i}]`, "{key, value}", entry)
      pairs.push([ownValue(entry, "key"), ownValue(entry, "value") ?? null, `${path}[${i}]`])
    }
  } else if (isRecord(value)) {
    for (const key of Object.keys(value)) pairs.push([key, ownValue(value, key), fieldPath(path, key)])
  } else return expected(path, `an object or an array of {key, value} for ${describeType(type)}`, value)
  const entries = []
  let keyType = bindTypeOf(type.keyType)
  let valueType = bindTypeOf(type.valueType)
  for (const [rawKey, rawValue, at] of pairs) {
    if (rawKey === null) return fail(at, "a MAP key cannot be null")
    const key = convert(type.keyType, rawKey, at, depth + 1)
    if (key instanceof ParamProblem) return key
    const item = convertNullable(convert, type.valueType, rawValue, at, depth + 1)
    if (item instanceof ParamProblem) return item
    keyType = key.type
    if (rawValue !== null) valueType = item.type
    entries.push({ key: key.value, value: item.value })
  }
  return { value: mapValue(entries), type: MAP(keyType, valueType) }
}

export const unionParam = (
  type: DuckDBUnionType,
  value: unknown,
  path: string,
  depth: number,
  convert: Convert
): Converted | ParamProblem => {
  for (let k = 0; k < type.memberTypes.length; k++) {
    const member = convert(type.memberTypes[k]!, value, path, depth + 1)
    if (member instanceof ParamProblem) continue
    // A member DuckDB would have to cast from text cannot be built inside a UNION value.
    if (member.type.typeId !== type.memberTypes[k]!.typeId) continue
    return { value: unionValue(type.memberTags[k]!, member.value), type }
  }
  return fail(path, `fits no member of ${describeType(type)}`)
}
