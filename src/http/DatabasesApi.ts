import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Alias, DatabaseType, ReservedAliases } from "../domain/Config.js"
import {
  AliasExists,
  ExtensionUnavailable,
  ForbiddenStatement,
  InvalidRequest,
  NotFound,
  StoreUnavailable,
  UpstreamUnavailable
} from "../domain/Errors.js"
import { Authentication } from "./Authentication.js"
import { DatabaseInfo, DatabaseList, InstanceId } from "./Schemas.js"

export const AttachBody = Schema.Struct({
  type: DatabaseType,
  alias: Alias.annotations({
    description: `^[A-Za-z_][A-Za-z0-9_]{0,62}$, not ${[...ReservedAliases].join("/")}`
  }),
  connectionString: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4_096)).annotations({
    description:
      "postgresql://user:pass@host:port/db?sslmode=…, libpq key=value, mysql://user:pass@host:port/db, " +
      "or a SQLite/DuckDB file path under duckdb.file_roots"
  })
  // Unknown keys (a misspelt `connection_string`, a `readOnly: false`) are refused, not ignored.
}).annotations({ identifier: "AttachDatabase", parseOptions: { onExcessProperty: "error" } })

const instancePath = Schema.Struct({ id: InstanceId })

export class DatabasesApi extends HttpApiGroup.make("databases")
  .add(
    HttpApiEndpoint.post("attach", "/v1/instances/:id/databases")
      .annotate(OpenApi.Summary, "Attach a database")
      .setPath(instancePath)
      .setPayload(AttachBody)
      .addSuccess(DatabaseInfo, { status: 201 })
      .addError(NotFound)
      .addError(AliasExists)
      .addError(ForbiddenStatement)
      .addError(InvalidRequest)
      .addError(UpstreamUnavailable)
      .addError(ExtensionUnavailable)
      .annotate(
        OpenApi.Description,
        "Attaches a database read-only. The instance's engine is rebuilt with it and swapped in; running " +
          "queries finish on the old engine. Tables created in the instance's own memory are not carried over."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/instances/:id/databases")
      .annotate(OpenApi.Summary, "List attached databases")
      .setPath(instancePath)
      .addSuccess(DatabaseList)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.del("detach", "/v1/instances/:id/databases/:alias")
      .annotate(OpenApi.Summary, "Detach a database")
      .setPath(Schema.Struct({ id: InstanceId, alias: Schema.String }))
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .addError(ForbiddenStatement)
      .addError(UpstreamUnavailable)
      .addError(ExtensionUnavailable)
  )
  // Instances live in the shared store when state.redis_url is set.
  .addError(StoreUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Databases attached to an instance: never their connection strings") {}
