import { Effect } from "effect"
import { AuditLog } from "../services/AuditLog.js"
import { Metrics, type QueryOutcome } from "../services/Metrics.js"
import type { RequestContext } from "./RequestContext.js"

const outcomeOf = (context: RequestContext): QueryOutcome => {
  switch (context.errorCode) {
    case undefined:
      return context.incomplete ? "error" : context.truncated ? "truncated" : "success"
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

    const finished = (context: RequestContext, status: number): void => {
      const durationMs = Number(process.hrtime.bigint() - context.startedAt) / 1e6
      const { requestId, clientIp, method, path } = context
      metrics.recordRequest({ method, path, status, durationMs })
      if (context.errorCode !== undefined) metrics.recordError(context.errorCode)
      if (context.refusal !== undefined) {
        const refusal = { requestId, clientIp, method, path, reason: context.refusal, durationMs }
        if (status === 429) {
          metrics.recordRateLimited()
          audit.unsafeRateLimited(refusal)
        } else {
          metrics.recordAuthFailure(context.refusal)
          audit.unsafeAuthFailure(refusal)
        }
        return
      }
      if (context.instanceId !== undefined) {
        const queryType = context.queryType ?? "UNKNOWN"
        const rowsReturned = context.rowsReturned ?? 0
        metrics.recordQuery({ queryType, outcome: outcomeOf(context), durationMs, rowsReturned })
        audit.unsafeQuery({
          requestId,
          clientIp,
          instanceId: context.instanceId,
          queryType,
          durationMs,
          rowsReturned,
          ...(context.queryText === undefined ? {} : { query: context.queryText }),
          ...(context.errorCode === undefined && !context.incomplete
            ? {}
            : { failure: { status, code: context.errorCode ?? "incomplete" } })
        })
        return
      }
      audit.unsafeRequest({ requestId, clientIp, method, path, status, durationMs })
    }

    return { finished } as const
  })
}) {}
