import { randomBytes } from "node:crypto"
import { Deferred, Effect, Exit, FiberId } from "effect"
import { Cancelled, NotFound, type ShuttingDown } from "../domain/Errors.js"

export type StopReason = Cancelled | ShuttingDown

export interface RunningQuery {
  readonly id: string
  readonly instanceId: string
  readonly principal: string
  readonly startedAt: number
  queryType: string | undefined
}

interface Entry extends RunningQuery {
  readonly cancel: (reason: StopReason) => void
}

/**
 * The queries running now, so that a client can list and cancel its own, and deleting an instance
 * can stop every query on it. A cancelled query fails with `Cancelled`; its DuckDB work is
 * interrupted by the interruption of the effect that ran it.
 */
export class QueryTracker extends Effect.Service<QueryTracker>()("pondpilot/QueryTracker", {
  effect: Effect.gen(function* () {
    const clock = yield* Effect.clock
    const running = new Map<string, Entry>()

    const track = <A, E, R>(
      meta: { readonly instanceId: string; readonly principal: string },
      run: (query: RunningQuery) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | StopReason, R> =>
      Effect.suspend(() => {
        const cancelled = Deferred.unsafeMake<never, StopReason>(FiberId.none)
        const entry: Entry = {
          id: `q_${randomBytes(12).toString("base64url")}`,
          instanceId: meta.instanceId,
          principal: meta.principal,
          startedAt: clock.unsafeCurrentTimeMillis(),
          queryType: undefined,
          cancel: (reason) => Deferred.unsafeDone(cancelled, Exit.fail(reason))
        }
        running.set(entry.id, entry)
        return Effect.raceFirst(run(entry), Deferred.await(cancelled)).pipe(
          Effect.ensuring(Effect.sync(() => running.delete(entry.id)))
        )
      })

    const list = (principal: string): ReadonlyArray<RunningQuery> =>
      [...running.values()].filter((query) => query.principal === principal)

    const cancel = (id: string, principal: string): Effect.Effect<void, NotFound> =>
      Effect.suspend(() => {
        const entry = running.get(id)
        if (entry === undefined || entry.principal !== principal) {
          return Effect.fail(new NotFound({ message: "query not found" }))
        }
        entry.cancel(new Cancelled({ message: "the query was cancelled" }))
        return Effect.void
      })

    const cancelInstance = (instanceId: string, reason: StopReason): void => {
      for (const entry of running.values()) {
        if (entry.instanceId === instanceId) entry.cancel(reason)
      }
    }

    const cancelAll = (reason: StopReason): void => {
      for (const entry of running.values()) entry.cancel(reason)
    }

    return {
      track,
      list,
      cancel,
      cancelInstance,
      cancelAll,
      size: () => running.size
    } as const
  })
}) {}
