import { Effect } from "effect"
import { AuditLog } from "../services/AuditLog.js"
import { Metrics, type QueryOutcome } from "../services/Metrics.js"
import type { RequestRecord } from "./RequestRecord.js"

const outcomeOf = (record: RequestRecord): QueryOutcome => {
  switch (record.errorCode) {
    case undefined:
      return record.incomplete ? "error" : record.truncated ? "truncated" : "success"
    case "query_timeout":
      return "timeout"
    case "cancelled":
    case "shutting_down":
      return "cancelled"
    default:
      return "error"
  }
}

/**
 * What a finished request leaves behind: one audit line (a query line, a refusal at warn, or a
 * request line) and its metrics. Called once, when the response closes.
 */
export class Observer extends Effect.Service<Observer>()("pondpilot/Observer", {
  effect: Effect.gen(function* () {
    const audit = yield* AuditLog
    const metrics = yield* Metrics

    const finished = (record: RequestRecord, status: number): void => {
      const durationMs = Number(process.hrtime.bigint() - record.startedAt) / 1e6
      const { requestId, clientIp, method, path } = record
      metrics.recordRequest({ method, route: record.routeLabel, status, durationMs })
      if (record.errorCode !== undefined) metrics.recordError(record.errorCode)
      if (record.refusal !== undefined) {
        const refusal = { requestId, clientIp, method, path, reason: record.refusal, durationMs }
        if (status === 429) {
          metrics.recordRateLimited()
          audit.unsafeRateLimited(refusal)
        } else {
          metrics.recordAuthFailure(record.refusal)
          audit.unsafeAuthFailure(refusal)
        }
        return
      }
      if (record.instanceId !== undefined) {
        const queryType = record.queryType ?? "UNKNOWN"
        const rowsReturned = record.rowsReturned ?? 0
        metrics.recordQuery({ queryType, outcome: outcomeOf(record), durationMs, rowsReturned })
        audit.unsafeQuery({
          requestId,
          clientIp,
          instanceId: record.instanceId,
          queryType,
          durationMs,
          rowsReturned,
          ...(record.queryText === undefined ? {} : { query: record.queryText }),
          ...(record.errorCode === undefined && !record.incomplete
            ? {}
            : { failure: { status, code: record.errorCode ?? "incomplete" } })
        })
        return
      }
      audit.unsafeRequest({ requestId, clientIp, method, path, status, durationMs })
    }

    return { finished } as const
  })
}) {}
