import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Alias, AliasPattern, DatabaseType, ReservedAliases } from "../domain/Config.js"
import {
  AliasExists,
  ExtensionUnavailable,
  ForbiddenStatement,
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  StoreUnavailable,
  UnsupportedMediaType,
  UpstreamUnavailable
} from "../domain/Errors.js"
import { Authentication } from "./Authentication.js"
import { DatabaseInfo, DatabaseList, InstanceId } from "./Schemas.js"

/** `[Mm][Ee][Mm]…` */
const anyCase = (word: string): string =>
  [...word]
    .map((char) => (/[a-z]/i.test(char) ? `[${char.toUpperCase()}${char.toLowerCase()}]` : char))
    .join("")

export const AttachBody = Schema.Struct({
  type: DatabaseType,
  alias: Alias.annotations({
    description: `A DuckDB catalog name: ${AliasPattern.source}, not a reserved one (${[...ReservedAliases].join(", ")}, in any case)`,
    // The reserved names' filter, spelt for JSON Schema (whose patterns have no case-insensitive flag).
    jsonSchema: { not: { pattern: `^(?:${[...ReservedAliases].map(anyCase).join("|")})$` } }
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
      // The gateway's checks of a body: its size and its media type.
      .addError(PayloadTooLarge.wire)
      .addError(UnsupportedMediaType.wire)
      .addSuccess(DatabaseInfo, { status: 201 })
      .addError(NotFound.wire)
      .addError(AliasExists.wire)
      .addError(ForbiddenStatement.wire)
      .addError(InvalidRequest.wire)
      .addError(UpstreamUnavailable.wire)
      .addError(ExtensionUnavailable.wire)
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
      .addError(NotFound.wire)
  )
  .add(
    HttpApiEndpoint.del("detach", "/v1/instances/:id/databases/:alias")
      .annotate(OpenApi.Summary, "Detach a database")
      .setPath(Schema.Struct({ id: InstanceId, alias: Schema.String }))
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound.wire)
      // Rebuilding the instance's engine re-attaches its other databases.
      .addError(InvalidRequest.wire)
      .addError(ForbiddenStatement.wire)
      .addError(UpstreamUnavailable.wire)
      .addError(ExtensionUnavailable.wire)
  )
  // Instances live in the shared store when state.redis_url is set.
  .addError(StoreUnavailable.wire)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Databases attached to an instance: never their connection strings") {}
