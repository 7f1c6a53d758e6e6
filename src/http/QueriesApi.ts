import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { NotFound } from "../domain/Errors.js"
import { Authentication } from "./Authentication.js"
import { RunningQueryList } from "./Schemas.js"

export class QueriesApi extends HttpApiGroup.make("queries")
  .add(
    HttpApiEndpoint.get("list", "/v1/queries")
      .annotate(OpenApi.Summary, "List running queries")
      .addSuccess(RunningQueryList)
      .annotate(OpenApi.Description, "The caller's queries running now, on any instance.")
  )
  .add(
    HttpApiEndpoint.del("cancel", "/v1/queries/:id")
      .annotate(OpenApi.Summary, "Cancel a query")
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .annotate(
        OpenApi.Description,
        "Stops the query and answers once DuckDB has let go of it; the cancelled request answers " +
          "`409 cancelled`, or ends its stream abnormally if its result had begun."
      )
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "The caller's running queries, and cancelling them") {}
