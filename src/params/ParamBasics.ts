import {
  ARRAY,
  DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  LIST,
  MAP,
  VARCHAR
} from "@duckdb/node-api"
import { duckdbTypeName } from "../sql/TypeName.js"

/** What ParamValues.ts, ParamNested.ts and ParamInference.ts share. */
export interface Converted {
  readonly value: DuckDBValue
  /** The type to bind with: the expected type, or VARCHAR where DuckDB casts the text itself. */
  readonly type: DuckDBType
}

/** Why a value was refused: said about the value's place (`params[2].a`), never quoting the value. */
export class ParamProblem {
  constructor(
    readonly path: string,
    readonly reason: string
  ) {}
}

export const maxDepth = 64

export const describeType = (type: DuckDBType): string => {
  const name = duckdbTypeName(type)
  return name.length <= 80 ? name : `${name.slice(0, 77)}...`
}

export const fail = (path: string, reason: string) => new ParamProblem(path, reason)

export const kindOf = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "array"
      : typeof value === "object"
        ? "object"
        : typeof value

export const expected = (path: string, what: string, value: unknown) =>
  fail(path, `expected ${what}, got ${kindOf(value)}`)

export type Convert = (
  type: DuckDBType,
  value: unknown,
  path: string,
  depth: number
) => Converted | ParamProblem

/** null is NULL whatever the type; it keeps the expected type (or VARCHAR where the text is cast). */
export const convertNullable = (
  convert: Convert,
  type: DuckDBType,
  value: unknown,
  path: string,
  depth: number
): Converted | ParamProblem => {
  if (depth > maxDepth) return fail(path, `nested deeper than ${maxDepth} levels`)
  return value === null ? { value: null, type: bindTypeOf(type) } : convert(type, value, path, depth)
}

const castByDuckDB = new Set([
  DuckDBTypeId.DATE,
  DuckDBTypeId.TIME,
  DuckDBTypeId.TIME_NS,
  DuckDBTypeId.TIME_TZ,
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
  DuckDBTypeId.TIMESTAMP_TZ,
  DuckDBTypeId.UUID,
  DuckDBTypeId.BIT,
  DuckDBTypeId.BIGNUM
])

/** The type a NULL of `type` binds with, consistent with its non-null siblings. */
export const bindTypeOf = (type: DuckDBType): DuckDBType => {
  if (castByDuckDB.has(type.typeId)) return VARCHAR
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
      return LIST(bindTypeOf(type.valueType))
    case DuckDBTypeId.ARRAY:
      return ARRAY(bindTypeOf(type.valueType), type.length)
    case DuckDBTypeId.STRUCT:
      return new DuckDBStructType(type.entryNames, type.entryTypes.map(bindTypeOf))
    case DuckDBTypeId.MAP:
      return MAP(bindTypeOf(type.keyType), bindTypeOf(type.valueType))
    default:
      return type
  }
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Own properties only: a client's `__proto__` key is a key like any other. */
export const ownValue = (record: Record<string, unknown>, key: string): unknown =>
  Object.getOwnPropertyDescriptor(record, key)?.value

export const fieldPath = (path: string, key: string): string => {
  const shown = key.length <= 64 ? key : `${key.slice(0, 61)}...`
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(shown) ? `${path}.${shown}` : `${path}[${JSON.stringify(shown)}]`
}
