import { OpenApi } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Api } from "../../src/http/Api.js"
import { documentOptionsOf } from "../../src/http/ApiDocs.js"
import { openApiTransform } from "../../src/http/OpenApiDocument.js"
import { apiKey, json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"
import { type DocumentValidator, documentValidator, statusByCode } from "./openapiSchema.js"

/**
 * `/openapi.json` as the running server serves it: every route of api.md, the bodies the server
 * really sends and accepts (checked by validating live traffic against the document), the errors
 * as clients receive them, and the authentication this server is configured with.
 */

type Json = Record<string, any>

let server: RunningServer
let document: Json
let validator: DocumentValidator

beforeAll(async () => {
  server = await startServer()
  const response = await fetch(`${server.url}/openapi.json`)
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toMatch(/^application\/json/)
  document = (await response.json()) as Json
  validator = documentValidator(document)
})
afterAll(() => server.dispose())

const operations = (): Array<{ path: string; method: string; operation: Json }> =>
  Object.entries<Json>(document.paths).flatMap(([path, methods]) =>
    Object.entries<Json>(methods).map(([method, operation]) => ({ path, method, operation }))
  )

const schemaOf = (ref: string): Json => document.components.schemas[ref.replace("#/components/schemas/", "")]

/** The error codes a documented response offers. */
const codesOf = (response: Json): Array<string> => {
  const schema = response.content["application/json"].schema
  const refs: Array<string> = schema.$ref ? [schema.$ref] : schema.anyOf.map((entry: Json) => entry.$ref)
  return refs.map(
    (ref) => schemaOf(ref).properties.code?.enum?.[0] ?? schemaOf(ref).properties.status.enum[0]
  )
}

/** Node's own 431 (headers over 16 KiB) comes before routing: no body, no X-Request-ID. */
const beforeRouting = "431"

const errorTable = (operation: Json): Record<string, Array<string>> =>
  Object.fromEntries(
    Object.entries<Json>(operation.responses)
      .filter(([status]) => !status.startsWith("2") && status !== beforeRouting)
      .map(([status, response]) => [status, codesOf(response).sort()])
  )

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document of every route of api.md, and nothing else", () => {
    expect(document.openapi).toMatch(/^3\.1\./)
    expect(document.info.title).toBe("PondPilot Proxy")
    const routes = Object.fromEntries(
      Object.entries<Json>(document.paths).map(([path, methods]) => [path, Object.keys(methods).sort()])
    )
    expect(routes).toEqual({
      "/health": ["get"],
      "/ready": ["get"],
      "/v1/instances": ["get", "post"],
      "/v1/instances/{id}": ["delete", "get"],
      "/v1/instances/{id}/databases": ["get", "post"],
      "/v1/instances/{id}/databases/{alias}": ["delete"],
      "/v1/instances/{id}/catalog": ["get"],
      "/v1/instances/{id}/query": ["post"],
      "/v1/queries": ["get"],
      "/v1/queries/{id}": ["delete"],
      "/api/v1/metrics": ["get"]
    })
  })

  it("documents the query route: its body, the four result media types, format and truncation", () => {
    const query = document.paths["/v1/instances/{id}/query"].post
    expect(query.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/QueryRequest"
    })
    const ok = query.responses["200"]
    expect(Object.keys(ok.content).sort()).toEqual(
      ["application/json", "application/vnd.apache.arrow.stream", "application/x-ndjson", "text/csv"].sort()
    )
    expect(ok.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/QueryResult" })
    expect(Object.keys(ok.headers).sort()).toEqual(["X-Request-ID", "X-Result-Truncated"])
    const format = query.parameters.find((parameter: Json) => parameter.name === "format")
    expect(format).toMatchObject({ in: "query", required: false })
    expect(format.schema.enum).toEqual(["json", "ndjson", "csv", "arrow"])
    expect(query.parameters.find((parameter: Json) => parameter.name === "id")).toMatchObject({
      in: "path",
      required: true
    })
  })

  it("lists every error the query route can answer, by status", () => {
    expect(errorTable(document.paths["/v1/instances/{id}/query"].post)).toEqual({
      "400": ["invalid_request", "sql_error", "statement_too_large"],
      "401": ["unauthorized"],
      "403": ["forbidden_statement", "read_only"],
      "404": ["not_found"],
      "406": ["not_acceptable"],
      "409": ["cancelled"],
      "413": ["payload_too_large"],
      "415": ["unsupported_media_type"],
      "429": ["rate_limited"],
      "500": ["internal"],
      "502": ["upstream_unavailable"],
      "503": ["pool_exhausted", "shutting_down", "store_unavailable"],
      "504": ["query_timeout"]
    })
  })

  it("lists each code on every route that can answer it, and only there", () => {
    const gateway = { "429": ["rate_limited"], "500": ["internal"] }
    const signedIn = { ...gateway, "401": ["unauthorized"] }
    const body = { "413": ["payload_too_large"], "415": ["unsupported_media_type"] }
    const tables = Object.fromEntries(
      operations().map(({ path, method, operation }) => [
        `${method.toUpperCase()} ${path}`,
        errorTable(operation)
      ])
    )
    expect(tables).toEqual({
      // Probes are neither limited nor drained nor authenticated.
      "GET /health": { "500": ["internal"] },
      "GET /ready": { "500": ["internal"], "503": ["not_ready"] },
      "GET /api/v1/metrics": { ...gateway, "503": ["shutting_down"] },
      "POST /v1/instances": {
        ...signedIn,
        ...body,
        "400": ["invalid_request"],
        "429": ["instance_limit", "rate_limited"],
        "503": ["shutting_down", "store_unavailable"]
      },
      "GET /v1/instances": { ...signedIn, "503": ["shutting_down", "store_unavailable"] },
      "GET /v1/instances/{id}": {
        ...signedIn,
        "400": ["invalid_request"],
        "404": ["not_found"],
        "503": ["shutting_down", "store_unavailable"]
      },
      "DELETE /v1/instances/{id}": {
        ...signedIn,
        "400": ["invalid_request"],
        "403": ["forbidden_statement"],
        "404": ["not_found"],
        "503": ["shutting_down", "store_unavailable"]
      },
      "POST /v1/instances/{id}/databases": {
        ...signedIn,
        ...body,
        "400": ["invalid_request"],
        "403": ["forbidden_statement"],
        "404": ["not_found"],
        "409": ["alias_exists"],
        "502": ["upstream_unavailable"],
        "503": ["extension_unavailable", "shutting_down", "store_unavailable"]
      },
      "GET /v1/instances/{id}/databases": {
        ...signedIn,
        "400": ["invalid_request"],
        "404": ["not_found"],
        "503": ["shutting_down", "store_unavailable"]
      },
      "DELETE /v1/instances/{id}/databases/{alias}": {
        ...signedIn,
        "400": ["invalid_request"],
        "403": ["forbidden_statement"],
        "404": ["not_found"],
        "502": ["upstream_unavailable"],
        "503": ["extension_unavailable", "shutting_down", "store_unavailable"]
      },
      "GET /v1/instances/{id}/catalog": {
        ...signedIn,
        "400": ["invalid_request", "sql_error"],
        "403": ["forbidden_statement"],
        "404": ["not_found"],
        "502": ["upstream_unavailable"],
        "503": ["extension_unavailable", "pool_exhausted", "shutting_down", "store_unavailable"],
        "504": ["query_timeout"]
      },
      "POST /v1/instances/{id}/query": errorTable(document.paths["/v1/instances/{id}/query"].post),
      "GET /v1/queries": { ...signedIn, "503": ["shutting_down"] },
      "DELETE /v1/queries/{id}": {
        ...signedIn,
        "400": ["invalid_request"],
        "404": ["not_found"],
        "503": ["shutting_down"]
      }
    })
    // Every code of the error table is documented, but a path's own 405 (not any one operation's).
    const documented = new Set(Object.values(tables).flatMap((table) => Object.values(table).flat()))
    expect([...statusByCode.keys()].filter((code) => !documented.has(code))).toEqual(["method_not_allowed"])
  })

  it("describes every error as {code, error, requestId} with api.md's code for its status", () => {
    const text = JSON.stringify(document)
    expect(text).not.toContain("_tag")
    expect(text).not.toContain("HttpApiDecodeError")
    expect(text).not.toContain("retryAfterSeconds")
    for (const { path, method, operation } of operations()) {
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        if (status.startsWith("2") || status === beforeRouting) continue
        for (const code of codesOf(response)) {
          if (code === "not_ready") continue
          expect(statusByCode.get(code), `${method} ${path}: ${code}`).toBe(Number(status))
        }
      }
    }
    const errorSchemas = Object.entries<Json>(document.components.schemas).filter(
      ([, schema]) => schema.properties?.code !== undefined
    )
    expect(errorSchemas.length).toBeGreaterThanOrEqual(15)
    for (const [name, schema] of errorSchemas) {
      expect(schema.required, name).toEqual(["code", "error", "requestId"])
      expect(Object.keys(schema.properties).sort(), name).toEqual(["code", "error", "requestId"])
      expect(schema.additionalProperties, name).toBe(false)
    }
    expect(document.components.schemas.NotReady.properties.status.enum).toEqual(["not_ready"])
    // What only the framework's own error bodies needed is gone.
    expect(Object.keys(document.components.schemas)).not.toEqual(expect.arrayContaining(["Issue"]))
  })

  it("documents X-Request-ID on every response and request, Retry-After on every 429", () => {
    for (const { path, method, operation } of operations()) {
      expect(
        operation.parameters.find((parameter: Json) => parameter.name === "X-Request-ID"),
        `${method} ${path}`
      ).toMatchObject({ in: "header", required: false })
      expect(operation.responses[beforeRouting], `${method} ${path}`).toBeDefined()
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        if (status === beforeRouting) continue
        expect(response.headers?.["X-Request-ID"], `${method} ${path} ${status}`).toBeDefined()
        if (status === "429") expect(response.headers["Retry-After"], `${method} ${path}`).toBeDefined()
      }
    }
    expect(document.components.headers.RetryAfter.schema).toEqual({ type: "integer", minimum: 1 })
  })

  it("names the request and response schemas of the contract", () => {
    const { schemas } = document.components
    expect(schemas.QueryRequest).toMatchObject({
      type: "object",
      required: ["query"],
      additionalProperties: false
    })
    expect(Object.keys(schemas.QueryRequest.properties).sort()).toEqual(["params", "query"])
    expect(schemas.QueryResult.required.sort()).toEqual(["columns", "rowCount", "rows", "truncated"])
    expect(schemas.Instance.required.sort()).toEqual([
      "createdAt",
      "databases",
      "id",
      "lastUsedAt",
      "settings"
    ])
    expect(schemas.AttachDatabase.required.sort()).toEqual(["alias", "connectionString", "type"])
    expect(schemas.AttachDatabase.properties.type.enum).toEqual([
      "postgres",
      "postgresql",
      "mysql",
      "sqlite",
      "duckdb"
    ])
    expect(document.paths["/v1/instances"].post.responses["201"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/Instance"
    })
    // `POST /v1/instances` with no body at all is fine.
    expect(document.paths["/v1/instances"].post.requestBody.required).toBe(false)
    expect(Object.keys(document.paths["/api/v1/metrics"].get.responses["200"].content)).toEqual([
      "text/plain; version=0.0.4"
    ])
  })

  it("asks for the API key on /v1 routes only, in the configured header", () => {
    expect(document.components.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: "apiKey", in: "header", name: "X-API-Key" })
    })
    for (const { path, method, operation } of operations()) {
      expect(operation.security, `${method} ${path}`).toEqual(path.startsWith("/v1/") ? [{ apiKey: [] }] : [])
    }
  })
})

