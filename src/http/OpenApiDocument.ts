import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { InvalidRequest, Unauthorized } from "../domain/Errors.js"
import { openApiPath, routeById, routeOfOperation } from "./Routes.js"

/**
 * The document HttpApi generates from the Api (src/http/Api.ts) and its schemas, errors included
 * (each error's `wire` schema, src/domain/Errors.ts), finished with what the Api cannot say: the
 * configured authentication, the framework's decode error as the contract's `invalid_request`, the
 * request-id and rate-limit headers, the query endpoint's other media types.
 */

type Json = Record<string, any>

/**
 * Node's HTTP parser refuses requests whose headers exceed its 16 KiB before any route runs, on every
 * path alike: a plain status, no body and no X-Request-ID.
 */
const headersTooLarge: Json = {
  description: "The request's headers exceed 16 KiB (answered by Node.js before routing, with no body)"
}

/** What of the configuration the document depends on. */
export interface DocumentOptions {
  readonly authentication: "api-key" | "jwt" | "none"
  readonly apiKeyHeader: string
  readonly metricsRequireAuth: boolean
}

export const defaultDocumentOptions: DocumentOptions = {
  authentication: "api-key",
  apiKeyHeader: "X-API-Key",
  metricsRequireAuth: false
}

const schemaRef = (name: string) => `#/components/schemas/${name}`
const refName = (ref: unknown): string | undefined =>
  typeof ref === "string" && ref.startsWith("#/components/schemas/") ? ref.slice(21) : undefined

const headers: Json = {
  RequestId: {
    description: "The client's X-Request-ID when it was 1–128 characters of [A-Za-z0-9._-], else a new id",
    schema: { type: "string", pattern: "^[A-Za-z0-9._-]{1,128}$" }
  },
  RetryAfter: {
    description: "Whole seconds (at least 1) before the client may try again",
    schema: { type: "integer", minimum: 1 }
  },
  ResultTruncated: {
    description: "`true` when query.max_rows cut the result (sent as a trailer once the result streams)",
    schema: { type: "string", enum: ["true"] }
  }
}

const requestIdParameter: Json = {
  name: "X-Request-ID",
  in: "header",
  required: false,
  description:
    "Kept and echoed when it is 1–128 characters of [A-Za-z0-9._-]; otherwise the server makes one",
  schema: { type: "string" },
  // Generated samples (the /docs page's among them) show this rather than an empty header.
  example: "my-request-0001"
}

const resultMediaTypes: Json = {
  "application/x-ndjson": {
    schema: { type: "string", description: "One JSON object per row, keyed by column name" }
  },
  "text/csv": { schema: { type: "string", description: "RFC 4180, header row first" } },
  "application/vnd.apache.arrow.stream": {
    schema: {
      type: "string",
      format: "binary",
      description: "Arrow IPC stream, one record batch per DuckDB chunk"
    }
  }
}

/** HttpApi declares its own decode error on every route; the server answers it as `invalid_request`. */
const decodeError = HttpApiDecodeError._tag
const invalidRequest = InvalidRequest._tag
const unauthorized = Unauthorized._tag

/** The error schema names a response offers (`$ref` or `anyOf` of them). */
const errorNames = (response: Json): Array<string> => {
  const schema = response.content?.["application/json"]?.schema
  const refs: Array<Json> = schema?.anyOf ?? (schema === undefined ? [] : [schema])
  return refs.map((entry) => refName(entry.$ref)).filter((name): name is string => name !== undefined)
}

/** What an error schema's body says it is: its `code` (or a probe's `status`). */
const codeOf = (schemas: Json, name: string): string => {
  const properties = schemas[name]?.properties
  return properties?.code?.enum?.[0] ?? properties?.status?.enum?.[0] ?? name
}

const errorResponse = (schemas: Json, names: ReadonlyArray<string>): Json => {
  const unique = [...new Set(names)]
  const schema =
    unique.length === 1
      ? { $ref: schemaRef(unique[0]!) }
      : { anyOf: unique.map((n) => ({ $ref: schemaRef(n) })) }
  return {
    description: unique.map((name) => `\`${codeOf(schemas, name)}\``).join(" or "),
    content: { "application/json": { schema } }
  }
}

/**
 * The error responses as this server gives them: the framework's decode error as `invalid_request`
 * where there is input to decode (HttpApi declares it on every route), `401` only where this
 * configuration asks for credentials; each response names its codes and carries X-Request-ID.
 */
