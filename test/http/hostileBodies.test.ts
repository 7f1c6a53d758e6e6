import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { expectError, expectHealthy } from "../support/Hostile.js"
import { chunkedRequest, type RawResponse, rawExchange } from "../support/RawHttp.js"
import { apiKey, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * Malformed, oversized, slow and strange requests: each gets its 4xx with the contract's JSON body
 * (or, where node's HTTP parser refuses the request before the server sees it, node's own 4xx), never
 * a 500, and the server keeps serving. Limits here: body 1 MB, query 100,000 characters, 2 s to send a
 * whole request.
 */
const maxBodySize = 1_000_000
const maxQueryLength = 100_000
let server: RunningServer
let port: number

beforeAll(async () => {
  server = await startServer(
    testSettings({
      server: { max_body_size: "1MB", read_timeout: "2s" },
      query: { max_query_length: maxQueryLength }
    })
  )
  port = Number(new URL(server.url).port)
})
afterAll(() => server.dispose())

const queryPath = "/v1/instances/default/query"

const post = (body: string | Uint8Array, headers: Record<string, string> = {}, path = queryPath) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": apiKey, ...headers },
    body
  })

const postJson = (value: unknown, path = queryPath) => post(JSON.stringify(value), {}, path)

const rowsOf = async (response: Response) => {
  const text = await response.text()
  expect(response.status, text).toBe(200)
  return (JSON.parse(text) as { rows: Array<Array<unknown>> }).rows
}

/** A raw request's status line and, when the server could answer, the contract's body. */
const expectRawError = (response: RawResponse, status: number, code: string) => {
  expect(response.status, response.body).toBe(status)
  const payload = JSON.parse(response.body) as Record<string, unknown>
  expect(Object.keys(payload).sort()).toEqual(["code", "error", "requestId"])
  expect(payload.code).toBe(code)
}

