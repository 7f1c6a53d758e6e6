import {
  allowedShowTables,
  allowedTableFunctions,
  deniedFunctions,
  deniedRelations,
  fileExtensions,
  knownExpressionClasses,
  knownQueryNodeTypes,
  knownTableRefTypes
} from "./SandboxLists.js"

/**
 * The walk over DuckDB's own parse tree (`json_serialize_sql`) of a SELECT-class statement. It looks at
 * every node, wherever it sits (CTEs, subqueries, lambdas, PIVOT sources, DESCRIBE targets), so a construct
 * cannot hide by nesting.
 */

export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
type JsonObject = { readonly [key: string]: Json }

/** Why a statement is refused; `message` names the construct and is safe to show to the client. */
export interface Refusal {
  readonly message: string
}

/** The part of `json_serialize_sql`'s answer the gate reads. */
export type SerializedSql =
  | { readonly ok: true; readonly statements: ReadonlyArray<Json> }
  | { readonly ok: false; readonly errorType: string; readonly errorMessage: string }

export const decodeSerializedSql = (text: string): SerializedSql => {
  const parsed = JSON.parse(text) as JsonObject
  if (parsed.error === false && Array.isArray(parsed.statements)) {
    return { ok: true, statements: parsed.statements as ReadonlyArray<Json> }
  }
  return {
    ok: false,
    errorType: typeof parsed.error_type === "string" ? parsed.error_type : "unknown",
    errorMessage: typeof parsed.error_message === "string" ? parsed.error_message : "unknown error"
  }
}

const isObject = (value: Json): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const text = (value: Json | undefined): string => (typeof value === "string" ? value : "")

const display = (name: string): string => JSON.stringify(name)

const none: ReadonlySet<string> = new Set()

const checkFunctionName = (name: string, exempt: ReadonlySet<string>): Refusal | undefined => {
  const lower = name.toLowerCase()
  if (exempt.has(lower)) return undefined
  const reason = deniedFunctions.get(lower)
  return reason === undefined ? undefined : { message: `function ${name} is not allowed (${reason})` }
}

const checkTableFunction = (ref: JsonObject): Refusal | undefined => {
  const fn = ref.function
  if (fn === undefined || !isObject(fn) || fn.class !== "FUNCTION") {
    return { message: "this kind of table function call is not allowed" }
  }
  const name = text(fn.function_name)
  if (!allowedTableFunctions.has(name.toLowerCase())) {
    return { message: `table function ${name} is not allowed` }
  }
  // A qualified name could reach a same-named function in another catalog.
  if (text(fn.schema) !== "" || text(fn.catalog) !== "") {
    return { message: `table function ${name} must be called without a schema or catalog` }
  }
  return undefined
}

const fileLikeCharacters = /[./\\:*?~]/
const hasControlCharacter = (part: string) => [...part].some((c) => c.charCodeAt(0) < 0x20)

/** A relation name that is a file, or that DuckDB would turn into a file read when no table matches. */
export const checkRelationName = (parts: ReadonlyArray<string>): Refusal | undefined => {
  const shown = parts.join(".")
  if (parts.some((part) => fileLikeCharacters.test(part) || hasControlCharacter(part))) {
    return { message: `relation ${display(shown)} looks like a file path; files cannot be read` }
  }
  if (parts.slice(1).some((part) => fileExtensions.has(part.toLowerCase()))) {
    return { message: `relation ${display(shown)} looks like a file name; files cannot be read` }
  }
  const last = parts[parts.length - 1] ?? ""
  const reason = deniedRelations.get(last.toLowerCase())
  if (reason !== undefined) return { message: `system view ${last} is not allowed (${reason})` }
  return undefined
}

/**
 * CTE names in scope, compared as DuckDB binds them: case-insensitively. Only ASCII letters are folded:
 * if DuckDB folded more, a name would merely be refused as a file although a CTE binds it.
 */
type Scope = ReadonlySet<string> | undefined

const foldCase = (name: string) => name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())

const checkBaseTable = (ref: JsonObject, scope: Scope): Refusal | undefined => {
  const catalog = text(ref.catalog_name)
  const schema = text(ref.schema_name)
  const table = text(ref.table_name)
  // An unqualified name that a CTE in scope binds is that CTE: DuckDB looks for CTEs before tables,
  // files and system views.
  if (catalog === "" && schema === "" && scope?.has(foldCase(table))) return undefined
  return checkRelationName([catalog, schema, table].filter((p) => p !== ""))
}

const checkShow = (ref: JsonObject): Refusal | undefined => {
  // DESCRIBE / SUMMARIZE / SHOW <table> carry their query; the walk visits it like any subquery.
  if (isObject(ref.query ?? null)) return undefined
  if (ref.show_type === "SHOW_FROM") return undefined
  const name = text(ref.table_name)
  if (allowedShowTables.has(name.toLowerCase())) return undefined
  return { message: `SHOW ${name.replaceAll('"', "").toUpperCase()} is not allowed` }
}