const rewriteErrors = (operation: Json, schemas: Json, hasInput: boolean, authenticated: boolean): void => {
  const byStatus = new Map<string, Array<string>>()
  for (const [status, response] of Object.entries<Json>(operation.responses)) {
    if (status.startsWith("2")) continue
    const names = errorNames(response)
      .flatMap((name) => (name !== decodeError ? [name] : hasInput ? [invalidRequest] : []))
      .filter((name) => name !== unauthorized)
    delete operation.responses[status]
    if (names.length > 0) byStatus.set(status, names)
  }
  if (authenticated) byStatus.set("401", [unauthorized])
  for (const [status, names] of byStatus) operation.responses[status] = errorResponse(schemas, names)
  for (const [status, response] of Object.entries<Json>(operation.responses)) {
    response.headers = {
      ...response.headers,
      "X-Request-ID": { $ref: "#/components/headers/RequestId" },
      ...(status === "429" ? { "Retry-After": { $ref: "#/components/headers/RetryAfter" } } : {})
    }
  }
  operation.responses["431"] = headersTooLarge
}

const securityFor = (options: DocumentOptions): Array<Json> =>
  options.authentication === "none" ? [] : [{ [schemeName(options)]: [] }]

const schemeName = (options: DocumentOptions) => (options.authentication === "jwt" ? "bearer" : "apiKey")

const securitySchemes = (options: DocumentOptions): Json => {
  switch (options.authentication) {
    case "api-key":
      return {
        apiKey: {
          type: "apiKey",
          in: "header",
          name: options.apiKeyHeader,
          description: "One of the keys in API_KEY (security.authentication.api_key_header names the header)"
        }
      }
    case "jwt":
      return {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "HS256 with JWT_SECRET, or a key of security.authentication.jwt.jwks_url; `sub` is the caller"
        }
      }
    case "none":
      return {}
  }
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** A success body spelled out inline where a named component says the same (e.g. a 201 Instance). */
const useNamedSchemas = (operation: Json, schemas: Json): void => {
  for (const [status, response] of Object.entries<Json>(operation.responses)) {
    const media = response.content?.["application/json"]
    if (!status.startsWith("2") || media?.schema === undefined || media.schema.$ref !== undefined) continue
    const named = Object.entries<Json>(schemas).find(([, schema]) => sameJson(schema, media.schema))
    if (named !== undefined) media.schema = { $ref: schemaRef(named[0]) }
  }
}

/** Keeps only the components something in the paths refers to (directly or through other components). */
const dropUnreferenced = (spec: Json): void => {
  const schemas: Json = spec.components.schemas
  const reached = new Set<string>()
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit)
      return
    }
    if (typeof value !== "object" || value === null) return
    for (const [key, child] of Object.entries(value)) {
      const name = key === "$ref" ? refName(child) : undefined
      if (name !== undefined && !reached.has(name) && schemas[name] !== undefined) {
        reached.add(name)
        visit(schemas[name])
      } else visit(child)
    }
  }
  visit(spec.paths)
  for (const name of Object.keys(schemas)) if (!reached.has(name)) delete schemas[name]
}

export const transformOpenApi = (spec: Json, options: DocumentOptions = defaultDocumentOptions): Json => {
  const schemas: Json = spec.components.schemas
  spec.components = { ...spec.components, headers, securitySchemes: securitySchemes(options) }
  for (const [path, methods] of Object.entries<Json>(spec.paths)) {
    for (const [method, operation] of Object.entries<Json>(methods)) {
      const parameters: Array<Json> = operation.parameters
      const route = routeOfOperation(method, path)
      const asksCredentials =
        route?.access === "credentials" || (route?.access === "metrics" && options.metricsRequireAuth)
      const authenticated = options.authentication !== "none" && asksCredentials
      const hasInput = parameters.length > 0 || operation.requestBody !== undefined
      rewriteErrors(operation, schemas, hasInput, authenticated)
      useNamedSchemas(operation, schemas)
      operation.parameters = [...parameters, requestIdParameter]
      operation.security = authenticated ? securityFor(options) : []
      // A body that may be JSON null may also be left out (`POST /v1/instances` alone).
      const bodySchema = operation.requestBody?.content?.["application/json"]?.schema
      if (bodySchema?.anyOf?.some((entry: Json) => entry.type === "null"))
        operation.requestBody.required = false
    }
  }

  const query = spec.paths?.[openApiPath(routeById("query.query").path)]?.post
  const ok = query?.responses?.["200"]
  if (ok?.content !== undefined) {
    Object.assign(ok.content, resultMediaTypes)
    ok.headers["X-Result-Truncated"] = { $ref: "#/components/headers/ResultTruncated" }
  }
  dropUnreferenced(spec)
  return spec
}

/** The transform for a given configuration, for `OpenApi.Transform`. */
export const openApiTransform =
  (options: DocumentOptions) =>
  (spec: Json): Json =>
    transformOpenApi(spec, options)
