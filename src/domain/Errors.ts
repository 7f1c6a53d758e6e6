import { HttpApiSchema } from "@effect/platform"
import { type Cause, ParseResult, Schema } from "effect"

/**
 * Errors a client may see. Each class below is one row of the contract's error table (api.md): its
 * `code`, its HTTP status and its wire body, declared once in the `clientError(…)` call that makes
 * it. The status lookup, the code lists, the OpenAPI error responses (through `wire`) and the body
 * the HTTP layer writes (`{"code","error","requestId"}`, Responses.ts) are all derived from it.
 */

/** The one error body of the contract. */
export const errorWire = <Code extends string>(code: Code) =>
  Schema.Struct({
    code: Schema.Literal(code),
    error: Schema.String.annotations({
      description: "A human message; never secrets, stack traces or server paths"
    }),
    requestId: Schema.String.annotations({ description: "The request's id, also in the X-Request-ID header" })
  })

/**
 * `ErrorClass` as its wire body, for the Api's contract and document: decoding and encoding go through
 * the HTTP layer's own writer (it adds the request id), never through this schema.
 */
export const wireOf = <Self, Encoded, Tag extends string>(
  wire: Schema.Schema<Encoded>,
  ErrorClass: new (...args: ReadonlyArray<any>) => Self,
  tag: Tag,
  status: number
): Schema.Schema<Self, Encoded> =>
  Schema.transformOrFail(wire, Schema.instanceOf(ErrorClass), {
    strict: true,
    decode: (body, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, body, "written by the server")),
    encode: (error, _, ast) =>
      ParseResult.fail(new ParseResult.Forbidden(ast, error, "written by the server"))
  }).annotations(HttpApiSchema.annotations({ identifier: tag, status }))

const messageField = { message: Schema.String }

type Wire<Code extends string> = Schema.Schema.Encoded<ReturnType<typeof errorWire<Code>>>

/** A client error's class: a tagged error whose instances and class carry its code and status. */
type ClientErrorClass<
  Self,
  Tag extends string,
  Code extends string,
  Fields extends Schema.Struct.Fields
> = Schema.Class<
  Self,
  { readonly _tag: Schema.tag<Tag> } & typeof messageField & Fields,
  Schema.Struct.Encoded<{ readonly _tag: Schema.tag<Tag> } & typeof messageField & Fields>,
  Schema.Struct.Context<Fields>,
  Schema.Struct.Constructor<typeof messageField & Fields>,
  Cause.YieldableError & { readonly code: Code; readonly status: number },
  {}
> & {
  readonly _tag: Tag
  readonly code: Code
  readonly status: number
  /** The error as the Api declares it: its status and its wire body. */
  readonly wire: Schema.Schema<Self, Wire<Code>>
}

/**
 * Makes the class of one client error: a tagged error with a `message` (and `fields`), its `code`
 * and `status` the contract's, its `wire` schema what the Api declares.
 */
const clientError =
  <Self>() =>
  <const Tag extends string, const Code extends string, Fields extends Schema.Struct.Fields = {}>(
    tag: Tag,
    code: Code,
    status: number,
    fields?: Fields
  ): ClientErrorClass<Self, Tag, Code, Fields> => {
    const Base = Schema.TaggedError<{}>()(tag, { ...messageField, ...fields }) as unknown as new (
      props: object
    ) => object
    class ClientErrorClass extends Base {
      readonly code = code
      static readonly code = code
      static readonly status = status
      /** On the prototype, so that the error's own fields stay its message, fields and code. */
      get status(): number {
        return status
      }
      static readonly wire = wireOf(errorWire(code), ClientErrorClass, tag, status)
    }
    return ClientErrorClass as never
  }

