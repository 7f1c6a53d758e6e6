import { type DuckDBPreparedStatement, DuckDBTypeId } from "@duckdb/node-api"
import { Either } from "effect"
import { InvalidRequest } from "../domain/Errors.js"
import { type Convert, type Converted, convertNullable, fieldPath, ParamProblem } from "./ParamBasics.js"
import { inferType } from "./ParamInference.js"
import { scalarOrNested } from "./ParamValues.js"

/**
 * Binds the request's `params` to a prepared statement: an array binds `$1…`/`?` by position, an
 * object binds `$name` by name. Every value goes through DuckDB's bind API as data; nothing is ever
 * written into the SQL text. The statement's parameter types decide how each JSON value is read
 * (ParamValues.ts); where DuckDB cannot tell (`SELECT $1`) the JSON value's own type decides.
 *
 * Errors are `InvalidRequest` naming the parameter (`params[2]`, `params.name`, `params[0][3].a`) and
 * never quoting the value.
 */
export const bindParams = (
  prepared: DuckDBPreparedStatement,
  params: unknown
): Either.Either<void, InvalidRequest> => {
  const problem = bind(prepared, params)
  return problem === undefined ? Either.void : Either.left(new InvalidRequest({ message: problem }))
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const bind = (prepared: DuckDBPreparedStatement, params: unknown): string | undefined => {
  const count = prepared.parameterCount
  let names: Array<string>
  try {
    names = Array.from({ length: count }, (_, i) => prepared.parameterName(i + 1))
  } catch {
    return "the query's parameters must be numbered $1, $2, … without gaps"
  }
  const named = names.some((name) => !/^\d+$/.test(name))
  if (!named && names.some((name, i) => name !== `${i + 1}`)) {
    return "the query's parameters must be numbered $1, $2, … without gaps"
  }
  if (params === undefined || params === null) {
    return count === 0 ? undefined : `the query has ${plural(count, "parameter")} but no params were given`
  }
  if (Array.isArray(params)) {
    if (named && count > 0) return "the query uses named parameters ($name): params must be an object"
    if (params.length !== count) {
      return `the query has ${plural(count, "parameter")} but params has ${plural(params.length, "value")}`
    }
    for (let i = 0; i < count; i++) {
      const problem = bindOne(prepared, i + 1, params[i], `params[${i}]`)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (typeof params !== "object") return "params must be an array or an object"
  if (!named && count > 0) return "the query uses positional parameters ($1 or ?): params must be an array"
  // DuckDB's parameter names are case-insensitive ($foo and $FOO are one parameter), so are ours.
  const record = params as Record<string, unknown>
  const indexOf = new Map(names.map((name, i) => [name.toLowerCase(), i]))
  const keyOf = new Map<number, string>()
  for (const key of Object.keys(record)) {
    const index = indexOf.get(key.toLowerCase())
    if (index === undefined) return `${fieldPath("params", key)} is not a parameter of the query`
    const other = keyOf.get(index)
    if (other !== undefined) {
      return `${fieldPath("params", key)} and ${fieldPath("params", other)} name the same parameter (names are case-insensitive)`
    }
    keyOf.set(index, key)
  }
  for (let i = 0; i < count; i++) {
    const key = keyOf.get(i)
    if (key === undefined) return `${fieldPath("params", names[i]!)} is missing`
    const problem = bindOne(
      prepared,
      i + 1,
      Object.getOwnPropertyDescriptor(record, key)?.value,
      fieldPath("params", key)
    )
    if (problem !== undefined) return problem
  }
  return undefined
}

const bindOne = (
  prepared: DuckDBPreparedStatement,
  index: number,
  value: unknown,
  path: string
): string | undefined => {
  try {
    if (value === null) {
      prepared.bindNull(index)
      return undefined
    }
    const typeId = prepared.parameterTypeId(index)
    const known =
      typeId !== DuckDBTypeId.INVALID && typeId !== DuckDBTypeId.ANY && typeId !== DuckDBTypeId.SQLNULL
    const type = known ? prepared.parameterType(index) : inferType(value, path, 0)
    if (type instanceof ParamProblem) return `${type.path}: ${type.reason}`
    const converted: Converted | ParamProblem = convertNullable(convert, type, value, path, 0)
    if (converted instanceof ParamProblem) return `${converted.path}: ${converted.reason}`
    prepared.bindValue(index, converted.value, converted.type)
    return undefined
  } catch {
    // DuckDB refused a value we accepted; its message may quote the value, so it is not passed on.
    return `${path}: DuckDB could not bind this value`
  }
}

const convert: Convert = (type, value, path, depth) => scalarOrNested(type, value, path, depth, convert)