describe("the document agrees with the server", () => {
  const call = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init)

  /** Sends a request; its response must be one the document describes, body, media type and headers. */
  const exchange = async (method: string, template: string, path: string, init: RequestInit = {}) => {
    const response = await call(path, { method, ...init })
    const contentType = response.headers.get("content-type") ?? ""
    const text = await response.text()
    expect(response.headers.get("x-request-id"), `${method} ${path}`).toMatch(/^[A-Za-z0-9._-]{1,128}$/)
    if (response.status !== 204) {
      const body = contentType.startsWith("application/json") ? JSON.parse(text) : text
      expect(
        validator.checkResponse(method, template, response.status, contentType, body),
        `${method} ${path} → ${response.status} ${text.slice(0, 200)}`
      ).toEqual([])
    } else {
      expect(document.paths[template][method.toLowerCase()].responses["204"]).toBeDefined()
    }
    return { status: response.status, contentType, text }
  }

  it("every answer of a session validates against the documented response", async () => {
    const key = { "x-api-key": apiKey }
    await exchange("GET", "/health", "/health")
    await exchange("GET", "/ready", "/ready")
    const created = await exchange(
      "POST",
      "/v1/instances",
      "/v1/instances",
      json({ settings: { threads: 1 } })
    )
    expect(created.status).toBe(201)
    const id = JSON.parse(created.text).id as string
    await exchange("GET", "/v1/instances", "/v1/instances", { headers: key })
    await exchange("GET", "/v1/instances/{id}", `/v1/instances/${id}`, { headers: key })
    await exchange("GET", "/v1/instances/{id}", "/v1/instances/inst_missing", { headers: key })
    await exchange("GET", "/v1/instances/{id}/databases", `/v1/instances/${id}/databases`, { headers: key })
    await exchange("DELETE", "/v1/instances/{id}/databases/{alias}", `/v1/instances/${id}/databases/nope`, {
      headers: key
    })
    await exchange("GET", "/v1/instances/{id}/catalog", `/v1/instances/${id}/catalog`, { headers: key })
    await exchange("GET", "/v1/instances/{id}/catalog", "/v1/instances/inst_missing/catalog", {
      headers: key
    })
    const query = "/v1/instances/{id}/query"
    const ran = await exchange("POST", query, `/v1/instances/${id}/query`, json({ query: "SELECT 1 AS one" }))
    expect(ran.status).toBe(200)
    for (const format of ["ndjson", "csv", "arrow"]) {
      const result = await exchange(
        "POST",
        query,
        `/v1/instances/${id}/query?format=${format}`,
        json({ query: "SELECT 1" })
      )
      expect(result.status, format).toBe(200)
    }
    expect(
      (await exchange("POST", query, `/v1/instances/${id}/query`, json({ query: "SELEC 1" }))).status
    ).toBe(400)
    expect(
      (
        await exchange(
          "POST",
          query,
          "/v1/instances/default/query",
          json({ query: "CREATE TABLE t (a INT)" })
        )
      ).status
    ).toBe(403)
    expect(
      (
        await exchange("POST", query, `/v1/instances/${id}/query`, {
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "SELECT 1" })
        })
      ).status
    ).toBe(401)
    expect(
      (
        await exchange("POST", query, `/v1/instances/${id}/query`, {
          headers: { ...key, "content-type": "text/plain" },
          body: "SELECT 1"
        })
      ).status
    ).toBe(415)
    expect(
      (
        await exchange("POST", query, `/v1/instances/${id}/query`, {
          ...json({ query: "SELECT 1" }),
          headers: { ...key, "content-type": "application/json", accept: "image/png" }
        })
      ).status
    ).toBe(406)
    await exchange("GET", "/v1/queries", "/v1/queries", { headers: key })
    await exchange("DELETE", "/v1/queries/{id}", "/v1/queries/q_missing", { headers: key })
    await exchange("GET", "/api/v1/metrics", "/api/v1/metrics")
    expect(
      (await exchange("DELETE", "/v1/instances/{id}", `/v1/instances/${id}`, { headers: key })).status
    ).toBe(204)
  })

  /** The server's verdict on a body: 400 means its schema refused it. */
  const accepts = async (path: string, body: unknown) => (await call(path, json(body))).status !== 400

  it("the create-instance body: the document's schema is the one the server decodes with", async () => {
    const bodies: Array<unknown> = [
      {},
      null,
      { settings: {} },
      { settings: { threads: 2 } },
      { settings: { threads: 1024, memoryLimit: "512MB" } },
      { settings: { threads: 0 } },
      { settings: { threads: 1025 } },
      { settings: { threads: 1.5 } },
      { settings: { threads: "2" } },
      { settings: { cpu: 2 } },
      { setting: {} },
      [],
      "text"
    ]
    for (const body of bodies) {
      const documented = validator.checkRequest("post", "/v1/instances", body).length === 0
      const served = await accepts("/v1/instances", body)
      expect(served, JSON.stringify(body)).toBe(documented)
    }
    // The size check is a filter the JSON Schema cannot spell; the document leaves it to the server.
    expect(await accepts("/v1/instances", { settings: { memoryLimit: "lots" } })).toBe(false)
    const listed = (await (await call("/v1/instances", { headers: { "x-api-key": apiKey } })).json()) as Json
    for (const instance of listed.instances as Array<{ id: string }>) {
      if (instance.id !== "default")
        await call(`/v1/instances/${instance.id}`, { method: "DELETE", headers: { "x-api-key": apiKey } })
    }
  })

  it("the attach body and the query body are judged alike by the document and the server", async () => {
    const attach = [
      { type: "sqlite", alias: "files", connectionString: "/nowhere/a.sqlite" },
      { type: "oracle", alias: "o", connectionString: "x" },
      // Reserved catalog names, in any case; a name that merely starts like one is fine.
      { type: "postgres", alias: "memory", connectionString: "x" },
      { type: "postgres", alias: "Main", connectionString: "x" },
      { type: "sqlite", alias: "mainframe", connectionString: "/x" },
      { type: "sqlite", alias: "9lives", connectionString: "/x" },
      { type: "sqlite", alias: "a", connectionString: "" },
      { type: "sqlite", alias: "a" },
      { type: "sqlite", alias: "a", connectionString: "/x", readOnly: false }
    ]
    for (const body of attach) {
      const documented = validator.checkRequest("post", "/v1/instances/{id}/databases", body).length === 0
      expect(await accepts("/v1/instances/default/databases", body), JSON.stringify(body)).toBe(documented)
    }
    const queries: Array<unknown> = [
      { query: "SELECT 1" },
      { query: "SELECT $1", params: [1] },
      { query: "SELECT $a", params: { a: 1 } },
      { query: 1 },
      {},
      { query: "SELECT 1", params: "1" },
      { query: "SELECT 1", params: null },
      { query: "SELECT 1", timeout: 5 },
      []
    ]
    for (const body of queries) {
      const documented = validator.checkRequest("post", "/v1/instances/{id}/query", body).length === 0
      expect(await accepts("/v1/instances/default/query", body), JSON.stringify(body)).toBe(documented)
    }
  })
})

