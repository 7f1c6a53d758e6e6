import { HttpApi, type HttpApiEndpoint, type HttpApiGroup, OpenApi } from "@effect/platform"
import { Internal, RateLimited, ShuttingDown } from "../domain/Errors.js"
import { CatalogApi } from "./CatalogApi.js"
import { DatabasesApi } from "./DatabasesApi.js"
import { HealthApi } from "./HealthApi.js"
import { InstancesApi } from "./InstancesApi.js"
import { MetricsApi } from "./MetricsApi.js"
import { packageInfo } from "./PackageInfo.js"
import { QueriesApi } from "./QueriesApi.js"
import { QueryApi } from "./QueryApi.js"

/** The gateway rate limits every route but the probes, and refuses them while the server drains. */
const admitted = <
  Id extends string,
  Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any,
  E,
  R,
  Top extends boolean
>(
  group: HttpApiGroup.HttpApiGroup<Id, Endpoints, E, R, Top>
) => group.addError(RateLimited.wire).addError(ShuttingDown.wire)

/** The whole HTTP contract, served and documented from one definition. */
export class Api extends HttpApi.make("pondpilot")
  .add(HealthApi)
  .add(admitted(InstancesApi))
  .add(admitted(DatabasesApi))
  .add(admitted(CatalogApi))
  .add(admitted(QueryApi))
  .add(admitted(QueriesApi))
  .add(admitted(MetricsApi))
  // What no handler expected is logged with the request id and answered `500 internal`, on any route.
  .addError(Internal.wire)
  .annotate(OpenApi.Title, "PondPilot Proxy")
  .annotate(OpenApi.Version, packageInfo.version)
  .annotate(OpenApi.License, packageInfo.license)
  // Relative: the document describes the server that serves it, wherever it is reached.
  .annotate(OpenApi.Servers, [{ url: "/", description: "The server that serves this document" }])
  .annotate(
    OpenApi.Description,
    "SQL over HTTP through DuckDB, across PostgreSQL, MySQL, SQLite and DuckDB files"
  ) {}
