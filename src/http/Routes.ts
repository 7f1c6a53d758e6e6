import { HttpApi } from "@effect/platform"
import { Context } from "effect"
import { MethodNotAllowed, NotFound } from "../domain/Errors.js"
import { Api } from "./Api.js"
import { Authentication } from "./Authentication.js"
import { CredentialsWhenMetricsRequireAuth, Probe } from "./RouteAnnotations.js"

/**
 * The route table: every route the server answers, derived from the HttpApi definition (method,
 * path, whether its group asks for credentials, the annotations of RouteAnnotations.ts) plus the
 * three documentation routes served beside it. The gateway decides authentication, probes and the
 * direct query route on a request's match here, and hands the HttpApi router only the matched
 * route's canonical path, so that what was authenticated is what is dispatched. Metric labels, 405
 * answers and the CORS preflight's methods come from this table too.
 */

/** Who may call a route: anyone, a caller with credentials, or one only when `metrics.require_auth`. */
export type Access = "open" | "credentials" | "metrics"

export interface Route {
  /** The OpenAPI operationId (`group.endpoint`), `docs.*` for the documentation routes. */
  readonly id: string
  readonly method: string
  /** The template, with `:name` parameters as the router spells them. */
  readonly path: string
  readonly access: Access
  /** Open, never rate limited, answered while draining. */
  readonly probe: boolean
  /** The `route` label of the HTTP metrics. */
  readonly label: string
  /** Lower-case static segments; `undefined` where a parameter goes. */
  readonly segments: ReadonlyArray<string | undefined>
}

/** Routes served beside the HttpApi contract (the API description and its page), all `GET`. */
export const docsPaths = { openapi: "/openapi.json", page: "/docs", script: "/docs/scalar.js" } as const

const segmentsOf = (template: string) =>
  template
    .split("/")
    .slice(1)
    .map((segment) => (segment.startsWith(":") ? undefined : segment.toLowerCase()))

const route = (fields: Omit<Route, "segments" | "label"> & { readonly label?: string }): Route => ({
  ...fields,
  label: fields.label ?? fields.path,
  segments: segmentsOf(fields.path)
})

const build = (): ReadonlyArray<Route> => {
  const found: Array<Route> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ group, endpoint, middleware, mergedAnnotations }) => {
      const access: Access = middleware.has(Authentication as never)
        ? "credentials"
        : Context.getOption(mergedAnnotations, CredentialsWhenMetricsRequireAuth)._tag === "Some"
          ? "metrics"
          : "open"
      found.push(
        route({
          id: `${group.identifier}.${endpoint.name}`,
          method: endpoint.method,
          path: endpoint.path,
          access,
          probe: Context.getOption(mergedAnnotations, Probe)._tag === "Some"
        })
      )
    }
  })
  const docs = { access: "open", probe: false, method: "GET" } as const
  found.push(
    route({ ...docs, id: "docs.openapi", path: docsPaths.openapi }),
    route({ ...docs, id: "docs.page", path: docsPaths.page }),
    // The page's script is counted with the page.
    route({ ...docs, id: "docs.script", path: docsPaths.script, label: docsPaths.page })
  )
  return found
}

/** Every route. */
export const allRoutes: ReadonlyArray<Route> = build()

export const routeById = (id: string): Route => {
  const found = allRoutes.find((candidate) => candidate.id === id)
  if (found === undefined) throw new Error(`no route ${id}`)
  return found
}

/** The methods of the table, in the order a preflight lists them. */
export const routeMethods = (): ReadonlyArray<string> =>
  ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((method) =>
    allRoutes.some((candidate) => candidate.method === method)
  )

export const unmatchedLabel = "unmatched"

/** What a request path and method come to in the table. */
export interface Match {
  /** The route the request is dispatched to; undefined when no route takes this method and path. */
  readonly route: Route | undefined
  /** The path's segments as sent (percent-escapes kept), for the router's canonical path. */
  readonly rawSegments: ReadonlyArray<string>
  /** The path's segments decoded (all escapes but `%2F`), case kept: parameters are read here. */
  readonly segments: ReadonlyArray<string>
  /** The methods the path is served with, when it is served with others than this one (a 405). */
  readonly allow: ReadonlyArray<string>
  /** Whether the request must carry credentials, before any route code runs. */
  readonly access: Access
  /** The metric label. */
  readonly label: string
}

const percentEscape = /%([0-9A-Fa-f]{2})/g
const decodeEscape = (whole: string, hex: string) =>
  hex === "2f" || hex === "2F" ? whole : String.fromCharCode(Number.parseInt(hex, 16))
/** The router ignores a scheme and host before the path (`GET http://host/path`). */
const absoluteForm = /^https?:\/\/.*?\//

/**
 * A path's segments as the router sees them: the part before `;` or `#`, repeated and trailing
 * slashes ignored. An encoded slash (`%2F`) never splits a segment.
 */
const rawSegmentsOf = (path: string): ReadonlyArray<string> => {
  const bare = path.charCodeAt(0) === 47 ? path : path.replace(absoluteForm, "/")
  if (bare.charCodeAt(0) !== 47) return [bare]
  const semicolon = bare.indexOf(";")
  const hash = bare.indexOf("#")
  const end = Math.min(semicolon < 0 ? bare.length : semicolon, hash < 0 ? bare.length : hash)
  const parts = bare.slice(1, end).split("/")
  // The common case (`/v1/instances/x/query`) has no empty segment and allocates nothing more.
  return parts.includes("") ? parts.filter((part) => part !== "") : parts
}

