import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import { LinkedList, type ListNode } from "../collections/LinkedList.js"
import { Cancelled, NotFound, type QueryTimeout, type ShuttingDown } from "../domain/Errors.js"

/** Why a query was stopped from outside its request. */
export type StopReason = Cancelled | ShuttingDown | QueryTimeout

export interface RunningQuery {
  readonly id: string
  readonly instanceId: string
  readonly principal: string
  readonly startedAt: number
  queryType: string | undefined
}

export interface TrackOptions {
  readonly instanceId: string
  readonly principal: string
  /** Stops the query after this many milliseconds with the reason `deadline.reason()` gives. */
  readonly deadline?: { readonly millis: number; readonly reason: () => StopReason } | undefined
}

/** A query registered with `begin`, to hand back to `end`. */
export interface Tracked extends RunningQuery {
  readonly stopReason: StopReason | undefined
}

class Entry implements RunningQuery {
  queryType: string | undefined = undefined
  stopReason: StopReason | undefined = undefined
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  node: ListNode<Entry> | undefined = undefined
  private whenDone: Array<() => void> | undefined = undefined

  constructor(
    readonly id: string,
    readonly instanceId: string,
    readonly principal: string,
    readonly startedAt: number,
    private readonly interrupt: () => void
  ) {}

  /** The first reason wins; the query is interrupted, which interrupts its DuckDB work. */
  stop(reason: StopReason): void {
    if (this.stopReason !== undefined) return
    this.stopReason = reason
    this.interrupt()
  }

  onDone(wake: () => void): void {
    if (this.whenDone === undefined) this.whenDone = [wake]
    else this.whenDone.push(wake)
  }

  done(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.whenDone !== undefined) for (const wake of this.whenDone) wake()
  }
}

/**
 * The queries running now, so that a client can list and cancel its own, a deadline can stop one,
 * and deleting an instance or shutting down can stop every query concerned.
 *
 * A query runs without a fiber (a fiber per query cost more than DuckDB answering `SELECT 42`):
 * it registers with `begin`, giving the function that interrupts it, and calls `end` once it has
 * let go of DuckDB, however it ended; `end` tells it whether it was stopped and why, so that it
 * answers for the stop only after its DuckDB work was interrupted and its connection is back.
 */
export class QueryTracker extends Effect.Service<QueryTracker>()("pondpilot/QueryTracker", {
  effect: Effect.gen(function* () {
    const clock = yield* Effect.clock
    // A list, not a map by id: an entry per query comes and goes (see LinkedList), and only a
    // cancel looks one up by id, walking the queries running now.
    const running = new LinkedList<Entry>()

    const find = (id: string): Entry | undefined => {
      for (const entry of running) if (entry.id === id) return entry
      return undefined
    }

    /**
     * Registers a query that runs without a fiber of its own: `interrupt` is how the tracker stops it
     * (a deadline, a cancel, the instance deleted, shutdown), after which the query must still call
     * `end`, once it has let go of DuckDB. `end` says why it was stopped, if it was.
     */
    const begin = (options: TrackOptions, interrupt: () => void): Tracked => {
      const entry: Entry = new Entry(
        `q_${randomUUID()}`,
        options.instanceId,
        options.principal,
        clock.unsafeCurrentTimeMillis(),
        interrupt
      )
      entry.node = running.push(entry)
      const deadline = options.deadline
      if (deadline !== undefined) {
        entry.timer = setTimeout(() => entry.stop(deadline.reason()), deadline.millis)
      }
      return entry
    }

    const end = (tracked: Tracked): StopReason | undefined => {
      const entry = tracked as Entry
      if (entry.node !== undefined) running.remove(entry.node)
      entry.node = undefined
      entry.done()
      return entry.stopReason
    }

    const list = (principal: string): ReadonlyArray<RunningQuery> => {
      const mine: Array<RunningQuery> = []
      for (const query of running) if (query.principal === principal) mine.push(query)
      return mine
    }

    /** Stops the caller's query and waits until it has let go of DuckDB; another principal's is not found. */
    const cancel = (id: string, principal: string): Effect.Effect<void, NotFound> =>
      Effect.suspend(() => {
        const entry = find(id)
        if (entry === undefined || entry.principal !== principal) {
          return Effect.fail(new NotFound({ message: "query not found" }))
        }
        return Effect.async<void>((resume) => {
          entry.onDone(() => resume(Effect.void))
          entry.stop(new Cancelled({ message: "the query was cancelled" }))
        })
      })

    const cancelInstance = (instanceId: string, reason: StopReason): void => {
      // Over a copy: a stopped query may end, and leave the list, while this loop runs.
      for (const entry of [...running]) {
        if (entry.instanceId === instanceId) entry.stop(reason)
      }
    }

    const cancelAll = (reason: StopReason): void => {
      for (const entry of [...running]) entry.stop(reason)
    }

    return {
      begin,
      end,
      list,
      cancel,
      cancelInstance,
      cancelAll,
      size: () => running.size
    } as const
  })
}) {}
