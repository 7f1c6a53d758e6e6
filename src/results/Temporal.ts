/**
 * ISO-8601 text for DuckDB's temporal values, computed with integer arithmetic so that every value
 * DuckDB can hold prints exactly (JS `Date` covers ±275,760 years at millisecond precision; DuckDB
 * dates reach year 5,881,580 and timestamps carry nanoseconds).
 *
 * Years 0000–9999 print with four digits; others with a sign and at least six digits, the expanded
 * form `Date.parse` accepts (`+010000-01-01`, `-000001-12-31`). Year 0 is 1 BC (astronomical
 * numbering, as ISO-8601 has it; DuckDB's own display says `0001-01-01 (BC)`). DATE and TIMESTAMP
 * infinities print as `infinity` / `-infinity`, as DuckDB does.
 */

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)

const yearText = (year: number): string => {
  if (year >= 0 && year <= 9999) return year < 1000 ? `${year}`.padStart(4, "0") : `${year}`
  return `${year < 0 ? "-" : "+"}${`${Math.abs(year)}`.padStart(6, "0")}`
}

/** Days since 1970-01-01 to `YYYY-MM-DD` (Howard Hinnant's civil_from_days). */
export const dateFromDays = (days: number): string => {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  return `${yearText(year)}-${pad2(month)}-${pad2(day)}`
}

const dateInfinity = 2147483647

/** A DATE column item (int32 days). */
export const dateText = (days: number): string =>
  days === dateInfinity ? "infinity" : days === -dateInfinity ? "-infinity" : dateFromDays(days)

/** `.fff…` with trailing zeros removed, or "" when the fraction is zero. */
const fractionText = (fraction: number, digits: number): string => {
  if (fraction === 0) return ""
  let text = `${fraction}`.padStart(digits, "0")
  let end = text.length
  while (text.charCodeAt(end - 1) === 48) end--
  if (end < text.length) text = text.slice(0, end)
  return `.${text}`
}

/** `HH:MM:SS[.f]` for a time of day given in units of 10^-digits seconds (0 ≤ value ≤ 24h). */
export const timeOfDayText = (value: number, unitsPerSecond: number, digits: number): string => {
  const seconds = Math.floor(value / unitsPerSecond)
  const fraction = value - seconds * unitsPerSecond
  const hours = Math.floor(seconds / 3600)
  const minutes = Math.floor((seconds - hours * 3600) / 60)
  return `${pad2(hours)}:${pad2(minutes)}:${pad2(seconds % 60)}${fractionText(fraction, digits)}`
}

/** Time-zone offset in seconds east of UTC to `+HH:MM` (`+HH:MM:SS` when seconds are present). */
export const offsetText = (offsetSeconds: number): string => {
  const abs = Math.abs(offsetSeconds)
  const text = `${offsetSeconds < 0 ? "-" : "+"}${pad2(Math.floor(abs / 3600))}:${pad2(Math.floor(abs / 60) % 60)}`
  return abs % 60 === 0 ? text : `${text}:${pad2(abs % 60)}`
}

/** The unit of a timestamp column: how many per second, and how many fraction digits that is. */
export interface TimestampUnit {
  readonly perSecond: number
  readonly perDay: number
  readonly perDayBig: bigint
  readonly digits: number
}
const unit = (perSecond: number, digits: number): TimestampUnit => ({
  perSecond,
  perDay: perSecond * 86400,
  perDayBig: BigInt(perSecond * 86400),
  digits
})
export const seconds = unit(1, 0)
export const milliseconds = unit(1000, 3)
export const microseconds = unit(1_000_000, 6)
export const nanoseconds = unit(1_000_000_000, 9)

// Timestamps in a result often share their day: the date text of the last one is kept.
let lastDays = Number.NaN
let lastDate = ""

const timestampFromParts = (days: number, ofDay: number, u: TimestampUnit, suffix: string): string => {
  if (days !== lastDays) {
    lastDays = days
    lastDate = dateFromDays(days)
  }
  return `${lastDate}T${timeOfDayText(ofDay, u.perSecond, u.digits)}${suffix}`
}

/** A timestamp that is a safe integer of `u` since the epoch. */
export const timestampText = (value: number, u: TimestampUnit, suffix: string): string => {
  let days = Math.floor(value / u.perDay)
  let ofDay = value - days * u.perDay
  // The division rounds; the remainder is exact and says which way.
  if (ofDay < 0) {
    days--
    ofDay += u.perDay
  } else if (ofDay >= u.perDay) {
    days++
    ofDay -= u.perDay
  }
  return timestampFromParts(days, ofDay, u, suffix)
}

const int64Max = 9223372036854775807n

/** A timestamp beyond ±2^53 units (including DuckDB's ±infinity, stored as ±(2^63−1)). */
export const timestampTextBig = (value: bigint, u: TimestampUnit, suffix: string): string => {
  if (value === int64Max) return "infinity"
  if (value === -int64Max) return "-infinity"
  let days = value / u.perDayBig
  let ofDay = value % u.perDayBig
  if (ofDay < 0n) {
    days--
    ofDay += u.perDayBig
  }
  return timestampFromParts(Number(days), Number(ofDay), u, suffix)
}

/**
 * An INTERVAL as an ISO-8601 duration, `P1Y2M3DT4H5M6.5S`. DuckDB keeps months, days and
 * microseconds apart and each may have its own sign, which ISO-8601 cannot say; we follow
 * PostgreSQL's `intervalstyle = iso_8601`: every component carries its own sign
 * (`P-1Y-2M3DT-4H-5M-6.5S`). Years and months share the sign of the months field, hours, minutes
 * and seconds that of the microseconds field. A zero interval is `PT0S`.
 */
export const intervalText = (months: number, days: number, micros: number | bigint): string => {
  let text = "P"
  if (months !== 0) {
    const years = Math.trunc(months / 12)
    const rest = months - years * 12
    if (years !== 0) text += `${years}Y`
    if (rest !== 0) text += `${rest}M`
  }
  if (days !== 0) text += `${days}D`
  if (micros !== 0 && micros !== 0n) {
    const negative = micros < 0
    const sign = negative ? "-" : ""
    let hours: number | bigint
    let minutes: number
    let secs: number
    let fraction: number
    if (typeof micros === "number") {
      const abs = Math.abs(micros)
      const totalSeconds = Math.floor(abs / 1_000_000)
      fraction = abs - totalSeconds * 1_000_000
      hours = Math.floor(totalSeconds / 3600)
      minutes = Math.floor(totalSeconds / 60) % 60
      secs = totalSeconds % 60
    } else {
      const abs = negative ? -micros : micros
      const totalSeconds = abs / 1_000_000n
      fraction = Number(abs % 1_000_000n)
      hours = totalSeconds / 3600n
      minutes = Number((totalSeconds / 60n) % 60n)
      secs = Number(totalSeconds % 60n)
    }
    text += "T"
    if (hours !== 0 && hours !== 0n) text += `${sign}${hours}H`
    if (minutes !== 0) text += `${sign}${minutes}M`
    if (secs !== 0 || fraction !== 0) text += `${sign}${secs}${fractionText(fraction, 6)}S`
  }
  return text === "P" ? "PT0S" : text
}
