import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ReservedAliases } from "../domain/Config.js"
import type { ClientError } from "../domain/Errors.js"
import { openApiPath, routeById, routeOfOperation } from "./Routes.js"

/**
 * The generated document describes errors as the Effect classes they are in code, and every error
 * the Api declares globally on every endpoint. On the wire every error is `{"code","error","requestId"}`
 * and the gateway decides which of its own errors a route can give (probes are never limited nor
 * authenticated, bodies are only checked where there are bodies). This rewrites the document to say
 * what clients actually receive, and adds what the schemas cannot carry: the configured
 * authentication, the request-id and rate-limit headers, the query endpoint's other media types.
 */

type Json = Record<string, any>

/**
 * The project's package.json: its version and license are the document's. Found by walking up from
 * this module, which runs from src/http (tests), dist/http (tsc) or dist/ (the bundle).
 */
const packageJson = ((): { readonly version: string; readonly license: string } => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json")
    if (fs.existsSync(file)) {
      const parsed = JSON.parse(fs.readFileSync(file, "utf8"))
      if (parsed.name === "pondpilot-proxy") return parsed
    }
    if (path.dirname(dir) === dir) throw new Error("pondpilot-proxy's package.json not found")
  }
})()

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

export const errorCodes: Record<ClientError["_tag"] | "Internal", string> = {
  InvalidRequest: "invalid_request",
  SqlError: "sql_error",
  StatementTooLarge: "statement_too_large",
  Unauthorized: "unauthorized",
  ReadOnly: "read_only",
  ForbiddenStatement: "forbidden_statement",
  NotFound: "not_found",
  MethodNotAllowed: "method_not_allowed",
  NotAcceptable: "not_acceptable",
  AliasExists: "alias_exists",
  Cancelled: "cancelled",
  PayloadTooLarge: "payload_too_large",
  UnsupportedMediaType: "unsupported_media_type",
  RateLimited: "rate_limited",
  InstanceLimit: "instance_limit",
  UpstreamUnavailable: "upstream_unavailable",
  ExtensionUnavailable: "extension_unavailable",
  PoolExhausted: "pool_exhausted",
  ShuttingDown: "shutting_down",
  StoreUnavailable: "store_unavailable",
  QueryTimeout: "query_timeout",
  Internal: "internal"
}

const statusOfError: Record<string, string> = {
  InvalidRequest: "400",
  Unauthorized: "401",
  PayloadTooLarge: "413",
  UnsupportedMediaType: "415",
  RateLimited: "429",
  ShuttingDown: "503",
  Internal: "500"
}

const schemaRef = (name: string) => `#/components/schemas/${name}`
const refName = (ref: unknown): string | undefined =>
  typeof ref === "string" && ref.startsWith("#/components/schemas/") ? ref.slice(21) : undefined

const wireError = (code: string): Json => ({
  type: "object",
  required: ["code", "error", "requestId"],
  properties: {
    code: { type: "string", enum: [code] },
    error: { type: "string", description: "A human message; never secrets, stack traces or server paths" },
    requestId: { type: "string", description: "The request's id, also in the X-Request-ID header" }
  },
  additionalProperties: false
})

const notReady: Json = {
  type: "object",
  required: ["status", "error"],
  properties: {
    status: { type: "string", enum: ["not_ready"] },
    error: { type: "string", description: "Why: starting, shutting down, or which database is down" }
  },
  additionalProperties: false
}

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

const decodeErrorName = "HttpApiDecodeError"

/** The schema names an error response offers (`$ref` or `anyOf` of them), decode errors as InvalidRequest. */
const errorNames = (response: Json): Array<string> => {
  const schema = response.content?.["application/json"]?.schema
  const refs: Array<unknown> =
    schema?.$ref !== undefined ? [schema.$ref] : (schema?.anyOf ?? schema?.oneOf ?? [])
  return refs
    .map((entry) => refName(typeof entry === "string" ? entry : (entry as Json)?.$ref))
    .filter((name): name is string => name !== undefined)
    .map((name) => (name === decodeErrorName ? "InvalidRequest" : name))
}

const codeOf = (name: string): string =>
  name === "NotReady" ? "not_ready" : ((errorCodes as Json)[name] ?? name)

const errorResponse = (names: ReadonlyArray<string>): Json => {
  const unique = [...new Set(names)]
  const schema =
    unique.length === 1
      ? { $ref: schemaRef(unique[0]!) }
      : { anyOf: unique.map((n) => ({ $ref: schemaRef(n) })) }
  return {
    description: unique.map((name) => `\`${codeOf(name)}\``).join(" or "),
    content: { "application/json": { schema } }
  }
}

