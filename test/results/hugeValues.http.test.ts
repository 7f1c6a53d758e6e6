import { createHash } from "node:crypto"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { tableFromIPC } from "apache-arrow"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { query, send } from "../support/QueryClient.js"
import { type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * A single huge value must not hold the event loop while it is encoded (issue 13, finding 3): a
 * 24 MB string used to stall every other request for 1.4–3.9 s in the text formats. The bytes must
 * be those of the value encoded whole.
 */
let server: RunningServer
beforeAll(async () => {
  server = await startServer(testSettings({ query: { timeout: "60s" } }))
})
afterAll(() => server.dispose())

/** 8 bytes a unit, with everything CSV quotes and JSON escapes: `"`, `/`, LF, a 3-byte `€`, U+0001. */
const units = 3_000_000
const unit = `"/a\n€\u0001`
const huge = unit.repeat(units)
const small = 'small,"x"'
/** Two huge values and a small one in one chunk: both paths, and the seams between them. */
const sql = `SELECT i, CASE WHEN i = 1 THEN '${small}' ELSE repeat('"/a' || chr(10) || '€' || chr(1), ${units}) END AS v FROM range(3) t(i)`
const values = [huge, small, huge]

/**
 * 8 bytes a unit (a NUL, 0xff, a comma, a quote, LF…): 48 MB a value, 64 MB of base64. Base64 is
 * quick to make, so it takes twice the string's size to stall as long as a string did.
 */
const blobUnitHex = "00ff2c220a41e201"
const blobUnits = 2 * units
const hugeBlob = Buffer.from(blobUnitHex.repeat(blobUnits), "hex").toString("base64")
const smallBlob = Buffer.from("2c22", "hex").toString("base64")
const blobSql = `SELECT i, CASE WHEN i = 1 THEN unhex('2c22') ELSE unhex(repeat('${blobUnitHex}', ${blobUnits})) END AS v FROM range(3) t(i)`
const blobValues = [hugeBlob, smallBlob, hugeBlob]

/** Rows of (i BIGINT, v `type`) as each format writes them whole; a BLOB's values are its base64. */
const expectedOf = (type: "VARCHAR" | "BLOB", values: ReadonlyArray<string>) => ({
  json: () =>
    JSON.stringify({
      columns: [
        { name: "i", type: "BIGINT" },
        { name: "v", type }
      ],
      rows: values.map((v, i) => [i, v]),
      rowCount: values.length,
      truncated: false
    }),
  ndjson: () => values.map((v, i) => `${JSON.stringify({ i, v })}\n`).join(""),
  csv: () =>
    `i,v\r\n${values
      .map((v, i) => `${i},${/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v}\r\n`)
      .join("")}`
})

/** Polls `/health` back to back while `pending` runs; the slowest answer in ms. */
const slowestHealth = async (pending: Promise<unknown>): Promise<number> => {
  let done = false
  void pending.finally(() => {
    done = true
  })
  let slowest = 0
  while (!done) {
    const started = performance.now()
    const response = await send(`${server.url}/health`, undefined, { key: null })
    expect(response.status).toBe(200)
    slowest = Math.max(slowest, performance.now() - started)
  }
  return slowest
}

/**
 * Runs `sql` in `format` while polling `/health`; checks the body against `want` (or, for Arrow,
 * `check` on the body kept) and the stalls.
 */
const encodedWithoutStalls = async (
  format: "json" | "ndjson" | "csv" | "arrow",
  sql: string,
  want: Buffer | ((body: Buffer) => void)
) => {
  // The body is hashed as it arrives rather than kept: joining 90 MB here would stall this
  // process's event loop, which the server shares.
  const hash = createHash("sha256")
  const kept: Array<Buffer> = []
  let received = 0
  const onData = (piece: Buffer) => {
    if (typeof want === "function") kept.push(piece)
    else hash.update(piece)
    received += piece.length
    return true
  }
  // The query runs in DuckDB's threads; what is measured is the event loop while it is encoded.
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  const pending = query(server.url, "default", { query: sql }, { format, keep: 0, onData })
  const slowest = await slowestHealth(pending)
  const response = await pending
  histogram.disable()
  const stall = histogram.max / 1e6
  console.info(
    `${format}: ${received} bytes, slowest /health ${Math.round(slowest)} ms, worst event-loop delay ${Math.round(stall)} ms`
  )
  expect(response.status).toBe(200)
  expect(response.complete).toBe(true)
  if (typeof want === "function") want(Buffer.concat(kept))
  else {
    expect(received).toBe(want.length)
    expect(hash.digest("hex")).toBe(createHash("sha256").update(want).digest("hex"))
  }
  // 1.1–3 s before slicing. Now 30–150 ms on 2 cores at load 5–6 and up to 450 ms at load 10:
  // the scheduler's pauses as much as the server's; room for such a machine.
  expect(slowest).toBeLessThan(600)
  expect(stall).toBeLessThan(600)
}

const formats = ["json", "ndjson", "csv"] as const

describe("a huge value is encoded in slices", () => {
  it.each(
    formats
  )("%s: the same bytes as the whole value, and the event loop never stalls", async (format) => {
    await encodedWithoutStalls(format, sql, Buffer.from(expectedOf("VARCHAR", values)[format](), "utf8"))
  }, 60_000)

  // A 50 MB BLOB stalled /health for 3.6–5.7 s before its base64 was sliced too.
  it.each(formats)("%s: a huge BLOB too, as the base64 of the whole value", async (format) => {
    await encodedWithoutStalls(format, blobSql, Buffer.from(expectedOf("BLOB", blobValues)[format](), "utf8"))
  }, 60_000)
})

/**
 * Huge values inside other types, and a huge BIT: 12 MB strings (24 MB of JSON each) and a 12 M-bit
 * BIT in one row. Encoded whole, each held every other request: 0.1–0.5 s for a 30 MB string in a
 * LIST, STRUCT, MAP or UNION, 1.3–1.9 s for a 30 M-bit BIT.
 */
const nestedUnits = 1_500_000
const hugeText = unit.repeat(nestedUnits)
const bits = `${"1101".repeat(3_000_000)}011`
const nestedSql = `SELECT [h] AS l, {'a': h} AS s, map(['k'], [h]) AS m, union_value(u := h) AS u, '${"1101".repeat(8)}'::BIT AS small, (repeat('1101', 3000000) || '011')::BIT AS b FROM (SELECT repeat('"/a' || chr(10) || '€' || chr(1), ${nestedUnits}) AS h)`
const nestedRow = [[hugeText], { a: hugeText }, { k: hugeText }, hugeText, "1101".repeat(8), bits]
const nestedNames = ["l", "s", "m", "u", "small", "b"]
const nestedTypes = [
  "VARCHAR[]",
  "STRUCT(a VARCHAR)",
  "MAP(VARCHAR, VARCHAR)",
  "UNION(u VARCHAR)",
  "BIT",
  "BIT"
]
const csvText = (v: unknown) => {
  const text = typeof v === "string" ? v : JSON.stringify(v)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
const nestedExpected = {
  json: () =>
    JSON.stringify({
      columns: nestedNames.map((name, c) => ({ name, type: nestedTypes[c] })),
      rows: [nestedRow],
      rowCount: 1,
      truncated: false
    }),
  ndjson: () => `${JSON.stringify(Object.fromEntries(nestedNames.map((name, c) => [name, nestedRow[c]])))}\n`,
  csv: () => `${nestedNames.join(",")}\r\n${nestedRow.map(csvText).join(",")}\r\n`
}

describe("a huge value inside any type is encoded in slices", () => {
  it.each(formats)("%s: a huge string in a LIST, STRUCT, MAP and UNION, and a huge BIT", async (format) => {
    await encodedWithoutStalls(format, nestedSql, Buffer.from(nestedExpected[format](), "utf8"))
  }, 60_000)

  // Copied whole, a 300 MB VARCHAR held /health for 1.4 s in Arrow (0.2 s for this 48 MB one).
  it("arrow: a huge VARCHAR and a huge string in a LIST are copied in slices", async () => {
    const arrowSql = `SELECT repeat('"/a' || chr(10) || '€' || chr(1), ${2 * units}) AS v, [repeat('x', ${8 * units}), 'y'] AS l`
    await encodedWithoutStalls("arrow", arrowSql, (body) => {
      const table = tableFromIPC(body)
      expect(table.numRows).toBe(1)
      expect(table.getChild("v")!.get(0) === unit.repeat(2 * units)).toBe(true)
      const list = [...table.getChild("l")!.get(0)!]
      expect(list.length).toBe(2)
      expect(list[0] === "x".repeat(8 * units)).toBe(true)
      expect(list[1]).toBe("y")
    })
  }, 60_000)
})