const requestHead = (method: string, path: string, headers: Record<string, string | number>) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}\r\n`

afterEach(async () => {
  await expectHealthy(server.url)
})

describe("bodies that are not what the query endpoint reads", () => {
  it("not JSON → 400 invalid_request", async () => {
    for (const body of ["hello", "{bad", '{"query": "SELECT 1"', "{'query': 'SELECT 1'}", "\u0000", "[1,]"]) {
      await expectError(await post(body), 400, "invalid_request")
    }
  })

  it("JSON of the wrong shape or types → 400 invalid_request", async () => {
    const bodies: ReadonlyArray<unknown> = [
      42,
      "SELECT 1",
      null,
      true,
      [],
      ["SELECT 1"],
      {},
      { query: 42 },
      { query: null },
      { query: ["SELECT 1"] },
      { query: { text: "SELECT 1" } },
      { query: "SELECT 1", params: "1" },
      { query: "SELECT 1", params: 5 },
      { query: "SELECT 1", params: true },
      { query: "SELECT 1", extra: 1 },
      { sql: "SELECT 1" },
      { query: "SELECT $1", params: [{ nested: true }, 2] },
      { query: "SELECT $1::INTEGER", params: ["not a number"] },
      { query: "SELECT $1::INTEGER", params: [2 ** 60] },
      { query: "SELECT $1", params: [] }
    ]
    for (const body of bodies) {
      const payload = await expectError(await postJson(body), 400, "invalid_request")
      expect(payload.error.length).toBeLessThan(400)
    }
  })

  it("a query over query.max_query_length → 413; a body over server.max_body_size → 413", async () => {
    await expectError(
      await postJson({ query: `SELECT '${"x".repeat(maxQueryLength)}'` }),
      413,
      "payload_too_large"
    )
    await expectError(
      await postJson({ query: "SELECT 1", params: ["y".repeat(maxBodySize)] }),
      413,
      "payload_too_large"
    )
    // A huge string that fits both limits is just data.
    const big = "z".repeat(maxBodySize - 100)
    expect(await rowsOf(await postJson({ query: "SELECT length($1)", params: [big] }))).toEqual([
      [big.length]
    ])
  })

  it("a declared Content-Length over the limit is refused before the body is read", async () => {
    const response = await rawExchange(port, [
      requestHead("POST", queryPath, {
        "content-type": "application/json",
        "x-api-key": apiKey,
        "content-length": 50_000_000
      })
    ])
    expectRawError(response, 413, "payload_too_large")
  })

  it("a chunked body without Content-Length is cut at the limit", async () => {
    const chunk = `"${"a".repeat(16_000)}",`
    const chunks = ['{"query": "SELECT 1", "params": [', ...Array<string>(70).fill(chunk), '"end"]}']
    const response = await chunkedRequest(
      server.url,
      queryPath,
      { "content-type": "application/json", "x-api-key": apiKey },
      chunks
    ).catch((error: unknown) => ({ status: 0, body: String(error), headers: {} }))
    // Either the 413 arrives, or the server cut the connection while the client was still writing.
    if (response.status !== 0) {
      expect(response.status).toBe(413)
      expect(JSON.parse(response.body)).toMatchObject({ code: "payload_too_large" })
    }
    const small = await chunkedRequest(
      server.url,
      queryPath,
      { "content-type": "application/json", "x-api-key": apiKey },
      ['{"query": ', '"SELECT 7"}']
    )
    expect(small.status).toBe(200)
    expect(JSON.parse(small.body)).toMatchObject({ rows: [[7]] })
  })

  it("deeply nested JSON (100,000 arrays) → 400, as a body and as a parameter", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`
    const deepObject = `${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`
    for (const body of [
      deep,
      `{"query": "SELECT $1", "params": [${deep}]}`,
      `{"query": "SELECT $x", "params": {"x": ${deep}}}`,
      `{"query": "SELECT $1", "params": [${deepObject}]}`
    ]) {
      const payload = await expectError(await post(body), 400, "invalid_request")
      // The message names where the problem is, not the whole path down.
      expect(payload.error.length).toBeLessThan(1_000)
    }
    // The HttpApi routes too: the framework's schema errors recurse through the value they reject.
    await expectError(await post(deep, {}, "/v1/instances"), 400, "invalid_request")
    await expectError(
      await post(
        `{"type": "duckdb", "alias": "a", "connectionString": ${deep}}`,
        {},
        "/v1/instances/default/databases"
      ),
      400,
      "invalid_request"
    )
  })

  it("NUL bytes: refused in SQL, kept as data in parameters", async () => {
    const payload = await expectError(
      await postJson({ query: "SELECT 1 AS a\u0000; SELECT current_setting('threads')" }),
      400,
      "invalid_request"
    )
    expect(payload.error).toContain("NUL")
    await expectError(await postJson({ query: "\u0000" }), 400, "invalid_request")
    const rows = await rowsOf(await postJson({ query: "SELECT length($1) AS n", params: ["a\u0000b"] }))
    expect(rows).toEqual([[3]])
  })

  it("__proto__ and constructor keys pollute nothing", async () => {
    const refused = [
      '{"query": "SELECT 1", "__proto__": {"polluted": true}}',
      '{"__proto__": {"query": "SELECT 1"}}',
      '{"query": "SELECT 1", "constructor": {"prototype": {"polluted": true}}}',
      '{"query": "SELECT $x", "params": {"__proto__": {"polluted": true}}}'
    ]
    for (const body of refused) await expectError(await post(body), 400, "invalid_request")
    // As names of data (a parameter, a struct field) they are data like any other name.
    const named = await post('{"query": "SELECT $constructor AS c", "params": {"constructor": 5}}')
    expect(await rowsOf(named)).toEqual([[5]])
    const struct = await post('{"query": "SELECT $1 AS s", "params": [{"__proto__": {"polluted": true}}]}')
    const text = await struct.text()
    expect(struct.status, text).toBe(200)
    expect(text).toContain('"rows":[[{"__proto__":{"polluted":true}}]]')
    const created = await post('{"__proto__": {"settings": {"threads": 64}}}', {}, "/v1/instances")
    expect([201, 400]).toContain(created.status)
    if (created.status === 201) {
      const { id } = (await created.json()) as { id: string }
      await fetch(`${server.url}/v1/instances/${id}`, { method: "DELETE", headers: { "x-api-key": apiKey } })
    } else await created.body?.cancel()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty("polluted")
  })

  it("10,000 parameters: bound when the query has them, refused when it does not", async () => {
    const count = 10_000
    const values = Array.from({ length: count }, (_, index) => index)
    const sql = `SELECT list_sum([${values.map((index) => `$${index + 1}`).join(",")}]) AS total`
    const total = (count * (count - 1)) / 2
    expect(await rowsOf(await postJson({ query: sql, params: values }))).toEqual([[total]])
    const payload = await expectError(
      await postJson({ query: "SELECT 1", params: values }),
      400,
      "invalid_request"
    )
    expect(payload.error).toContain("10000")
    const named = Object.fromEntries(values.map((index) => [`p${index}`, index]))
    await expectError(await postJson({ query: "SELECT $p0", params: named }), 400, "invalid_request")
  })

  it("wrong media types → 415", async () => {
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "json",
      "application/xml"
    ]) {
      await expectError(
        await post('{"query": "SELECT 1"}', { "content-type": type }),
        415,
        "unsupported_media_type"
      )
    }
    const untyped = await fetch(`${server.url}${queryPath}`, {
      method: "POST",
      headers: { "x-api-key": apiKey },
      body: new Uint8Array(Buffer.from('{"query": "SELECT 1"}'))
    })
    await expectError(untyped, 415, "unsupported_media_type")
    // Parameters on the JSON media type and +json suffixes are JSON.
    expect(
      (await post('{"query": "SELECT 1"}', { "content-type": "application/json; charset=utf-8" })).status
    ).toBe(200)
  })

  it("invalid UTF-8 → 400 invalid_request, never silently replaced", async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"query": "SELECT $1 AS s", "params": ["'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from('"]}')
    ])
    await expectError(await post(new Uint8Array(bytes)), 400, "invalid_request")
    const inSql = Buffer.concat([
      Buffer.from('{"query": "SELECT \''),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from("'\"}")
    ])
    await expectError(await post(new Uint8Array(inSql)), 400, "invalid_request")
    // A BOM-free, valid multi-byte body is fine.
    expect(await rowsOf(await postJson({ query: "SELECT $1 AS s", params: ["żółw 🐢"] }))).toEqual([
      ["żółw 🐢"]
    ])
  })
})

