import type { DuckDBDataChunk, DuckDBPreparedStatement, DuckDBResult } from "@duckdb/node-api"
import { Effect, Either, Exit } from "effect"
import {
  Cancelled,
  type ForbiddenStatement,
  type InvalidRequest,
  type PoolExhausted,
  type ReadOnly,
  type ShuttingDown,
  SqlError
} from "../domain/Errors.js"
import type { PooledConnection } from "../duckdb/ConnectionPool.js"
import type { Instance } from "../duckdb/Instance.js"
import { scrubMessage } from "../duckdb/Scrub.js"
import type { ResultColumn } from "../results/Encoder.js"
import { bindParams } from "../results/Params.js"
import { type GatePolicy, StatementGate, type Verdict } from "./StatementGate.js"

export interface QueryInput {
  readonly sql: string
  readonly params: unknown
}

/** A result being read: its columns, and chunks fetched one DuckDB call at a time. */
export interface Cursor {
  readonly verdict: Verdict
  readonly columns: ReadonlyArray<ResultColumn>
  /** The next chunk, or undefined once the result is complete. */
  readonly fetch: Effect.Effect<DuckDBDataChunk | undefined, SqlError | Cancelled>
}

export type QueryError =
  | InvalidRequest
  | SqlError
  | ForbiddenStatement
  | ReadOnly
  | PoolExhausted
  | ShuttingDown
  | Cancelled

const verdictCacheSize = 2_048
/** How long an interrupted DuckDB call may take to stop before its connection is thrown away. */
const interruptGraceMillis = 5_000

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const interrupted = () => new Cancelled({ message: "the query was interrupted" })

const failedMidStream = () =>
  new SqlError({
    message:
      "the query failed after its result began streaming (DuckDB does not report the error at that point)"
  })

/**
 * Runs one client statement: a pooled connection, the statement gate (its verdict cached by text
 * and policy), a prepared statement cached per connection, parameters bound as data, and the result
 * streamed chunk by chunk. Each DuckDB call is one async step; an interrupted query is interrupted in
 * DuckDB too, and its connection is only reused once DuckDB has let go of it.
 */
