import { Either } from "effect"
import { InvalidRequest, NotAcceptable } from "../domain/Errors.js"

export type ResultFormat = "json" | "ndjson" | "csv" | "arrow"

/** In the server's order of preference, used when the client likes several equally. */
export const resultFormats: ReadonlyArray<ResultFormat> = ["json", "ndjson", "csv", "arrow"]

const mediaTypes: Record<ResultFormat, string> = {
  json: "application/json",
  ndjson: "application/x-ndjson",
  csv: "text/csv",
  arrow: "application/vnd.apache.arrow.stream"
}

/** Media types a client may ask for in `Accept`, beyond the canonical ones above. */
const aliases: Record<string, ResultFormat> = {
  "application/ndjson": "ndjson"
}

export const mediaTypeOf = (format: ResultFormat): string => mediaTypes[format]

/** The `Content-Type` to send: the media type, with the charset where the type defines one (CSV). */
export const contentTypeOf = (format: ResultFormat): string =>
  format === "csv" ? "text/csv; charset=utf-8" : mediaTypes[format]

interface AcceptRange {
  readonly type: string
  readonly subtype: string
  readonly q: number
  readonly position: number
}

const token = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/
const weight = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/**
 * Parses an `Accept` header (RFC 9110 §12.5.1). Media-type parameters other than `q` are ignored
 * (`text/csv; charset=utf-8` asks for CSV); an element that does not parse, or whose weight is not a
 * valid qvalue, is skipped rather than failing the request.
 */
const parseAccept = (header: string): ReadonlyArray<AcceptRange> => {
  const ranges: Array<AcceptRange> = []
  // A header can be long; cap the work on what no client needs.
  const elements = header.slice(0, 4096).split(",")
  for (let position = 0; position < elements.length && position < 64; position++) {
    const [range = "", ...params] = elements[position]!.split(";")
    const [type = "", subtype = "", extra] = range.trim().toLowerCase().split("/")
    if (extra !== undefined || !token.test(type) || !token.test(subtype)) continue
    if (type === "*" && subtype !== "*") continue
    let q = 1
    let valid = true
    for (const param of params) {
      const [name = "", value = ""] = param.split("=")
      if (name.trim().toLowerCase() !== "q") continue
      const text = value.trim()
      if (!weight.test(text)) valid = false
      else q = Number(text)
    }
    if (valid) ranges.push({ type, subtype, q, position })
  }
  return ranges
}

/** How specifically a range names a media type: 3 exact, 2 `type/*`, 1 `*\/*`, 0 not at all. */
const specificity = (range: AcceptRange, mediaType: string): number => {
  const [type, subtype] = mediaType.split("/")
  if (range.type === "*") return 1
  if (range.type !== type) return 0
  if (range.subtype === "*") return 2
  return range.subtype === subtype ? 3 : 0
}

const allowedFormats = resultFormats.join(", ")
const allowedMediaTypes = resultFormats.map(mediaTypeOf).join(", ")

/**
 * Chooses the result format: `?format=` wins (unknown value → 400); otherwise `Accept` decides, with
 * its q-values (`q=0` refuses a type). A missing or empty `Accept`, `*\/*` and `application/*` give
 * JSON; `text/*` gives CSV. Among equally weighted formats the most specifically named wins, then the
 * one listed first, then the server's order (json, ndjson, csv, arrow). Nothing acceptable → 406.
 */
export const negotiateFormat = (
  formatParam: string | undefined,
  accept: string | undefined
): Either.Either<ResultFormat, InvalidRequest | NotAcceptable> => {
  if (formatParam !== undefined) {
    const wanted = formatParam.trim().toLowerCase()
    const format = resultFormats.find((f) => f === wanted)
    return format !== undefined
      ? Either.right(format)
      : Either.left(new InvalidRequest({ message: `unknown format; allowed values are ${allowedFormats}` }))
  }
  if (accept === undefined || accept.trim() === "") return Either.right("json")

  const ranges = parseAccept(accept)
  let best: { format: ResultFormat; q: number; specificity: number; position: number } | undefined
  for (const format of resultFormats) {
    const candidates = [
      mediaTypeOf(format),
      ...Object.keys(aliases).filter((alias) => aliases[alias] === format)
    ]
    // The most specific range naming this format sets its weight (RFC 9110: `text/csv;q=0, */*` refuses CSV).
    let match: { q: number; specificity: number; position: number } | undefined
    for (const range of ranges) {
      for (const mediaType of candidates) {
        const s = specificity(range, mediaType)
        if (s === 0) continue
        if (
          match === undefined ||
          s > match.specificity ||
          (s === match.specificity && range.position < match.position)
        ) {
          match = { q: range.q, specificity: s, position: range.position }
        }
      }
    }
    if (match === undefined || match.q === 0) continue
    if (
      best === undefined ||
      match.q > best.q ||
      (match.q === best.q &&
        (match.specificity > best.specificity ||
          (match.specificity === best.specificity && match.position < best.position)))
    ) {
      best = { format, ...match }
    }
  }
  return best !== undefined
    ? Either.right(best.format)
    : Either.left(
        new NotAcceptable({
          message: `no result format matches the Accept header; available: ${allowedMediaTypes}`
        })
      )
}
