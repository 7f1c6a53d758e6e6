import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { routerPath } from "../../src/http/Gateway.js"
import { rawExchange } from "../support/RawHttp.js"
import { apiKey, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * The router matches paths loosely (case, repeated and trailing slashes, `;` suffixes, percent
 * escapes); the gateway's decision to ask for credentials must match at least as loosely, or a
 * protected route is reachable under another spelling.
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
    expect([401, 404]).toContain(anonymous.status)
    expect(anonymous.body).not.toContain("pondpilot_")
  })

  it("is served with credentials", async () => {
    const response = await get("/api/v1/metrics", { "x-api-key": apiKey })
    expect(response.status).toBe(200)
    expect(response.body).toContain("pondpilot_")
  })
})

describe("/v1 under any spelling", () => {
  it.each(v1Spellings)("%s needs credentials, with the one 401 body", async (path) => {
    const anonymous = await get(path)
    expect([401, 404]).toContain(anonymous.status)
    if (anonymous.status === 401) {
      expect(JSON.parse(anonymous.body)).toMatchObject({
        code: "unauthorized",
        error: "Missing or invalid credentials"
      })
    }
  })
})

describe("routerPath", () => {
  it("folds what the router ignores, and keeps an encoded slash", () => {
    expect(routerPath("//API//v1/Metrics/;jsessionid=1")).toBe("/api/v1/metrics")
    expect(routerPath("/%61pi/v1/%6Detrics")).toBe("/api/v1/metrics")
    expect(routerPath("/api%2Fv1/metrics")).toBe("/api%2fv1/metrics")
    expect(routerPath("/")).toBe("/")
    expect(routerPath("/v1/instances/inst_AbC/query")).toBe("/v1/instances/inst_abc/query")
  })
})
