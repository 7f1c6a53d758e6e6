import { HttpApi, OpenApi } from "@effect/platform"
import {
  InvalidRequest,
  PayloadTooLarge,
  RateLimited,
  ShuttingDown,
  Unauthorized,
  UnsupportedMediaType
} from "../domain/Errors.js"
import { CatalogApi } from "./CatalogApi.js"
import { DatabasesApi } from "./DatabasesApi.js"
import { HealthApi } from "./HealthApi.js"
import { InstancesApi } from "./InstancesApi.js"
import { MetricsApi } from "./MetricsApi.js"
import { transformOpenApi } from "./OpenApiDocument.js"
import { QueriesApi } from "./QueriesApi.js"
import { QueryApi } from "./QueryApi.js"

/** The whole HTTP contract, served and documented from one definition. */
export class Api extends HttpApi.make("pondpilot")
  .add(HealthApi)
  .add(InstancesApi)
  .add(DatabasesApi)
  .add(CatalogApi)
  .add(QueryApi)
  .add(QueriesApi)
  .add(MetricsApi)
  .addError(InvalidRequest)
  .addError(Unauthorized)
  .addError(PayloadTooLarge)
  .addError(UnsupportedMediaType)
  .addError(RateLimited)
  .addError(ShuttingDown)
  .annotate(OpenApi.Title, "PondPilot Proxy")
  .annotate(OpenApi.Transform, transformOpenApi)
  .annotate(
    OpenApi.Description,
    "SQL over HTTP through DuckDB, across PostgreSQL, MySQL, SQLite and DuckDB files"
  ) {}