/** Static segments compare ignoring case; the path's own spelling is tried first, as it is usual. */
const fits = (candidate: Route, segments: ReadonlyArray<string>) => {
  for (let i = 0; i < segments.length; i++) {
    const expected = candidate.segments[i]
    if (expected === undefined) continue
    const actual = segments[i]!
    if (expected !== actual && (expected.length !== actual.length || expected !== actual.toLowerCase()))
      return false
  }
  return true
}

interface Index {
  /** Routes by their number of segments: a path is only compared with routes as long as it. */
  readonly bySize: ReadonlyMap<number, ReadonlyArray<Route>>
  /** First segments under which every path needs credentials, whether a route matches or not. */
  readonly protectedFirst: ReadonlySet<string | undefined>
}

const { bySize, protectedFirst }: Index = (() => {
  const bySize = new Map<number, Array<Route>>()
  for (const candidate of allRoutes) {
    const size = candidate.segments.length
    bySize.set(size, [...(bySize.get(size) ?? []), candidate])
  }
  const protectedFirst = new Set(
    allRoutes
      .filter((candidate) => candidate.access === "credentials")
      .map((candidate) => candidate.segments[0])
  )
  return { bySize, protectedFirst }
})()

const none: ReadonlyArray<Route> = []
const noMethods: ReadonlyArray<string> = []

const strictest = (accesses: ReadonlyArray<Access>): Access =>
  accesses.includes("credentials") ? "credentials" : accesses.includes("metrics") ? "metrics" : "open"

/**
 * The one matcher, used for authentication, dispatch, 405 answers and metric labels alike: `path`
 * without its query string is matched ignoring case, repeated and trailing slashes, `;` suffixes and
 * percent-escapes (but an encoded slash), as the HttpApi router matches. `HEAD` takes `GET` routes.
 */
export const matchRoute = (method: string, path: string): Match => {
  const rawSegments = rawSegmentsOf(path)
  const segments = path.includes("%")
    ? rawSegments.map((segment) => segment.replace(percentEscape, decodeEscape))
    : rawSegments
  const verb = method === "HEAD" ? "GET" : method
  let onPath: Array<Route> | undefined
  for (const candidate of bySize.get(segments.length) ?? none) {
    if (!fits(candidate, segments)) continue
    if (candidate.method === verb)
      return {
        route: candidate,
        rawSegments,
        segments,
        allow: noMethods,
        access: candidate.access,
        label: candidate.label
      }
    if (onPath === undefined) onPath = [candidate]
    else onPath.push(candidate)
  }
  if (onPath === undefined) {
    const access = protectedFirst.has(segments[0]?.toLowerCase()) ? "credentials" : "open"
    return { route: undefined, rawSegments, segments, allow: noMethods, access, label: unmatchedLabel }
  }
  return {
    route: undefined,
    rawSegments,
    segments,
    allow: [...new Set(onPath.map((candidate) => candidate.method))].sort(),
    access: strictest(onPath.map((candidate) => candidate.access)),
    // A preflight is answered on every route's path.
    label: method === "OPTIONS" ? onPath[0]!.label : unmatchedLabel
  }
}

/**
 * The matched route's path as the router is given it: the template's own spelling with the
 * parameters as sent, and what followed the path (`;…`, `?…`) unchanged. Whatever the router makes
 * of other spellings, it only ever sees this one.
 */
export const canonicalUrl = (match: Match, url: string): string => {
  const template = match.route!.path.split("/")
  let out = ""
  for (let i = 1; i < template.length; i++) {
    const part = template[i]!
    out += `/${part.startsWith(":") ? match.rawSegments[i - 1] : part}`
  }
  const rest = url.search(/[;?#]/)
  return (out || "/") + (rest < 0 ? "" : url.slice(rest))
}

/**
 * The methods a path is served with (`url` may carry a query string); empty for a path no route has.
 * A request the router did not match but whose path is here used the wrong method: `405` with `Allow`.
 */
export const allowedMethods = (url: string): ReadonlyArray<string> => {
  const query = url.indexOf("?")
  const path = query < 0 ? url : url.slice(0, query)
  const match = matchRoute("", path)
  return match.allow
}

/** The answer to a request no route takes: 405 with `Allow` when other methods serve its path, else 404. */
export const unroutedError = (allow: ReadonlyArray<string>): MethodNotAllowed | NotFound =>
  allow.length > 0
    ? new MethodNotAllowed({ message: `this path is served with ${allow.join(", ")}`, allow })
    : new NotFound({ message: "no such route" })

/** A template as OpenAPI and the traces spell it (`/v1/instances/{id}/query`). */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z_]+)/g, "{$1}")

/** The route an OpenAPI operation documents (`get`, `/v1/instances/{id}`). */
export const routeOfOperation = (method: string, path: string): Route | undefined =>
  allRoutes.find(
    (candidate) => candidate.method.toLowerCase() === method && openApiPath(candidate.path) === path
  )
