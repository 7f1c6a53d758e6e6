import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/**
 * Errors a client may see. Each class is one stable `code` of the contract (api.md) with its HTTP
 * status; the HTTP layer renders every one of them as `{"code","error","requestId"}`.
 */
const fields = { message: Schema.String }

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()(
  "InvalidRequest",
  fields,
  HttpApiSchema.annotations({ status: 400 })
) {
  readonly code = "invalid_request"
}
export class SqlError extends Schema.TaggedError<SqlError>()(
  "SqlError",
  fields,
  HttpApiSchema.annotations({ status: 400 })
) {
  readonly code = "sql_error"
}
/** A statement DuckDB would expand past what the server binds (PlanSize.ts): refused before binding. */
export class StatementTooLarge extends Schema.TaggedError<StatementTooLarge>()(
  "StatementTooLarge",
  fields,
  HttpApiSchema.annotations({ status: 400 })
) {
  readonly code = "statement_too_large"
}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  fields,
  HttpApiSchema.annotations({ status: 401 })
) {
  readonly code = "unauthorized"
}
export class ReadOnly extends Schema.TaggedError<ReadOnly>()(
  "ReadOnly",
  fields,
  HttpApiSchema.annotations({ status: 403 })
) {
  readonly code = "read_only"
}
export class ForbiddenStatement extends Schema.TaggedError<ForbiddenStatement>()(
  "ForbiddenStatement",
  fields,
  HttpApiSchema.annotations({ status: 403 })
) {
  readonly code = "forbidden_statement"
}
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  fields,
  HttpApiSchema.annotations({ status: 404 })
) {
  readonly code = "not_found"
}
/** A known path asked with a method it does not serve; `allow` lists the ones it does (`Allow`). */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()(
  "MethodNotAllowed",
  { ...fields, allow: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 405 })
) {
  readonly code = "method_not_allowed"
}
export class NotAcceptable extends Schema.TaggedError<NotAcceptable>()(
  "NotAcceptable",
  fields,
  HttpApiSchema.annotations({ status: 406 })
) {
  readonly code = "not_acceptable"
}
export class AliasExists extends Schema.TaggedError<AliasExists>()(
  "AliasExists",
  fields,
  HttpApiSchema.annotations({ status: 409 })
) {
  readonly code = "alias_exists"
}
export class Cancelled extends Schema.TaggedError<Cancelled>()(
  "Cancelled",
  fields,
  HttpApiSchema.annotations({ status: 409 })
) {
  readonly code = "cancelled"
}
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  fields,
  HttpApiSchema.annotations({ status: 413 })
) {
  readonly code = "payload_too_large"
}
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  fields,
  HttpApiSchema.annotations({ status: 415 })
) {
  readonly code = "unsupported_media_type"
}
export class RateLimited extends Schema.TaggedError<RateLimited>()(
  "RateLimited",
  { ...fields, retryAfterSeconds: Schema.Int },
  HttpApiSchema.annotations({ status: 429 })
) {
  readonly code = "rate_limited"
}
export class InstanceLimit extends Schema.TaggedError<InstanceLimit>()(
  "InstanceLimit",
  fields,
  HttpApiSchema.annotations({ status: 429 })
) {
  readonly code = "instance_limit"
}
export class UpstreamUnavailable extends Schema.TaggedError<UpstreamUnavailable>()(
  "UpstreamUnavailable",
  fields,
  HttpApiSchema.annotations({ status: 502 })
) {
  readonly code = "upstream_unavailable"
}
export class ExtensionUnavailable extends Schema.TaggedError<ExtensionUnavailable>()(
  "ExtensionUnavailable",
  fields,
  HttpApiSchema.annotations({ status: 503 })
) {
  readonly code = "extension_unavailable"
}
export class PoolExhausted extends Schema.TaggedError<PoolExhausted>()(
  "PoolExhausted",
  fields,
  HttpApiSchema.annotations({ status: 503 })
) {
  readonly code = "pool_exhausted"
}
export class ShuttingDown extends Schema.TaggedError<ShuttingDown>()(
  "ShuttingDown",
  fields,
  HttpApiSchema.annotations({ status: 503 })
) {
  readonly code = "shutting_down"
}
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()(
  "StoreUnavailable",
  fields,
  HttpApiSchema.annotations({ status: 503 })
) {
  readonly code = "store_unavailable"
}
export class QueryTimeout extends Schema.TaggedError<QueryTimeout>()(
  "QueryTimeout",
  fields,
  HttpApiSchema.annotations({ status: 504 })
) {
  readonly code = "query_timeout"
}
export class Internal extends Schema.TaggedError<Internal>()(
  "Internal",
  fields,
  HttpApiSchema.annotations({ status: 500 })
) {
  readonly code = "internal"
}

export type ClientError =
  | InvalidRequest
  | SqlError
  | StatementTooLarge
  | Unauthorized
  | ReadOnly
  | ForbiddenStatement
  | NotFound
  | MethodNotAllowed
  | NotAcceptable
  | AliasExists
  | Cancelled
  | PayloadTooLarge
  | UnsupportedMediaType
  | RateLimited
  | InstanceLimit
  | UpstreamUnavailable
  | ExtensionUnavailable
  | PoolExhausted
  | ShuttingDown
  | StoreUnavailable
  | QueryTimeout
  | Internal

const statusByTag: Record<ClientError["_tag"], number> = {
  InvalidRequest: 400,
  SqlError: 400,
  StatementTooLarge: 400,
  Unauthorized: 401,
  ReadOnly: 403,
  ForbiddenStatement: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AliasExists: 409,
  Cancelled: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  RateLimited: 429,
  InstanceLimit: 429,
  UpstreamUnavailable: 502,
  ExtensionUnavailable: 503,
  PoolExhausted: 503,
  ShuttingDown: 503,
  StoreUnavailable: 503,
  QueryTimeout: 504,
  Internal: 500
}

export const isClientError = (u: unknown): u is ClientError =>
  typeof u === "object" && u !== null && "_tag" in u && (u as { _tag: string })._tag in statusByTag

export const statusOf = (error: ClientError): number => statusByTag[error._tag]