describe("slow clients", () => {
  it("a body that never comes is cut at server.read_timeout, and others are served meanwhile", async () => {
    const slow = rawExchange(
      port,
      [
        requestHead("POST", queryPath, {
          "content-type": "application/json",
          "x-api-key": apiKey,
          "content-length": 100
        }),
        '{"query": '
      ],
      10_000
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (let index = 0; index < 5; index++) {
      expect(await rowsOf(await postJson({ query: `SELECT ${index} AS i` }))).toEqual([[index]])
    }
    const response = await slow
    expect(response.closedByServer).toBe(true)
    expect(response.elapsedMs).toBeLessThan(6_000)
    // node answers 408 when it times the request out; the connection is closed either way.
    if (response.status !== 0) expect(response.status).toBe(408)
  })

  it("headers that never end are cut too", async () => {
    const response = await rawExchange(port, [`GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a`, 5_000], 10_000)
    expect(response.closedByServer).toBe(true)
    expect(response.elapsedMs).toBeLessThan(7_000)
    if (response.status !== 0) expect(response.status).toBe(408)
  })
})

describe("methods, URLs and headers", () => {
  it("other methods on known routes → 4xx with the contract's body", async () => {
    for (const [method, path] of [
      ["PUT", queryPath],
      ["PATCH", queryPath],
      ["GET", queryPath],
      ["DELETE", queryPath],
      ["PUT", "/v1/instances"],
      ["PATCH", "/v1/instances/default"],
      ["POST", "/v1/instances/default"],
      ["PUT", "/v1/queries"],
      ["POST", "/health"],
      ["OPTIONS", queryPath]
    ] as const) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { "x-api-key": apiKey, "content-type": "application/json" },
        ...(method === "GET" || method === "OPTIONS" || method === "DELETE" ? {} : { body: "{}" })
      })
      expect(response.status, `${method} ${path}`).toBeGreaterThanOrEqual(400)
      expect(response.status, `${method} ${path}`).toBeLessThan(500)
      const payload = (await response.json()) as Record<string, unknown>
      expect(Object.keys(payload).sort()).toEqual(["code", "error", "requestId"])
    }
    for (const method of ["TRACE", "PROPFIND", "BREW"]) {
      const response = await rawExchange(port, [
        requestHead(method, "/v1/instances", { "x-api-key": apiKey, connection: "close" })
      ])
      expect(response.status, method).toBeGreaterThanOrEqual(400)
      expect(response.status, method).toBeLessThan(500)
    }
  })

  it("strange paths → 404 not_found (405 where the shape is the query route's, asked with GET)", async () => {
    for (const path of ["/v1/instances/%ZZ/query", "/v1/instances/..%2f..%2fetc%2fpasswd/query"]) {
      const response = await fetch(`${server.url}${path}`, { headers: { "x-api-key": apiKey } })
      expect(response.status, path).toBe(405)
      expect(response.headers.get("allow")).toBe("POST")
    }
    for (const path of [
      "/v1/instances/default/query/extra",
      "/v1/instances/%00",
      `/v1/instances/${"a".repeat(5_000)}`,
      "/v1/instances/😀",
      "/%2e%2e/%2e%2e/etc/passwd"
    ]) {
      const response = await fetch(`${server.url}${path}`, {
        headers: { "x-api-key": apiKey }
      })
      expect(response.status, path).toBe(404)
      const payload = (await response.json()) as Record<string, unknown>
      expect(payload.code).toBe("not_found")
    }
    await expectError(
      await post('{"query": "SELECT 1"}', {}, "/v1/instances/..%2fdefault/query"),
      404,
      "not_found"
    )
  })

  it("strange query strings: unknown format → 400, junk is ignored", async () => {
    await expectError(
      await post('{"query": "SELECT 1"}', {}, `${queryPath}?format=%00`),
      400,
      "invalid_request"
    )
    await expectError(
      await post('{"query": "SELECT 1"}', {}, `${queryPath}?format=${"x".repeat(3000)}`),
      400,
      "invalid_request"
    )
    expect((await post('{"query": "SELECT 1"}', {}, `${queryPath}?a=%ZZ&&==&format=json`)).status).toBe(200)
  })

  it("headers too large for node → 431 before the server sees them", async () => {
    const response = await rawExchange(port, [
      requestHead("GET", "/v1/instances", { "x-api-key": apiKey, "x-padding": "p".repeat(20_000) })
    ])
    expect(response.status).toBe(431)
    const longUrl = await rawExchange(port, [requestHead("GET", `/v1/${"u".repeat(20_000)}`, {})])
    expect(longUrl.status).toBe(431)
  })

  it("odd header values: ignored or refused, never a 500", async () => {
    const cases: ReadonlyArray<[Record<string, string>, ReadonlyArray<number>]> = [
      [{ "x-request-id": "r".repeat(5_000) }, [200]],
      [{ "x-request-id": "../../etc/passwd" }, [200]],
      // Unparsable weights: refused as unacceptable or ignored; either way not a 500.
      [{ accept: "*/*;q=abc, text/csv;q=NaN" }, [200, 406]],
      [{ accept: "application/xml" }, [406]],
      [{ "x-api-key": "k".repeat(8_000) }, [401]],
      [{ "x-forwarded-for": `${"1.2.3.4, ".repeat(500)}5.6.7.8` }, [200]],
      [{ "content-type": "application/json; charset=\u00ff" }, [200]]
    ]
    for (const [headers, statuses] of cases) {
      const response = await fetch(`${server.url}${queryPath}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": apiKey, ...headers },
        body: '{"query": "SELECT 1 AS one"}'
      })
      expect(statuses, JSON.stringify(headers).slice(0, 80)).toContain(response.status)
      expect(response.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9._-]{1,128}$/)
      await response.body?.cancel()
    }
  })

  it("a request line node cannot parse → 400 from node, and the server goes on", async () => {
    const response = await rawExchange(port, ["GARBAGE\r\n\r\n"])
    expect(response.status).toBe(400)
    const noVersion = await rawExchange(port, ["GET /health\r\n\r\n"])
    expect(noVersion.status).toBeLessThan(500)
  })
})
