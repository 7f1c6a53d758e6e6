import { HttpApi } from "@effect/platform"
import { Api } from "./Api.js"
import { routerPath } from "./Gateway.js"

/** Routes served beside the HttpApi contract (the API description and its page), all `GET`. */
export const docsPaths = { openapi: "/openapi.json", page: "/docs", script: "/docs/scalar.js" } as const

interface Route {
  readonly method: string
  readonly pattern: RegExp
}

// `:id` matches one segment, as the router's does; paths are compared in the router's form.
const patternOf = (path: string) =>
  new RegExp(
    `^${routerPath(path)
      .replace(/:[A-Za-z_]+/g, "[^/]+")
      .replaceAll(".", "\\.")}$`
  )

const routes: ReadonlyArray<Route> = (() => {
  const found: Array<Route> = Object.values(docsPaths).map((path) => ({
    method: "GET",
    pattern: patternOf(path)
  }))
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => found.push({ method: endpoint.method, pattern: patternOf(endpoint.path) })
  })
  return found
})()

/**
 * The methods a path is served with, from the contract itself (`url` may carry a query string); empty for a path no route has. A
 * request the router did not match but whose path is here used the wrong method: `405` with `Allow`.
 */
export const allowedMethods = (url: string): ReadonlyArray<string> => {
  const query = url.indexOf("?")
  const normal = routerPath(query < 0 ? url : url.slice(0, query))
  const methods = new Set(routes.filter((route) => route.pattern.test(normal)).map((route) => route.method))
  return [...methods].sort()
}
