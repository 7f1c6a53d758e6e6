import { StatementType } from "@duckdb/node-api"
import { ForeignTarget, HeadParser, type Shape, Unsupported } from "./HeadParser.js"
import { isName, isPunct, isWord, SqlLexer } from "./SqlLexer.js"
import { checkRelationName } from "./SqlTree.js"
import { explainFormats, neverAllowedStatements, objectsNeverCreated, queryStarts } from "./StatementWords.js"

/**
 * Recognises the statements `json_serialize_sql` cannot serialize (everything but SELECT-class) by their
 * head. For the few the gate allows, it splits the text into a head rebuilt from tokens and a remainder that
 * DuckDB parses on its own:
 *
 *   EXPLAIN [ANALYZE] [(ANALYZE, FORMAT x)] <query>
 *   CREATE [OR REPLACE] TABLE [IF NOT EXISTS] <target> AS <query>
 *   CREATE [OR REPLACE] TABLE [IF NOT EXISTS] <target> (<names, types, NOT NULL, PRIMARY KEY, UNIQUE>)
 *   CREATE [OR REPLACE] VIEW [IF NOT EXISTS] <target> [(<names>)] AS <query>
 *   INSERT [OR REPLACE | OR IGNORE] INTO <target> [(<names>)] [BY NAME | BY POSITION] <query or VALUES>
 *   UPDATE <target> [[AS] alias] SET <assignments> [FROM ...] [WHERE ...]
 *   DELETE FROM <target> [[AS] alias] [WHERE ...]          TRUNCATE [TABLE] <target>
 *   DROP TABLE | VIEW [IF EXISTS] <target> [CASCADE | RESTRICT]
 *   ALTER TABLE [IF EXISTS] <target> RENAME TO x | RENAME [COLUMN] a TO b | ADD [COLUMN] <column> | DROP [COLUMN] a
 *
 * <target> is a table of the instance's own catalog: `t`, `main.t`, `memory.t` or `memory.main.t`.
 * The gate prepares `head + " " + remainder`: a lexer mistake here can make the gate refuse, or run
 * something it has fully inspected, but never run client text it has not seen.
 */

export type Head =
  /** Never allowed, whatever the policy. */
  | { readonly _tag: "Forbidden"; readonly message: string }
  /** A write to the instance's own catalog: its shape, or why its form is not supported. */
  | { readonly _tag: "Write"; readonly construct: string; readonly shape: Shape | string }
  | { readonly _tag: "Explain"; readonly shape: Shape | string }
  /** Not recognised; `construct` is its first word. */
  | { readonly _tag: "Other"; readonly construct: string }

const explain = (p: HeadParser): Shape => {
  let analyze = p.keyword("ANALYZE")
  if (p.punct("(")) {
    do {
      if (p.keyword("ANALYZE")) analyze = true
      else if (p.keyword("FORMAT")) {
        const format = p.peek()
        if (!isWord(format) || !explainFormats.has(format.upper)) p.fail("EXPLAIN: unsupported FORMAT")
        p.take()
      } else p.fail("EXPLAIN: only the ANALYZE and FORMAT options are supported")
    } while (p.punct(","))
    if (!p.punct(")")) p.fail("EXPLAIN: unsupported options")
  }
  return p.finish(analyze ? "EXPLAIN ANALYZE" : "EXPLAIN", StatementType.EXPLAIN, "query")
}

const createTable = (p: HeadParser): Shape => {
  p.ifNotExists()
  p.target("CREATE TABLE")
  if (p.keyword("AS")) return p.finish("CREATE TABLE AS", StatementType.CREATE, "query")
  if (!p.punct("("))
    p.fail("CREATE TABLE supports CREATE TABLE name (columns) and CREATE TABLE name AS query")
  p.columns(true)
  p.punct(")")
  return p.finish("CREATE TABLE", StatementType.CREATE, "none")
}

const createView = (p: HeadParser): Shape => {
  p.ifNotExists()
  const view = p.target("CREATE VIEW").toLowerCase()
  if (p.punct("(")) p.nameList("CREATE VIEW: expected column names")
  p.expect("AS", "CREATE VIEW supports CREATE VIEW name [(columns)] AS query")
  return { ...p.finish("CREATE VIEW", StatementType.CREATE, "query"), view }
}

const create = (p: HeadParser): Head => {
  if (p.keyword("OR")) p.expect("REPLACE", "expected OR REPLACE")
  const temporary = p.keyword("TEMP") || p.keyword("TEMPORARY") || p.keyword("PERSISTENT")
  const token = p.peek()
  const kind = isWord(token) ? token.upper : token.text
  const never = objectsNeverCreated.get(kind)
  if (never !== undefined) return { _tag: "Forbidden", message: `CREATE ${kind} is not allowed (${never})` }
  if (temporary) {
    return {
      _tag: "Forbidden",
      message: `CREATE TEMP ${kind} is not allowed (temporary objects live on one pooled connection; create a regular one)`
    }
  }
  if (kind !== "TABLE" && kind !== "VIEW") return { _tag: "Other", construct: `CREATE ${kind}` }
  p.take()
  return {
    _tag: "Write",
    construct: `CREATE ${kind}`,
    shape: kind === "TABLE" ? createTable(p) : createView(p)
  }
}

