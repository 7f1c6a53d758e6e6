import {
  blobValue,
  type DuckDBType,
  DuckDBTypeId,
  decimalValue,
  intervalValue,
  VARCHAR
} from "@duckdb/node-api"
import { isoDuration } from "./IsoDuration.js"
import {
  type Convert,
  type Converted,
  describeType,
  expected,
  fail,
  type ParamProblem
} from "./ParamBasics.js"
import { listParam, mapParam, structParam, unionParam } from "./ParamNested.js"

const integerRanges: Partial<Record<DuckDBTypeId, readonly [bigint, bigint]>> = {
  [DuckDBTypeId.TINYINT]: [-128n, 127n],
  [DuckDBTypeId.SMALLINT]: [-32768n, 32767n],
  [DuckDBTypeId.INTEGER]: [-2147483648n, 2147483647n],
  [DuckDBTypeId.BIGINT]: [-(2n ** 63n), 2n ** 63n - 1n],
  [DuckDBTypeId.HUGEINT]: [-(2n ** 127n), 2n ** 127n - 1n],
  [DuckDBTypeId.UTINYINT]: [0n, 255n],
  [DuckDBTypeId.USMALLINT]: [0n, 65535n],
  [DuckDBTypeId.UINTEGER]: [0n, 4294967295n],
  [DuckDBTypeId.UBIGINT]: [0n, 2n ** 64n - 1n],
  [DuckDBTypeId.UHUGEINT]: [0n, 2n ** 128n - 1n]
}
const bigIntegerTypes = new Set([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT
])

const integerText = /^[+-]?\d{1,40}$/
const decimalTextPattern = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/
const base64Text = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const uuidText = /^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$/
const temporalText = /^[0-9A-Za-z+\-:. ()/_]{1,64}$/
const bitText = /^[01]{1,65536}$/
const bignumText = /^[+-]?\d{1,20000}$/

const integerValue = (type: DuckDBType, value: unknown, path: string): Converted | ParamProblem => {
  const [min, max] = integerRanges[type.typeId]!
  const big = bigIntegerTypes.has(type.typeId)
  let n: bigint
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return fail(path, `expected an integer for ${describeType(type)}`)
    if (!Number.isSafeInteger(value)) return fail(path, "integers beyond ±(2^53−1) must be sent as strings")
    n = BigInt(value)
  } else if (big && typeof value === "string" && integerText.test(value)) n = BigInt(value)
  else return expected(path, `an integer for ${describeType(type)}`, value)
  if (n < min || n > max) return fail(path, `out of range for ${describeType(type)}`)
  return { value: big ? n : Number(n), type }
}

const floatValue = (type: DuckDBType, value: unknown, path: string): Converted | ParamProblem => {
  let n: number
  if (typeof value === "number") n = value
  else if (value === "NaN") n = Number.NaN
  else if (value === "Infinity") n = Number.POSITIVE_INFINITY
  else if (value === "-Infinity") n = Number.NEGATIVE_INFINITY
  else return expected(path, `a number for ${describeType(type)}`, value)
  if (type.typeId === DuckDBTypeId.FLOAT && Number.isFinite(n) && !Number.isFinite(Math.fround(n))) {
    return fail(path, "out of range for FLOAT")
  }
  return { value: n, type }
}

/** The exact unscaled integer of a decimal text at `scale` digits, rounded half away from zero. */
const scaledDecimal = (text: string, scale: number): bigint | undefined => {
  const match = decimalTextPattern.exec(text)
  if (match === null) return undefined
  const [, sign = "", whole = "", fraction = "", exponentText = "0"] = match
  if (whole === "" && fraction === "") return undefined
  const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, "")
  // value = digits × 10^(exponent − fraction.length); we want it × 10^scale.
  const shift = Number(exponentText) - fraction.length + scale
  let unscaled: bigint
  if (shift >= 0) unscaled = BigInt(digits) * 10n ** BigInt(shift)
  else {
    const divisor = 10n ** BigInt(-shift)
    const n = BigInt(digits)
    unscaled = n / divisor + ((n % divisor) * 2n >= divisor ? 1n : 0n)
  }
  return sign === "-" ? -unscaled : unscaled
}

const decimalParam = (type: DuckDBType, value: unknown, path: string): Converted | ParamProblem => {
  if (type.typeId !== DuckDBTypeId.DECIMAL) throw new Error("not a DECIMAL")
  const text = typeof value === "number" && Number.isFinite(value) ? `${value}` : value
  if (typeof text !== "string" || text.length > 200)
    return expected(path, `a decimal for ${describeType(type)}`, value)
  const unscaled = scaledDecimal(text, type.scale)
  if (unscaled === undefined) return fail(path, `expected a decimal number for ${describeType(type)}`)
  const limit = 10n ** BigInt(type.width)
  if (unscaled >= limit || unscaled <= -limit) return fail(path, `out of range for ${describeType(type)}`)
  return { value: decimalValue(unscaled, type.width, type.scale), type }
}

