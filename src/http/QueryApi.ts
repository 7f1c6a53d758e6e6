import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
  Cancelled,
  ForbiddenStatement,
  NotAcceptable,
  NotFound,
  PoolExhausted,
  QueryTimeout,
  ReadOnly,
  SqlError,
  StatementTooLarge,
  StoreUnavailable,
  UpstreamUnavailable
} from "../domain/Errors.js"
import { Authentication } from "./Authentication.js"
import { FormatParam, InstanceId, QueryBody, QueryResult } from "./Schemas.js"

/**
 * The query endpoint. Declared here for the contract and the OpenAPI document; requests are served
 * by the gateway's direct route (src/http/QueryRoute.ts), which streams results as DuckDB produces them.
 */
export class QueryApi extends HttpApiGroup.make("query")
  .add(
    HttpApiEndpoint.post("query", "/v1/instances/:id/query")
      .annotate(OpenApi.Summary, "Run a query")
      .setPath(Schema.Struct({ id: InstanceId }))
      .setUrlParams(FormatParam)
      .setPayload(QueryBody)
      .addSuccess(QueryResult)
      .addError(SqlError)
      .addError(StatementTooLarge)
      .addError(ReadOnly)
      .addError(ForbiddenStatement)
      .addError(NotFound)
      .addError(NotAcceptable)
      .addError(Cancelled)
      .addError(PoolExhausted)
      .addError(QueryTimeout)
      .addError(UpstreamUnavailable)
      .annotate(
        OpenApi.Description,
        "Runs one SQL statement. The result format is chosen by `?format=` or `Accept`: " +
          "`application/json` (default), `application/x-ndjson`, `text/csv`, `application/vnd.apache.arrow.stream`. " +
          "Results over 1 MiB stream (chunked). A result cut at `query.max_rows` says `X-Result-Truncated: true`, " +
          "as a header when known before the headers, else as a trailer. A failure after the result began " +
          'ends the transfer abnormally, after `"error"` (json) or a `{"$error": …}` line (ndjson).'
      )
  )
  // Instances live in the shared store when state.redis_url is set.
  .addError(StoreUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "One SQL statement on an instance, its result streamed as it is produced") {}
