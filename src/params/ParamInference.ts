import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  DuckDBVarCharType,
  LIST,
  VARCHAR
} from "@duckdb/node-api"
import { fail, fieldPath, isRecord, kindOf, maxDepth, ownValue, ParamProblem } from "./ParamBasics.js"

/**
 * Types inferred from nothing (an empty array's elements, a null field): they give way to whatever
 * type a sibling has, and stay VARCHAR when none has one.
 */
const placeholders = new WeakSet<DuckDBType>()
const placeholder = (): DuckDBType => {
  const type = new DuckDBVarCharType()
  placeholders.add(type)
  return type
}

/** A DuckDB type for a JSON value when the statement does not say which it wants. */
export const inferType = (value: unknown, path: string, depth: number): DuckDBType | ParamProblem => {
  if (depth > maxDepth) return fail(path, `nested deeper than ${maxDepth} levels`)
  if (typeof value === "boolean") return BOOLEAN
  if (typeof value === "number") return Number.isSafeInteger(value) ? BIGINT : DOUBLE
  if (typeof value === "string") return VARCHAR
  if (Array.isArray(value)) {
    let item: DuckDBType | undefined
    for (let i = 0; i < value.length; i++) {
      if (value[i] === null) continue
      const next = inferType(value[i], `${path}[${i}]`, depth + 1)
      if (next instanceof ParamProblem) return next
      const unified = item === undefined ? next : unify(item, next)
      if (unified === undefined) return fail(`${path}[${i}]`, "array elements must all have one type")
      item = unified
    }
    return LIST(item ?? placeholder())
  }
  if (isRecord(value)) {
    const keys = Object.keys(value)
    if (keys.length === 0) return fail(path, "an empty object has no DuckDB type")
    const types: Array<DuckDBType> = []
    for (const key of keys) {
      const field = ownValue(value, key)
      const fieldType = field === null ? placeholder() : inferType(field, fieldPath(path, key), depth + 1)
      if (fieldType instanceof ParamProblem) return fieldType
      types.push(fieldType)
    }
    return new DuckDBStructType(keys, types)
  }
  return fail(path, `cannot bind a ${kindOf(value)}`)
}

const unify = (a: DuckDBType, b: DuckDBType): DuckDBType | undefined => {
  if (placeholders.has(a)) return b
  if (placeholders.has(b)) return a
  if (a.typeId === DuckDBTypeId.BIGINT && b.typeId === DuckDBTypeId.DOUBLE) return DOUBLE
  if (a.typeId === DuckDBTypeId.DOUBLE && b.typeId === DuckDBTypeId.BIGINT) return DOUBLE
  if (a.typeId !== b.typeId) return undefined
  if (a.typeId === DuckDBTypeId.LIST && b.typeId === DuckDBTypeId.LIST) {
    const item = unify(a.valueType, b.valueType)
    return item === undefined ? undefined : LIST(item)
  }
  if (a.typeId === DuckDBTypeId.STRUCT && b.typeId === DuckDBTypeId.STRUCT) {
    if (
      a.entryNames.length !== b.entryNames.length ||
      a.entryNames.some((name, k) => b.entryNames[k] !== name)
    ) {
      return undefined
    }
    const types: Array<DuckDBType> = []
    for (let k = 0; k < a.entryTypes.length; k++) {
      const field = unify(a.entryTypes[k]!, b.entryTypes[k]!)
      if (field === undefined) return undefined
      types.push(field)
    }
    return new DuckDBStructType(a.entryNames, types)
  }
  return a
}