/** A string DuckDB parses itself: bound as VARCHAR, cast to the expected type by DuckDB. */
const castText =
  (pattern: RegExp, what: string) =>
  (type: DuckDBType, value: unknown, path: string): Converted | ParamProblem => {
    if (typeof value !== "string") return expected(path, `a string for ${describeType(type)}`, value)
    if (!pattern.test(value)) return fail(path, `expected ${what} for ${describeType(type)}`)
    return { value, type: VARCHAR }
  }

const temporal = castText(temporalText, "a date/time text")

/**
 * JSON parameter values to DuckDB values of the type the statement expects (or, where DuckDB cannot
 * tell, of a type inferred from the JSON). Values are data: they reach DuckDB as bound values, never
 * as SQL text.
 *
 * Accepted per expected type (the same shapes our JSON results use, so a value read can be sent back):
 * - BOOLEAN: true/false; integer types: JSON integers within the type's range, and for 64/128-bit
 *   types also decimal strings ("9007199254740993"); a JSON number beyond ±(2^53−1) is refused, its
 *   digits were already lost when it was parsed;
 * - FLOAT/DOUBLE: numbers and "NaN", "Infinity", "-Infinity"; DECIMAL(w,s): numbers or decimal strings,
 *   rounded half away from zero to `s` digits, refused beyond `w` digits;
 * - VARCHAR: strings; BLOB: base64 strings; ENUM: one of its labels;
 * - INTERVAL: ISO-8601 durations as we write them, or DuckDB's own text ("1 day");
 * - DATE, TIME, TIMESTAMP(s), TIMETZ, UUID, BIT, BIGNUM: strings, which DuckDB parses (bound as VARCHAR
 *   and cast by DuckDB, so every format DuckDB reads is accepted);
 * - LIST/ARRAY: arrays; STRUCT: objects (missing fields are NULL, unknown ones refused); MAP: an
 *   object (string keys) or an array of {key, value}; UNION: the first member type the value fits;
 * - null: NULL, for any type.
 * Inferred when DuckDB reports no type (`SELECT $1`): integer → BIGINT (DOUBLE beyond ±2^53),
 * other number → DOUBLE, string → VARCHAR, boolean → BOOLEAN, array → LIST of the elements' common
 * type, object → STRUCT.
 *
 * `convert` is the whole conversion again, for the elements of nested types.
 */
export const scalarOrNested = (
  type: DuckDBType,
  value: unknown,
  path: string,
  depth: number,
  convert: Convert
): Converted | ParamProblem => {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return typeof value === "boolean" ? { value, type } : expected(path, "a boolean", value)
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT:
      return integerValue(type, value, path)
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return floatValue(type, value, path)
    case DuckDBTypeId.DECIMAL:
      return decimalParam(type, value, path)
    case DuckDBTypeId.VARCHAR:
      return typeof value === "string" ? { value, type } : expected(path, "a string", value)
    case DuckDBTypeId.BLOB:
      return typeof value === "string" && base64Text.test(value)
        ? { value: blobValue(Buffer.from(value, "base64")), type }
        : expected(path, "base64 text for BLOB", value)
    case DuckDBTypeId.ENUM:
      return typeof value === "string" && Object.hasOwn(type.valueIndexes, value)
        ? { value, type }
        : fail(path, `expected one of the labels of ${describeType(type)}`)
    case DuckDBTypeId.INTERVAL: {
      if (typeof value !== "string" || value.length > 64)
        return expected(path, "a duration for INTERVAL", value)
      const iso = isoDuration(value)
      if (iso === "invalid") return fail(path, "is not an ISO-8601 duration DuckDB can hold")
      return iso === undefined
        ? temporal(type, value, path)
        : { value: intervalValue(iso.months, iso.days, iso.micros), type }
    }
    case DuckDBTypeId.DATE:
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
    case DuckDBTypeId.TIME_TZ:
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return temporal(type, value, path)
    case DuckDBTypeId.UUID:
      return castText(uuidText, "a UUID")(type, value, path)
    case DuckDBTypeId.BIT:
      return castText(bitText, "a string of 0 and 1")(type, value, path)
    case DuckDBTypeId.BIGNUM:
      return castText(bignumText, "an integer")(
        type,
        typeof value === "number" && Number.isSafeInteger(value) ? `${value}` : value,
        path
      )
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return listParam(type, value, path, depth, convert)
    case DuckDBTypeId.STRUCT:
      return structParam(type, value, path, depth, convert)
    case DuckDBTypeId.MAP:
      return mapParam(type, value, path, depth, convert)
    case DuckDBTypeId.UNION:
      return unionParam(type, value, path, depth, convert)
    default:
      return fail(path, `parameters of type ${describeType(type)} are not supported`)
  }
}
