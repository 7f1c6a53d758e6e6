import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ReceivedSpan, startOtlpReceiver } from "../support/OtlpReceiver.js"
import { apiKey, authed, json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * Spans exported over OTLP/HTTP to a collector in this process. The server is stopped before the
 * checks: stopping flushes the batch of spans still queued.
 */
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>
let server: RunningServer
const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
const callerSpan = "00f067aa0ba902b7"
const unsampledTrace = "0af7651916cd43dd8448eb211c80319c"
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/
const answers: Record<string, Response> = {}

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  server = await startServer(
    testSettings({
      tracing: { enabled: true, endpoint: receiver.endpoint, service_name: "proxy-under-test" }
    })
  )
  const call = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init)
  const withParent = (init: RequestInit): RequestInit => ({
    ...init,
    headers: {
      ...(init.headers as Record<string, string>),
      traceparent: `00-${callerTrace}-${callerSpan}-01`
    }
  })
  answers.query = await call(
    "/v1/instances/default/query",
    withParent(json({ query: "SELECT 'needle_in_sql' AS x FROM range(3)" }))
  )
  await answers.query.text()
  answers.refused = await call(
    "/v1/instances/default/query",
    json({ query: "COPY (SELECT 1) TO '/tmp/x.csv'" })
  )
  await answers.refused.text()
  answers.unsampled = await call("/v1/instances/default/query", {
    ...json({ query: "SELECT 1" }),
    headers: {
      "content-type": "application/json",
      "x-api-key": apiKey,
      traceparent: `00-${unsampledTrace}-${callerSpan}-00`
    }
  })
  await answers.unsampled.text()
  answers.list = await call("/v1/instances", authed())
  await answers.list.text()
  answers.unauthorized = await call("/v1/instances", authed("wrong-key"))
  await answers.unauthorized.text()
  await server.dispose()
}, 60_000)

afterAll(() => receiver.close())

const requestSpans = () => receiver.spans.filter((span) => span.kind === 2)
const childrenOf = (parent: ReceivedSpan) =>
  receiver.spans.filter((span) => span.parentSpanId === parent.spanId)
const names = (spans: ReadonlyArray<ReceivedSpan>) => spans.map((span) => span.name).sort()
const requestSpan = (response: Response) => {
  const [, traceId, spanId] = traceparentPattern.exec(response.headers.get("traceparent") ?? "") ?? []
  const span = receiver.spans.find((candidate) => candidate.spanId === spanId)
  expect(span, "the response's traceparent names an exported span").toBeDefined()
  expect(span!.traceId).toBe(traceId)
  return span!
}

describe("traces over OTLP", () => {
  it("exports one server span per request, under the service's name", () => {
    expect(requestSpans()).toHaveLength(4) // of five: one was not sampled
    expect(new Set(receiver.spans.map((span) => span.service))).toEqual(new Set(["proxy-under-test"]))
  })

  it("continues the caller's W3C trace and returns the request span in traceparent", () => {
    const span = requestSpan(answers.query!)
    expect(span.traceId).toBe(callerTrace)
    expect(span.parentSpanId).toBe(callerSpan)
    expect(span.name).toBe("POST /v1/instances/{id}/query")
    // Without a caller's traceparent, a new trace starts.
    expect(requestSpan(answers.list!).traceId).not.toBe(callerTrace)
    expect(requestSpan(answers.list!).parentSpanId).toBeUndefined()
  })

  it("follows a caller's decision not to sample: the answer says so, and nothing is exported", () => {
    expect(answers.unsampled!.status).toBe(200)
    const [, traceId, , flags] =
      /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/.exec(
        answers.unsampled!.headers.get("traceparent") ?? ""
      ) ?? []
    expect([traceId, flags]).toEqual([unsampledTrace, "00"])
    expect(receiver.spans.filter((span) => span.traceId === unsampledTrace)).toEqual([])
  })

  it("nests authentication, pool acquire, the gate, DuckDB's execution and streaming under a query", () => {
    const span = requestSpan(answers.query!)
    const children = childrenOf(span)
    expect(names(children)).toEqual(["authenticate", "duckdb.execute", "gate", "pool.acquire", "stream"])
    const gate = children.find((child) => child.name === "gate")!
    expect(names(childrenOf(gate))).toEqual(["gate.decide", "gate.prepare"])
    // Every span of the request is in the caller's trace.
    const inTrace = receiver.spans.filter((candidate) => candidate.traceId === callerTrace)
    expect(inTrace.length).toBeGreaterThanOrEqual(8)
  })

  it("says the instance, statement type, rows and status, and never the query text or a key", () => {
    const span = requestSpan(answers.query!)
    expect(span.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/v1/instances/{id}/query",
      "http.response.status_code": 200,
      "pondpilot.instance_id": "default",
      "pondpilot.query_type": "SELECT",
      "pondpilot.rows": 3
    })
    expect(span.attributes).not.toHaveProperty("db.query.text")
    const everything = receiver.bodies.join("\n")
    expect(everything).not.toContain("needle_in_sql")
    expect(everything).not.toContain(apiKey)
    expect(everything).not.toContain("wrong-key")
  })

  it("marks a refused statement with its error code, and a client's error is not the server's", () => {
    const span = requestSpan(answers.refused!)
    expect(answers.refused!.status).toBe(403)
    expect(span.attributes["error.type"]).toBe("forbidden_statement")
    expect(span.status.code).not.toBe(2)
    const gate = childrenOf(span).find((child) => child.name === "gate")!
    expect(gate.status.code).toBe(2)
    expect(gate.attributes["error.type"]).toBe("forbidden_statement")
    expect(everythingAbout(span)).not.toContain("/tmp/x.csv")
  })

  it("traces other routes and refusals too, with the authentication span's outcome", () => {
    const list = requestSpan(answers.list!)
    expect(list.name).toBe("GET")
    expect(list.attributes["http.response.status_code"]).toBe(200)
    expect(names(childrenOf(list))).toContain("authenticate")
    const refused = requestSpan(answers.unauthorized!)
    expect(refused.attributes["http.response.status_code"]).toBe(401)
    const auth = childrenOf(refused).find((child) => child.name === "authenticate")!
    expect(auth.attributes["error.type"]).toBe("unauthorized")
  })
})

const everythingAbout = (span: ReceivedSpan) =>
  JSON.stringify(receiver.spans.filter((candidate) => candidate.traceId === span.traceId))

describe("tracing off (the default)", () => {
  it("adds no traceparent to responses", async () => {
    const plain = await startServer(testSettings())
    try {
      const response = await fetch(`${plain.url}/health`, {
        headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` }
      })
      expect(response.status).toBe(200)
      expect(response.headers.get("traceparent")).toBeNull()
    } finally {
      await plain.dispose()
    }
  })
})
