import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Admission } from "../../src/services/Admission.js"

/** Places per principal and in all, handed out round-robin across waiting principals (issue 13, 4 and 6). */
const admitted = (fiber: Fiber.RuntimeFiber<void>) =>
  Effect.map(Fiber.poll(fiber), (exit) => exit._tag === "Some" && exit.value._tag === "Success")

describe("Admission", () => {
  it.effect("admits at once below both limits, and waits at a principal's limit", () =>
    Effect.gen(function* () {
      const admission = new Admission({ perPrincipal: 2, total: 10 })
      yield* admission.enter("a")
      yield* admission.enter("a")
      const third = yield* Effect.fork(admission.enter("a"))
      yield* Effect.yieldNow()
      expect(yield* admitted(third)).toBe(false)
      // Another principal is not held up by a's backlog.
      expect(admission.tryEnter("b")).toBe(false) // someone waits: no jumping the queue...
      yield* admission.enter("b") // ...but the wait admits b at once, since a place is free for b
      expect(admission.heldBy("b")).toBe(1)
      admission.leave("a")
      yield* Fiber.join(third)
      expect(admission.heldBy("a")).toBe(2)
    })
  )

  it.effect("serves waiting principals round-robin when the total is the limit", () =>
    Effect.gen(function* () {
      const admission = new Admission({ perPrincipal: 10, total: 1 })
      yield* admission.enter("holder")
      const order: Array<string> = []
      const waiter = (principal: string) =>
        Effect.fork(Effect.tap(admission.enter(principal), () => Effect.sync(() => order.push(principal))))
      const fibers = [yield* waiter("a"), yield* waiter("a"), yield* waiter("a"), yield* waiter("b")]
      yield* Effect.yieldNow()
      admission.leave("holder")
      for (let i = 0; i < 4; i++) {
        yield* Effect.yieldNow()
        admission.leave(order[order.length - 1]!)
      }
      yield* Effect.forEach(fibers, Fiber.join)
      // b's one query goes second, not after a's whole backlog.
      expect(order).toEqual(["a", "b", "a", "a"])
      expect(admission.total).toBe(0)
    })
  )

  it("enterOr: a place at once, else a waiter woken once when it is given one; a withdrawn waiter never is", () => {
    const admission = new Admission({ perPrincipal: 1, total: 10 })
    expect(admission.enterOr("a", () => expect.fail("not a waiter"))).toBeUndefined()
    const woken: Array<string> = []
    const first = admission.enterOr("a", () => woken.push("first"))
    const second = admission.enterOr("a", () => woken.push("second"))
    expect(first?.granted).toBe(false)
    admission.withdraw(second!)
    admission.leave("a")
    expect(woken).toEqual(["first"])
    expect(admission.heldBy("a")).toBe(1)
    admission.leave("a")
    expect(admission.total).toBe(0)
    expect(woken).toEqual(["first"])
  })

  it.effect("an interrupted waiter leaves no place taken and no waiter behind", () =>
    Effect.gen(function* () {
      const admission = new Admission({ perPrincipal: 1, total: 10 })
      yield* admission.enter("a")
      const waiting = yield* Effect.fork(admission.enter("a"))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiting)
      admission.leave("a")
      expect(admission.total).toBe(0)
      expect(admission.tryEnter("a")).toBe(true)
    })
  )

  it("keeps a principal that sends one query at a time, and forgets idle principals once many have come and gone", () => {
    const admission = new Admission({ perPrincipal: 2, total: 10 })
    for (let i = 0; i < 100; i++) {
      expect(admission.tryEnter("steady")).toBe(true)
      admission.leave("steady")
    }
    expect(admission.principalsKept).toBe(1)
    expect(admission.tryEnter("holding")).toBe(true)
    for (let i = 0; i < 10_000; i++) {
      expect(admission.tryEnter(`p${i}`)).toBe(true)
      admission.leave(`p${i}`)
    }
    // Idle ones are pruned as new principals come: never more than twice the 1,024 kept.
    expect(admission.principalsKept).toBeLessThanOrEqual(2_048)
    expect(admission.heldBy("holding")).toBe(1)
    expect(admission.total).toBe(1)
  })
})
