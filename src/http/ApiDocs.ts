import { HttpApi, HttpApiBuilder, OpenApi } from "@effect/platform"
import { Context, Effect, Layer } from "effect"
import type { Settings } from "../domain/ConfigLoader.js"
import { AppConfig } from "../services/AppConfig.js"
import { Api } from "./Api.js"
import { DocsLive } from "./DocsHttp.js"
import { type DocumentOptions, openApiTransform } from "./OpenApiDocument.js"
import { docsPaths } from "./Routes.js"

export const documentOptionsOf = (settings: Settings): DocumentOptions => ({
  authentication: settings.security.authentication.type,
  apiKeyHeader: settings.security.authentication.api_key_header,
  metricsRequireAuth: settings.metrics.require_auth
})

/** The contract as this server is configured: its API-key header, its authentication, its metrics. */
const ConfiguredApi = Layer.effect(
  HttpApi.Api,
  Effect.map(AppConfig, (settings) => ({
    // The builder erases the Api's type the same way (HttpApiBuilder.api); only the docs read this one.
    api: Api.annotate(
      OpenApi.Transform,
      openApiTransform(documentOptionsOf(settings))
    ) as unknown as Context.Tag.Service<HttpApi.Api>["api"],
    context: Context.empty()
  }))
)

/**
 * `GET /openapi.json` and `GET /docs` (Scalar). Scalar's script is served by this server and its
 * default web fonts (loaded from Scalar's CDN) are turned off, so the page needs nothing else.
 */
export const ApiDocsLive = Layer.mergeAll(
  HttpApiBuilder.middlewareOpenApi({ path: docsPaths.openapi }),
  DocsLive
).pipe(Layer.provide(ConfiguredApi))
