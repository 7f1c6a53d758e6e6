import { type DuckDBConnection, type DuckDBPreparedStatement, StatementType } from "@duckdb/node-api"
import { Effect } from "effect"
import {
  ForbiddenStatement,
  InvalidRequest,
  ReadOnly,
  SqlError,
  StatementTooLarge
} from "../domain/Errors.js"
import { type CatalogObject, catalogSources, viewQuery } from "./CatalogAudit.js"
import type { Shape } from "./HeadParser.js"
import {
  type Expansion,
  expandedCatalog,
  expandedWithViews,
  expansion,
  maxExpandedNodes,
  type ViewExpansion,
  viewSizes
} from "./PlanSize.js"
import { type Head, recognizeHead, writeConstruct } from "./SqlHead.js"
import { isPunct, isWord, SqlLexer } from "./SqlLexer.js"
import {
  decodeSerializedSql,
  hasOnlySelectFromWhere,
  inspectStatements,
  type Json,
  type SerializedSql,
  selectQueryType,
  singleSelectNode
} from "./SqlTree.js"

/** `readOnly` is true under `security.read_only` and always for the shared `default` instance. */
export interface GatePolicy {
  readonly readOnly: boolean
}

/**
 * What the gate decided about a statement. It depends only on the SQL text and the policy: cache it under
 * (sql, policy) and prepare it with `prepareVerified`.
 */
export interface Verdict {
  readonly statementType: StatementType
  /** For audit logs: "SELECT", "DESCRIBE", "EXPLAIN ANALYZE", "INSERT", "CREATE TABLE AS"... */
  readonly queryType: string
  /**
   * The text to prepare: the client's own text for SELECT-class statements, a rebuilt one for the others
   * (see SqlHead.ts). Never prepare the client's raw text for a cached verdict; prepare this.
   */
  readonly sql: string
  /** True when the statement changes the instance's own catalog. */
  readonly writes: boolean
  /**
   * How its size depends on the views it names, when it names any table: on an instance whose
   * clients create views, `checkViews` weighs it against them before DuckDB binds it.
   */
  readonly expansion?: Expansion
  /** The view a CREATE VIEW creates or replaces, which other views may name. */
  readonly view?: string
}

export type GateError = InvalidRequest | SqlError | ForbiddenStatement | ReadOnly | StatementTooLarge

/**
 * Characters of parse tree the gate reads. A 100,000-character statement of small literals (an IN
 * list) serializes to about 15 MB, whose JSON.parse alone would hold the event loop for ~100 ms;
 * 4 MB is about 25,000 list items.
 */
const maxSerializedChars = 4_000_000

const exactlyOne = "exactly one SQL statement per request"
const pivotHint = "(a PIVOT without an IN list runs as several statements: list the values with IN (...))"

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const duckdb = <A>(run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (error) => new SqlError({ message: messageOf(error) }) })

const tooLarge = (what: string) =>
  new StatementTooLarge({
    message: `the statement is too large to run: ${what}; split it, or materialize shared parts (CREATE TABLE AS)`
  })

/** A parsed text, and (when it parsed) how large it expands. */
type Parsed = SerializedSql & { readonly expansion?: Expansion }

/**
 * DuckDB's parser, without binding anything: `json_serialize_sql` with the text as a bound parameter.
 * A statement that would expand past `maxExpandedNodes` is refused here, before DuckDB binds it.
 */
const serialize = (
  connection: DuckDBConnection,
  sql: string
): Effect.Effect<Parsed, SqlError | StatementTooLarge> =>
  Effect.flatMap(
    duckdb(async () => {
      const reader = await connection.runAndReadAll(
        "SELECT CASE WHEN length(s) > $2 THEN NULL ELSE s END FROM (SELECT json_serialize_sql($1::VARCHAR) AS s)",
        [sql, maxSerializedChars]
      )
      const text = reader.getRows()[0]?.[0]
      return text === null ? undefined : decodeSerializedSql(String(text ?? "{}"))
    }),
    (serialized): Effect.Effect<Parsed, StatementTooLarge> => {
      if (serialized === undefined) return Effect.fail(tooLarge("its parse tree is too large"))
      if (!serialized.ok) return Effect.succeed(serialized)
      const expanded = expansion(serialized.statements)
      if (expanded.nodes > maxExpandedNodes)
        return Effect.fail(tooLarge("its CTEs expand past the limit when inlined at every reference"))
      return Effect.succeed({ ...serialized, expansion: expanded })
    }
  )

/** DuckDB's own message for a text its parser rejects (json_serialize_sql's omits the position). */
const parseError = (connection: DuckDBConnection, sql: string, fallback: string) =>
  duckdb(() => connection.extractStatements(sql)).pipe(
    Effect.flatMap(() => Effect.fail(new SqlError({ message: `Parser Error: ${fallback}` }))),
    Effect.catchTag("SqlError", (error) =>
      Effect.fail(new SqlError({ message: error.message.replace(/^Failed to extract statements: /, "") }))
    )
  )

