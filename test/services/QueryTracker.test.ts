import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { afterEach, vi } from "vitest"
import { Cancelled, QueryTimeout, ShuttingDown } from "../../src/domain/Errors.js"
import { QueryTracker } from "../../src/services/QueryTracker.js"

/**
 * The running queries: each registers with `begin`, giving the function that interrupts it, and
 * calls `end` once it has let go of DuckDB; a deadline, a cancel, an instance deleted or shutdown
 * interrupt it, and `end` says why.
 */
const options = (principal: string, instanceId = "default") => ({ instanceId, principal })

afterEach(() => {
  vi.useRealTimers()
})

describe("QueryTracker", () => {
  it.effect("lists a query to its principal only, from begin until end", () =>
    Effect.gen(function* () {
      const tracker = yield* QueryTracker
      const mine = tracker.begin(options("alice"), () => {})
      tracker.begin(options("bob"), () => {})
      mine.queryType = "SELECT"
      expect(tracker.list("alice").map((query) => [query.id, query.queryType])).toEqual([[mine.id, "SELECT"]])
      expect(mine.id).toMatch(/^q_[0-9a-f-]{36}$/)
      expect(tracker.end(mine)).toBeUndefined()
      expect(tracker.list("alice")).toEqual([])
      expect(tracker.size()).toBe(1)
    }).pipe(Effect.provide(QueryTracker.Default))
  )

  it.effect("a cancel interrupts the query and returns once it has ended; end names the cancel", () =>
    Effect.gen(function* () {
      const tracker = yield* QueryTracker
      let interrupted = 0
      const query = tracker.begin(options("alice"), () => {
        interrupted++
      })
      expect(Exit.isFailure(yield* Effect.exit(tracker.cancel(query.id, "bob")))).toBe(true)
      expect(interrupted).toBe(0)
      const cancel = yield* Effect.fork(tracker.cancel(query.id, "alice"))
      yield* Effect.yieldNow()
      expect(interrupted).toBe(1)
      // Still letting go of DuckDB: the cancel waits for it.
      expect(cancel.unsafePoll()).toBeNull()
      const reason = tracker.end(query)
      expect(reason).toBeInstanceOf(Cancelled)
      expect(reason?.message).toBe("the query was cancelled")
      yield* Fiber.join(cancel)
      expect(tracker.size()).toBe(0)
    }).pipe(Effect.provide(QueryTracker.Default))
  )

  it.effect("the deadline stops a query with its reason, and never one that ended before it", () =>
    Effect.gen(function* () {
      vi.useFakeTimers()
      const tracker = yield* QueryTracker
      const deadline = { millis: 1_000, reason: () => new QueryTimeout({ message: "too long" }) }
      const stops: Array<string> = []
      const slow = tracker.begin({ ...options("alice"), deadline }, () => stops.push("slow"))
      const quick = tracker.begin({ ...options("alice"), deadline }, () => stops.push("quick"))
      vi.advanceTimersByTime(400)
      expect(tracker.end(quick)).toBeUndefined()
      vi.advanceTimersByTime(599)
      expect(stops).toEqual([])
      vi.advanceTimersByTime(1)
      expect(stops).toEqual(["slow"])
      expect(tracker.end(slow)).toBeInstanceOf(QueryTimeout)
      vi.advanceTimersByTime(5_000)
      expect(stops).toEqual(["slow"])
    }).pipe(Effect.provide(QueryTracker.Default))
  )

  it.effect("an instance's queries stop with it, all stop at shutdown, and the first reason wins", () =>
    Effect.gen(function* () {
      const tracker = yield* QueryTracker
      const stops: Array<string> = []
      const onA = tracker.begin(options("alice", "inst_a"), () => stops.push("a"))
      const onB = tracker.begin(options("bob", "inst_b"), () => stops.push("b"))
      tracker.cancelInstance("inst_a", new Cancelled({ message: "the instance was deleted" }))
      expect(stops).toEqual(["a"])
      tracker.cancelAll(new ShuttingDown({ message: "the server is shutting down" }))
      expect(stops).toEqual(["a", "b"])
      expect(tracker.end(onA)?.message).toBe("the instance was deleted")
      expect(tracker.end(onB)).toBeInstanceOf(ShuttingDown)
    }).pipe(Effect.provide(QueryTracker.Default))
  )
})
