import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
  ForbiddenStatement,
  InstanceLimit,
  NotFound,
  PayloadTooLarge,
  StoreUnavailable,
  UnsupportedMediaType
} from "../domain/Errors.js"
import { Authentication } from "./Authentication.js"
import { CreateInstanceBody, InstanceId, InstanceInfo, InstanceList } from "./Schemas.js"

const idPath = Schema.Struct({ id: InstanceId })

export class InstancesApi extends HttpApiGroup.make("instances")
  .add(
    HttpApiEndpoint.post("create", "/v1/instances")
      .annotate(OpenApi.Summary, "Create an instance")
      .setPayload(CreateInstanceBody)
      // The gateway's checks of a body: its size and its media type.
      .addError(PayloadTooLarge.wire)
      .addError(UnsupportedMediaType.wire)
      .addSuccess(InstanceInfo, { status: 201 })
      .addError(InstanceLimit.wire)
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
      .addError(NotFound.wire)
  )
  .add(
    HttpApiEndpoint.del("delete", "/v1/instances/:id")
      .annotate(OpenApi.Summary, "Delete an instance")
      .setPath(idPath)
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound.wire)
      .addError(ForbiddenStatement.wire)
  )
  // Instances live in the shared store when state.redis_url is set.
  .addError(StoreUnavailable.wire)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "DuckDB instances: each is an engine of its own, owned by its creator") {}
