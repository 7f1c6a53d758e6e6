/**
 * ISO-8601 durations as INTERVAL parameters, in the form our results use (Temporal.ts
 * `intervalText`): `P1Y2M3DT4H5M6.5S`, each component optionally signed (`P-1Y-2M3DT-4H`), `W` for
 * weeks, and an optional sign before `P` that negates the whole duration. DuckDB itself does not read
 * this form. Years and months go to the months field, weeks and days to days, the rest to
 * microseconds, as DuckDB keeps them.
 */
export interface IsoDuration {
  readonly months: number
  readonly days: number
  readonly micros: bigint
}

const pattern =
  /^([+-])?P(?:([+-]?\d{1,10})Y)?(?:([+-]?\d{1,10})M)?(?:([+-]?\d{1,10})W)?(?:([+-]?\d{1,10})D)?(?:T(?:([+-]?\d{1,12})H)?(?:([+-]?\d{1,14})M)?(?:([+-]?\d{1,16})(?:[.,](\d{1,6}))?S)?)?$/

const int32 = 2147483647n
const int64 = 9223372036854775807n

/** `undefined` when the text is not an ISO duration at all; "invalid" when it is one DuckDB cannot hold. */
export const isoDuration = (text: string): IsoDuration | "invalid" | undefined => {
  if (!/^[+-]?P/.test(text)) return undefined
  const match = pattern.exec(text)
  if (match === null || text.endsWith("P") || text.endsWith("T")) return "invalid"
  const [, sign, years, months, weeks, days, hours, minutes, seconds, fraction] = match
  const n = (part: string | undefined) => BigInt(part ?? 0)
  const negate = sign === "-" ? -1n : 1n
  const totalMonths = negate * (n(years) * 12n + n(months))
  const totalDays = negate * (n(weeks) * 7n + n(days))
  const secondsPart = n(seconds)
  const fractionMicros = BigInt((fraction ?? "").padEnd(6, "0"))
  const micros =
    negate *
    ((n(hours) * 3600n + n(minutes) * 60n + secondsPart) * 1_000_000n +
      (seconds?.startsWith("-") ? -fractionMicros : fractionMicros))
  if (totalMonths > int32 || totalMonths < -int32 || totalDays > int32 || totalDays < -int32) return "invalid"
  if (micros > int64 || micros < -int64) return "invalid"
  return { months: Number(totalMonths), days: Number(totalDays), micros }
}