/** DuckDB's statement count (with PRAGMA expansion); parse errors are the client's SQL errors. */
const requireOneStatement = (connection: DuckDBConnection, sql: string) =>
  duckdb(() => connection.extractStatements(sql)).pipe(
    Effect.mapError(
      (error) => new SqlError({ message: error.message.replace(/^Failed to extract statements: /, "") })
    ),
    Effect.flatMap((extracted) =>
      extracted.count === 1
        ? Effect.void
        : Effect.fail(
            new InvalidRequest({
              message: /\bpivot\b/i.test(sql) ? `${exactlyOne} ${pivotHint}` : exactlyOne
            })
          )
    )
  )

const prepareAs = (connection: DuckDBConnection, sql: string, expected: StatementType, construct: string) =>
  Effect.flatMap(
    duckdb(() => connection.prepare(sql)),
    (prepared) => {
      if (prepared.statementType === expected) return Effect.succeed(prepared)
      prepared.destroySync()
      return Effect.fail(
        new ForbiddenStatement({
          message: `${construct}: DuckDB classifies the statement differently; it is not allowed`
        })
      )
    }
  )

const forbidden = (message: string) => Effect.fail(new ForbiddenStatement({ message }))

const remainderRule = (shape: Shape): string => {
  switch (shape.construct) {
    case "INSERT":
      return "INSERT supports INSERT INTO table [(columns)] followed by one query or VALUES (no ON CONFLICT, RETURNING or DEFAULT VALUES)"
    case "UPDATE":
      return "UPDATE supports SET assignments with optional FROM and WHERE (no RETURNING)"
    case "DELETE":
      return "DELETE supports an optional WHERE condition (no USING or RETURNING)"
    case "EXPLAIN":
    case "EXPLAIN ANALYZE":
      return `${shape.construct} works only with queries (SELECT, VALUES, DESCRIBE...)`
    default:
      return `${shape.construct} must be followed by one query`
  }
}

/** Has DuckDB parse and the walk inspect what follows the rebuilt head; answers the text to prepare. */
const verifyRemainder = Effect.fn("StatementGate.verifyRemainder")(function* (
  connection: DuckDBConnection,
  shape: Shape
) {
  const remainder = shape.remainder
  if (remainder.kind === "none") return { sql: shape.head, expansion: undefined }
  const probe =
    remainder.kind === "query"
      ? remainder.text
      : remainder.kind === "assignments"
        ? `SELECT ${remainder.text}`
        : `${remainder.probe} ${remainder.text}`
  const serialized: Parsed = yield* serialize(connection, probe)
  if (!serialized.ok || serialized.statements.length !== 1) return yield* forbidden(remainderRule(shape))
  if (remainder.kind !== "query") {
    const node = singleSelectNode(serialized.statements)
    if (node === undefined || !hasOnlySelectFromWhere(node)) return yield* forbidden(remainderRule(shape))
  }
  const refusal = inspectStatements(serialized.statements)
  if (refusal !== undefined) return yield* forbidden(refusal.message)
  return { sql: joinHead(shape.head, remainder.text), expansion: serialized.expansion }
})

/** The head ends with a whole token; a separating space is needed only when the remainder lacks one. */
const joinHead = (head: string, remainder: string) =>
  /^[ \t\n\r\f]/.test(remainder) ? head + remainder : `${head} ${remainder}`

/**
 * The verdict's `expansion`: kept when the statement names a table (which may be a view), and always
 * for a view's definition (views that name it grow with it); the cache keeps nothing else.
 */
const namingTables = (expanded: Expansion | undefined, definesView: boolean) =>
  expanded !== undefined && (definesView || expanded.tables.size > 0) ? { expansion: expanded } : {}

const checkShape = Effect.fn("StatementGate.checkShape")(function* (
  connection: DuckDBConnection,
  sql: string,
  shape: Shape | string,
  writes: boolean
) {
  if (typeof shape === "string") return yield* forbidden(shape)
  yield* requireOneStatement(connection, sql)
  const executable = yield* verifyRemainder(connection, shape)
  const verdict: Verdict = {
    statementType: shape.statementType,
    queryType: shape.construct,
    sql: executable.sql,
    writes,
    ...namingTables(executable.expansion, shape.view !== undefined),
    ...(shape.view === undefined ? {} : { view: shape.view })
  }
  return verdict
})

