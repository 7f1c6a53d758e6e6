import { Effect } from "effect"

/**
 * How many queries may hold DuckDB at once, per principal and in all. A query holds its place from
 * admission until DuckDB lets go of its connection, which after a timeout or a cancel can be long
 * after the client got its answer: work that outlives its request still counts, so a client cannot
 * pile up abandoned work until the thread pool or the CPU is gone.
 *
 * Waiting callers are served round-robin across principals (oldest first within one), so that one
 * principal's backlog never stands in front of another principal's next query. The wait has no
 * timer of its own: the query's deadline bounds it.
 */
export interface AdmissionLimits {
  readonly perPrincipal: number
  readonly total: number
}

export interface Waiter {
  readonly principal: string
  granted: boolean
  wake: () => void
}

const noWake = () => {}

export class Admission {
  private readonly held = new Map<string, number>()
  private inUse = 0
  /** Waiters by principal; the map's order is the round-robin order (a served principal moves last). */
  private readonly waiting = new Map<string, Set<Waiter>>()

  constructor(readonly limits: AdmissionLimits) {}

  /** Places held now by `principal`. */
  heldBy(principal: string): number {
    return this.held.get(principal) ?? 0
  }

  get total(): number {
    return this.inUse
  }

  /** Takes a place at once when one is free and nobody waits for it; false otherwise. */
  tryEnter(principal: string): boolean {
    if (this.waiting.size > 0) return false
    return this.take(principal)
  }

  private take(principal: string): boolean {
    const mine = this.held.get(principal) ?? 0
    if (mine >= this.limits.perPrincipal || this.inUse >= this.limits.total) return false
    this.held.set(principal, mine + 1)
    this.inUse++
    return true
  }

  /** A place, waiting (interruptibly) for one when none is free. */
  enter(principal: string): Effect.Effect<void> {
    return Effect.suspend(() => (this.tryEnter(principal) ? Effect.void : this.wait(principal)))
  }

  private wait(principal: string): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const waiter = this.enterOr(principal, () => resume(Effect.void))
      if (waiter === undefined) return resume(Effect.void)
      return Effect.sync(() => {
        if (waiter.granted) this.leave(principal)
        else this.withdraw(waiter)
      })
    }).pipe(Effect.interruptible)
  }

  /**
   * For callers that wait without an effect of their own: a place now (undefined), or a waiter in
   * the queue whose `wake` is called, later and once, when it has been given a place. `withdraw`
   * takes a waiter that was not woken off the queue.
   */
  enterOr(principal: string, wake: () => void): Waiter | undefined {
    if (this.tryEnter(principal)) return undefined
    const waiter: Waiter = { principal, granted: false, wake: noWake }
    let queue = this.waiting.get(principal)
    if (queue === undefined) {
      queue = new Set()
      this.waiting.set(principal, queue)
    }
    queue.add(waiter)
    // A place may be free for this principal although others wait (they are at their own limit).
    this.grant()
    if (waiter.granted) return undefined
    waiter.wake = wake
    return waiter
  }

  withdraw(waiter: Waiter): void {
    const queue = this.waiting.get(waiter.principal)
    if (queue === undefined) return
    queue.delete(waiter)
    if (queue.size === 0) this.waiting.delete(waiter.principal)
  }

  /** Gives a place back; the next waiter, in round-robin order, takes it. */
  leave(principal: string): void {
    const mine = this.held.get(principal) ?? 0
    if (mine <= 1) this.held.delete(principal)
    else this.held.set(principal, mine - 1)
    this.inUse--
    if (this.waiting.size > 0) this.grant()
  }

  /** Admits waiters while places are free, one principal at a time. */
  private grant(): void {
    while (this.inUse < this.limits.total) {
      let admitted = false
      for (const [principal, queue] of this.waiting) {
        if (!this.take(principal)) continue
        const waiter = queue.values().next().value!
        queue.delete(waiter)
        this.waiting.delete(principal)
        // Served: to the back of the round, if it still waits.
        if (queue.size > 0) this.waiting.set(principal, queue)
        waiter.granted = true
        waiter.wake()
        admitted = true
        break
      }
      if (!admitted) return
    }
  }
}
