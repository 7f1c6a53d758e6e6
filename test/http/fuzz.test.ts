import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectHealthy } from "../support/Hostile.js"
import { apiKey, json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * Property: whatever body, query string and media type reach the query endpoint, the server answers
 * below 500, every 4xx is the contract's JSON error, and the server stays healthy. A few thousand
 * generated requests, on the shared instance (read-only), on an instance of one's own (read-write) and
 * on an instance that does not exist.
 */
let server: RunningServer
let ownInstance: string

beforeAll(async () => {
  server = await startServer(
    testSettings({
      server: { max_body_size: "64KB" },
      query: { timeout: "3s", max_query_length: 4_000, max_rows: 1_000 },
      duckdb: { settings: { threads: 1, memory_limit: "256MB" } }
    })
  )
  const created = await fetch(`${server.url}/v1/instances`, json({}))
  ownInstance = ((await created.json()) as { id: string }).id
})
afterAll(() => server.dispose())

const sqlTokens = [
  "SELECT",
  "FROM",
  "WHERE",
  "range(3)",
  "(",
  ")",
  ",",
  ";",
  "*",
  "1",
  "$1",
  "?",
  "$name",
  "'text'",
  "'",
  '"',
  '"id"',
  "--",
  "/*",
  "*/",
  "$$",
  "\u0000",
  "\n",
  "UNION ALL",
  "VALUES (1)",
  "CREATE TABLE t (a INTEGER)",
  "INSERT INTO t VALUES (1)",
  "DROP TABLE t",
  "ATTACH",
  "COPY",
  "PRAGMA",
  "SET",
  "read_text('/etc/passwd')",
  "current_setting('threads')",
  "EXPLAIN",
  "ANALYZE",
  "PIVOT",
  "WITH",
  "RECURSIVE",
  "AS",
  "x",
  "::INTEGER",
  "[1, 2]",
  "{'a': 1}",
  "lambda x: x",
  "->",
  "é",
  "😀",
  "\uFFFF"
]

const tokenSoup = fc.array(fc.constantFrom(...sqlTokens), { maxLength: 12 }).map((tokens) => tokens.join(" "))

const expressions = [
  "x",
  "1",
  "'a'",
  "NULL",
  "[1, NULL, 3]",
  "{'a': x, 'b': 'y'}",
  "map {'k': 1}",
  "x::VARCHAR",
  "1.5::DECIMAL(4,2)",
  "9007199254740993::BIGINT",
  "'nan'::DOUBLE",
  "'infinity'::FLOAT",
  "DATE '2024-02-29'",
  "TIMESTAMP '2024-01-01 12:00:00'",
  "INTERVAL 1 DAY",
  "'\\xAA'::BLOB",
  "uuid()",
  "random()",
  "length(repeat('x', 10))",
  "current_date",
  "list_transform([1, 2], y -> y * x)",
  "read_text('/etc/passwd')",
  "current_setting('threads')",
  "getenv('HOME')",
  "(SELECT count(*) FROM range(10))",
  "1 / 0",
  "'a' + 1"
]

/** SELECTs that mostly parse and bind, so that results, encoders and refusals are exercised too. */
const selects = fc
  .record({
    columns: fc.array(fc.constantFrom(...expressions), { minLength: 1, maxLength: 4 }),
    from: fc.constantFrom(
      "",
      " FROM range(5) t(x)",
      " FROM range(3) t(x), range(2) u(y)",
      " FROM pg_settings"
    ),
    where: fc.constantFrom("", " WHERE x > 1", " WHERE x IN (SELECT * FROM range(2))"),
    tail: fc.constantFrom("", " ORDER BY 1", " LIMIT 2", ";", "; SELECT 1", " -- c")
  })
  .map(({ columns, from, where, tail }) => {
    const needsX = columns.some((column) => /\bx\b/.test(column))
    const source = from === "" && needsX ? " FROM range(5) t(x)" : from
    return `SELECT ${columns.join(", ")}${source}${source === "" ? "" : where}${tail}`
  })

const sqlish = fc.oneof(tokenSoup, selects)
const anyText = fc.string({ unit: "binary", maxLength: 200 })
const paramValue = fc.jsonValue({ maxDepth: 3 })

const queryBody = fc.record(
  {
    query: fc.oneof(sqlish, anyText, paramValue),
    params: fc.oneof(
      fc.array(paramValue, { maxLength: 5 }),
      fc.dictionary(fc.string(), paramValue),
      paramValue
    )
  },
  { requiredKeys: [] }
)

const withExtraKeys = fc
  .tuple(queryBody, fc.dictionary(fc.constantFrom("__proto__", "constructor", "extra", "sql"), paramValue))
  .map(([body, extra]) => JSON.stringify({ ...extra, ...body }))

const invalidUtf8 = fc
  .uint8Array({ minLength: 1, maxLength: 64 })
  .map((bytes) => Buffer.concat([Buffer.from('{"query": "SELECT '), Buffer.from(bytes), Buffer.from('"}')]))

const body = fc.oneof(
  { arbitrary: queryBody.map((value) => JSON.stringify(value)), weight: 5 },
  { arbitrary: withExtraKeys, weight: 2 },
  { arbitrary: sqlish.map((query) => JSON.stringify({ query })), weight: 5 },
  { arbitrary: fc.json({ maxDepth: 4 }), weight: 2 },
  { arbitrary: anyText, weight: 2 },
  { arbitrary: invalidUtf8, weight: 1 },
  {
    arbitrary: fc.integer({ min: 1, max: 2_000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`),
    weight: 1
  }
)

const queryString = fc.oneof(
  fc.constant(""),
  fc.constantFrom("?format=json", "?format=csv", "?format=ndjson", "?format=arrow", "?format=xml"),
  fc.string({ maxLength: 40 }).map((text) => `?format=${encodeURIComponent(text)}`),
  fc
    .dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 4 })
    .map((entries) => `?${new URLSearchParams(entries).toString()}`)
)

const contentType = fc.oneof(
  { arbitrary: fc.constant("application/json"), weight: 8 },
  {
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "text/plain",
      "application/problem+json",
      "multipart/form-data",
      ""
    ),
    weight: 2
  }
)

const accept = fc.option(
  fc.constantFrom("*/*", "application/json", "text/csv", "application/xml", "text/*;q=0.1", "x;q=oops"),
  { nil: undefined }
)

const target = fc.constantFrom("default", "own", "inst_doesnotexist")

const expectContractAnswer = async (response: Response) => {
  const text = await response.text()
  expect(response.status, text.slice(0, 300)).toBeLessThan(500)
  expect(response.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9._-]{1,128}$/)
  if (response.status >= 400) {
    expect(response.headers.get("content-type")).toMatch(/^application\/json/)
    const payload = JSON.parse(text) as Record<string, unknown>
    expect(Object.keys(payload).sort()).toEqual(["code", "error", "requestId"])
    expect(payload.code).toMatch(/^[a-z_]+$/)
    expect(typeof payload.error).toBe("string")
    expect(payload.requestId).toBe(response.headers.get("x-request-id"))
  }
}

describe("the query endpoint under generated input", () => {
  it("answers every request below 500, with the contract's error body for every 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        target,
        body,
        queryString,
        contentType,
        accept,
        async (where, payload, search, type, acceptHeader) => {
          const instance = where === "own" ? ownInstance : where
          const response = await fetch(`${server.url}/v1/instances/${instance}/query${search}`, {
            method: "POST",
            headers: {
              "x-api-key": apiKey,
              ...(type === "" ? {} : { "content-type": type }),
              ...(acceptHeader === undefined ? {} : { accept: acceptHeader })
            },
            body: typeof payload === "string" ? payload : new Uint8Array(payload)
          })
          await expectContractAnswer(response)
        }
      ),
      { numRuns: 2_000 }
    )
    await expectHealthy(server.url)
  }, 300_000)

  it("answers every generated SQL text on both kinds of instance below 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("default", "own"), sqlish, async (where, query) => {
        const instance = where === "own" ? ownInstance : where
        await expectContractAnswer(
          await fetch(`${server.url}/v1/instances/${instance}/query`, json({ query }))
        )
      }),
      { numRuns: 1_000 }
    )
    await expectHealthy(server.url)
    const ok = await fetch(
      `${server.url}/v1/instances/${ownInstance}/query`,
      json({ query: "SELECT 42 AS n" })
    )
    expect(((await ok.json()) as { rows: unknown }).rows).toEqual([[42]])
  }, 300_000)
})
