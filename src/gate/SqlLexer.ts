/**
 * A deliberately small SQL lexer for the *heads* of non-SELECT statements (`INSERT INTO x (a, b)`,
 * `CREATE TABLE x AS`, `EXPLAIN ANALYZE`). It knows names, integers and a few punctuation marks and turns
 * everything else (strings, operators, non-ASCII identifiers) into an `other` token that no head accepts.
 *
 * It never has to agree with DuckDB about the rest of the text: the gate runs a statement it rebuilds from
 * these tokens plus a remainder that DuckDB itself has parsed and the walk has inspected (see SqlHead.ts).
 * Comments and whitespace follow PostgreSQL's scanner, which DuckDB uses: `--` to the end of the line and
 * nesting block comments.
 */

export type Token =
  | {
      readonly kind: "word"
      readonly text: string
      readonly upper: string
      readonly start: number
      readonly end: number
    }
  | {
      readonly kind: "qident"
      readonly text: string
      readonly name: string
      readonly start: number
      readonly end: number
    }
  | {
      readonly kind: "int" | "punct" | "other"
      readonly text: string
      readonly start: number
      readonly end: number
    }
  | { readonly kind: "end"; readonly text: ""; readonly start: number; readonly end: number }

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f"
const isWordStart = (c: string) => /^[A-Za-z_]$/.test(c)
const isWordPart = (c: string) => /^[A-Za-z0-9_$]$/.test(c)
const isNonAscii = (c: string) => c !== "" && c.charCodeAt(0) >= 0x80
const punctuation = new Set(["(", ")", ",", ".", "[", "]", ";", "="])

export const isWord = (token: Token, upper?: string): token is Token & { kind: "word"; upper: string } =>
  token.kind === "word" && (upper === undefined || token.upper === upper)
export const isPunct = (token: Token, mark: string) => token.kind === "punct" && token.text === mark
export const isName = (token: Token) => token.kind === "word" || token.kind === "qident"
export const nameOf = (token: Token) => (token.kind === "qident" ? token.name : token.text)

export class SqlLexer {
  private position = 0
  private readonly buffered: Array<Token> = []

  constructor(private readonly sql: string) {}

  /** The token `ahead` places after the next one (0 = the next one), without consuming anything. */
  peek(ahead = 0): Token {
    while (this.buffered.length <= ahead) this.buffered.push(this.scan())
    return this.buffered[ahead]!
  }

  next(): Token {
    const token = this.peek()
    this.buffered.shift()
    return token
  }

  /** True when only whitespace, comments and semicolons remain. */
  atEnd(): boolean {
    let ahead = 0
    while (isPunct(this.peek(ahead), ";")) ahead++
    return this.peek(ahead).kind === "end"
  }

  private skipTrivia(): boolean {
    const sql = this.sql
    for (;;) {
      const c = sql[this.position] ?? ""
      if (isSpace(c)) {
        this.position++
      } else if (c === "-" && sql[this.position + 1] === "-") {
        while (this.position < sql.length && sql[this.position] !== "\n" && sql[this.position] !== "\r") {
          this.position++
        }
      } else if (c === "/" && sql[this.position + 1] === "*") {
        let depth = 1
        this.position += 2
        while (depth > 0) {
          if (this.position >= sql.length) return false
          if (sql.startsWith("/*", this.position)) {
            depth++
            this.position += 2
          } else if (sql.startsWith("*/", this.position)) {
            depth--
            this.position += 2
          } else {
            this.position++
          }
        }
      } else {
        return true
      }
    }
  }

  private scan(): Token {
    const sql = this.sql
    if (!this.skipTrivia()) {
      return { kind: "other", text: "/*", start: this.position, end: sql.length }
    }
    const start = this.position
    const c = sql[start] ?? ""
    if (c === "") return { kind: "end", text: "", start, end: start }
    if (isWordStart(c)) {
      let end = start + 1
      while (isWordPart(sql[end] ?? "")) end++
      this.position = end
      const text = sql.slice(start, end)
      // DuckDB would continue the identifier with these characters; this lexer does not follow.
      if (isNonAscii(sql[end] ?? "")) return { kind: "other", text, start, end }
      return { kind: "word", text, upper: text.toUpperCase(), start, end }
    }
    if (c === '"') {
      let end = start + 1
      let name = ""
      for (;;) {
        const d = sql[end]
        if (d === undefined) {
          this.position = sql.length
          return { kind: "other", text: sql.slice(start), start, end: sql.length }
        }
        if (d === '"') {
          if (sql[end + 1] === '"') {
            name += '"'
            end += 2
            continue
          }
          end++
          break
        }
        name += d
        end++
      }
      this.position = end
      const text = sql.slice(start, end)
      return name === "" ? { kind: "other", text, start, end } : { kind: "qident", text, name, start, end }
    }
    if (/^[0-9]$/.test(c)) {
      let end = start + 1
      while (/^[0-9]$/.test(sql[end] ?? "")) end++
      this.position = end
      const text = sql.slice(start, end)
      const after = sql[end] ?? ""
      const clean = !isWordPart(after) && after !== "." && !isNonAscii(after)
      return { kind: clean ? "int" : "other", text, start, end }
    }
    this.position = start + 1
    return { kind: punctuation.has(c) ? "punct" : "other", text: c, start, end: start + 1 }
  }
}
