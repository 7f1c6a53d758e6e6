import { DuckDBTypeId } from "@duckdb/node-api"
import { bytesOf, int64At, safeInt64At, uint32sOf } from "./RawVector.js"
import {
  dateText,
  intervalText,
  microseconds,
  milliseconds,
  nanoseconds,
  offsetText,
  seconds,
  type TimestampUnit,
  timeOfDayText,
  timestampText,
  timestampTextBig
} from "./Temporal.js"
import { fromText, type ValueReader } from "./ValueReader.js"

/**
 * Temporal JSON values are strings (plain text in CSV):
 * - DATE → `YYYY-MM-DD` (expanded years and ±infinity as in Temporal.ts);
 * - TIME → `HH:MM:SS[.ffffff]`, TIME_NS → up to nine fraction digits, TIMETZ → with `+HH:MM`;
 * - TIMESTAMP, _S, _MS, _NS → `YYYY-MM-DDTHH:MM:SS[.f]` (no zone: the value has none);
 *   TIMESTAMPTZ → the UTC instant with `Z`;
 * - INTERVAL → ISO-8601 duration (`P1Y2M3DT4H5M6.5S`, signs per component).
 * Fraction digits are printed up to the column's precision with trailing zeros dropped.
 */
export const timestampReader = (typeId: DuckDBTypeId): ValueReader => {
  const u: TimestampUnit =
    typeId === DuckDBTypeId.TIMESTAMP_S
      ? seconds
      : typeId === DuckDBTypeId.TIMESTAMP_MS
        ? milliseconds
        : typeId === DuckDBTypeId.TIMESTAMP_NS
          ? nanoseconds
          : microseconds
  const suffix = typeId === DuckDBTypeId.TIMESTAMP_TZ ? "Z" : ""
  return fromText((vector, size) => {
    const words = uint32sOf(vector, size, 2)
    return (i) => {
      const safe = safeInt64At(words, i)
      return safe !== undefined
        ? timestampText(safe, u, suffix)
        : timestampTextBig(int64At(words, i), u, suffix)
    }
  }, true)
}

/**
 * Dates repeat in almost every result (a day per order, per event), and their text never changes: a
 * bounded cache shared by all results skips the formatting for most of them. 65,536 days is 180
 * years of distinct dates.
 */
const dateTexts = new Map<number, string>()
const cachedDateText = (days: number): string => {
  let text = dateTexts.get(days)
  if (text === undefined) {
    if (dateTexts.size >= 65_536) dateTexts.clear()
    text = dateText(days)
    dateTexts.set(days, text)
  }
  return text
}

export const temporalReader = (typeId: DuckDBTypeId): ValueReader => {
  switch (typeId) {
    case DuckDBTypeId.DATE:
      return fromText((vector, size) => {
        const bytes = bytesOf(vector, size, 4)
        const days = new Int32Array(bytes.buffer, bytes.byteOffset, size)
        return (i) => cachedDateText(days[i]!)
      }, true)
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS: {
      const [perSecond, digits] = typeId === DuckDBTypeId.TIME ? [1_000_000, 6] : [1_000_000_000, 9]
      return fromText((vector, size) => {
        const words = uint32sOf(vector, size, 2)
        return (i) => timeOfDayText(safeInt64At(words, i) ?? 0, perSecond, digits)
      }, true)
    }
    case DuckDBTypeId.TIME_TZ:
      // 40 bits of microseconds, then 24 bits of offset stored as 57599 − seconds east of UTC.
      return fromText((vector, size) => {
        const words = uint32sOf(vector, size, 2)
        return (i) => {
          const low = words[2 * i]!
          const micros = words[2 * i + 1]! * 256 + (low >>> 24)
          return timeOfDayText(micros, 1_000_000, 6) + offsetText(57599 - (low & 0xffffff))
        }
      }, true)
    default:
      // INTERVAL: int32 months, int32 days, int64 microseconds.
      return fromText((vector, size) => {
        const words = uint32sOf(vector, size, 4)
        return (i) => {
          const micros = safeInt64At(words, 2 * i + 1) ?? int64At(words, 2 * i + 1)
          return intervalText(words[4 * i]! | 0, words[4 * i + 1]! | 0, micros)
        }
      }, true)
  }
}