const insert = (p: HeadParser): Shape => {
  if (p.keyword("OR") && !p.keyword("REPLACE") && !p.keyword("IGNORE"))
    p.fail("INSERT: expected OR REPLACE or OR IGNORE")
  p.expect("INTO", "INSERT: expected INTO")
  p.target("INSERT")
  const afterParenthesis = p.peek(1)
  if (isPunct(p.peek(), "(") && isName(afterParenthesis)) {
    if (!(isWord(afterParenthesis) && queryStarts.has(afterParenthesis.upper))) {
      p.take()
      p.nameList("INSERT: expected column names")
    }
  }
  if (p.keyword("BY") && !p.keyword("NAME") && !p.keyword("POSITION"))
    p.fail("INSERT: expected BY NAME or BY POSITION")
  return p.finish("INSERT", StatementType.INSERT, "query")
}

const drop = (p: HeadParser): Head => {
  const token = p.peek()
  const kind = isWord(token) ? token.upper : token.text
  if (kind !== "TABLE" && kind !== "VIEW")
    return { _tag: "Forbidden", message: `DROP ${kind} is not allowed` }
  p.take()
  const construct = `DROP ${kind}`
  const shape = (): Shape => {
    p.ifExists()
    p.target(construct)
    if (!p.keyword("CASCADE")) p.keyword("RESTRICT")
    return p.finish(construct, StatementType.DROP, "none")
  }
  return { _tag: "Write", construct, shape: shape() }
}

const alter = (p: HeadParser): Head => {
  const token = p.peek()
  const kind = isWord(token) ? token.upper : token.text
  if (kind !== "TABLE") return { _tag: "Forbidden", message: `ALTER ${kind} is not allowed` }
  p.take()
  const shape = (): Shape => {
    p.ifExists()
    p.target("ALTER TABLE")
    if (p.keyword("RENAME")) {
      if (p.keyword("TO")) {
        const problem = checkRelationName([p.name("ALTER TABLE: expected a new name")])
        if (problem !== undefined) throw new ForeignTarget(problem.message)
      } else {
        p.keyword("COLUMN")
        p.name("ALTER TABLE: expected a column name")
        p.expect("TO", "ALTER TABLE: expected RENAME [COLUMN] a TO b")
        p.name("ALTER TABLE: expected a new name")
      }
    } else if (p.keyword("ADD")) {
      p.keyword("COLUMN")
      p.ifNotExists()
      p.columns(false)
    } else if (p.keyword("DROP")) {
      p.keyword("COLUMN")
      p.ifExists()
      p.name("ALTER TABLE: expected a column name")
      if (!p.keyword("CASCADE")) p.keyword("RESTRICT")
    } else {
      p.fail("ALTER TABLE supports RENAME TO, RENAME COLUMN, ADD COLUMN and DROP COLUMN")
    }
    return p.finish("ALTER TABLE", StatementType.ALTER, "none")
  }
  return { _tag: "Write", construct: "ALTER TABLE", shape: shape() }
}

const statement = (p: HeadParser, first: string): Head => {
  switch (first) {
    case "EXPLAIN":
      return { _tag: "Explain", shape: explain(p) }
    case "CREATE":
      return create(p)
    case "INSERT":
      return { _tag: "Write", construct: "INSERT", shape: insert(p) }
    case "UPDATE":
      if (isWord(p.peek(), "EXTENSIONS")) {
        return {
          _tag: "Forbidden",
          message: "UPDATE EXTENSIONS is not allowed (extensions are managed by the server)"
        }
      }
      p.target("UPDATE")
      p.alias(["SET"])
      p.expect("SET", "UPDATE supports UPDATE table SET ... [FROM ...] [WHERE ...]")
      return {
        _tag: "Write",
        construct: "UPDATE",
        shape: p.finish("UPDATE", StatementType.UPDATE, "assignments")
      }
    case "DELETE":
      p.expect("FROM", "DELETE supports DELETE FROM table [WHERE condition]")
      p.target("DELETE")
      p.alias(["WHERE", "USING", "RETURNING"])
      return { _tag: "Write", construct: "DELETE", shape: p.finishDelete() }
    case "TRUNCATE":
      p.keyword("TABLE")
      p.target("TRUNCATE")
      return {
        _tag: "Write",
        construct: "TRUNCATE",
        shape: p.finish("TRUNCATE", StatementType.DELETE, "none")
      }
    case "DROP":
      return drop(p)
    case "ALTER":
      return alter(p)
    default:
      return { _tag: "Other", construct: first }
  }
}

/** Classifies a statement that is not SELECT-class by its head. Pure: no DuckDB involved. */
export const recognizeHead = (sql: string): Head => {
  const parser = new HeadParser(sql)
  const first = parser.peek()
  if (!isWord(first)) return { _tag: "Other", construct: first.text.slice(0, 20) }
  const never = neverAllowedStatements.get(first.upper)
  if (never !== undefined) return { _tag: "Forbidden", message: `${first.upper} is not allowed (${never})` }
  parser.take()
  try {
    return statement(parser, first.upper)
  } catch (error) {
    if (error instanceof ForeignTarget) return { _tag: "Forbidden", message: error.message }
    if (error instanceof Unsupported) {
      return first.upper === "EXPLAIN"
        ? { _tag: "Explain", shape: error.message }
        : { _tag: "Write", construct: writeConstruct(sql, first.upper), shape: error.message }
    }
    throw error
  }
}

/** `CREATE TABLE`, `DROP VIEW`... for a write whose form is unsupported (and for audit lines of refusals). */
export const writeConstruct = (sql: string, first: string): string => {
  if (first !== "CREATE" && first !== "DROP" && first !== "ALTER") return first
  const lexer = new SqlLexer(sql)
  lexer.next()
  let token = lexer.next()
  if (isWord(token, "OR")) {
    lexer.next()
    token = lexer.next()
  }
  return isWord(token) ? `${first} ${token.upper}` : first
}
