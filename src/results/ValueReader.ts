import type { NativeVector, Validity } from "./RawVector.js"
import { validityOf } from "./RawVector.js"

/**
 * How one DuckDB type is read from a native vector: compiled once per column (at `begin`), bound to
 * each chunk's vector, then called per item. See JsonValues.ts for the values themselves.
 */
export type JsonItem = (index: number) => string
/** Plain text for CSV and Arrow's text fallback: like JSON but strings unquoted, nested values as JSON; `null` for NULL. */
export type TextItem = (index: number) => string | null

export interface ValueReader {
  readonly json: (vector: NativeVector, size: number) => JsonItem
  readonly text: (vector: NativeVector, size: number) => TextItem
  /** Its text never holds a comma, quote, CR or LF: CSV can skip the quoting test. */
  readonly plain: boolean
}

/** A reader of values whose text is valid JSON as it is (numbers, booleans), or `quoted` when it only needs quotes. */
export const fromText = (
  bind: (vector: NativeVector, size: number) => (index: number) => string,
  quoted: boolean,
  plain = true
): ValueReader => ({
  plain,
  text: (vector, size) => {
    const item = bind(vector, size)
    const validity = validityOf(vector, size)
    return (i) => (isNull(validity, i) ? null : item(i))
  },
  json: (vector, size) => {
    const item = bind(vector, size)
    const validity = validityOf(vector, size)
    return quoted
      ? (i) => (isNull(validity, i) ? "null" : `"${item(i)}"`)
      : (i) => (isNull(validity, i) ? "null" : item(i))
  }
})

export const isNull = (validity: Validity, i: number): boolean =>
  validity !== null && (validity[i >> 3]! & (1 << (i & 7))) === 0

/** A reader whose JSON differs from its text per value (integers beyond ±2^53, floats). */
export const withJson = (
  bindText: (vector: NativeVector, size: number) => (index: number) => string,
  bindJson: (vector: NativeVector, size: number) => (index: number) => string
): ValueReader => ({
  plain: true,
  text: fromText(bindText, false).text,
  json: (vector, size) => {
    const item = bindJson(vector, size)
    const validity = validityOf(vector, size)
    return (i) => (isNull(validity, i) ? "null" : item(i))
  }
})
