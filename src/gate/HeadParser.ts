import { StatementType } from "@duckdb/node-api"
import { isName, isPunct, isWord, nameOf, SqlLexer, type Token } from "./SqlLexer.js"
import { checkRelationName } from "./SqlTree.js"
import { columnWordsBeforeParenthesis, expressionOpeners } from "./StatementWords.js"

/**
 * Token-by-token reading of a statement head for SqlHead.ts. It records the tokens it takes, so that the
 * head can be rebuilt from them, and throws `Unsupported` as soon as the text leaves the grammar.
 */

/** A statement head the gate allows, rebuilt from its tokens, and what DuckDB parses of the rest. */
type Remainder =
  /** must be one SELECT-class statement, walked as is */
  | { readonly kind: "query"; readonly text: string }
  /** UPDATE's assignments and clauses, inspected as `SELECT <text>` */
  | { readonly kind: "assignments"; readonly text: string }
  /** DELETE's WHERE clause, inspected as `<probe> <text>` */
  | { readonly kind: "where"; readonly text: string; readonly probe: string }
  | { readonly kind: "none" }

export interface Shape {
  /** For audit logs and messages: "INSERT", "CREATE TABLE AS", "EXPLAIN ANALYZE"... */
  readonly construct: string
  /** What DuckDB must classify the rebuilt statement as. */
  readonly statementType: StatementType
  readonly head: string
  readonly remainder: Remainder
  /** The view a CREATE VIEW creates or replaces (lower-cased): other views may name it. */
  readonly view?: string
}

const columnRule =
  "column definitions may hold names, types, NOT NULL, PRIMARY KEY and UNIQUE only (no DEFAULT, CHECK or generated columns)"

/** The text left the supported grammar; the message says which form is supported. */
export class Unsupported {
  constructor(readonly message: string) {}
}
/** A write aimed outside the instance's own catalog: refused whatever the policy. */
export class ForeignTarget {
  constructor(readonly message: string) {}
}

const ownCatalogProblem = (parts: ReadonlyArray<string>): string | undefined => {
  const lower = parts.map((part) => part.toLowerCase())
  const own =
    parts.length === 1 ||
    (parts.length === 2 && (lower[0] === "main" || lower[0] === "memory")) ||
    (parts.length === 3 && lower[0] === "memory" && lower[1] === "main")
  if (!own) {
    return `writes are allowed only to the instance's own tables (memory.main), not to ${JSON.stringify(parts.join("."))}`
  }
  return checkRelationName(parts)?.message
}

export class HeadParser {
  readonly lexer: SqlLexer
  private readonly out: Array<string> = []
  private lastEnd = 0

  constructor(private readonly sql: string) {
    this.lexer = new SqlLexer(sql)
  }

  fail(message: string): never {
    throw new Unsupported(message)
  }

  peek(ahead = 0): Token {
    return this.lexer.peek(ahead)
  }

  take(): Token {
    const token = this.lexer.next()
    this.out.push(token.text)
    this.lastEnd = token.end
    return token
  }

  keyword(word: string): boolean {
    if (!isWord(this.peek(), word)) return false
    this.take()
    return true
  }

  punct(mark: string): boolean {
    if (!isPunct(this.peek(), mark)) return false
    this.take()
    return true
  }

  expect(word: string, message: string): void {
    if (!this.keyword(word)) this.fail(message)
  }

  name(message: string): string {
    if (!isName(this.peek())) this.fail(message)
    return nameOf(this.take())
  }

  /** `t`, `s.t` or `c.s.t`, which must name the instance's own catalog. */
  /** Answers the object's own name (the last part). */
  target(construct: string): string {
    const message = `${construct}: expected a table name`
    const parts = [this.name(message)]
    while (parts.length < 3 && this.punct(".")) parts.push(this.name(message))
    const problem = ownCatalogProblem(parts)
    if (problem !== undefined) throw new ForeignTarget(problem)
    return parts.at(-1)!
  }

  ifExists(): void {
    if (this.keyword("IF")) this.expect("EXISTS", "expected IF EXISTS")
  }

  ifNotExists(): void {
    if (this.keyword("IF")) {
      this.expect("NOT", "expected IF NOT EXISTS")
      this.expect("EXISTS", "expected IF NOT EXISTS")
    }
  }

  /** The rest of `(a, b, "c")` after its `(`. */
  nameList(message: string): void {
    do this.name(message)
    while (this.punct(","))
    if (!this.punct(")")) this.fail(message)
  }

  /** An optional alias; `stopWords` are the keywords that may follow the target instead. */
  alias(stopWords: ReadonlyArray<string>): void {
    const explicit = this.keyword("AS")
    const token = this.peek()
    if (isName(token) && !(isWord(token) && stopWords.includes(token.upper))) this.take()
    else if (explicit) this.fail("expected an alias after AS")
  }

  /**
   * Column definitions without any expression. Inside `(...)` (CREATE TABLE) they end at the closing
   * parenthesis; after ALTER TABLE ... ADD they end with the statement.
   */
  columns(insideParentheses: boolean): void {
    let depth = 0
    for (;;) {
      const token = this.peek()
      if (token.kind === "end" || isPunct(token, ";")) {
        if (insideParentheses || depth !== 0) this.fail(columnRule)
        return
      }
      if (insideParentheses && depth === 0 && isPunct(token, ")")) return
      if (token.kind === "other" || isPunct(token, "=")) this.fail(columnRule)
      if (isWord(token) && expressionOpeners.has(token.upper)) this.fail(columnRule)
      this.take()
      if (isPunct(token, "(") || isPunct(token, "[")) depth++
      if (isPunct(token, ")") || isPunct(token, "]")) depth--
      if (depth < 0) this.fail(columnRule)
      // Only a type modifier or a constraint's column list may follow a word with `(`: never a call.
      if (isPunct(this.peek(), "(") && !(isWord(token) && columnWordsBeforeParenthesis.has(token.upper))) {
        this.fail(columnRule)
      }
    }
  }

  finish(construct: string, statementType: StatementType, kind: "query" | "assignments" | "none"): Shape {
    const head = this.out.join(" ")
    if (kind === "none") {
      if (!this.lexer.atEnd()) this.fail(`${construct}: unexpected text after the statement`)
      return { construct, statementType, head, remainder: { kind } }
    }
    if (this.lexer.atEnd()) this.fail(`${construct}: the statement is incomplete`)
    return { construct, statementType, head, remainder: { kind, text: this.sql.slice(this.lastEnd) } }
  }

  /** DELETE: nothing more, or a WHERE clause DuckDB checks as `<probe> WHERE ...`. */
  finishDelete(): Shape {
    const head = this.out.join(" ")
    if (this.lexer.atEnd())
      return { construct: "DELETE", statementType: StatementType.DELETE, head, remainder: { kind: "none" } }
    const where = this.peek()
    if (!isWord(where, "WHERE")) this.fail("DELETE supports DELETE FROM table [WHERE condition]")
    const probe = `SELECT 1 ${this.out.slice(1).join(" ")}`
    return {
      construct: "DELETE",
      statementType: StatementType.DELETE,
      head,
      remainder: { kind: "where", text: this.sql.slice(where.start), probe }
    }
  }
}
