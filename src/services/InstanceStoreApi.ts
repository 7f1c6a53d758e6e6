import { Data, type Effect, type Option, type PubSub } from "effect"
import type { DatabaseDescriptor } from "../attach/Attachments.js"
import type { NotFound, StoreUnavailable } from "../domain/Errors.js"
import type { InstanceDescriptor } from "../duckdb/Instance.js"

/** An API-created instance as the store holds it. Connection strings are sealed (`SecretBox`). */
export interface StoredInstance extends InstanceDescriptor {
  /** Changes on every attach and detach: a replica's engine was built from one version. */
  readonly version: number
  /** The latest use any replica reported (reports are written behind, about a second late). */
  readonly lastUsedAt: number
}

/** What other replicas need to hear at once. `Resync`: notifications may have been missed. */
export type InstanceChange =
  | { readonly _tag: "Updated"; readonly id: string; readonly version: number }
  | { readonly _tag: "Deleted"; readonly id: string }
  | { readonly _tag: "Resync" }

/** The instance changed since it was read (another replica attached or detached): read it again. */
export class VersionConflict extends Data.TaggedError("VersionConflict")<{ readonly id: string }> {}

export interface InstanceStoreApi {
  /** Stores a new instance unless `maxInstances` exist already, fleet-wide (checked atomically); None then. */
  readonly create: (
    descriptor: InstanceDescriptor,
    maxInstances: number
  ) => Effect.Effect<Option.Option<StoredInstance>, StoreUnavailable>
  readonly get: (id: string) => Effect.Effect<Option.Option<StoredInstance>, StoreUnavailable>
  /** The owner's instances, oldest first. */
  readonly listByOwner: (owner: string) => Effect.Effect<ReadonlyArray<StoredInstance>, StoreUnavailable>
  /** Replaces the databases if the stored version is still `expectedVersion`; the new version. */
  readonly update: (
    id: string,
    expectedVersion: number,
    databases: ReadonlyArray<DatabaseDescriptor>
  ) => Effect.Effect<number, VersionConflict | NotFound | StoreUnavailable>
  /** False when there was nothing to delete. */
  readonly delete: (id: string) => Effect.Effect<boolean, StoreUnavailable>
  /** Records a use; a shared store writes uses behind (see `flush`), never once per query. */
  readonly touch: (id: string, at: number) => void
  /** Writes the uses recorded so far. */
  readonly flush: Effect.Effect<void, StoreUnavailable>
  /** API-created instances, fleet-wide. */
  readonly count: Effect.Effect<number, StoreUnavailable>
  /** Deletes the instances last used at or before `cutoff` (as one change each); their ids. */
  readonly evictIdle: (cutoff: number) => Effect.Effect<ReadonlyArray<string>, StoreUnavailable>
  /** Updates and deletes, from this replica and every other. */
  readonly changes: PubSub.PubSub<InstanceChange>
  /** Whether the store answers now (readiness). */
  readonly available: () => boolean
  /** Whether changes made elsewhere are heard now; while not, a replica checks the store on every use. */
  readonly notifying: () => boolean
}