describe("the document follows the configuration", () => {
  it("names the configured API-key header, and asks for it on the metrics when they require auth", async () => {
    const custom = await startServer(
      testSettings({
        security: { authentication: { api_key_header: "X-Pondpilot-Key" } },
        metrics: { require_auth: true }
      })
    )
    try {
      const document = (await (await fetch(`${custom.url}/openapi.json`)).json()) as Json
      expect(document.components.securitySchemes.apiKey.name).toBe("X-Pondpilot-Key")
      expect(document.paths["/api/v1/metrics"].get.security).toEqual([{ apiKey: [] }])
      expect(Object.keys(document.paths["/api/v1/metrics"].get.responses)).toContain("401")
      // And the server takes the header the document names.
      const listed = await fetch(`${custom.url}/v1/instances`, { headers: { "X-Pondpilot-Key": apiKey } })
      expect(listed.status).toBe(200)
    } finally {
      await custom.dispose()
    }
  })

  it("documents a bearer token under jwt, and no scheme at all under none", () => {
    const documentFor = (config: Json, env: Record<string, string> = {}) =>
      OpenApi.fromApi(
        Api.annotate(OpenApi.Transform, openApiTransform(documentOptionsOf(testSettings(config, env))))
      )
    const jwt = documentFor({ security: { authentication: { type: "jwt" } } }, { JWT_SECRET: "s".repeat(32) })
    expect(Object.keys(jwt.components.securitySchemes)).toEqual(["bearer"])
    expect(jwt.paths["/v1/instances"]!.get!.security).toEqual([{ bearer: [] }])
    const open = documentFor({ security: { authentication: { type: "none" } } })
    expect(open.components.securitySchemes).toEqual({})
    expect(open.paths["/v1/instances"]!.get!.security).toEqual([])
    expect(Object.keys(open.paths["/v1/instances"]!.get!.responses)).not.toContain("401")
  })
})
