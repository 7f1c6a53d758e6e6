import { Effect } from "effect"
import { LinkedList, type ListNode } from "../collections/LinkedList.js"

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

/** What one principal holds and waits for. */
interface Holder {
  readonly principal: string
  held: number
  /** Its waiters, oldest first. */
  readonly queue: LinkedList<QueuedWaiter>
  /** Its place in the round of principals with waiters, while it has some. */
  turn: ListNode<Holder> | undefined
}

interface QueuedWaiter extends Waiter {
  node: ListNode<QueuedWaiter> | undefined
}

const noWake = () => {}

/**
 * Holders kept with nothing held nor queued before the idle ones are dropped: a principal sending
 * one query at a time would otherwise be removed and added again on every query (see LinkedList for
 * why that churn is avoided on the query path).
 */
const idleHoldersKept = 1_024

export class Admission {
  private readonly holders = new Map<string, Holder>()
  private inUse = 0
  /** Principals with waiters; the round-robin order (a served principal moves last). */
  private readonly round = new LinkedList<Holder>()
  private pruneAt = idleHoldersKept

  constructor(readonly limits: AdmissionLimits) {}

  /** Places held now by `principal`. */
  heldBy(principal: string): number {
    return this.holders.get(principal)?.held ?? 0
  }

  get total(): number {
    return this.inUse
  }

  /** Principals it keeps a record of: holding, queued, or idle and not yet pruned. */
  get principalsKept(): number {
    return this.holders.size
  }

  /** Takes a place at once when one is free and nobody waits for it; false otherwise. */
  tryEnter(principal: string): boolean {
    if (this.round.size > 0) return false
    return this.take(this.holderOf(principal))
  }

  private holderOf(principal: string): Holder {
    let holder = this.holders.get(principal)
    if (holder === undefined) {
      if (this.holders.size >= this.pruneAt) this.prune()
      holder = { principal, held: 0, queue: new LinkedList(), turn: undefined }
      this.holders.set(principal, holder)
    }
    return holder
  }

  /** Drops holders with nothing held nor queued; amortised over at least as many new principals. */
  private prune(): void {
    for (const [principal, holder] of this.holders) {
      if (holder.held === 0 && holder.queue.size === 0) this.holders.delete(principal)
    }
    this.pruneAt = Math.max(idleHoldersKept, 2 * this.holders.size)
  }

  private take(holder: Holder): boolean {
    if (holder.held >= this.limits.perPrincipal || this.inUse >= this.limits.total) return false
    holder.held++
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
    const holder = this.holderOf(principal)
    const waiter: QueuedWaiter = { principal, granted: false, wake: noWake, node: undefined }
    waiter.node = holder.queue.push(waiter)
    if (holder.turn === undefined) holder.turn = this.round.push(holder)
    // A place may be free for this principal although others wait (they are at their own limit).
    this.grant()
    if (waiter.granted) return undefined
    waiter.wake = wake
    return waiter
  }

  withdraw(waiter: Waiter): void {
    const queued = waiter as QueuedWaiter
    const holder = this.holders.get(waiter.principal)
    if (holder === undefined || queued.node === undefined) return
    holder.queue.remove(queued.node)
    queued.node = undefined
    if (holder.queue.size === 0) this.leaveRound(holder)
  }

  /** Gives a place back; the next waiter, in round-robin order, takes it. */
  leave(principal: string): void {
    const holder = this.holders.get(principal)
    if (holder !== undefined && holder.held > 0) holder.held--
    this.inUse--
    if (this.round.size > 0) this.grant()
  }

  private leaveRound(holder: Holder): void {
    if (holder.turn === undefined) return
    this.round.remove(holder.turn)
    holder.turn = undefined
  }

  /** Admits waiters while places are free, one principal at a time. */
  private grant(): void {
    while (this.inUse < this.limits.total) {
      let admitted = false
      // Walked by its nodes: this runs for every query given a place, and an iterator would be garbage.
      for (let turn = this.round.first; turn !== undefined; turn = turn.next) {
        const holder = turn.value
        if (!this.take(holder)) continue
        const waiter = holder.queue.shift()!
        waiter.node = undefined
        // Served: to the back of the round, if it still waits.
        if (holder.queue.size === 0) this.leaveRound(holder)
        else this.round.moveToBack(turn)
        waiter.granted = true
        waiter.wake()
        admitted = true
        break
      }
      if (!admitted) return
    }
  }
}