export class QueryRunner extends Effect.Service<QueryRunner>()("pondpilot/QueryRunner", {
  effect: Effect.gen(function* () {
    const gate = yield* StatementGate
    const verdicts = new Map<string, Verdict>()

    const rememberVerdict = (key: string, verdict: Verdict) => {
      verdicts.set(key, verdict)
      if (verdicts.size > verdictCacheSize) verdicts.delete(verdicts.keys().next().value!)
    }

    /** A DuckDB promise as one effect, remembered on the connection so an interrupt can wait for it. */
    const duck = <A>(connection: PooledConnection, call: () => Promise<A>) =>
      Effect.tryPromise({
        try: () => {
          const pending = call()
          connection.pending = pending
          return pending
        },
        catch: (error) => error
      })

    const sqlError = (error: unknown) => new SqlError({ message: scrubMessage(messageOf(error)) })

    /**
     * The gate's verdict is cached by text and policy; what runs is always the statement the gate
     * verified (`verdict.sql`), prepared once per connection and reused.
     */
    const prepare = (
      connection: PooledConnection,
      sql: string,
      policy: GatePolicy
    ): Effect.Effect<{ verdict: Verdict; prepared: DuckDBPreparedStatement }, QueryError> => {
      const key = policy.readOnly ? `r:${sql}` : `w:${sql}`
      const cachedVerdict = verdicts.get(key)
      const decided: Effect.Effect<Verdict, QueryError> =
        cachedVerdict !== undefined
          ? Effect.succeed(cachedVerdict)
          : Effect.tap(gate.decide(connection.raw, sql, policy), (verdict) => rememberVerdict(key, verdict))
      return Effect.flatMap(decided, (verdict) => {
        const cached = connection.cachedStatement(verdict.sql)
        if (cached !== undefined) return Effect.succeed({ verdict, prepared: cached })
        // Run as one tracked DuckDB call, so that an interrupt waits for this prepare like any other.
        return duck(connection, () =>
          Effect.runPromiseExit(gate.prepareVerified(connection.raw, verdict))
        ).pipe(
          Effect.orDie,
          Effect.flatten,
          Effect.mapError(scrubbed),
          Effect.map((prepared) => {
            connection.cacheStatement(verdict.sql, prepared)
            return { verdict, prepared }
          })
        )
      })
    }

    const scrubbed = <E extends QueryError>(error: E): E =>
      error._tag === "SqlError" ? (new SqlError({ message: scrubMessage(error.message) }) as E) : error

    const openCursor = (
      connection: PooledConnection,
      input: QueryInput,
      policy: GatePolicy,
      onVerdict: ((verdict: Verdict) => void) | undefined
    ): Effect.Effect<Cursor, QueryError> =>
      Effect.gen(function* () {
        const { verdict, prepared } = yield* prepare(connection, input.sql, policy)
        onVerdict?.(verdict)
        prepared.clearBindings()
        const bound = bindParams(prepared, input.params)
        if (Either.isLeft(bound)) return yield* bound.left
        const result: DuckDBResult = yield* duck(connection, () => prepared.stream()).pipe(
          Effect.mapError(sqlError)
        )
        const columns: Array<ResultColumn> = []
        for (let i = 0; i < result.columnCount; i++) {
          columns.push({ name: result.columnName(i), type: result.columnType(i) })
        }
        const fetch: Cursor["fetch"] = Effect.suspend(() => {
          if (connection.interrupted) return Effect.fail(interrupted())
          return duck(connection, () => result.fetchChunk()).pipe(
            Effect.mapError(sqlError),
            Effect.flatMap((chunk): Cursor["fetch"] => {
              if (connection.interrupted) return Effect.fail(interrupted())
              if (chunk !== null && chunk.rowCount > 0) return Effect.succeed(chunk)
              // DuckDB 1.5.6 ends a stream that failed (a runtime error in a later chunk, an interrupt)
              // with an empty chunk, as if it were complete; only the result's state tells them apart.
              if (!result.isStreaming) return Effect.fail(failedMidStream())
              return Effect.succeed(undefined)
            })
          )
        })
        return { verdict, columns, fetch }
      })

    const release = (connection: PooledConnection, exit: Exit.Exit<unknown, unknown>) => {
      if (Exit.isSuccess(exit) && !connection.interrupted) {
        return Effect.sync(() => connection.owner.release(connection))
      }
      connection.raw.interrupt()
      const pending = connection.pending
      return Effect.promise(
        () =>
          new Promise<boolean>((resolve) => {
            if (pending === undefined) return resolve(true)
            const timer = setTimeout(() => resolve(false), interruptGraceMillis)
            pending
              .then(
                () => resolve(true),
                () => resolve(true)
              )
              .finally(() => clearTimeout(timer))
          })
      ).pipe(
        Effect.map((stopped) => {
          connection.pending = undefined
          connection.interrupted = false
          if (stopped) connection.owner.release(connection, true)
          else connection.owner.discard(connection)
        })
      )
    }

    /**
     * Runs `input` on `instance` and hands its cursor to `consume`; the connection goes back to the
     * pool when `consume` ends, however it ends. `onVerdict` learns what the statement is as soon as
     * the gate has judged it, before DuckDB runs it (which, for an aggregate, is most of the work).
     */
    const execute = <A, E, R>(
      instance: Instance,
      input: QueryInput,
      policy: GatePolicy,
      consume: (cursor: Cursor) => Effect.Effect<A, E, R>,
      onVerdict?: (verdict: Verdict) => void
    ): Effect.Effect<A, E | QueryError, R> =>
      Effect.acquireUseRelease(
        instance.acquire(),
        (connection) => Effect.flatMap(openCursor(connection, input, policy, onVerdict), consume),
        (connection, exit) => release(connection, exit)
      )

    return {
      execute,
      /** Drops cached verdicts, e.g. when the gate's rules change in tests. */
      forgetVerdicts: () => verdicts.clear()
    } as const
  })
}) {}
