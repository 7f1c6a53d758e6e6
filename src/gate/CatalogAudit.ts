import { isPunct, isWord, SqlLexer, type Token } from "./SqlLexer.js"

/**
 * What an attached DuckDB file can make DuckDB evaluate runs with whatever it contains when a client
 * names it: views and macros expand while binding, generated columns compute on every read, defaults,
 * CHECK constraints and index expressions on writes and lookups. All of that happens after the gate has
 * judged the client's text, and the gate does not look into the catalog (its verdicts depend on the text
 * alone), so such a file is audited once, when it is attached: every stored expression and query must pass
 * the same walk as client SQL. Sequences and types (enums, structs...) hold no expression: nothing to walk.
 * Macro parameter defaults are not listed by DuckDB, but DuckDB folds them to constants when the macro is
 * created (a non-constant default is refused then), so a file written by DuckDB holds only constants there.
 */

export interface CatalogObject {
  readonly kind: "view" | "macro" | "table macro" | "column" | "check constraint" | "index"
  readonly name: string
  /** The SQL to walk: a query (view, table macro) or `SELECT <expressions>` (everything else). */
  readonly probe: string | undefined
  /**
   * Functions the walk lets this object call although clients may not. Column expressions may call
   * `nextval` (DEFAULT nextval('id_seq') is how DuckDB files number rows): attached databases are
   * read-only, so no sequence of theirs can advance.
   */
  readonly exempt?: ReadonlySet<string>
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

/** `schema.name`, or `name` alone in the default schema: what refusal messages call an object. */
const qualified = (schema: string, name: string) => (schema === "main" ? name : `${schema}.${name}`)

const expressionProbe = (expression: string) => `SELECT ${expression}`

const columnExempt: ReadonlySet<string> = new Set(["nextval"])

const isName = (token: Token) => token.kind === "word" || token.kind === "qident"

/**
 * The expressions of a stored `CREATE [UNIQUE] INDEX name ON table [USING kind] (expressions)` as
 * `SELECT expressions`. The head is read token by token (names only, no literals), the rest is left to
 * DuckDB's parser and the walk; anything unexpected gives no probe, and the object is refused.
 */
export const indexProbe = (createIndex: string): string | undefined => {
  const lexer = new SqlLexer(createIndex)
  const take = (word: string) => isWord(lexer.peek(), word) && lexer.next() !== undefined
  if (!take("CREATE")) return undefined
  take("UNIQUE")
  if (!take("INDEX")) return undefined
  if (take("IF") && !(take("NOT") && take("EXISTS"))) return undefined
  if (!isName(lexer.next()) || !take("ON") || !isName(lexer.next())) return undefined
  while (isPunct(lexer.peek(), ".")) {
    lexer.next()
    if (!isName(lexer.next())) return undefined
  }
  if (take("USING") && !isName(lexer.next())) return undefined
  const open = lexer.peek()
  if (!isPunct(open, "(")) return undefined
  const rest = createIndex.slice(open.start).trim().replace(/;$/, "").trimEnd()
  if (!rest.endsWith(")")) return undefined
  return expressionProbe(rest.slice(1, -1))
}

type Row = ReadonlyArray<string | null>

/**
 * Where DuckDB lists each kind of object of one attached database (`$1` is its alias), and how a row
 * becomes a `CatalogObject`. A missing text (NULL) gives no probe, and the object is refused.
 */
export const catalogSources: ReadonlyArray<{
  readonly sql: string
  readonly object: (row: Row) => CatalogObject
}> = [
  {
    sql: "SELECT view_name, sql FROM duckdb_views() WHERE database_name = $1 AND NOT internal",
    object: ([name, sql]) => ({
      kind: "view",
      name: name ?? "",
      probe: sql == null ? undefined : viewQuery(sql)
    })
  },
  {
    sql:
      "SELECT function_name, function_type, macro_definition FROM duckdb_functions() " +
      "WHERE database_name = $1 AND function_type IN ('macro', 'table_macro')",
    object: ([name, type, definition]) =>
      type === "table_macro"
        ? { kind: "table macro", name: name ?? "", probe: definition ?? undefined }
        : {
            kind: "macro",
            name: name ?? "",
            probe: definition == null ? undefined : expressionProbe(definition)
          }
  },
  {
    // Defaults and generated columns alike: duckdb_columns shows either as column_default.
    sql:
      "SELECT schema_name, table_name, column_name, column_default FROM duckdb_columns() " +
      "WHERE database_name = $1 AND column_default IS NOT NULL",
    object: ([schema, table, column, expression]) => ({
      kind: "column",
      name: `${qualified(schema ?? "", table ?? "")}.${column ?? ""}`,
      probe: expression == null ? undefined : expressionProbe(expression),
      exempt: columnExempt
    })
  },
  {
    sql:
      "SELECT schema_name, constraint_name, expression FROM duckdb_constraints() " +
      "WHERE database_name = $1 AND constraint_type = 'CHECK'",
    object: ([schema, name, expression]) => ({
      kind: "check constraint",
      name: qualified(schema ?? "", name ?? ""),
      probe: expression == null ? undefined : expressionProbe(expression)
    })
  },
  {
    sql: "SELECT schema_name, index_name, sql FROM duckdb_indexes() WHERE database_name = $1",
    object: ([schema, name, sql]) => ({
      kind: "index",
      name: qualified(schema ?? "", name ?? ""),
      probe: sql == null ? undefined : indexProbe(sql)
    })
  }
]
