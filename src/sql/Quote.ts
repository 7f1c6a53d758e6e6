/**
 * DuckDB's quoting, for every statement the server writes itself. Values a client sends travel as
 * bound parameters, never through these.
 */

/** `"name"` with inner quotes doubled: any text as one identifier, keywords included. */
export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** `'text'` with inner quotes doubled, as DuckDB prints a string; backslashes are literal in it. */
export const printedLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`

/**
 * `printedLiteral` for a statement the server runs. DuckDB's C API reads a statement up to its first
 * NUL, which would cut it short inside the literal: such text is refused here, loudly.
 */
export const quoteLiteral = (text: string): string => {
  if (text.includes("\0")) throw new Error("a SQL literal cannot hold a NUL character")
  return printedLiteral(text)
}
