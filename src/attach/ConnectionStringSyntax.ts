/**
 * The two textual forms of connection strings: URIs (`scheme://user:password@host:port/db?k=v`) and
 * whitespace-separated `key=value` pairs. Problems are thrown as `ParseFailure` and never quote a
 * value; keys are named through the caller's `KeyNamer`, which decides what is safe to quote.
 */

/** How a message names the key at `index` (counted from 0). */
export type KeyNamer = (key: string, index: number) => string

export class ParseFailure {
  constructor(readonly problem: string) {}
}

export const percentDecode = (text: string, what: string): string => {
  try {
    const decoded = decodeURIComponent(text)
    if (decoded.includes("\0")) throw new ParseFailure(`${what} contains a NUL character`)
    return decoded
  } catch (error) {
    if (error instanceof ParseFailure) throw error
    throw new ParseFailure(`${what} has a malformed percent-escape`)
  }
}

export interface UriParts {
  readonly user: string | undefined
  readonly password: string | undefined
  readonly host: string
  readonly port: string | undefined
  readonly database: string | undefined
  readonly params: ReadonlyArray<readonly [string, string]>
}

/** `scheme://[user[:password]@]host[:port][/database][?key=value&...]`, every part percent-decoded. */
export const parseUri = (rest: string, nameOf: KeyNamer): UriParts => {
  if (rest.includes("#")) throw new ParseFailure('"#" must be percent-encoded as %23')
  const queryAt = rest.indexOf("?")
  const main = queryAt === -1 ? rest : rest.slice(0, queryAt)
  const query = queryAt === -1 ? "" : rest.slice(queryAt + 1)
  const slashAt = main.indexOf("/")
  const authority = slashAt === -1 ? main : main.slice(0, slashAt)
  const databaseText = slashAt === -1 ? undefined : main.slice(slashAt + 1)
  // The last "@" ends the user part: a host never holds one, an unescaped password sometimes does.
  const at = authority.lastIndexOf("@")
  const userInfo = at === -1 ? undefined : authority.slice(0, at)
  const hostPort = at === -1 ? authority : authority.slice(at + 1)
  let user: string | undefined
  let password: string | undefined
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(":")
    user = percentDecode(colon === -1 ? userInfo : userInfo.slice(0, colon), "the user name")
    password = colon === -1 ? undefined : percentDecode(userInfo.slice(colon + 1), "the password")
  }
  if (hostPort.includes(",")) throw new ParseFailure("several hosts are not supported")
  let host: string
  let port: string | undefined
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]")
    if (close === -1) throw new ParseFailure('an IPv6 host is missing its closing "]"')
    host = hostPort.slice(1, close)
    const after = hostPort.slice(close + 1)
    if (after !== "" && !after.startsWith(":")) throw new ParseFailure("unexpected text after the IPv6 host")
    port = after === "" ? undefined : after.slice(1)
  } else {
    const colon = hostPort.lastIndexOf(":")
    host = percentDecode(colon === -1 ? hostPort : hostPort.slice(0, colon), "the host")
    port = colon === -1 ? undefined : hostPort.slice(colon + 1)
  }
  const params: Array<readonly [string, string]> = []
  for (const pair of query.split("&")) {
    if (pair === "") continue
    const eq = pair.indexOf("=")
    if (eq === -1) throw new ParseFailure("query parameters must be key=value pairs")
    const key = percentDecode(pair.slice(0, eq), `the name of option ${params.length + 1}`)
    params.push([key, percentDecode(pair.slice(eq + 1), `the value of ${nameOf(key, params.length)}`)])
  }
  return {
    user,
    password,
    host,
    port,
    database: databaseText === undefined ? undefined : percentDecode(databaseText, "the database name"),
    params
  }
}

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f"

/**
 * `key=value` pairs separated by whitespace. A value is bare (a backslash escapes the next character)
 * or quoted with `quote`, inside which a backslash escapes the next character. For libpq (`'`) a
 * doubled quote inside a quoted value is accepted too, as SQL writes it (libpq itself rejects it).
 */
export const parseKeyValues = (
  text: string,
  quote: "'" | '"',
  nameOf: KeyNamer
): Array<readonly [string, string]> => {
  const pairs: Array<readonly [string, string]> = []
  let i = 0
  const n = text.length
  while (i < n) {
    while (isSpace(text[i])) i++
    if (i >= n) break
    let key = ""
    while (i < n && text[i] !== "=" && !isSpace(text[i])) key += text[i++]
    while (isSpace(text[i])) i++
    if (text[i] !== "=") throw new ParseFailure(`missing "=" after ${nameOf(key, pairs.length)}`)
    i++
    while (isSpace(text[i])) i++
    let value = ""
    if (text[i] === quote) {
      i++
      let closed = false
      while (i < n) {
        const c = text[i]!
        if (c === "\\" && i + 1 < n) {
          value += text[i + 1]
          i += 2
        } else if (c === quote) {
          if (quote === "'" && text[i + 1] === quote) {
            value += quote
            i += 2
          } else {
            i++
            closed = true
            break
          }
        } else {
          value += c
          i++
        }
      }
      if (!closed) throw new ParseFailure(`unterminated quoted value for ${nameOf(key, pairs.length)}`)
      if (i < n && !isSpace(text[i]))
        throw new ParseFailure(`unexpected text after the value of ${nameOf(key, pairs.length)}`)
    } else {
      while (i < n && !isSpace(text[i])) {
        if (text[i] === "\\" && i + 1 < n) {
          value += text[i + 1]
          i += 2
        } else value += text[i++]
      }
    }
    if (key === "") throw new ParseFailure('a value has no key before its "="')
    pairs.push([key.toLowerCase(), value])
  }
  return pairs
}

export const parsePort = (text: string | undefined, fallback: number): number => {
  if (text === undefined || text === "") return fallback
  if (!/^\d{1,5}$/.test(text)) throw new ParseFailure("the port must be a number between 1 and 65535")
  const port = Number(text)
  if (port < 1 || port > 65_535) throw new ParseFailure("the port must be a number between 1 and 65535")
  return port
}
