import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
  ExtensionUnavailable,
  ForbiddenStatement,
  InvalidRequest,
  NotFound,
  PoolExhausted,
  QueryTimeout,
  SqlError,
  StoreUnavailable,
  UpstreamUnavailable
} from "../domain/Errors.js"
import { Authentication } from "./Authentication.js"
import { CatalogListing, InstanceId } from "./Schemas.js"

export class CatalogApi extends HttpApiGroup.make("catalog")
  .add(
    HttpApiEndpoint.get("get", "/v1/instances/:id/catalog")
      .annotate(OpenApi.Summary, "Describe what an instance can query")
      .setPath(Schema.Struct({ id: InstanceId }))
      .addSuccess(CatalogListing)
      .addError(NotFound)
      .addError(SqlError)
      .addError(QueryTimeout)
      .addError(PoolExhausted)
      // Building the instance's engine on this replica attaches its databases.
      .addError(InvalidRequest)
      .addError(ForbiddenStatement)
      .addError(UpstreamUnavailable)
      .addError(ExtensionUnavailable)
      .annotate(
        OpenApi.Description,
        "What the instance can query: its own `memory` database and every attached one, with schemas, " +
          "tables, views, columns and DuckDB types. Never paths or connection strings, nor DuckDB's or " +
          "PostgreSQL's internal catalogs. At most 1000 tables and views (`truncated` says when more exist); " +
          "the attached databases' part is cached until the instance's databases change."
      )
  )
  .addError(StoreUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "The instance's catalog, for database explorers") {}
