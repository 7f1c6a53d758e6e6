import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { allowedMethods, allRoutes, matchRoute, unmatchedLabel } from "../../src/http/Routes.js"
import { rawExchange } from "../support/RawHttp.js"
import { apiKey, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * The router matches paths loosely (case, repeated and trailing slashes, `;` suffixes, percent
 * escapes, a scheme and host before the path). The gateway decides credentials on its own match and
 * hands the router only the matched route's canonical path: no spelling reaches a protected route
 * without credentials, and every spelling of a route is served as that route.
 */
let server: RunningServer
let port: number

beforeAll(async () => {
  server = await startServer(testSettings({ metrics: { require_auth: true } }))
  port = Number(new URL(server.url).port)
})
afterAll(() => server.dispose())

/** Sends the path byte for byte (fetch would normalise it). */
const get = (path: string, headers: Record<string, string> = {}) =>
  rawExchange(port, [
    `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("")}\r\n`
  ])

const metricsSpellings = [
  "/api/v1/metrics",
  "//api/v1/metrics",
  "/api//v1/metrics",
  "/api/v1/metrics/",
  "/api/v1/metrics//",
  "/API/v1/metrics",
  "/api/v1/Metrics",
  "/api/v1/metrics;x",
  "/api/v1/%6detrics",
  "/%61pi/v1/metrics",
  "/api/v1/metrics?x=1"
]

const v1Spellings = ["//v1/instances", "/v1//instances", "/V1/instances", "/v1/instances/", "/%761/instances"]

describe("metrics with require_auth", () => {
  it.each(metricsSpellings)("%s needs credentials", async (path) => {
    const anonymous = await get(path)
    expect(anonymous.status).toBe(401)
    expect(anonymous.body).not.toContain("pondpilot_")
  })

  it.each(metricsSpellings)("%s is served as the metrics route with credentials", async (path) => {
    const response = await get(path, { "x-api-key": apiKey })
    expect(response.status).toBe(200)
    expect(response.body).toContain("pondpilot_")
  })
})

describe("/v1 under any spelling", () => {
  it.each(v1Spellings)("%s needs credentials, with the one 401 body", async (path) => {
    const anonymous = await get(path)
    expect(anonymous.status).toBe(401)
    expect(JSON.parse(anonymous.body)).toMatchObject({
      code: "unauthorized",
      error: "Missing or invalid credentials"
    })
  })
})

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  rawExchange(port, [
    `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${Object.entries(
      headers
    )
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("")}\r\n${body}`
  ])

describe("absolute-form request targets", () => {
  // The router drops a scheme and host before the path; the decision on credentials must too.
  it.each([
    "http://x/api/v1/metrics",
    "https://x//API/v1/metrics/",
    "http://x/v1/instances"
  ])("%s needs credentials", async (target) => {
    const anonymous = await get(target)
    expect(anonymous.status).toBe(401)
    expect(anonymous.body).not.toContain("pondpilot_")
  })

  it("is served as its route with credentials", async () => {
    const response = await get("http://x/api/v1/metrics", { "x-api-key": apiKey })
    expect(response.status).toBe(200)
    expect(response.body).toContain("pondpilot_")
  })
})

const querySpellings = [
  "/v1/instances/default/query",
  "//v1/instances/default/query",
  "/v1/instances//default/query",
  "/V1/Instances/default/QUERY",
  "/v1/instances/default/query/",
  "/v1/instances/default/query;x",
  "/v1/instances/%64efault/query",
  "/v1/instances/default/%71uery",
  "/v1/instances/default/query?format=json"
]

describe("the query route under any spelling", () => {
  it.each(querySpellings)("%s needs credentials", async (path) => {
    const anonymous = await post(path, '{"query":"SELECT 42 AS answer"}')
    expect(anonymous.status).toBe(401)
    expect(JSON.parse(anonymous.body)).toMatchObject({ code: "unauthorized" })
  })

  it.each(querySpellings)("%s runs the query with credentials", async (path) => {
    const response = await post(path, '{"query":"SELECT 42 AS answer"}', { "x-api-key": apiKey })
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toMatchObject({ rows: [[42]] })
  })

  it.each([
    "/v1/instances/%2e%2e/query",
    "/v1/instances/..%2Fdefault/query",
    "/v1/instances/default%2Fquery/query",
    "/v1/instances/de.fault/query",
    `/v1/instances/${"a".repeat(70)}/query`
  ])("%s names no instance: 401 without credentials, 404 with", async (path) => {
    expect((await post(path, '{"query":"SELECT 1"}')).status).toBe(401)
    const response = await post(path, '{"query":"SELECT 1"}', { "x-api-key": apiKey })
    expect(response.status).toBe(404)
    expect(JSON.parse(response.body)).toMatchObject({ code: "not_found" })
  })

  it("answers another method with 405 and the table's Allow, after credentials", async () => {
    expect((await get("/v1/instances/default/QUERY/")).status).toBe(401)
    const response = await get("/v1/instances/default/QUERY/", { "x-api-key": apiKey })
    expect(response.status).toBe(405)
    expect(response.headers.allow).toBe("POST")
  })
})

describe("paths no route takes", () => {
  it.each([
    "/v1/nothing",
    "/V1//nothing/",
    "/v1",
    "/v1/instances/a/b/c/d"
  ])("%s under /v1 asks for credentials first, then is not found", async (path) => {
    expect((await get(path)).status).toBe(401)
    const response = await get(path, { "x-api-key": apiKey })
    expect(response.status).toBe(404)
    expect(JSON.parse(response.body)).toMatchObject({ code: "not_found", error: "no such route" })
  })

  it.each(["/", "/etc/passwd", "/api%2Fv1/metrics", "/api/v1/other"])("%s is not found", async (path) => {
    const response = await get(path)
    expect(response.status).toBe(404)
    expect(response.body).not.toContain("pondpilot_")
  })
})

describe("probes", () => {
  it.each(["/health", "/HEALTH", "//health/", "/ready;x", "/%68ealth"])("%s is open", async (path) => {
    const response = await get(path)
    expect(response.status).toBe(200)
  })
})

describe("matchRoute", () => {
  const idOf = (method: string, path: string) => matchRoute(method, path).route?.id

  it("folds what the router ignores, and keeps an encoded slash", () => {
    expect(idOf("GET", "//API//v1/Metrics/;jsessionid=1")).toBe("metrics.metrics")
    expect(idOf("GET", "/%61pi/v1/%6Detrics")).toBe("metrics.metrics")
    expect(idOf("GET", "http://host/api/v1/metrics")).toBe("metrics.metrics")
    expect(idOf("GET", "/api%2Fv1/metrics")).toBeUndefined()
    expect(idOf("GET", "/")).toBeUndefined()
  })

  it("reads parameters with their case, decoded, one segment each", () => {
    const match = matchRoute("POST", "/V1/INSTANCES/inst_AbC/query")
    expect(match.route?.id).toBe("query.query")
    expect(match.segments[2]).toBe("inst_AbC")
    expect(matchRoute("POST", "/v1/instances/%2e%2e/query").segments[2]).toBe("..")
    expect(matchRoute("POST", "/v1/instances/a%2Fb/query").segments[2]).toBe("a%2Fb")
  })

  it("takes GET routes for HEAD, and lists the path's methods otherwise", () => {
    expect(idOf("HEAD", "/v1/instances")).toBe("instances.list")
    expect(matchRoute("PUT", "/v1/instances/x").allow).toEqual(["DELETE", "GET"])
    expect(allowedMethods("/v1/instances/x/query?format=csv")).toEqual(["POST"])
    expect(allowedMethods("/nowhere")).toEqual([])
  })

  it("asks for credentials on every /v1 path, matched or not, and on metrics as configured", () => {
    for (const route of allRoutes.filter((candidate) => candidate.path.startsWith("/v1/")))
      expect(route.access).toBe("credentials")
    expect(matchRoute("GET", "/v1/nothing").access).toBe("credentials")
    expect(matchRoute("POST", "/V1").access).toBe("credentials")
    expect(matchRoute("GET", "/api/v1/metrics").access).toBe("metrics")
    expect(matchRoute("GET", "/health").access).toBe("open")
    expect(matchRoute("GET", "/health").route?.probe).toBe(true)
    expect(matchRoute("GET", "/api/v1/other").access).toBe("open")
  })
})

describe("metric labels", () => {
  it.each([
    ["GET", "/health", "/health"],
    ["POST", "/v1/instances", "/v1/instances"],
    ["GET", "/v1/instances/inst_8f2k", "/v1/instances/:id"],
    ["DELETE", "/v1/instances/inst_8f2k/", "/v1/instances/:id"],
    ["POST", "/v1/instances/default/databases", "/v1/instances/:id/databases"],
    ["DELETE", "/v1/instances/inst_1/databases/sales", "/v1/instances/:id/databases/:alias"],
    ["GET", "/v1/instances/inst_1/catalog", "/v1/instances/:id/catalog"],
    ["POST", "/v1/instances/inst_1/query", "/v1/instances/:id/query"],
    ["POST", "//V1/instances/inst_1/query/", "/v1/instances/:id/query"],
    ["OPTIONS", "/v1/instances/inst_1/query", "/v1/instances/:id/query"],
    ["DELETE", "/v1/queries/q_42", "/v1/queries/:id"],
    ["HEAD", "/api/v1/metrics", "/api/v1/metrics"],
    ["GET", "/docs", "/docs"],
    ["GET", "/docs/scalar.js", "/docs"],
    ["GET", "/openapi.json", "/openapi.json"],
    ["GET", "/docs/assets/app.js", unmatchedLabel],
    ["GET", "/v1/instances/inst_1/query", unmatchedLabel], // wrong method
    ["POST", "/v1/instances//query", unmatchedLabel], // the empty id is no segment
    ["GET", "/v1/instances/a/b/c/d/e", unmatchedLabel],
    ["GET", "/etc/passwd", unmatchedLabel],
    ["GET", "/", unmatchedLabel]
  ])("%s %s → %s", (method, path, expected) => {
    expect(matchRoute(method, path).label).toBe(expected)
  })

  it("stay within the table's templates whatever clients send", () => {
    const labels = new Set<string>()
    const methods = ["GET", "POST", "DELETE", "PUT", "BREW", "OPTIONS", "HEAD"]
    for (let i = 0; i < 2_000; i++) {
      const id = `inst_${i.toString(36)}`
      for (const path of [
        `/v1/instances/${id}`,
        `/v1/instances/${id}/query`,
        `/v1/instances/${id}/databases/db${i}`,
        `/v1/queries/q_${i}`,
        `/random/${i}`,
        `/${"x".repeat(i % 50)}`,
        `/%${i.toString(16)}/${id}`
      ])
        labels.add(matchRoute(methods[i % methods.length]!, path).label)
    }
    const templates = new Set([...allRoutes.map((route) => route.label), unmatchedLabel])
    for (const label of labels) expect(templates).toContain(label)
  })
})
