import { type DuckDBDataChunk, type DuckDBPreparedStatement, StatementType } from "@duckdb/node-api"
import { Cause, Effect, Either, Exit, Option, Runtime } from "effect"
import { classifyQueryFailure } from "../attach/HostPolicy.js"
import { scrubMessage } from "../attach/Scrub.js"
import { LinkedList, type ListNode } from "../collections/LinkedList.js"
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

/** What to run, and for whom; `consume` reads the result (see `launch`). */
export interface Launch<A> {
  readonly instance: Instance
  readonly principal: string
  readonly input: QueryInput
  readonly policy: GatePolicy
  /** Rejects with a client error to fail the query; the signal tells it of a stop. */
  readonly consume: (cursor: Cursor, signal: StopSignal) => Promise<A>
  /** Learns what the statement is as soon as the gate has judged it, before DuckDB runs it. */
  readonly onVerdict?: ((verdict: Verdict) => void) | undefined
  /** With tracing on: pool acquire, the gate and DuckDB's execution become its child spans. */
  readonly trace?: Traced | undefined
}

/** How a launched query ended: its value, a client error, a defect, or stopped from outside. */
export type Outcome<A> =
  | { readonly _tag: "done"; readonly value: A }
  | { readonly _tag: "failed"; readonly error: QueryError }
  | { readonly _tag: "died"; readonly defect: unknown }
  | { readonly _tag: "stopped" }

export interface Launched {
  /** Stops the query wherever it is; its `finish` still comes, once. */
  readonly stop: () => void
}

