import { type DuckDBDataChunk, type DuckDBPreparedStatement, StatementType } from "@duckdb/node-api"
import { Cause, Effect, Either, Exit, Option, Runtime } from "effect"
import { classifyQueryFailure } from "../attach/HostPolicy.js"
import { scrubMessage } from "../attach/Scrub.js"
import {
  Cancelled,
  type ForbiddenStatement,
  type InvalidRequest,
  isClientError,
  type PoolExhausted,
  type ReadOnly,
  type ShuttingDown,
  SqlError,
  type UpstreamUnavailable
} from "../domain/Errors.js"
import { trimSandboxHints } from "../duckdb/ErrorHints.js"
import type { Instance } from "../duckdb/Instance.js"
import { type Leave, ViewLockStopped } from "../duckdb/InstanceViews.js"
import type { PooledConnection } from "../duckdb/PooledConnection.js"
import { type GatePolicy, StatementGate, type Verdict } from "../gate/StatementGate.js"
import { bindParams } from "../params/Params.js"
import type { ResultColumn } from "../results/Encoder.js"
import { Admission, type Waiter } from "./Admission.js"
import { AppConfig } from "./AppConfig.js"
import { spanned, spannedPromise, type Traced } from "./Tracing.js"

export interface QueryInput {
  readonly sql: string
  readonly params: unknown
}

/** A result being read: its columns, and chunks fetched one DuckDB call at a time. */
export interface Cursor {
  readonly verdict: Verdict
  readonly columns: ReadonlyArray<ResultColumn>
  /** The next chunk, or undefined once the result is complete; rejects with a client error. */
  next(): Promise<DuckDBDataChunk | undefined>
  /** Resolves once no fetch is in flight (one asked for ahead and not read, say after max_rows). */
  settle(): Promise<void>
}

/** Tells the code reading a result that its query was stopped (deadline, cancel, client gone). */
export class StopSignal {
  stopped = false
  private listeners: Array<() => void> | undefined = undefined

  /** Calls `listener` on stop; returns a function that forgets it. */
  onStop(listener: () => void): () => void {
    if (this.stopped) {
      listener()
      return () => {}
    }
    if (this.listeners === undefined) this.listeners = []
    this.listeners.push(listener)
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1
      if (index >= 0) this.listeners!.splice(index, 1)
    }
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    for (const listener of this.listeners ?? []) listener()
    this.listeners = undefined
  }
}

export type QueryError =
  | InvalidRequest
  | SqlError
  | ForbiddenStatement
  | ReadOnly
  | PoolExhausted
  | ShuttingDown
  | Cancelled
  | UpstreamUnavailable

const verdictCacheSize = 2_048
/** How long a stopped query's answer waits for DuckDB to let go (issue: the answer comes at the deadline). */
const answerGraceMillis = 500
/** After the answer, how long DuckDB may hold on before its engine is renewed once it lets go. */
const runawayAfterMillis = 5_000

/** A query's place: who holds it, and whether its DuckDB call outlived the grace period. */
interface Ticket {
  readonly principal: string
  readonly instance: Instance
  runaway: boolean
  /** When it started, on an instance whose upstream statements the server may have to stop. */
  startedAt?: number
}

/** A verified statement prepared on a connection, and the view lock it holds until it runs. */
interface Prepared {
  readonly verdict: Verdict
  readonly prepared: DuckDBPreparedStatement
  readonly leave: Leave | undefined
}

const ignore = () => undefined
const settled: Promise<void> = Promise.resolve()

const catalogChanges: ReadonlySet<StatementType> = new Set([
  StatementType.CREATE,
  StatementType.DROP,
  StatementType.ALTER
])

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const interrupted = () => new Cancelled({ message: "the query was interrupted" })

const failedMidStream = () =>
  new SqlError({
    message:
      "the query failed after its result began streaming (DuckDB does not report the error at that point)"
  })

/** A DuckDB error as a client sees it: scrubbed, and without advice the sandbox does not let it follow. */
const clientMessage = (message: string) => trimSandboxHints(scrubMessage(message))

/** A failed statement: 502 when an attached upstream could not be reached, else DuckDB's cleaned text. */
const sqlError = (error: unknown): SqlError | UpstreamUnavailable => {
  const message = messageOf(error)
  return classifyQueryFailure(message) ?? new SqlError({ message: clientMessage(message) })
}