const decideOther = (connection: DuckDBConnection, sql: string, head: Head, policy: GatePolicy) => {
  switch (head._tag) {
    case "Forbidden":
      return forbidden(head.message)
    case "Write":
      if (policy.readOnly) {
        return Effect.fail(
          new ReadOnly({ message: `${head.construct} is not allowed: the instance is read-only` })
        )
      }
      return checkShape(connection, sql, head.shape, true)
    case "Explain":
      return checkShape(connection, sql, head.shape, false)
    case "Other":
      return Effect.zipRight(
        requireOneStatement(connection, sql),
        forbidden(`${head.construct} is not allowed`)
      )
  }
}

const firstWord = (sql: string): string => {
  const token = new SqlLexer(sql).peek()
  return isWord(token) ? token.upper : "SELECT"
}

/**
 * Decides whether a client statement may run, using DuckDB's parser only: nothing is bound, planned or
 * executed, so even a statement whose constants take minutes to fold is judged at once. The verdict depends
 * only on `sql` and `policy`, so it may be cached under that key.
 */
const decide = Effect.fn("StatementGate.decide")(function* (
  connection: DuckDBConnection,
  sql: string,
  policy: GatePolicy
): Effect.fn.Return<Verdict, GateError> {
  // DuckDB's C API reads SQL up to the first NUL: the walk and the statement would each see a prefix, and
  // nothing guarantees the same one in every code path.
  if (sql.includes("\u0000"))
    return yield* Effect.fail(new InvalidRequest({ message: "SQL text must not contain NUL characters" }))
  const serialized = yield* serialize(connection, sql)
  if (serialized.ok) {
    if (serialized.statements.length !== 1)
      return yield* Effect.fail(new InvalidRequest({ message: exactlyOne }))
    const refusal = inspectStatements(serialized.statements)
    if (refusal !== undefined) return yield* forbidden(refusal.message)
    return {
      statementType: StatementType.SELECT,
      queryType: selectQueryType(firstWord(sql)),
      sql,
      writes: false,
      ...namingTables(serialized.expansion, false)
    }
  }
  if (serialized.errorType !== "not implemented")
    return yield* parseError(connection, sql, serialized.errorMessage)
  return yield* decideOther(connection, sql, recognizeHead(sql), policy)
})

// The words that start a statement the gate judges by its tree (json_serialize_sql); `decide` names
// those by `selectQueryType`, whatever the tree held.
const selectClassWords = new Set([
  "SELECT",
  "WITH",
  "FROM",
  "VALUES",
  "TABLE",
  "DESCRIBE",
  "DESC",
  "SHOW",
  "SUMMARIZE",
  "PIVOT",
  "UNPIVOT"
])

/**
 * The audit log's `query_type` for a statement the gate refused (ForbiddenStatement, ReadOnly): the type
 * its verdict would have carried (`INSERT`, `CREATE TABLE`, `SELECT`, `SET`...), from the same head
 * recognition `decide` uses. Pure and cheap: refusals are not cached, so it runs once per refusal.
 */
export const refusedQueryType = (sql: string): string => {
  const first = new SqlLexer(sql).peek()
  if (isPunct(first, "(")) return "SELECT"
  if (isWord(first) && selectClassWords.has(first.upper)) return selectQueryType(first.upper)
  const head = recognizeHead(sql)
  switch (head._tag) {
    case "Write":
      return typeof head.shape === "string" ? head.construct : head.shape.construct
    case "Other":
      return head.construct
    case "Explain":
      return typeof head.shape === "string" ? "EXPLAIN" : head.shape.construct
    case "Forbidden":
      return isWord(first) ? writeConstruct(sql, first.upper) : "UNKNOWN"
  }
}

/**
 * Prepares a verdict's own `sql` (never the client's raw text) and checks that DuckDB classifies it as the
 * verdict says. Preparing binds and folds constants: it can take long (`repeat('x', 2e9)` is computed here)
 * and is interruptible, so it belongs inside the query's timeout. Run it only on a locked-down instance
 * (Lockdown.ts): binding some statements touches files. The caller destroys the statement when done.
 */
const prepareVerified = Effect.fn("StatementGate.prepareVerified")(function* (
  connection: DuckDBConnection,
  verdict: Verdict
) {
  return yield* prepareAs(connection, verdict.sql, verdict.statementType, verdict.queryType)
})

/**
 * Checks every expression and query an attached database stores (views, macros, column defaults and
 * generated columns, CHECK constraints, indexes: CatalogAudit.ts) with the walk client SQL gets, and
 * refuses the database if any would be refused: DuckDB evaluates them where the gate cannot see.
 * Run it after attaching a DuckDB file a client chose (and for files whose content is not the operator's);
 * a READ_ONLY database cannot change afterwards. Messages name the object, not what it contains.
 */
/** Views and macros are expanded where a statement names them, so their sizes multiply like CTEs'. */
const expands = (object: CatalogObject) =>
  object.kind === "view" || object.kind === "macro" || object.kind === "table macro"