const stoppedOutcome = { _tag: "stopped" } as const

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
  /** Its place among that instance's queries (`upstreamRuns`). */
  upstreamRun?: ListNode<Ticket>
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
 * A query runs without a fiber (`launch`): its places and connection are taken with callbacks,
 * and the work on the connection is one plain async function, one await per DuckDB call and nothing
 * else, because on the hot path a fiber and its effect steps cost more than DuckDB answering
 * `SELECT 42`. Stopping it interrupts DuckDB, and the connection returns to the pool only once
 * DuckDB has let go of it.
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

    const release = (principal: string, places: Places) => {
      if (places.main) admission.leave(principal)
      if (places.shared) sharedPool.leave(principal)
    }

    const leave = (principal: string, shared: boolean) => {
      admission.leave(principal)
      if (shared) sharedPool.leave(principal)
    }

    /** Queries running on instances with a stoppable upstream, for `stopUpstream`'s window. */
    const upstreamRuns = new WeakMap<Instance, LinkedList<Ticket>>()

    const trackUpstream = (ticket: Ticket) => {
      if (!ticket.instance.hasStoppableUpstream) return
      ticket.startedAt = Date.now()
      let runs = upstreamRuns.get(ticket.instance)
      if (runs === undefined) {
        runs = new LinkedList<Ticket>()
        upstreamRuns.set(ticket.instance, runs)
      }
      ticket.upstreamRun = runs.push(ticket)
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
      if (ticket.upstreamRun !== undefined) upstreamRuns.get(ticket.instance)?.remove(ticket.upstreamRun)
      connection.pending = undefined
      connection.endRun(!clean || connection.interrupted)
      if (ticket.runaway) {
        connection.owner.discard(connection)
        runFork(ticket.instance.renewAfterRunaway(connection.owner))
      } else {
        const suspect = !clean || connection.interrupted
        connection.interrupted = false
        connection.owner.release(connection, suspect)
      }
      // Last: a query waiting for the place starts right here, and finds the connection idle.
      leave(ticket.principal, ticket.instance.shared)
    }

    /**
     * Runs `query` and calls `finish` once, when it has ended and DuckDB has let go of its
     * connection (or, stopped, when the grace period is over): its places, then a connection, then
     * the statement and `consume`. `stop` interrupts it wherever it is. A waiting query leaves its
     * queue at once; a running one has DuckDB interrupted (see `answerGraceMillis`); one waiting for
     * the pool to open or validate a connection takes it and gives it back. Only that last, rare
     * wait runs in a fiber.
     */
    const launch = <A>(query: Launch<A>, finish: (outcome: Outcome<A>) => void): Launched => {
      const { instance, principal, trace } = query
      const shared = instance.shared
      const places: Places = { main: false, shared: false, queued: undefined }
      let stopped = false
      let ended = false
      /** What `stop` does in the phase the query is in. */
      let interrupt: () => void = ignore
      const end = (outcome: Outcome<A>) => {
        if (ended) return
        ended = true
        finish(outcome)
      }

      const runOn = (connection: PooledConnection) => {
        const ticket: Ticket = { principal, instance, runaway: false }
        trackUpstream(ticket)
        const signal = new StopSignal()
        let done = false
        const settled = open(connection, query.input, query.policy, signal, query.onVerdict, trace)
          .then((cursor) => query.consume(cursor, signal).finally(() => cursor.settle()))
          .then(
            (value) => {
              done = true
              giveBack(connection, true, ticket)
              if (!signal.stopped) end({ _tag: "done", value })
            },
            (error: unknown) => {
              done = true
              giveBack(connection, false, ticket)
              if (signal.stopped) return
              end(
                isClientError(error)
                  ? { _tag: "failed", error: error as QueryError }
                  : { _tag: "died", defect: error }
              )
            }
          )
        interrupt = () => {
          signal.stop()
          connection.interruptRun()
          // Most DuckDB work stops within milliseconds of an interrupt, and then the connection is
          // back before the answer goes. Some does not (a constant folded in one function call, a
          // plan being bound): the answer goes anyway, and the connection and its admission stay
          // held until DuckDB lets go.
          const answer = setTimeout(() => {
            end(stoppedOutcome)
            if (done) return
            stopUpstream(ticket)
            setTimeout(() => {
              if (!done) ticket.runaway = true
            }, runawayAfterMillis)
          }, answerGraceMillis)
          void settled.then(() => {
            clearTimeout(answer)
            end(stoppedOutcome)
          })
        }
      }

      /** With every place held: an idle connection at once, else the pool's own wait, in a fiber. */
      const withConnection = () => {
        const idle = trace === undefined ? instance.tryAcquire() : undefined
        if (idle !== undefined) return runOn(idle)
        // A stop meanwhile is heard once the pool answers: a connection lent is never lost.
        interrupt = ignore
        runFork(spanned(trace, "pool.acquire", instance.acquire())).addObserver((exit) => {
          if (Exit.isSuccess(exit)) {
            if (!stopped) return runOn(exit.value)
            exit.value.owner.release(exit.value, false)
          }
          leave(principal, shared)
          if (stopped || Exit.isSuccess(exit)) return end(stoppedOutcome)
          const failure = Cause.failureOption(exit.cause)
          end(
            Option.isSome(failure)
              ? { _tag: "failed", error: failure.value }
              : { _tag: "died", defect: Cause.squash(exit.cause) }
          )
        })
      }

      /** True once every place is held; false when a waiter is queued (it carries on when woken). */
      const takePlaces = (): boolean => {
        if (!places.main) {
          const waiter = admission.enterOr(principal, () => {
            places.queued = undefined
            places.main = true
            if (takePlaces()) withConnection()
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
            withConnection()
          })
          if (waiter !== undefined) {
            places.queued = { at: sharedPool, waiter }
            return false
          }
          places.shared = true
        }
        return true
      }

      // Most queries find their places free and a connection idle: the run starts here.
      if (admitNow(principal, shared, places) || takePlaces()) {
        withConnection()
      } else {
        interrupt = () => {
          const queued = places.queued
          places.queued = undefined
          queued?.at.withdraw(queued.waiter)
          release(principal, places)
          end(stoppedOutcome)
        }
      }
      return {
        stop: () => {
          if (stopped || ended) return
          stopped = true
          interrupt()
        }
      }
    }

    return { launch } as const
  })
}) {}
