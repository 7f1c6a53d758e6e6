import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { Effect, Exit, Redacted, Scope } from "effect"
import { type AttachContext, type DatabaseDescriptor, planDatabase } from "../attach/Attachments.js"
import { type AttachPlan, detachStatement } from "../attach/AttachPlan.js"
import {
  classifyExtensionError,
  type ExtensionSettings,
  extensionForType,
  planExtensions,
  scannerSettings
} from "../attach/Extensions.js"
import { classifyQueryFailure, classifyUpstreamError } from "../attach/HostPolicy.js"
import { scrubMessage } from "../attach/Scrub.js"
import {
  type ExtensionUnavailable,
  type ForbiddenStatement,
  InvalidRequest,
  type UpstreamUnavailable
} from "../domain/Errors.js"
import { creationOptions, lockdown } from "../gate/Lockdown.js"
import type { StatementGate } from "../gate/StatementGate.js"
import { ConnectionPool, type PoolOptions } from "./ConnectionPool.js"

/** Everything an engine is built from, besides its own descriptor; resolved once, at start. */
export interface EngineContext {
  readonly attach: AttachContext
  readonly extensions: Omit<ExtensionSettings, "types">
  readonly gate: StatementGate
  readonly pool: PoolOptions
}

/** Why a database could not be attached, as the client who asked for it may hear it. */
export type AttachError = InvalidRequest | ForbiddenStatement | UpstreamUnavailable | ExtensionUnavailable

export interface EngineSpec {
  readonly threads: number
  readonly memoryLimitBytes: number
  readonly databases: ReadonlyArray<DatabaseDescriptor>
}

/**
 * One built DuckDB engine: its pool, the databases it attached, and those it could not (only when
 * built with `tolerateFailures`, as the shared instance is at start and while recovering).
 */
