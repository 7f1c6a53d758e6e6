import type { IncomingMessage, ServerResponse } from "node:http"
import { routeMethods } from "./Routes.js"

export interface Cors {
  /** Adds the CORS response headers for an allowed origin; answers a preflight. True when answered. */
  readonly apply: (request: IncomingMessage, res: ServerResponse) => boolean
}

const exposed = "X-Request-ID, X-Result-Truncated, Retry-After, Allow, traceparent"

/**
 * Browser access for `server.cors_origins`: allowed origins get their origin echoed back (never `*`
 * with credentials in play), preflights are answered here before authentication (browsers send
 * none with them), and everyone else gets no CORS headers at all, which is a refusal to a browser.
 */
export const makeCors = (origins: ReadonlyArray<string>, apiKeyHeader: string): Cors => {
  const any = origins.includes("*")
  const allowed = new Set(origins)
  // Every route of the table is open to the same origins; a preflight may ask for any of its methods.
  const methods = [...routeMethods(), "OPTIONS"].join(", ")
  const allowHeaders = `${apiKeyHeader}, Authorization, Content-Type, X-Request-ID, traceparent`
  return {
    apply: (request, res) => {
      const origin = request.headers.origin
      if (origin === undefined || (!any && !allowed.has(origin))) return false
      res.setHeader("access-control-allow-origin", any ? "*" : origin)
      res.setHeader("vary", "Origin")
      if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
        res.writeHead(204, {
          "access-control-allow-methods": methods,
          "access-control-allow-headers": allowHeaders,
          "access-control-max-age": "600"
        })
        res.end()
        return true
      }
      res.setHeader("access-control-expose-headers", exposed)
      return false
    }
  }
}
