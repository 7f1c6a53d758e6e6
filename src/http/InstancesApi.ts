import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ForbiddenStatement, InstanceLimit, NotFound, StoreUnavailable } from "../domain/Errors.js"
import { Authentication } from "./Authentication.js"
import { CreateInstanceBody, InstanceId, InstanceInfo, InstanceList } from "./Schemas.js"

const idPath = Schema.Struct({ id: InstanceId })

export class InstancesApi extends HttpApiGroup.make("instances")
  .add(
    HttpApiEndpoint.post("create", "/v1/instances")
      .annotate(OpenApi.Summary, "Create an instance")
      .setPayload(CreateInstanceBody)
      .addSuccess(InstanceInfo, { status: 201 })
      .addError(InstanceLimit)
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/instances")
      .annotate(OpenApi.Summary, "List instances")
      .addSuccess(InstanceList)
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/instances/:id")
      .annotate(OpenApi.Summary, "Get an instance")
      .setPath(idPath)
      .addSuccess(InstanceInfo)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.del("delete", "/v1/instances/:id")
      .annotate(OpenApi.Summary, "Delete an instance")
      .setPath(idPath)
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .addError(ForbiddenStatement)
  )
  // Instances live in the shared store when state.redis_url is set.
  .addError(StoreUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "DuckDB instances: each is an engine of its own, owned by its creator") {}
