import { Duration, Either, Option, Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  DurationText,
  formatDuration,
  formatSize,
  parseDuration,
  parseSize,
  SizeText
} from "../../src/domain/Units.js"

const millis = (text: string) => Option.map(parseDuration(text), Duration.toMillis)

describe("durations", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["10m", 600_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["2h45m30s", 9_930_000],
    ["1.5s", 1_500],
    ["1d", 86_400_000],
    ["0s", 0],
    [" 15s ", 15_000]
  ])("%s is %d ms", (text, expected) => {
    expect(millis(text)).toEqual(Option.some(expected))
  })

  it.each([
    "",
    "10",
    "5x",
    "-1s",
    "1h 30m",
    "s",
    "1.s",
    "ten seconds",
    "1e3ms"
  ])("%j is not a duration", (text) => {
    expect(parseDuration(text)).toEqual(Option.none())
  })

  it.each([
    [Duration.millis(500), "500ms"],
    [Duration.seconds(30), "30s"],
    [Duration.minutes(10), "10m"],
    [Duration.hours(2), "2h"],
    [Duration.millis(1_500), "1500ms"],
    [Duration.seconds(90), "90s"]
  ])("formats %s as %s, which parses back to the same duration", (duration, text) => {
    expect(formatDuration(duration)).toBe(text)
    expect(Option.map(parseDuration(text), Duration.toMillis)).toEqual(
      Option.some(Duration.toMillis(duration))
    )
  })

  it("decodes with the schema and encodes back to text", () => {
    const decoded = Schema.decodeUnknownSync(DurationText)("1h30m")
    expect(Duration.toMinutes(decoded)).toBe(90)
    expect(Schema.encodeSync(DurationText)(decoded)).toBe("90m")
    expect(Either.isLeft(Schema.decodeUnknownEither(DurationText)(30))).toBe(true)
  })
})

describe("sizes", () => {
  it.each([
    ["512MB", 512_000_000],
    ["4GB", 4_000_000_000],
    ["1GiB", 2 ** 30],
    ["1KiB", 1_024],
    ["2MiB", 2 * 2 ** 20],
    ["1TB", 1e12],
    ["1.5GB", 1_500_000_000],
    ["4gb", 4_000_000_000],
    ["100", 100],
    ["100B", 100],
    [" 4 GB ", 4_000_000_000]
  ])("%s is %d bytes", (text, bytes) => {
    expect(parseSize(text)).toEqual(Option.some(bytes))
  })

  it.each(["", "GB", "-1GB", "4XB", "4 G B", "1e9", "lots"])("%j is not a size", (text) => {
    expect(parseSize(text)).toEqual(Option.none())
  })

  it.each([
    ["1GiB", "1GiB"],
    ["1536MiB", "1536MiB"],
    ["1.5GiB", "1536MiB"],
    ["4GB", "4GB"],
    ["2000000000", "2GB"],
    ["4096KB", "4000KiB"],
    ["1024KiB", "1MiB"],
    ["1500", "1500B"],
    ["0", "0B"]
  ])("%s is shown as %s, and reads back to the same bytes", (text, shown) => {
    expect(formatSize(Option.getOrThrow(parseSize(text)))).toBe(shown)
    expect(parseSize(shown)).toEqual(parseSize(text))
  })

  it("decodes a plain YAML number as bytes", () => {
    expect(Schema.decodeUnknownSync(SizeText)(2048)).toBe(2048)
    expect(Schema.decodeUnknownSync(SizeText)("512MB")).toBe(512_000_000)
    expect(Either.isLeft(Schema.decodeUnknownEither(SizeText)(true))).toBe(true)
  })
})