export interface Generation {
  readonly pool: ConnectionPool
  readonly attached: ReadonlyArray<DatabaseDescriptor>
  readonly failures: ReadonlyMap<string, AttachError>
  /** Closes the pool, then the engine. */
  readonly close: Effect.Effect<void>
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const run = (connection: DuckDBConnection, sql: string) =>
  Effect.tryPromise({ try: () => connection.run(sql), catch: messageOf })

/** What a failed attach tells the client: never DuckDB's raw text, which may name paths and hosts. */
const attachFailure = (plan: AttachPlan, message: string): AttachError =>
  classifyExtensionError(message, plan.extension) ??
  classifyUpstreamError(plan.alias, message) ??
  new InvalidRequest({ message: `database "${plan.alias}" could not be attached: ${plan.scrub(message)}` })

const attachOne = (setup: DuckDBConnection, plan: AttachPlan, gate: StatementGate) =>
  Effect.gen(function* () {
    const statements = [...plan.prepare.map((sql) => Redacted.value(sql)), plan.attach]
    const attached = yield* Effect.either(Effect.forEach(statements, (sql) => run(setup, sql)))
    // The secret has done its work once the scanner holds the connection settings.
    for (const sql of plan.cleanup) yield* Effect.ignore(run(setup, sql))
    if (attached._tag === "Left") return yield* Effect.fail(attachFailure(plan, attached.left))
    // Views and macros stored in a DuckDB file expand where the gate cannot see them. A refused file
    // is detached again: an engine that tolerates failures (the shared one) would otherwise keep
    // serving it while reporting it as not attached.
    if (plan.type === "duckdb")
      yield* gate.auditDatabase(setup, plan.alias).pipe(
        // DuckDB's catalog listings read every attached catalog, upstreams' included: one that cannot
        // be reached at that moment is a 502, not a defect.
        Effect.catchTag("SqlError", (error) => {
          const upstream = classifyQueryFailure(error.message)
          return upstream === undefined ? Effect.die(error) : Effect.fail(upstream)
        }),
        Effect.tapError(() => Effect.orDie(run(setup, detachStatement(plan.alias))))
      )
  })

/** Loads the extensions the engine needs; those that cannot load are returned, not thrown. */
const loadExtensions = (setup: DuckDBConnection, spec: EngineSpec, context: EngineContext) =>
  Effect.gen(function* () {
    const unavailable = new Map<string, AttachError>()
    const plan = planExtensions({
      ...context.extensions,
      types: spec.databases.map((database) => database.type)
    })
    for (const sql of plan.statements) {
      const outcome = yield* Effect.either(run(setup, sql))
      if (outcome._tag === "Right") continue
      const name = sql.startsWith("LOAD ") ? sql.slice("LOAD ".length) : undefined
      const error = classifyExtensionError(outcome.left, name)
      if (error === undefined || name === undefined) {
        return yield* Effect.dieMessage(
          `extension setup failed: ${scrubMessage(outcome.left, context.attach.scrubAlso)}`
        )
      }
      unavailable.set(name, error)
    }
    for (const name of plan.loads) {
      if (unavailable.has(name)) continue
      for (const sql of scannerSettings[name] ?? []) yield* Effect.orDie(run(setup, sql))
    }
    return unavailable
  })

/** The server's own work on a fresh engine, on its own connection: extensions, attaches, lockdown. */
const setUp = (
  setup: DuckDBConnection,
  spec: EngineSpec,
  context: EngineContext,
  tolerateFailures: boolean
): Effect.Effect<{ attached: Array<DatabaseDescriptor>; failures: Map<string, AttachError> }, AttachError> =>
  Effect.gen(function* () {
    const unavailable = yield* loadExtensions(setup, spec, context)
    const attached: Array<DatabaseDescriptor> = []
    const failures = new Map<string, AttachError>()
    const allowedPaths: Array<string> = []
    for (const database of spec.databases) {
      const extension = extensionForType(database.type)
      const missing = extension === undefined ? undefined : unavailable.get(extension)
      // The plan first: a malformed connection string, a file outside the roots or a host the policy
      // refuses is the client's error whether or not the scanner happens to be installed.
      const outcome = yield* Effect.either(
        Effect.flatMap(planDatabase(database, context.attach), (plan) =>
          missing !== undefined
            ? Effect.fail(missing)
            : Effect.as(attachOne(setup, plan, context.gate), plan.allowedPaths)
        )
      )
      if (outcome._tag === "Right") {
        attached.push(database)
        allowedPaths.push(...outcome.right)
      } else if (tolerateFailures) {
        failures.set(database.alias, outcome.left)
      } else {
        return yield* Effect.fail(outcome.left)
      }
    }
    yield* Effect.orDie(lockdown(setup, { allowedPaths }))
    return { attached, failures }
  })

/**
 * Builds an engine in the order security.md prescribes: creation settings, extensions from the local
 * directory, credentials as temporary secrets, read-only attaches, then `allowed_paths` and the
 * one-way lockdown. Without `tolerateFailures` any database that fails fails the build.
 */
export const buildEngine = (
  spec: EngineSpec,
  context: EngineContext,
  options: { readonly tolerateFailures: boolean }
): Effect.Effect<Generation, AttachError> =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const build = Effect.gen(function* () {
      const engine = yield* Effect.acquireRelease(
        Effect.promise(() =>
          DuckDBInstance.create(
            undefined,
            creationOptions({
              threads: spec.threads,
              memoryLimitBytes: spec.memoryLimitBytes,
              ...(context.extensions.directory === undefined
                ? {}
                : { extensionDirectory: context.extensions.directory })
            })
          )
        ),
        (engine) => Effect.sync(() => engine.closeSync())
      )
      const { attached, failures } = yield* Effect.acquireUseRelease(
        Effect.promise(() => engine.connect()),
        (setup) => setUp(setup, spec, context, options.tolerateFailures),
        (setup) => Effect.sync(() => setup.closeSync())
      )
      const pool = yield* ConnectionPool.make(() => engine.connect(), context.pool)
      const generation: Generation = { pool, attached, failures, close: Scope.close(scope, Exit.void) }
      return generation
    })
    return yield* build.pipe(
      Scope.extend(scope),
      Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
    )
  })