const checkObject = (node: JsonObject, exempt: ReadonlySet<string>, scope: Scope): Refusal | undefined => {
  if (typeof node.class === "string") {
    if (!knownExpressionClasses.has(node.class)) {
      return { message: `expression kind ${node.class} is not supported` }
    }
    return typeof node.function_name === "string" ? checkFunctionName(node.function_name, exempt) : undefined
  }
  if (typeof node.type !== "string") return undefined
  if ("modifiers" in node) {
    return knownQueryNodeTypes.has(node.type)
      ? undefined
      : { message: `query kind ${node.type} is not supported` }
  }
  if ("sample" in node) {
    switch (node.type) {
      case "BASE_TABLE":
        return checkBaseTable(node, scope)
      case "TABLE_FUNCTION":
        return checkTableFunction(node)
      case "SHOW_REF":
        return checkShow(node)
      default:
        return knownTableRefTypes.has(node.type)
          ? undefined
          : { message: `relation kind ${node.type} is not supported` }
    }
  }
  return undefined
}

/**
 * The first refusal found anywhere in the tree, or `undefined` when every node is allowed. `exempt` names
 * denied functions a caller allows in its context (the catalog audit's column expressions), never a
 * client's statement.
 */
export const inspectTree = (root: Json, exempt: ReadonlySet<string> = none): Refusal | undefined => {
  // An explicit stack: client SQL may nest deeply, and the walk must not overflow the JS stack. Each node
  // carries the CTE names in scope where it sits.
  const stack: Array<Json> = [root]
  const scopes: Array<Scope> = [undefined]
  while (stack.length > 0) {
    const node = stack.pop()!
    const scope = scopes.pop()
    if (Array.isArray(node)) {
      for (const child of node) {
        stack.push(child)
        scopes.push(scope)
      }
    } else if (isObject(node)) {
      const refusal = checkObject(node, exempt, scope)
      if (refusal !== undefined) return refusal
      const ctes = cteEntries(node)
      let inner = scope
      if (ctes !== undefined) {
        // A CTE's own body sees the CTEs declared before it, not itself (a non-recursive self-reference
        // is a table or a file to DuckDB); the query after WITH sees them all.
        for (const entry of ctes) {
          stack.push(entry)
          scopes.push(inner)
          const name = isObject(entry) ? entry.key : undefined
          if (typeof name === "string") inner = new Set([...(inner ?? []), foldCase(name)])
        }
      }
      for (const key in node) {
        if (ctes !== undefined && key === "cte_map") continue
        stack.push(node[key] ?? null)
        scopes.push(inner)
      }
    }
  }
  return undefined
}

/** The `{key, value}` entries of a query node's WITH clause, when it has any. */
const cteEntries = (node: JsonObject): ReadonlyArray<Json> | undefined => {
  const cteMap = node.cte_map
  if (cteMap === undefined || !isObject(cteMap)) return undefined
  const map = cteMap.map
  return Array.isArray(map) && map.length > 0 ? map : undefined
}

/** Every statement of a serialized batch must be a query node; returns the refusal for the first that is not. */
export const inspectStatements = (
  statements: ReadonlyArray<Json>,
  exempt: ReadonlySet<string> = none
): Refusal | undefined => {
  for (const statement of statements) {
    const node = isObject(statement) ? statement.node : undefined
    if (node === undefined || !isObject(node) || !knownQueryNodeTypes.has(text(node.type))) {
      return { message: "statement kind is not supported" }
    }
    const refusal = inspectTree(statement, exempt)
    if (refusal !== undefined) return refusal
  }
  return undefined
}

/** The SELECT node of a one-statement batch, when it is one (UPDATE/DELETE checks need its clauses). */
export const singleSelectNode = (statements: ReadonlyArray<Json>): JsonObject | undefined => {
  if (statements.length !== 1) return undefined
  const statement = statements[0]
  if (statement === undefined || !isObject(statement)) return undefined
  const node = statement.node
  return node !== undefined && isObject(node) && node.type === "SELECT_NODE" ? node : undefined
}

const isEmptyList = (value: Json | undefined) => Array.isArray(value) && value.length === 0

/**
 * True when a SELECT node has nothing but a select list, FROM and WHERE: the shape the UPDATE and DELETE
 * checks build, so that no clause of the client's text was silently dropped or reinterpreted.
 */
export const hasOnlySelectFromWhere = (node: JsonObject): boolean => {
  const cteMap = node.cte_map
  const ctes = cteMap !== undefined && isObject(cteMap) ? cteMap.map : undefined
  return (
    isEmptyList(node.modifiers) &&
    isEmptyList(node.group_expressions) &&
    isEmptyList(node.group_sets) &&
    (node.having ?? null) === null &&
    (node.qualify ?? null) === null &&
    (node.sample ?? null) === null &&
    node.aggregate_handling === "STANDARD_HANDLING" &&
    (ctes === undefined || isEmptyList(ctes))
  )
}

/** The query kind for audit logs, from the statement's first keyword. */
export const selectQueryType = (firstWord: string): string => {
  const word = firstWord.toUpperCase()
  switch (word) {
    case "DESCRIBE":
    case "DESC":
      return "DESCRIBE"
    case "SHOW":
    case "SUMMARIZE":
    case "PIVOT":
    case "UNPIVOT":
      return word
    default:
      return "SELECT"
  }
}