/**
 * Runs one client statement: a pooled connection, the statement gate (its verdict cached by text
 * and policy), a prepared statement cached per connection, parameters bound as data, and the result
 * streamed chunk by chunk.
 *
 * The work on the connection is one plain async function: one await per DuckDB call and nothing
 * else, because on the hot path each effect step per query cost more than DuckDB answering
 * `SELECT 42`. It stays an interruptible effect: interrupting it interrupts DuckDB and waits until
 * DuckDB has let go of the connection before the connection returns to the pool.
 */
export class QueryRunner extends Effect.Service<QueryRunner>()("pondpilot/QueryRunner", {
  effect: Effect.gen(function* () {
    const gate = yield* StatementGate
    const config = yield* AppConfig
    const runtime = yield* Effect.runtime<never>()
    const runExit = Runtime.runPromiseExit(runtime)
    const runFork = Runtime.runFork(runtime)
    const verdicts = new Map<string, Verdict>()

    /** The value of a server-side effect, or its typed failure thrown as is. */
    const unwrap = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
      const exit = await runExit(effect)
      if (Exit.isSuccess(exit)) return exit.value
      const failure = Cause.failureOption(exit.cause)
      throw Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
    }

    /** A DuckDB call, remembered on the connection so that an interrupt can wait for it. */
    const duck = <A>(connection: PooledConnection, pending: Promise<A>): Promise<A> => {
      connection.pending = pending
      return pending
    }

    // Binding a statement reads an upstream's catalog, so the gate's errors may be an upstream's too.
    const scrubbed = (error: unknown): unknown => (error instanceof SqlError ? sqlError(error) : error)

    /**
     * The gate's verdict is cached by text and policy; what runs is always the statement the gate
     * verified (`verdict.sql`), prepared once per connection and reused.
     */
    const prepare = async (
      connection: PooledConnection,
      sql: string,
      policy: GatePolicy,
      signal: StopSignal,
      trace: Traced | undefined
    ): Promise<Prepared> => {
      const key = policy.readOnly ? `r:${sql}` : `w:${sql}`
      let verdict = verdicts.get(key)
      trace?.attribute("pondpilot.gate.cached", verdict !== undefined)
      if (verdict === undefined) {
        verdict = await unwrap(spanned(trace, "gate.decide", gate.decide(connection.raw, sql, policy))).catch(
          (error) => {
            throw scrubbed(error)
          }
        )
        verdicts.set(key, verdict)
        if (verdicts.size > verdictCacheSize) verdicts.delete(verdicts.keys().next().value!)
      }
      const leave = holdsViews(verdict, policy) ? await holdViews(connection, verdict, signal) : undefined
      try {
        // Clients create views only where they may write. Weighed on every run, cached statement or
        // not: DuckDB binds a prepared statement again when the catalog has changed.
        if (!policy.readOnly && verdict.expansion !== undefined) await checkViews(connection, verdict)
        let prepared: DuckDBPreparedStatement | undefined = connection.cachedStatement(verdict.sql)
        if (prepared === undefined) {
          prepared = await duck(
            connection,
            unwrap(spanned(trace, "gate.prepare", gate.prepareVerified(connection.raw, verdict)))
          ).catch((error) => {
            throw scrubbed(error)
          })
          connection.cacheStatement(verdict.sql, prepared)
        }
        return { verdict, prepared, leave }
      } catch (error) {
        leave?.()
        throw error
      }
    }

    /**
     * Where clients may write, a statement weighed against the views, or one that defines a view,
     * holds the instance's view lock until DuckDB has bound it (see ViewLock); undefined for others.
     * Such a statement is never taken from `cached`: it is weighed on every run, and waits its turn.
     */
    const holdsViews = (verdict: Verdict, policy: GatePolicy) =>
      !policy.readOnly && (verdict.expansion !== undefined || verdict.view !== undefined)

    const holdViews = async (
      connection: PooledConnection,
      verdict: Verdict,
      signal: StopSignal
    ): Promise<Leave> => {
      const lock = connection.owner.views.lock
      // Only a view's definition can make a name expand to more: a dropped view expands to nothing,
      // a table (created, altered or renamed) to itself, and clients cannot create macros.
      const entered = verdict.view !== undefined ? lock.change(signal) : lock.weigh(signal)
      if (typeof entered === "function") return entered
      return duck(connection, entered).catch((error) => {
        throw error instanceof ViewLockStopped ? interrupted() : error
      })
    }

    /** The verdict and the prepared statement when both are cached (a repeated statement): no await. */
    const cached = (connection: PooledConnection, sql: string, policy: GatePolicy) => {
      const verdict = verdicts.get(policy.readOnly ? `r:${sql}` : `w:${sql}`)
      if (verdict === undefined || holdsViews(verdict, policy)) return undefined
      const prepared = connection.cachedStatement(verdict.sql)
      return prepared === undefined ? undefined : { verdict, prepared, leave: undefined }
    }

    const checkViews = async (connection: PooledConnection, verdict: Verdict) => {
      const views = await connection.owner.views
        .current((known) => unwrap(gate.readViews(connection.raw, known)))
        .catch((error) => {
          throw scrubbed(error)
        })
      const refusal = gate.checkViews(verdict, views)
      if (refusal !== undefined) throw refusal
    }

    const open = async (
      connection: PooledConnection,
      input: QueryInput,
      policy: GatePolicy,
      signal: StopSignal,
      onVerdict: ((verdict: Verdict) => void) | undefined,
      trace: Traced | undefined
    ): Promise<Cursor> => {
      const { verdict, prepared, leave } =
        trace === undefined
          ? (cached(connection, input.sql, policy) ??
            (await prepare(connection, input.sql, policy, signal, undefined)))
          : await spannedPromise(trace, "gate", (span) =>
              prepare(connection, input.sql, policy, signal, span)
            )
      // The view lock, when held, is left once DuckDB has bound the statement (it runs, or failed to).
      try {
        trace?.attribute("pondpilot.query_type", verdict.queryType)
        onVerdict?.(verdict)
        // A stop that came while the gate or DuckDB's prepare ran interrupted nothing (nothing was
        // executing yet): the statement must not start now, or it would run to its end unstoppable.
        if (signal.stopped) throw interrupted()
        prepared.clearBindings()
        const bound = bindParams(prepared, input.params)
        if (Either.isLeft(bound)) throw bound.left
        // A statement that may create, replace or drop a view: the views are read again after it.
        const views =
          policy.readOnly || !catalogChanges.has(verdict.statementType) ? undefined : connection.owner.views
        views?.changed()
        const ran = () => {
          if (views === undefined) return
          if (verdict.view !== undefined || verdict.queryType === "DROP VIEW") views.redefined()
          else views.changed()
        }
        const run = () =>
          duck(connection, prepared.stream()).then(
            (result) => {
              ran()
              return result
            },
            (error) => {
              ran()
              throw sqlError(error)
            }
          )
        const result = trace === undefined ? await run() : await spannedPromise(trace, "duckdb.execute", run)
        const columns: Array<ResultColumn> = []
        for (let i = 0; i < result.columnCount; i++) {
          columns.push({ name: result.columnName(i), type: result.columnType(i) })
        }
        // Statements that are not queries (CREATE TABLE AS, INSERT) answer with a materialized result.
        const streamed = result.isStreaming
        const stoppedFromOutside = () => signal.stopped || connection.interrupted
        // The next chunk is asked for as soon as one arrives, so that DuckDB produces it on its own
        // thread while this one is encoded and written: the two overlap instead of taking turns.
        let ahead: Promise<DuckDBDataChunk | null> | undefined
        const fetch = () => duck(connection, result.fetchChunk())
        return {
          verdict,
          columns,
          next: async () => {
            if (stoppedFromOutside()) throw interrupted()
            const pending = ahead ?? fetch()
            ahead = undefined
            let chunk: DuckDBDataChunk | null
            try {
              chunk = await pending
            } catch (error) {
              throw sqlError(error)
            }
            if (stoppedFromOutside()) throw interrupted()
            if (chunk !== null && chunk.rowCount > 0) {
              ahead = fetch()
              // Never an unhandled rejection: its error surfaces when the reader asks for it.
              ahead.catch(ignore)
              return chunk
            }
            // DuckDB 1.5.5 ends a stream that failed (a runtime error in a later chunk, an interrupt)
            // with an empty chunk, as if it were complete; only the result's state tells them apart.
            if (streamed && !result.isStreaming) throw failedMidStream()
            return undefined
          },
          settle: () => (ahead === undefined ? settled : ahead.then(ignore, ignore))
        }
      } finally {
        leave?.()
      }
    }

    const admission = new Admission({
      perPrincipal: config.query.max_concurrent_per_principal,
      total: config.query.max_concurrent
    })
    // On the shared instance nobody may hold the whole pool: another principal's next query always
    // finds a connection free or about to be (api.md: the shared instance is everyone's).
    const sharedPool = new Admission({
      perPrincipal: Math.min(
        config.query.max_concurrent_per_principal,
        Math.max(1, config.duckdb.connection_pool.max_connections - 1)
      ),
      total: Number.POSITIVE_INFINITY
    })

    /** The places one query holds (or still waits for): the admission's, and on the shared instance the pool's. */
    interface Places {
      main: boolean
      shared: boolean
      /** The waiter queued now, not yet woken. */
      queued: { readonly at: Admission; readonly waiter: Waiter } | undefined
    }

    /** Takes what is free at once; true when the query holds every place it needs. */
    const admitNow = (principal: string, shared: boolean, places: Places): boolean => {
      places.main = admission.tryEnter(principal)
      places.shared = places.main && shared && sharedPool.tryEnter(principal)
      return places.main && (!shared || places.shared)
    }

    /**
     * Waits, interruptibly, for the places still missing: the admission's, then the shared pool's.
     * One async step however many it waits for; interrupted, it only leaves the queue (what it was
     * given is in `places`, for the caller to give back).
     */
    const waitForPlaces = (principal: string, shared: boolean, places: Places): Effect.Effect<void> =>
      Effect.async<void>((resume) => {
        /** True once every place is held; false when a waiter is queued. */
        const proceed = (): boolean => {
          if (!places.main) {
            const waiter = admission.enterOr(principal, () => {
              places.queued = undefined
              places.main = true
              if (proceed()) resume(Effect.void)
            })
            if (waiter !== undefined) {
              places.queued = { at: admission, waiter }
              return false
            }
            places.main = true
          }
          if (shared && !places.shared) {
            const waiter = sharedPool.enterOr(principal, () => {
              places.queued = undefined
              places.shared = true
              resume(Effect.void)
            })
            if (waiter !== undefined) {
              places.queued = { at: sharedPool, waiter }
              return false
            }
            places.shared = true
          }
          return true
        }
        if (proceed()) return resume(Effect.void)
        return Effect.sync(() => {
          const queued = places.queued
          places.queued = undefined
          queued?.at.withdraw(queued.waiter)
        })
      })

    const release = (principal: string, places: Places) => {
      if (places.main) admission.leave(principal)
      if (places.shared) sharedPool.leave(principal)
    }

    const leave = (principal: string, shared: boolean) => {
      admission.leave(principal)
      if (shared) sharedPool.leave(principal)
    }

    /** Queries running on instances with a stoppable upstream, for `stopUpstream`'s window. */
    const upstreamRuns = new WeakMap<Instance, Set<Ticket>>()

    const trackUpstream = (ticket: Ticket) => {
      if (!ticket.instance.hasStoppableUpstream) return
      ticket.startedAt = Date.now()
      const runs = upstreamRuns.get(ticket.instance) ?? new Set<Ticket>()
      upstreamRuns.set(ticket.instance, runs)
      runs.add(ticket)
    }

    /**
     * A stopped query whose DuckDB call did not let go may be waiting on an upstream statement
     * (MySQL, PostgreSQL) the scanner cannot stop: the server stops the statements that started after
     * this query and before any later one on the same instance (the later ones' may be among them),
     * or before now (a query may start while the stop is under way).
     */
    const stopUpstream = (ticket: Ticket) => {
      const startedAt = ticket.startedAt
      if (startedAt === undefined) return
      let later: number | undefined
      for (const other of upstreamRuns.get(ticket.instance) ?? []) {
        const start = other.startedAt
        if (
          other !== ticket &&
          start !== undefined &&
          start >= startedAt &&
          (later === undefined || start < later)
        )
          later = start
      }
      runFork(
        ticket.instance.stopUpstreamStatements({ queryStartedAt: startedAt, closedAt: later ?? Date.now() })
      )
    }

    /**
     * Back to the pool once DuckDB has let go of the connection, marked for validation after a
     * failure or a stop; closed, and its engine renewed, when DuckDB held on past the grace period.
     */
    const giveBack = (connection: PooledConnection, clean: boolean, ticket: Ticket) => {
      if (ticket.startedAt !== undefined) upstreamRuns.get(ticket.instance)?.delete(ticket)
      connection.pending = undefined
      connection.endRun(!clean || connection.interrupted)
      leave(ticket.principal, ticket.instance.shared)
      if (ticket.runaway) {
        connection.owner.discard(connection)
        runFork(ticket.instance.renewAfterRunaway(connection.owner))
        return
      }
      const suspect = !clean || connection.interrupted
      connection.interrupted = false
      connection.owner.release(connection, suspect)
    }

    const runOn = <A>(
      connection: PooledConnection,
      ticket: Ticket,
      input: QueryInput,
      policy: GatePolicy,
      consume: (cursor: Cursor, signal: StopSignal) => Promise<A>,
      onVerdict: ((verdict: Verdict) => void) | undefined,
      trace: Traced | undefined
    ): { readonly effect: Effect.Effect<A, QueryError>; readonly started: boolean } => {
      const run = {
        started: false,
        effect: Effect.async<A, QueryError>((resume) => {
          run.started = true
          const signal = new StopSignal()
          let done = false
          const settled = open(connection, input, policy, signal, onVerdict, trace)
            .then((cursor) => consume(cursor, signal).finally(() => cursor.settle()))
            .then(
              (value) => {
                done = true
                giveBack(connection, true, ticket)
                if (!signal.stopped) resume(Effect.succeed(value))
              },
              (error: unknown) => {
                done = true
                giveBack(connection, false, ticket)
                if (signal.stopped) return
                resume(isClientError(error) ? Effect.fail(error as QueryError) : Effect.die(error))
              }
            )
          return Effect.promise(() => {
            signal.stop()
            connection.interruptRun()
            // Most DuckDB work stops within milliseconds of an interrupt, and then the connection is
            // back before the answer goes. Some does not (a constant folded in one function call, a
            // plan being bound): the answer goes anyway, and the connection and its admission stay
            // held until DuckDB lets go.
            return new Promise<void>((resolve) => {
              const answer = setTimeout(() => {
                resolve()
                if (done) return
                stopUpstream(ticket)
                setTimeout(() => {
                  if (!done) ticket.runaway = true
                }, runawayAfterMillis)
              }, answerGraceMillis)
              void settled.then(() => {
                clearTimeout(answer)
                resolve()
              })
            })
          })
        })
      }
      return run
    }

    /**
     * Runs `input` on `instance` and hands its cursor to `consume`; the connection goes back to the
     * pool when `consume` ends and DuckDB has let go, however it ends. `onVerdict` learns what the
     * statement is as soon as the gate has judged it, before DuckDB runs it (which, for an
     * aggregate, is most of the work). `consume` rejects with a client error to fail the query; the
     * signal tells it of a stop.
     * With a `trace` (tracing on), pool acquire, the gate and DuckDB's execution are its child spans.
     */
    const execute = <A>(
      instance: Instance,
      principal: string,
      input: QueryInput,
      policy: GatePolicy,
      consume: (cursor: Cursor, signal: StopSignal) => Promise<A>,
      onVerdict?: (verdict: Verdict) => void,
      trace?: Traced
    ): Effect.Effect<A, QueryError> =>
      // Uninterruptible between acquiring and starting, so that a connection is never lent and lost.
      Effect.uninterruptibleMask((restore) => {
        const shared = instance.shared
        /** The run on `connection`; interrupted before it started, the connection and places go back. */
        const start = (connection: PooledConnection): Effect.Effect<A, QueryError> => {
          const ticket: Ticket = { principal, instance, runaway: false }
          trackUpstream(ticket)
          const run = runOn(connection, ticket, input, policy, consume, onVerdict, trace)
          return Effect.matchCauseEffect(restore(run.effect), {
            onFailure: (cause) => {
              if (!run.started) giveBack(connection, true, ticket)
              return Effect.failCause(cause)
            },
            onSuccess: Effect.succeed
          })
        }
        const acquire = Effect.suspend(() => {
          const idle = trace === undefined ? instance.tryAcquire() : undefined
          if (idle !== undefined) return start(idle)
          const acquired = Effect.onError(spanned(trace, "pool.acquire", instance.acquire()), () =>
            Effect.sync(() => leave(principal, shared))
          )
          return Effect.flatMap(acquired, start)
        })
        const places: Places = { main: false, shared: false, queued: undefined }
        // Most queries find their places free and a connection idle: no effect step before the run.
        if (admitNow(principal, shared, places)) {
          const idle = trace === undefined ? instance.tryAcquire() : undefined
          return idle === undefined ? acquire : start(idle)
        }
        return Effect.matchCauseEffect(restore(waitForPlaces(principal, shared, places)), {
          onFailure: (cause) => {
            release(principal, places)
            return Effect.failCause(cause)
          },
          onSuccess: () => acquire
        })
      })

    return { execute } as const
  })
}) {}
