import { randomUUID } from "node:crypto"
import { Cause, Effect, Exit, FiberId } from "effect"
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

/** Whoever stops a query: the interruption's cause names no fiber of ours. */
const stopper = FiberId.none

class Entry implements RunningQuery {
  queryType: string | undefined = undefined
  stopReason: StopReason | undefined = undefined
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  private whenDone: Array<() => void> | undefined = undefined

  constructor(
    readonly id: string,
    readonly instanceId: string,
    readonly principal: string,
    readonly startedAt: number,
    private readonly interrupt: () => void
  ) {}

  /** The first reason wins; the query's fiber is interrupted, which interrupts its DuckDB work. */
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
 * Stopping a query interrupts the fiber that runs it — the one way to stop a fiber that waits on
 * DuckDB or on a slow client without forking a second fiber per request to race against. An
 * interrupted fiber cannot return an error, so whoever tracks a query says how to answer for a
 * stopped one (`onInterrupted`), and that answer is given here, after the query's own finalizers
 * (its DuckDB work interrupted, its connection back in the pool) have run.
 */
export class QueryTracker extends Effect.Service<QueryTracker>()("pondpilot/QueryTracker", {
  effect: Effect.gen(function* () {
    const clock = yield* Effect.clock
    const running = new Map<string, Entry>()

    /**
     * Runs `run` as a tracked query. When it ends interrupted, `onInterrupted` is called (synchronously,
     * uninterruptibly) with the stop reason, or `undefined` when something else interrupted it (the
     * client went away); the fiber then ends interrupted.
     */
    const track = <A, E, R>(
      options: TrackOptions,
      run: (query: RunningQuery) => Effect.Effect<A, E, R>,
      onInterrupted: (reason: StopReason | undefined) => void
    ): Effect.Effect<A | undefined, E, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.withFiberRuntime<A | undefined, E, R>((fiber) => {
          const entry = new Entry(
            `q_${randomUUID()}`,
            options.instanceId,
            options.principal,
            clock.unsafeCurrentTimeMillis(),
            () => fiber.unsafeInterruptAsFork(stopper)
          )
          running.set(entry.id, entry)
          const deadline = options.deadline
          if (deadline !== undefined) {
            entry.timer = setTimeout(() => entry.stop(deadline.reason()), deadline.millis)
          }
          return Effect.flatMap(Effect.exit(restore(run(entry))), (exit) => {
            running.delete(entry.id)
            entry.done()
            if (Exit.isSuccess(exit)) return exit
            // A stop that raced with a failure still wins: the fiber is marked interrupted either way.
            if (entry.stopReason !== undefined) {
              onInterrupted(entry.stopReason)
              return Effect.succeed(undefined)
            }
            if (Cause.isInterruptedOnly(exit.cause)) onInterrupted(undefined)
            return exit
          })
        })
      )

    const list = (principal: string): ReadonlyArray<RunningQuery> => {
      const mine: Array<RunningQuery> = []
      for (const query of running.values()) if (query.principal === principal) mine.push(query)
      return mine
    }

    /** Stops the caller's query and waits until it has let go of DuckDB; another principal's is not found. */
    const cancel = (id: string, principal: string): Effect.Effect<void, NotFound> =>
      Effect.suspend(() => {
        const entry = running.get(id)
        if (entry === undefined || entry.principal !== principal) {
          return Effect.fail(new NotFound({ message: "query not found" }))
        }
        return Effect.async<void>((resume) => {
          entry.onDone(() => resume(Effect.void))
          entry.stop(new Cancelled({ message: "the query was cancelled" }))
        })
      })

    const cancelInstance = (instanceId: string, reason: StopReason): void => {
      for (const entry of running.values()) {
        if (entry.instanceId === instanceId) entry.stop(reason)
      }
    }

    const cancelAll = (reason: StopReason): void => {
      for (const entry of running.values()) entry.stop(reason)
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
