import type { Expansion } from "../gate/PlanSize.js"
import type { StoredView } from "../gate/StatementGate.js"

/**
 * The views clients created in one engine's own catalog, as the gate weighs statements against them
 * (StatementGate.checkViews). Read from DuckDB when first needed and again after any statement that
 * may create, replace or drop one; a read that a change overtook is used once and not kept.
 */
export class InstanceViews {
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
