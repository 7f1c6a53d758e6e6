import { Effect } from "effect"
import { AppConfig } from "./AppConfig.js"
import { LogWriter } from "./LogWriter.js"

/**
 * The audit trail: one JSON line per request on stdout, field names as api.md gives them. Lines
 * never carry headers, keys, tokens, connection strings or the query string of a URL; the SQL text
 * only when `audit.log_query_text: true`.
 *
 * The `unsafe*` methods are plain synchronous calls for the request hot path (no Effect per
 * request); the others wrap them for Effect code.
 */

export interface QueryAudit {
  readonly requestId: string
  readonly clientIp: string
  readonly instanceId: string
  /**
   * The statement's type (`SELECT`, `EXPLAIN`, `INSERT`...), also for one the gate refused;
   * `UNKNOWN` when the SQL did not parse.
   */
  readonly queryType: string
  readonly durationMs: number
  /** Rows sent to the client (so far, when the query failed mid-stream). */
  readonly rowsReturned: number
  /** Written only with `audit.log_query_text: true`. */
  readonly query?: string
  /** For a failed query: the response status and api.md error code. */
  readonly failure?: { readonly status: number; readonly code: string }
}

export interface RequestAudit {
  readonly requestId: string
  readonly clientIp: string
  readonly method: string
  /** The request's path; any `?query` part is cut off before writing. */
  readonly path: string
  readonly status: number
  readonly durationMs: number
}

/** A refused request: authentication failed (401) or rate limited (429). */
export interface RefusalAudit {
  readonly requestId: string
  readonly clientIp: string
  readonly method: string
  readonly path: string
  /** A short fixed phrase, e.g. `missing credentials`, `invalid credentials`, `limit exceeded`. */
  readonly reason: string
  readonly durationMs?: number
}

const maxPathLength = 512

/** Cuts the query string (it may hold a token) and bounds the length of what a client sent. */
export const auditPath = (path: string): string => {
  const end = path.indexOf("?")
  const bare = end === -1 ? path : path.slice(0, end)
  return bare.length > maxPathLength ? `${bare.slice(0, maxPathLength)}...` : bare
}

/** Milliseconds with two decimals: sub-millisecond queries are common and 0 would say nothing. */
const milliseconds = (value: number): number => Math.round(value * 100) / 100

export class AuditLog extends Effect.Service<AuditLog>()("pondpilot/AuditLog", {
  effect: Effect.gen(function* () {
    const writer = yield* LogWriter
    const { audit } = yield* AppConfig
    const clock = yield* Effect.clock
    const timestamp = () => new Date(clock.unsafeCurrentTimeMillis()).toISOString()

    const unsafeQuery = (entry: QueryAudit): void => {
      if (!audit.enabled) return
      const failure = entry.failure
      writer.write(
        JSON.stringify({
          timestamp: timestamp(),
          level: failure && failure.status >= 500 ? "warn" : "info",
          message: failure ? "query failed" : "query executed",
          request_id: entry.requestId,
          client_ip: entry.clientIp,
          instance_id: entry.instanceId,
          query_type: entry.queryType,
          duration_ms: milliseconds(entry.durationMs),
          rows_returned: entry.rowsReturned,
          ...(failure ? { status: failure.status, error_code: failure.code } : {}),
          ...(audit.log_query_text && entry.query !== undefined ? { query: entry.query } : {})
        })
      )
    }

    const unsafeRequest = (entry: RequestAudit): void => {
      if (!audit.enabled) return
      writer.write(
        JSON.stringify({
          timestamp: timestamp(),
          level: "info",
          message: "request",
          request_id: entry.requestId,
          client_ip: entry.clientIp,
          method: entry.method,
          path: auditPath(entry.path),
          status: entry.status,
          duration_ms: milliseconds(entry.durationMs)
        })
      )
    }

    // Refusals are security signals: written even with `audit.enabled: false` (api.md lists them
    // under rate limiting and authentication, not as part of the optional audit trail).
    const refusal =
      (message: string, status: number) =>
      (entry: RefusalAudit): void =>
        writer.write(
          JSON.stringify({
            timestamp: timestamp(),
            level: "warn",
            message,
            request_id: entry.requestId,
            client_ip: entry.clientIp,
            method: entry.method,
            path: auditPath(entry.path),
            status,
            reason: entry.reason,
            ...(entry.durationMs === undefined ? {} : { duration_ms: milliseconds(entry.durationMs) })
          })
        )
    const unsafeAuthFailure = refusal("authentication failed", 401)
    const unsafeRateLimited = refusal("rate limited", 429)

    return {
      enabled: audit.enabled,
      unsafeQuery,
      unsafeRequest,
      unsafeAuthFailure,
      unsafeRateLimited,
      query: (entry: QueryAudit) => Effect.sync(() => unsafeQuery(entry)),
      request: (entry: RequestAudit) => Effect.sync(() => unsafeRequest(entry)),
      authFailure: (entry: RefusalAudit) => Effect.sync(() => unsafeAuthFailure(entry)),
      rateLimited: (entry: RefusalAudit) => Effect.sync(() => unsafeRateLimited(entry))
    } as const
  }),
  dependencies: [LogWriter.layer]
}) {}
