import { createRequire } from "node:module"
import * as path from "node:path"
import { HttpApi, HttpApiBuilder, HttpServerResponse, OpenApi } from "@effect/platform"
import { Effect } from "effect"
import { docsPaths } from "./Routes.js"

/**
 * `GET /docs`: an API reference page (Scalar) rendered from the same OpenAPI document as
 * `/openapi.json`, with its script served by the proxy itself (no CDN).
 *
 * The script is the one @effect/platform ships for `HttpApiScalar`, loaded on the first request
 * rather than at start: it is a 3 MB string that would otherwise sit in every idle process, twice
 * (as source and as a rendered page).
 */
const scalarScript = Effect.cached(
  Effect.sync(() => {
    // Required by file path: the module is not among the package's exports.
    const require = createRequire(import.meta.url)
    const platform = path.dirname(require.resolve("@effect/platform"))
    return (require(path.join(platform, "internal/httpApiScalar.js")) as { javascript: string }).javascript
  })
)

const escapeJson = (value: unknown) => JSON.stringify(value).replaceAll("<", "\\u003c")

/**
 * Scalar's settings: its web fonts (from its CDN) off; its toolbar (sharing and SDK generation, both
 * services of Scalar's site, shown by default on localhost) never; and the document's own security
 * scheme selected, so that generated samples carry the API-key header (or bearer token) at once.
 */
const configuration = (spec: OpenApi.OpenAPISpec) => {
  const schemes = Object.keys(spec.components?.securitySchemes ?? {})
  return {
    _integration: "html",
    withDefaultFonts: false,
    showToolbar: "never",
    ...(schemes.length > 0 ? { authentication: { preferredSecurityScheme: schemes[0] } } : {})
  }
}

const page = (spec: OpenApi.OpenAPISpec) => `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>${spec.info.title.replaceAll("<", "&lt;")}</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" type="application/json">${escapeJson(spec)}</script>
    <script>document.getElementById("api-reference").dataset.configuration = ${escapeJson(
      JSON.stringify(configuration(spec))
    )}</script>
    <script src="/docs/scalar.js"></script>
  </body>
</html>`

export const DocsLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const { api } = yield* HttpApi.Api
    const script = yield* scalarScript
    const html = Effect.cached(Effect.sync(() => page(OpenApi.fromApi(api))))
    const htmlOnce = yield* html
    yield* router.get(
      docsPaths.page,
      Effect.map(htmlOnce, (body) => HttpServerResponse.html(body))
    )
    yield* router.get(
      docsPaths.script,
      Effect.map(script, (body) =>
        HttpServerResponse.text(body, {
          contentType: "text/javascript; charset=utf-8",
          headers: { "cache-control": "public, max-age=86400" }
        })
      )
    )
  })
)
