import { isPunct, isWord, SqlLexer } from "./SqlLexer.js"

/**
 * Views and macros stored in an attached DuckDB file run with whatever they contain when a client names
 * them: DuckDB expands them while binding, after the gate has judged the client's text. The gate does not
 * look into the catalog (its verdicts depend on the text alone), so such a file is audited once, when it is
 * attached: every view body and macro body must pass the same walk as client SQL.
 */

export interface CatalogObject {
  readonly kind: "view" | "macro" | "table macro"
  readonly name: string
  /** The SQL to walk: a query (view, table macro) or `SELECT <expression>` (scalar macro). */
  readonly probe: string | undefined
}

/** The query of a stored `CREATE VIEW name [(columns)] AS query`: the text after the first top-level AS. */
export const viewQuery = (createView: string): string | undefined => {
  const lexer = new SqlLexer(createView)
  let depth = 0
  for (let token = lexer.next(); token.kind !== "end"; token = lexer.next()) {
    if (isPunct(token, "(")) depth++
    else if (isPunct(token, ")")) depth--
    else if (depth === 0 && isWord(token, "AS")) return createView.slice(token.end)
    else if (token.kind === "other") return undefined
  }
  return undefined
}

export const catalogObjectsSql = {
  views: "SELECT view_name, sql FROM duckdb_views() WHERE database_name = $1 AND NOT internal",
  macros:
    "SELECT function_name, function_type, macro_definition FROM duckdb_functions() " +
    "WHERE database_name = $1 AND function_type IN ('macro', 'table_macro')"
} as const

export const viewObject = (name: string, sql: string): CatalogObject => ({
  kind: "view",
  name,
  probe: viewQuery(sql)
})

export const macroObject = (name: string, type: string, definition: string): CatalogObject =>
  type === "table_macro"
    ? { kind: "table macro", name, probe: definition }
    : { kind: "macro", name, probe: `SELECT ${definition}` }
