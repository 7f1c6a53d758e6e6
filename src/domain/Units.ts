import { Duration, Option, ParseResult, Schema } from "effect"

const durationUnits: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/

/** Go-style durations: `500ms`, `30s`, `10m`, `1h30m`. */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  let rest = text.trim()
  if (rest === "") return Option.none()
  let millis = 0
  while (rest !== "") {
    const match = durationPattern.exec(rest)
    if (match === null) return Option.none()
    millis += Number(match[1]) * durationUnits[match[2]!]!
    rest = rest.slice(match[0].length)
  }
  return Option.some(Duration.millis(millis))
}

export const formatDuration = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000]
  ] as const) {
    if (millis >= size && millis % size === 0) return `${millis / size}${unit}`
  }
  return `${millis}ms`
}

/** A duration written as text in YAML, decoded to an Effect `Duration`. */
export const DurationText = Schema.transformOrFail(Schema.String, Schema.DurationFromSelf, {
  strict: true,
  decode: (text, _, ast) =>
    Option.match(parseDuration(text), {
      onNone: () =>
        ParseResult.fail(new ParseResult.Type(ast, text, "not a duration (use e.g. 500ms, 30s, 10m, 1h)")),
      onSome: ParseResult.succeed
    }),
  encode: (duration) => ParseResult.succeed(formatDuration(duration))
}).annotations({
  message: () => ({ message: "not a duration (use e.g. 500ms, 30s, 10m, 1h)", override: true })
})

// DuckDB's own convention, so that `memory_limit: 4GB` means here what it means to DuckDB.
const sizeUnits: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40
}

const decimalUnits = [
  ["TB", 1e12],
  ["GB", 1e9],
  ["MB", 1e6],
  ["KB", 1e3]
] as const
const binaryUnits = [
  ["TiB", 2 ** 40],
  ["GiB", 2 ** 30],
  ["MiB", 2 ** 20],
  ["KiB", 2 ** 10]
] as const

const largestExact = (bytes: number, units: typeof decimalUnits | typeof binaryUnits) =>
  units.find(([, size]) => bytes >= size && bytes % size === 0)

/**
 * The one normal form of a size on the wire: the largest unit that divides it exactly, so that
 * `1GiB` reads back as `1GiB` and `4GB` as `4GB`. When both families divide it, the shorter number
 * wins, decimal on a tie; a size neither divides is written in bytes (`1500B`).
 */
export const formatSize = (bytes: number): string => {
  const decimal = largestExact(bytes, decimalUnits)
  const binary = largestExact(bytes, binaryUnits)
  const best =
    decimal === undefined ? binary : binary === undefined || decimal[1] >= binary[1] ? decimal : binary
  return best === undefined ? `${bytes}B` : `${bytes / best[1]}${best[0]}`
}

/**
 * The smallest DuckDB memory limit a server engine accepts: below about 1 MB DuckDB cannot even take
 * the lockdown's settings (measured, 1.5.5), and a few MB leave no room for a query. One floor for the
 * config file and the API alike, so a tiny limit is a 400 (or a config error), never a failed engine.
 */
export const minMemoryLimitBytes = 16_000_000

/** Sizes: `512MB`, `4GB` (powers of 1000, as DuckDB reads them) or `1GiB` (powers of 1024); bytes. */
export const parseSize = (text: string): Option.Option<number> => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (match === null) return Option.none()
  const unit = match[2] === "" ? 1 : sizeUnits[match[2]!.toLowerCase()]
  return unit === undefined ? Option.none() : Option.some(Math.floor(Number(match[1]) * unit))
}

export const SizeText = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number), Schema.Number, {
  strict: true,
  decode: (input, _, ast) =>
    Option.match(parseSize(String(input)), {
      onNone: () =>
        ParseResult.fail(new ParseResult.Type(ast, input, "not a size (use e.g. 512MB, 4GB, 1GiB)")),
      onSome: ParseResult.succeed
    }),
  encode: (bytes) => ParseResult.succeed(bytes)
}).annotations({ message: () => ({ message: "not a size (use e.g. 512MB, 4GB, 1GiB)", override: true }) })
