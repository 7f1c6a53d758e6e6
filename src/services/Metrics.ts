import { Effect } from "effect"
import * as Prometheus from "prom-client"

/**
 * Prometheus metrics on a registry of our own (never prom-client's global one, so that tests and
 * several servers in one process do not share counters). Every label value is bounded: routes are
 * the route table's labels (src/http/Routes.ts), ids never appear except the live instances of the
 * pool gauge (and those only behind authentication: `poolInstanceLabel`).
 */

// ---------------------------------------------------------------------------------------------
// Labels

const knownMethods: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS"
])
export const methodLabel = (method: string): string => {
  const verb = method.toUpperCase()
  return knownMethods.has(verb) ? verb : "OTHER"
}

export const statusLabel = (status: number): string =>
  Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "other"

/**
 * Keeps a label to values that look like the identifiers we produce and to at most `limit` distinct
 * ones; anything beyond is `other`, so a bug or a hostile input cannot create unbounded series.
 */
export const boundedLabel = (pattern: RegExp, limit: number) => {
  const seen = new Set<string>()
  return (value: string): string => {
    if (seen.has(value)) return value
    if (!pattern.test(value) || seen.size >= limit) return "other"
    seen.add(value)
    return value
  }
}

// ---------------------------------------------------------------------------------------------
// Service

export type QueryOutcome = "success" | "truncated" | "error" | "timeout" | "cancelled"

export interface RequestSample {
  readonly method: string
  /** The route table's label for the request (its template, or `unmatched`). */
  readonly route: string
  readonly status: number
  readonly durationMs: number
}

export interface QuerySample {
  /** DuckDB's statement type (`SELECT`, ...). */
  readonly queryType: string
  readonly outcome: QueryOutcome
  readonly durationMs: number
  readonly rowsReturned: number
}

export interface PoolSnapshot {
  readonly instance: string
  readonly inUse: number
  readonly idle: number
}

export type PoolSource = () => ReadonlyArray<PoolSnapshot>

/** The `instance` label that sums the pools of all clients' own instances when metrics are open. */
export const ClientInstancesLabel = "clients"

/**
 * The `instance` label of a pool. Open metrics (`metrics.require_auth: false`) are anyone's to read,
 * and an instance id with its connection use would show another principal's activity: there, every
 * client-created instance is summed under `clients` and only the shared one is named. Behind
 * authentication each instance has its own series.
 */
export const poolInstanceLabel = (instanceId: string, shared: boolean, requireAuth: boolean): string =>
  shared || requireAuth ? instanceId : ClientInstancesLabel

const prefix = "pondpilot_"
// Instance ids are bounded by `duckdb.max_instances` at any one time, and only live ones are shown.
const instanceIdPattern = /^[A-Za-z0-9_.-]{1,64}$/
const secondsBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
const rowBuckets = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000]

