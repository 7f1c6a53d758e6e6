import { type ClientError, InvalidRequest } from "../domain/Errors.js"

/**
 * The generated document describes errors as the Effect classes they are in code; on the wire every
 * one of them is `{"code","error","requestId"}` (the gateway and the error middleware render them).
 * This rewrites the document to say what clients actually receive, and adds what the schemas cannot
 * carry: the API-key scheme and the query endpoint's other result media types.
 */

type Json = Record<string, any>

const errorCodes: Record<ClientError["_tag"], string> = {
  InvalidRequest: "invalid_request",
  SqlError: "sql_error",
  Unauthorized: "unauthorized",
  ReadOnly: "read_only",
  ForbiddenStatement: "forbidden_statement",
  NotFound: "not_found",
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

const wireError = (code: string): Json => ({
  type: "object",
  required: ["code", "error", "requestId"],
  properties: {
    code: { type: "string", enum: [code] },
    error: { type: "string", description: "A human message; never secrets, stack traces or server paths" },
    requestId: { type: "string", description: "Also in the X-Request-ID header" }
  },
  additionalProperties: false
})

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

export const transformOpenApi = (spec: Json): Json => {
  const schemas: Json = spec.components?.schemas ?? {}
  for (const [tag, code] of Object.entries(errorCodes)) {
    if (schemas[tag] !== undefined) schemas[tag] = wireError(code)
  }
  if (schemas.NotReady !== undefined) {
    schemas.NotReady = {
      type: "object",
      required: ["status", "error"],
      properties: { status: { type: "string", enum: ["not_ready"] }, error: { type: "string" } }
    }
  }
  // Schema violations reach clients as `invalid_request`, never as the framework's own body.
  delete schemas[decodeErrorName]
  const decodeRef = `#/components/schemas/${decodeErrorName}`
  const invalidRef = `#/components/schemas/${InvalidRequest.name}`
  for (const methods of Object.values<Json>(spec.paths ?? {})) {
    for (const operation of Object.values<Json>(methods)) {
      for (const response of Object.values<Json>(operation.responses ?? {})) {
        const schema = response.content?.["application/json"]?.schema
        for (const key of ["anyOf", "oneOf"]) {
          const list = schema?.[key]
          if (!Array.isArray(list)) continue
          const refs = list.map((entry: Json) => (entry?.$ref === decodeRef ? invalidRef : entry?.$ref))
          schema[key] = list
            .map((entry: Json) => (entry?.$ref === decodeRef ? { $ref: invalidRef } : entry))
            .filter((entry: Json, i: number) => entry.$ref === undefined || refs.indexOf(entry.$ref) === i)
        }
        if (schema?.$ref === decodeRef) schema.$ref = invalidRef
      }
    }
  }
  const query = spec.paths?.["/v1/instances/{id}/query"]?.post
  if (query?.responses?.["200"]?.content !== undefined)
    Object.assign(query.responses["200"].content, resultMediaTypes)
  spec.components = { ...spec.components, schemas }
  spec.components.securitySchemes = {
    ...spec.components.securitySchemes,
    apiKey: {
      type: "apiKey",
      in: "header",
      name: "X-API-Key",
      description: "security.authentication.api_key_header"
    },
    bearer: {
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
      description: "with security.authentication.type: jwt"
    }
  }
  for (const [path, methods] of Object.entries<Json>(spec.paths ?? {})) {
    if (!path.startsWith("/v1/")) continue
    for (const operation of Object.values<Json>(methods))
      operation.security = [{ apiKey: [] }, { bearer: [] }]
  }
  return spec
}
