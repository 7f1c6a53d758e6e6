import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { Effect, Redacted } from "effect"
import { type DatabaseDescriptor, planDatabase } from "../attach/Attachments.js"
import { extensionForType, planExtensions } from "../attach/Extensions.js"
import { findStatements, type StopWindow, stopperFor } from "../attach/UpstreamStop.js"
import { creationOptions } from "../gate/Lockdown.js"
import type { EngineContext } from "./Engine.js"

/** Why our statements on an upstream could not be stopped; its message is scrubbed. */
export interface StopFailure {
  readonly alias: string
  readonly message: string
}

const isStoppable = (database: DatabaseDescriptor) =>
  stopperFor(extensionForType(database.type)) !== undefined

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** One private engine at a time, however many queries are stopped at once. */
const privateEngines = Effect.unsafeMakeSemaphore(1)

/** Enough for a few catalog rows; the private engine never holds client data. */
const privateEngineMemoryBytes = 64 * 1024 * 1024

const stopOn = (
  database: DatabaseDescriptor,
  context: EngineContext,
  window: StopWindow
): Effect.Effect<number, StopFailure> =>
  Effect.gen(function* () {
    const plan = yield* planDatabase(database, context.attach).pipe(
      Effect.mapError((error) => ({ alias: database.alias, message: error.message }))
    )
    const { controlAttach: control, extension } = plan
    const stopper = stopperFor(extension)
    if (control === undefined || extension === undefined || stopper === undefined) return 0
    const fail = (error: unknown): StopFailure => ({
      alias: database.alias,
      message: plan.scrub(messageOf(error))
    })
    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({
        try: () =>
          DuckDBInstance.create(
            undefined,
            creationOptions({
              threads: 1,
              memoryLimitBytes: privateEngineMemoryBytes,
              ...(context.extensions.directory === undefined
                ? {}
                : { extensionDirectory: context.extensions.directory })
            })
          ),
        catch: fail
      }),
      (engine) =>
        Effect.tryPromise({
          try: async () => {
            const connection: DuckDBConnection = await engine.connect()
            try {
              const extensions = planExtensions({ ...context.extensions, extensions: [], types: [extension] })
              for (const sql of extensions.statements) await connection.run(sql)
              try {
                for (const sql of plan.prepare) await connection.run(Redacted.value(sql))
                await connection.run(control)
              } finally {
                for (const sql of plan.cleanup) await connection.run(sql).catch(() => undefined)
              }
              const found = (
                await connection.runAndReadAll(findStatements(stopper, window, Date.now()))
              ).getRowsJson()
              if (stopper.stopOne !== undefined) {
                for (const [id] of found) await connection.run(stopper.stopOne(Number(id)))
              }
              return found.length
            } finally {
              connection.closeSync()
            }
          },
          catch: fail
        }),
      (engine) => Effect.sync(() => engine.closeSync())
    )
  })

/**
 * Stops, on each database of an instance whose statements may outlive a stop (MySQL/MariaDB,
 * PostgreSQL), the statements a stopped query left running (see attach/UpstreamStop.ts for which
 * and how): through a private engine that attaches the database only to stop them, then closes.
 * Returns how many statements it stopped; the failures are returned too, one per database, never
 * thrown.
 */
export const stopUpstreamStatements = (
  databases: ReadonlyArray<DatabaseDescriptor>,
  context: EngineContext,
  window: StopWindow
): Effect.Effect<{ readonly stopped: number; readonly failures: ReadonlyArray<StopFailure> }> =>
  Effect.gen(function* () {
    let stopped = 0
    const failures: Array<StopFailure> = []
    for (const database of databases) {
      if (!isStoppable(database)) continue
      const outcome = yield* Effect.either(privateEngines.withPermits(1)(stopOn(database, context, window)))
      if (outcome._tag === "Right") stopped += outcome.right
      else failures.push(outcome.left)
    }
    return { stopped, failures }
  })

/** Whether stopping a query may need `stopUpstreamStatements` (an instance with such a database). */
export const hasStoppableUpstream = (databases: ReadonlyArray<DatabaseDescriptor>): boolean =>
  databases.some(isStoppable)
