import { allowedTableFunctions, deniedFunctions, deniedRelations } from "../gate/SandboxLists.js"

/**
 * DuckDB's errors give advice for a DuckDB of one's own: `Use "SET max_expression_depth TO x"`,
 * `INSTALL spatial; LOAD spatial;`, `(SET memory_limit='...')`, and `Did you mean "pg_settings"?`.
 * Behind the gate that advice cannot be followed, and a suggestion may name what the gate hides. This
 * trims it from messages a client sees, after scrubbing (so it works on bounded, secret-free text).
 */

const mayGiveAdvice = /did you mean|set |reset |pragma|install|load |call |please try/i

// A suggestion DuckDB makes from the catalog (tables, views, functions) by edit distance.
const suggestion = /\n?Did you mean "([^"\n]{0,256})"\?/g
const extensionAdvice = /Please try installing and loading the ([\w-]{1,64}) extension[^\n]*/g
// A statement the gate refuses, quoted or in parentheses inside a sentence: `"SET x TO y"`, `(SET a=b)`.
const quotedAdvice = /["'`(]\s*(?:FORCE\s+)?(?:SET|RESET|PRAGMA|INSTALL|LOAD|CALL|ATTACH|DETACH|USE)\s+\S/i
// Or bare inside a sentence, in DuckDB's capitals: `Or set SET temp_directory='<path>/tmp.tmp'`.
const bareSetAdvice = /\bSET [a-z_]+\s*(?:=|TO )/
const givesAdvice = (text: string) => quotedAdvice.test(text) || bareSetAdvice.test(text)
// A line that is such a statement on its own: `INSTALL spatial;`.
const statementLine = /^\s*(?:FORCE\s+)?(?:SET|RESET|PRAGMA|INSTALL|LOAD|CALL|ATTACH|DETACH|USE)\s+\S/i
// DuckDB's echo of the client's SQL and its caret: the client's own text, kept as is.
const echoLine = /^(?:LINE \d+:|\s*\^\s*$)/

const isHidden = (name: string, message: string): boolean => {
  const parts = name.toLowerCase().split(".")
  if (parts.some((part) => deniedFunctions.has(part) || deniedRelations.has(part))) return true
  const last = parts[parts.length - 1] ?? ""
  return /Table Function with name/i.test(message) && !allowedTableFunctions.has(last)
}

const withoutAdvice = (line: string): string | undefined => {
  if (echoLine.test(line)) return line
  if (statementLine.test(line)) return undefined
  if (!givesAdvice(line)) return line
  // Drop the sentences that give the advice; a bullet (`* Increase … (SET …)`) is one sentence.
  const kept = line.split(/(?<=\.)\s+/).filter((sentence) => !givesAdvice(sentence))
  const rest = kept.join(" ")
  return rest.trim() === "" || /^\s*[*-]\s/.test(line) ? undefined : rest
}

/** `message` without advice to run what the gate refuses, and without suggestions naming hidden objects. */
export const trimSandboxHints = (message: string): string => {
  if (!mayGiveAdvice.test(message)) return message
  const replaced = message
    .replace(suggestion, (whole, name: string) => (isHidden(name, message) ? "" : whole))
    .replace(extensionAdvice, (_m, name: string) => `The ${name} extension is not available on this server.`)
  const lines = replaced.split("\n").flatMap((line) => {
    const kept = withoutAdvice(line)
    return kept === undefined ? [] : [kept]
  })
  // A heading whose items were all removed ("Possible solutions:") goes too.
  const tidy = lines.filter(
    (line, index) => !(line.trimEnd().endsWith(":") && (lines[index + 1] ?? "").trim() === "")
  )
  return tidy
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd()
}
