import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { contentTypeOf, mediaTypeOf, negotiateFormat, resultFormats } from "../../src/results/Format.js"

const chosen = (format: string | undefined, accept: string | undefined) => {
  const result = negotiateFormat(format, accept)
  return Either.isRight(result) ? result.right : `${result.left._tag}: ${result.left.message}`
}

describe("negotiateFormat", () => {
  it.each([
    // ?format= wins over Accept, whatever Accept says
    ["csv", "application/json", "csv"],
    ["arrow", undefined, "arrow"],
    ["ndjson", "text/csv;q=1", "ndjson"],
    ["JSON", undefined, "json"],
    [" json ", "application/vnd.apache.arrow.stream", "json"],
    // Accept alone
    [undefined, undefined, "json"],
    [undefined, "", "json"],
    [undefined, "*/*", "json"],
    [undefined, "application/*", "json"],
    [undefined, "text/*", "csv"],
    [undefined, "application/json", "json"],
    [undefined, "application/x-ndjson", "ndjson"],
    [undefined, "application/ndjson", "ndjson"],
    [undefined, "text/csv", "csv"],
    [undefined, "TEXT/CSV; charset=utf-8", "csv"],
    [undefined, "application/vnd.apache.arrow.stream", "arrow"],
    // q-values
    [undefined, "application/json;q=0.5, text/csv", "csv"],
    [undefined, "text/csv;q=0.1, application/vnd.apache.arrow.stream;q=0.9", "arrow"],
    [undefined, "application/json;q=0, */*", "ndjson"],
    [undefined, "*/*;q=0.1, text/csv;q=0", "json"],
    [undefined, "text/*;q=0.5, application/json;q=0.4", "csv"],
    // ties: the more specific name, then the first listed
    [undefined, "*/*, text/csv", "csv"],
    [undefined, "text/csv, application/json", "csv"],
    [undefined, "application/json, text/csv", "json"],
    // a browser's default
    [undefined, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "json"],
    // malformed elements are skipped, not fatal
    [undefined, "garbage, text/csv", "csv"],
    [undefined, "text/csv;q=2, application/json", "json"],
    [undefined, "text/csv;q=abc, */*", "json"]
  ])("format=%j Accept=%j → %s", (format, accept, expected) => {
    expect(chosen(format, accept)).toBe(expected)
  })

  it.each([
    ["xml", undefined],
    ["", "application/json"],
    ["parquet", "*/*"]
  ])("format=%j is an invalid request naming the allowed values", (format, accept) => {
    expect(chosen(format, accept)).toBe(
      "InvalidRequest: unknown format; allowed values are json, ndjson, csv, arrow"
    )
  })

  it.each([
    ["text/html"],
    ["application/xml, image/*"],
    ["application/json;q=0, application/x-ndjson;q=0, text/csv;q=0, application/vnd.apache.arrow.stream;q=0"],
    ["*/*;q=0"],
    ["text/*;q=0"],
    ["application/vnd.apache.arrow.file"]
  ])("Accept %j is not acceptable", (accept) => {
    expect(chosen(undefined, accept)).toBe(
      "NotAcceptable: no result format matches the Accept header; available: application/json, application/x-ndjson, text/csv, application/vnd.apache.arrow.stream"
    )
  })

  it("caps the work on huge headers", () => {
    const accept = `${"x/y, ".repeat(100_000)}text/csv`
    expect(chosen(undefined, accept)).toMatch(/^NotAcceptable/)
  })

  it("media types", () => {
    expect(resultFormats.map(mediaTypeOf)).toEqual([
      "application/json",
      "application/x-ndjson",
      "text/csv",
      "application/vnd.apache.arrow.stream"
    ])
    expect(contentTypeOf("csv")).toBe("text/csv; charset=utf-8")
    expect(contentTypeOf("json")).toBe("application/json")
  })
})
