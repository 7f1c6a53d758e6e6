import type { Expansion } from "../gate/PlanSize.js"
import type { StoredView } from "../gate/StatementGate.js"

/**
 * The views clients created in one engine's own catalog, as the gate weighs statements against them
 * (StatementGate.checkViews). Read from DuckDB when first needed and again after any statement that
 * may create, replace or drop one; a read that a change overtook is used once and not kept.
 */
export class InstanceViews {
  /** Keeps the views still between a statement's weighing and its binding. */
  readonly lock = new ViewLock()
  private version = 0
  private views: ReadonlyArray<StoredView> | undefined = undefined
  /**
   * Counts the statements that created, replaced or dropped a view. DuckDB does not bind a prepared
   * statement again when a view it names changes (it does for tables), so a connection's cached
   * statements are dropped once this has moved (PooledConnection.cachedStatement).
   */
  redefinitions = 0

  /** A statement that may change the catalog's views is about to run, or has run. */
  changed(): void {
    this.version++
    this.views = undefined
  }

  /** A statement that created, replaced or dropped a view has run. */
  redefined(): void {
    this.changed()
    this.redefinitions++
  }

  async current(
    read: (known: ReadonlyMap<string, Expansion>) => Promise<ReadonlyArray<StoredView>>
  ): Promise<ReadonlyArray<StoredView>> {
    if (this.views !== undefined) return this.views
    const version = this.version
    const known = new Map<string, Expansion>()
    for (const view of this.last) known.set(view.sql, view.expansion)
    const views = await read(known)
    this.last = views
    if (version === this.version) this.views = views
    return views
  }

  /** The last read, kept so that views whose text did not change are not parsed again. */
  private last: ReadonlyArray<StoredView> = []
}

/** Something that can say it was stopped: the query's stop signal. */
export interface Stoppable {
  /** Calls `listener` on stop (at once if already stopped); returns a function that forgets it. */
  onStop(listener: () => void): () => void
}

/** Leaves the lock; calling it again does nothing. */
export type Leave = () => void

/**
 * Keeps a view from being replaced between a statement's weighing and its binding. A statement
 * weighed against the instance's views (StatementGate.checkViews) holds a shared place from before
 * its weighing until DuckDB has bound it; one that may create, replace or drop a view holds the
 * place alone. Without it, a view replaced in between by a heavier one (each definition within the
 * limit on its own) would be expanded while binding without having been weighed: memory outside
 * `memory_limit`, the class of blow-up the gate exists to stop.
 *
 * Weighed statements go first: one that changes views waits until none is between weighing and
 * binding, so that a busy instance keeps answering its queries while a `CREATE VIEW` waits (until
 * its own deadline at worst). A stop ends a wait at once.
 */
export class ViewLock {
  private weighing = 0
  private changing = false
  private readonly waiters = new Set<() => void>()

  /** A place for a statement that is weighed against the views. */
  weigh(signal: Stoppable): Leave | Promise<Leave> {
    return this.enter(
      signal,
      () => !this.changing,
      () => this.weighing++,
      () => this.weighing--
    )
  }

  /** The place alone, for a statement that may create, replace or drop a view. */
  change(signal: Stoppable): Leave | Promise<Leave> {
    return this.enter(
      signal,
      () => !this.changing && this.weighing === 0,
      () => {
        this.changing = true
      },
      () => {
        this.changing = false
      }
    )
  }

  private enter(
    signal: Stoppable,
    free: () => boolean,
    take: () => void,
    give: () => void
  ): Leave | Promise<Leave> {
    const leaving = (): Leave => {
      take()
      let left = false
      return () => {
        if (left) return
        left = true
        give()
        this.wake()
      }
    }
    if (free()) return leaving()
    return new Promise<Leave>((resolve, reject) => {
      const retry = () => {
        if (!free()) return
        this.waiters.delete(retry)
        forget()
        resolve(leaving())
      }
      this.waiters.add(retry)
      const forget = signal.onStop(() => {
        this.waiters.delete(retry)
        reject(new ViewLockStopped())
      })
    })
  }

  /** Each waiter takes its place if it is free now, in the order they came. */
  private wake(): void {
    for (const waiter of [...this.waiters]) waiter()
  }
}

/** A wait for the view lock that ended because its query was stopped. */
export class ViewLockStopped extends Error {
  constructor() {
    super("stopped while waiting to change or weigh views")
  }
}