interface RouteFacts {
  readonly probe: boolean
  readonly authenticated: boolean
  readonly hasInput: boolean
  readonly hasBody: boolean
}

/** Which of the gateway's own errors a route can answer with. */
const gatewayErrors = (facts: RouteFacts): ReadonlyArray<string> => [
  ...(facts.hasInput ? ["InvalidRequest"] : []),
  ...(facts.authenticated ? ["Unauthorized"] : []),
  ...(facts.hasBody ? ["PayloadTooLarge", "UnsupportedMediaType"] : []),
  ...(facts.probe ? [] : ["RateLimited", "ShuttingDown"]),
  "Internal"
]

const isGatewayError = (name: string) => name in statusOfError

const rewriteResponses = (operation: Json, facts: RouteFacts): void => {
  const byStatus = new Map<string, Array<string>>()
  const responses: Json = {}
  for (const [status, response] of Object.entries<Json>(operation.responses ?? {})) {
    if (status.startsWith("2")) {
      responses[status] = response
      continue
    }
    // The Api's global errors are re-added below only where the gateway can give them.
    const own = errorNames(response).filter(
      (name) => !isGatewayError(name) || (facts.hasInput && name === "InvalidRequest")
    )
    if (own.length > 0) byStatus.set(status, own)
  }
  for (const name of gatewayErrors(facts)) {
    const status = statusOfError[name]!
    byStatus.set(status, [...(byStatus.get(status) ?? []), name])
  }
  for (const status of [...byStatus.keys()].sort()) {
    responses[status] = errorResponse(byStatus.get(status)!)
  }
  for (const [status, response] of Object.entries<Json>(responses)) {
    response.headers = {
      "X-Request-ID": { $ref: "#/components/headers/RequestId" },
      ...(status === "429" ? { "Retry-After": { $ref: "#/components/headers/RetryAfter" } } : {})
    }
  }
  operation.responses = responses
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

/** `[Mm][Ee][Mm]…`: JSON Schema patterns have no case-insensitive flag. */
const anyCase = (word: string): string =>
  [...word]
    .map((char) => (/[a-z]/i.test(char) ? `[${char.toUpperCase()}${char.toLowerCase()}]` : char))
    .join("")

/** Checks the schemas make with filters, which the generator cannot turn into JSON Schema by itself. */
const spellFilters = (schemas: Json): void => {
  const alias = schemas.AttachDatabase?.properties?.alias
  if (alias !== undefined) {
    alias.not = { pattern: `^(?:${[...ReservedAliases].map(anyCase).join("|")})$` }
    alias.description = `A DuckDB catalog name: ${alias.pattern}, not a reserved one (${[...ReservedAliases].join(", ")}, in any case)`
  }
  const memoryLimit = schemas.CreateInstance?.properties?.settings?.properties?.memoryLimit
  if (memoryLimit !== undefined)
    memoryLimit.description =
      "A size such as 512MB, 4GB (powers of 1000) or 1GiB (powers of 1024), capped by the server's duckdb.settings.memory_limit"
}

export const transformOpenApi = (spec: Json, options: DocumentOptions = defaultDocumentOptions): Json => {
  const schemas: Json = { ...spec.components?.schemas }
  for (const [tag, code] of Object.entries(errorCodes)) schemas[tag] = wireError(code)
  if (schemas.NotReady !== undefined) schemas.NotReady = notReady
  delete schemas[decodeErrorName]
  spellFilters(schemas)
  spec.components = { ...spec.components, schemas, headers, securitySchemes: securitySchemes(options) }
  spec.security = []
  spec.info = {
    ...spec.info,
    version: packageJson.version,
    // An SPDX expression is also the license's identifier; npm's "UNLICENSED" (no license granted) is not.
    license:
      packageJson.license === "UNLICENSED"
        ? { name: packageJson.license }
        : { name: packageJson.license, identifier: packageJson.license }
  }
  // Relative: the document describes the server that serves it, wherever it is reached.
  spec.servers = [{ url: "/", description: "The server that serves this document" }]

  for (const [path, methods] of Object.entries<Json>(spec.paths ?? {})) {
    for (const [method, operation] of Object.entries<Json>(methods)) {
      const parameters: Array<Json> = operation.parameters ?? []
      const route = routeOfOperation(method, path)
      const authenticated =
        options.authentication !== "none" &&
        (route?.access === "credentials" || (route?.access === "metrics" && options.metricsRequireAuth))
      const facts: RouteFacts = {
        probe: route?.probe === true,
        authenticated,
        hasInput: parameters.length > 0 || operation.requestBody !== undefined,
        hasBody: operation.requestBody !== undefined
      }
      rewriteResponses(operation, facts)
      operation.responses["431"] = headersTooLarge
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
