import { type DuckDBType, DuckDBTypeId } from "@duckdb/node-api"
import { duckdbKeywords } from "./DuckDBKeywords.js"
import { printedLiteral, quoteIdentifier } from "./Quote.js"

/**
 * DuckDB's own name for a type, as `typeof()` prints it (`DECIMAL(18,3)`, `STRUCT(a INTEGER)`,
 * `INTEGER[]`, `TIMESTAMP WITH TIME ZONE`). The node client's `toString()` differs: it quotes every
 * struct field and ignores aliases such as `JSON`, so clients would see names DuckDB never prints.
 */
export const duckdbTypeName = (type: DuckDBType): string => {
  if (type.alias !== undefined && type.alias !== "") return type.alias
  switch (type.typeId) {
    case DuckDBTypeId.DECIMAL:
      return `DECIMAL(${type.width},${type.scale})`
    case DuckDBTypeId.ENUM:
      return `ENUM(${type.values.map(printedLiteral).join(", ")})`
    case DuckDBTypeId.LIST:
      return `${duckdbTypeName(type.valueType)}[]`
    case DuckDBTypeId.ARRAY:
      return `${duckdbTypeName(type.valueType)}[${type.length}]`
    case DuckDBTypeId.STRUCT:
      return `STRUCT(${type.entryNames.map((name, i) => `${identifier(name)} ${duckdbTypeName(type.entryTypes[i]!)}`).join(", ")})`
    case DuckDBTypeId.UNION:
      return `UNION(${type.memberTags.map((tag, i) => `${identifier(tag)} ${duckdbTypeName(type.memberTypes[i]!)}`).join(", ")})`
    case DuckDBTypeId.MAP:
      return `MAP(${duckdbTypeName(type.keyType)}, ${duckdbTypeName(type.valueType)})`
    case DuckDBTypeId.TIME_TZ:
      return "TIME WITH TIME ZONE"
    case DuckDBTypeId.TIMESTAMP_TZ:
      return "TIMESTAMP WITH TIME ZONE"
    case DuckDBTypeId.SQLNULL:
      return '"NULL"'
    default:
      return DuckDBTypeId[type.typeId] ?? "UNKNOWN"
  }
}

const plainIdentifier = /^[A-Za-z_][A-Za-z0-9_]*$/

const identifier = (name: string): string =>
  plainIdentifier.test(name) && !duckdbKeywords.has(name.toLowerCase()) ? name : quoteIdentifier(name)