export class InvalidRequest extends clientError<InvalidRequest>()("InvalidRequest", "invalid_request", 400) {}
export class SqlError extends clientError<SqlError>()("SqlError", "sql_error", 400) {}
/** A statement DuckDB would expand past what the server binds (PlanSize.ts): refused before binding. */
export class StatementTooLarge extends clientError<StatementTooLarge>()(
  "StatementTooLarge",
  "statement_too_large",
  400
) {}
export class Unauthorized extends clientError<Unauthorized>()("Unauthorized", "unauthorized", 401) {}
export class ReadOnly extends clientError<ReadOnly>()("ReadOnly", "read_only", 403) {}
export class ForbiddenStatement extends clientError<ForbiddenStatement>()(
  "ForbiddenStatement",
  "forbidden_statement",
  403
) {}
export class NotFound extends clientError<NotFound>()("NotFound", "not_found", 404) {}
/** A known path asked with a method it does not serve; `allow` lists the ones it does (`Allow`). */
export class MethodNotAllowed extends clientError<MethodNotAllowed>()(
  "MethodNotAllowed",
  "method_not_allowed",
  405,
  { allow: Schema.Array(Schema.String) }
) {}
export class NotAcceptable extends clientError<NotAcceptable>()("NotAcceptable", "not_acceptable", 406) {}
export class AliasExists extends clientError<AliasExists>()("AliasExists", "alias_exists", 409) {}
export class Cancelled extends clientError<Cancelled>()("Cancelled", "cancelled", 409) {}
export class PayloadTooLarge extends clientError<PayloadTooLarge>()(
  "PayloadTooLarge",
  "payload_too_large",
  413
) {}
export class UnsupportedMediaType extends clientError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  "unsupported_media_type",
  415
) {}
/** `retryAfterSeconds` becomes the `Retry-After` header. */
export class RateLimited extends clientError<RateLimited>()("RateLimited", "rate_limited", 429, {
  retryAfterSeconds: Schema.Int
}) {}
export class InstanceLimit extends clientError<InstanceLimit>()("InstanceLimit", "instance_limit", 429) {}
export class UpstreamUnavailable extends clientError<UpstreamUnavailable>()(
  "UpstreamUnavailable",
  "upstream_unavailable",
  502
) {}
export class ExtensionUnavailable extends clientError<ExtensionUnavailable>()(
  "ExtensionUnavailable",
  "extension_unavailable",
  503
) {}
export class PoolExhausted extends clientError<PoolExhausted>()("PoolExhausted", "pool_exhausted", 503) {}
export class ShuttingDown extends clientError<ShuttingDown>()("ShuttingDown", "shutting_down", 503) {}
export class StoreUnavailable extends clientError<StoreUnavailable>()(
  "StoreUnavailable",
  "store_unavailable",
  503
) {}
export class QueryTimeout extends clientError<QueryTimeout>()("QueryTimeout", "query_timeout", 504) {}
export class Internal extends clientError<Internal>()("Internal", "internal", 500) {}

/** Every client error class, for lookups by tag and for the tests that hold the table to its rules. */
export const clientErrors = [
  InvalidRequest,
  SqlError,
  StatementTooLarge,
  Unauthorized,
  ReadOnly,
  ForbiddenStatement,
  NotFound,
  MethodNotAllowed,
  NotAcceptable,
  AliasExists,
  Cancelled,
  PayloadTooLarge,
  UnsupportedMediaType,
  RateLimited,
  InstanceLimit,
  UpstreamUnavailable,
  ExtensionUnavailable,
  PoolExhausted,
  ShuttingDown,
  StoreUnavailable,
  QueryTimeout,
  Internal
] as const

export type ClientError = InstanceType<(typeof clientErrors)[number]>

const clientErrorTags: ReadonlySet<string> = new Set(clientErrors.map((Class) => Class._tag))

export const isClientError = (u: unknown): u is ClientError =>
  typeof u === "object" &&
  u !== null &&
  "_tag" in u &&
  typeof u._tag === "string" &&
  clientErrorTags.has(u._tag)