export class Metrics extends Effect.Service<Metrics>()("pondpilot/Metrics", {
  scoped: Effect.gen(function* () {
    const registry = new Prometheus.Registry()
    yield* Effect.addFinalizer(() => Effect.sync(() => registry.clear()))
    const registers = [registry]
    Prometheus.collectDefaultMetrics({ register: registry, prefix })

    const httpRequests = new Prometheus.Counter({
      name: `${prefix}http_requests_total`,
      help: "HTTP requests answered, by method, route template and status",
      labelNames: ["method", "route", "status"] as const,
      registers
    })
    const httpDuration = new Prometheus.Histogram({
      name: `${prefix}http_request_duration_seconds`,
      help: "Time from request to response end, by method, route template and status",
      labelNames: ["method", "route", "status"] as const,
      buckets: secondsBuckets,
      registers
    })
    const queries = new Prometheus.Counter({
      name: `${prefix}queries_total`,
      help: "Client queries, by statement type and outcome",
      labelNames: ["query_type", "outcome"] as const,
      registers
    })
    const queryDuration = new Prometheus.Histogram({
      name: `${prefix}query_duration_seconds`,
      help: "Query run time including streaming the result, by statement type and outcome",
      labelNames: ["query_type", "outcome"] as const,
      buckets: secondsBuckets,
      registers
    })
    const queryRows = new Prometheus.Histogram({
      name: `${prefix}query_rows_returned`,
      help: "Rows returned per query (the _sum is all rows returned), by statement type",
      labelNames: ["query_type"] as const,
      buckets: rowBuckets,
      registers
    })
    const rateLimited = new Prometheus.Counter({
      name: `${prefix}rate_limited_total`,
      help: "Requests refused by the per-client rate limit",
      registers
    })
    const authFailures = new Prometheus.Counter({
      name: `${prefix}auth_failures_total`,
      help: "Requests refused for missing or invalid credentials, by reason",
      labelNames: ["reason"] as const,
      registers
    })
    const errors = new Prometheus.Counter({
      name: `${prefix}errors_total`,
      help: "Error responses, by api.md error code",
      labelNames: ["code"] as const,
      registers
    })

    const instanceSources = new Set<() => number>()
    new Prometheus.Gauge({
      name: `${prefix}instances_active`,
      help: "DuckDB instances open, the default one included",
      registers,
      collect() {
        let total = 0
        for (const source of instanceSources) total += safely(source, 0)
        this.set(total)
      }
    })

    const poolSources = new Set<PoolSource>()
    new Prometheus.Gauge({
      name: `${prefix}pool_connections`,
      help: "Connections of each live instance's pool, by state (in_use, idle)",
      labelNames: ["instance", "state"] as const,
      registers,
      collect() {
        // Only instances alive now: closed ones disappear instead of lingering as stale series.
        this.reset()
        for (const source of poolSources) {
          for (const pool of safely(source, [])) {
            const instance = instanceIdPattern.test(pool.instance) ? pool.instance : "other"
            this.inc({ instance, state: "in_use" }, pool.inUse)
            this.inc({ instance, state: "idle" }, pool.idle)
          }
        }
      }
    })

    const queryTypeLabel = boundedLabel(/^[A-Z_]{1,32}$/, 64)
    const reasonLabel = boundedLabel(/^[a-z_]{1,32}$/, 32)
    const codeLabel = boundedLabel(/^[a-z_]{1,40}$/, 64)

    return {
      recordRequest: (sample: RequestSample): void => {
        const labels = {
          method: methodLabel(sample.method),
          route: sample.route,
          status: statusLabel(sample.status)
        }
        httpRequests.inc(labels)
        httpDuration.observe(labels, sample.durationMs / 1000)
      },
      recordQuery: (sample: QuerySample): void => {
        const queryType = queryTypeLabel(sample.queryType.toUpperCase())
        queries.inc({ query_type: queryType, outcome: sample.outcome })
        queryDuration.observe({ query_type: queryType, outcome: sample.outcome }, sample.durationMs / 1000)
        queryRows.observe({ query_type: queryType }, sample.rowsReturned)
      },
      recordRateLimited: (): void => rateLimited.inc(),
      /** `reason`: a snake_case word such as `missing`, `invalid`, `expired`. */
      recordAuthFailure: (reason: string): void => authFailures.inc({ reason: reasonLabel(reason) }),
      /** `code`: the api.md error code of the response. */
      recordError: (code: string): void => errors.inc({ code: codeLabel(code) }),
      /** Counts the instances the source reports at each scrape; returns the unregister function. */
      registerInstanceSource: (source: () => number): (() => void) => {
        instanceSources.add(source)
        return () => void instanceSources.delete(source)
      },
      /** Reports each pool's connections at each scrape; returns the unregister function. */
      registerPoolSource: (source: PoolSource): (() => void) => {
        poolSources.add(source)
        return () => void poolSources.delete(source)
      },
      /** The exposition for `GET /api/v1/metrics`. */
      render: (): Effect.Effect<{ readonly contentType: string; readonly body: string }> =>
        Effect.promise(() => registry.metrics()).pipe(
          Effect.map((body) => ({ contentType: registry.contentType, body }))
        ),
      registry
    } as const
  })
}) {}

/** A source that throws must not break the scrape: its value is reported as `fallback`. */
const safely = <A>(source: () => A, fallback: A): A => {
  try {
    return source()
  } catch {
    return fallback
  }
}