const auditDatabase = Effect.fn("StatementGate.auditDatabase")(function* (
  connection: DuckDBConnection,
  database: string
) {
  const objects: Array<CatalogObject> = []
  for (const source of catalogSources) {
    const rows = yield* duckdb(async () =>
      (await connection.runAndReadAll(source.sql, [database]))
        .getRowsJson()
        .map((row) => row.map((value) => (value === null ? null : String(value))))
    )
    for (const row of rows) objects.push(source.object(row))
  }
  const trees: Array<{ name: string; tree: Json }> = []
  for (const object of objects) {
    const serialized =
      object.probe === undefined
        ? undefined
        : yield* serialize(connection, object.probe).pipe(
            Effect.catchTag("StatementTooLarge", () => Effect.succeed(undefined))
          )
    const refused =
      serialized === undefined ||
      !serialized.ok ||
      serialized.statements.length !== 1 ||
      inspectStatements(serialized.statements, object.exempt) !== undefined
    if (refused) {
      return yield* forbidden(
        `database ${database} contains ${object.kind} ${object.name}, which the gate does not allow`
      )
    }
    if (expands(object)) for (const tree of serialized.statements) trees.push({ name: object.name, tree })
  }
  // Views and macros naming each other expand while binding, as CTEs do.
  if (expandedCatalog(trees) > maxExpandedNodes) {
    return yield* forbidden(
      `database ${database} contains views or macros that expand past the server's limit when used`
    )
  }
})

/** A view of the instance's own catalog as DuckDB stores it, with its query's expansion. */
export interface StoredView extends ViewExpansion {
  /** DuckDB's stored `CREATE VIEW` text: a view whose text is unchanged is not parsed again. */
  readonly sql: string
}

/** Stands for a view whose query cannot be read back: it counts as past the limit wherever it is named. */
const unreadable: Expansion = { nodes: maxExpandedNodes + 1, tables: new Map() }

/**
 * The views clients created in the instance's own catalog (`memory`), each with its expansion.
 * `known` holds those read before, by stored text: only new or replaced views are parsed.
 */
const readViews = Effect.fn("StatementGate.readViews")(function* (
  connection: DuckDBConnection,
  known: ReadonlyMap<string, Expansion>
) {
  const rows = yield* duckdb(async () =>
    (
      await connection.runAndReadAll(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = 'memory' AND NOT internal"
      )
    ).getRows()
  )
  const views: Array<StoredView> = []
  for (const [name, sql] of rows) {
    const text = String(sql ?? "")
    let expanded = known.get(text)
    if (expanded === undefined) {
      const query = sql == null ? undefined : viewQuery(text)
      const parsed =
        query === undefined
          ? undefined
          : yield* serialize(connection, query).pipe(
              Effect.catchTag("StatementTooLarge", () => Effect.succeed(undefined))
            )
      expanded = parsed?.expansion ?? unreadable
    }
    views.push({ name: String(name).toLowerCase(), sql: text, expansion: expanded })
  }
  return views
})

/**
 * Weighs a verdict against the instance's views (`readViews`) before DuckDB binds it: DuckDB expands
 * a view wherever it is named, so views naming views twice double at every link, as CTEs do. A
 * statement is refused when it would expand past the limit; a CREATE VIEW also when it would make a
 * view that names it (directly or not) expand past it, so that every stored view stays bindable.
 */
const checkViews = (verdict: Verdict, views: ReadonlyArray<ViewExpansion>): StatementTooLarge | undefined => {
  const sizes = viewSizes(views)
  if (verdict.expansion !== undefined && expandedWithViews(verdict.expansion, sizes) > maxExpandedNodes)
    return tooLarge("the views it names expand past the limit")
  if (verdict.view === undefined) return undefined
  const created = verdict.view
  const after = viewSizes([
    ...views.filter((view) => view.name !== created),
    { name: created, expansion: verdict.expansion ?? unreadable }
  ])
  for (const [name, size] of after) {
    if (size > maxExpandedNodes && size !== sizes.get(name))
      return tooLarge(`view ${name} would expand past the limit wherever it is named`)
  }
  return undefined
}

/** `decide`, then `prepareVerified`: the prepared statement is the one to execute. */
const inspect = Effect.fn("StatementGate.inspect")(function* (
  connection: DuckDBConnection,
  sql: string,
  policy: GatePolicy
): Effect.fn.Return<{ verdict: Verdict; prepared: DuckDBPreparedStatement }, GateError> {
  const verdict = yield* decide(connection, sql, policy)
  const prepared = yield* prepareVerified(connection, verdict)
  return { verdict, prepared }
})

export class StatementGate extends Effect.Service<StatementGate>()("pondpilot/StatementGate", {
  accessors: true,
  succeed: { decide, prepareVerified, inspect, auditDatabase, readViews, checkViews }
}) {}
