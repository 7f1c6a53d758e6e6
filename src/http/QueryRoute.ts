import type { IncomingMessage, ServerResponse } from "node:http"
import { Cause, Duration, Effect, Either, Exit, FiberId, Option, Runtime } from "effect"
import {
  Cancelled,
  type ClientError,
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  QueryTimeout
} from "../domain/Errors.js"
import type { Instance } from "../duckdb/Instance.js"
import { refusedQueryType } from "../gate/StatementGate.js"
import type { ResultEncoder } from "../results/Encoder.js"
import { makeEncoder } from "../results/Encoders.js"
import { negotiateFormat } from "../results/Format.js"
import { Slices } from "../results/StringBytes.js"
import { AppConfig } from "../services/AppConfig.js"
import { InstanceRegistry } from "../services/InstanceRegistry.js"
import {
  type Cursor,
  type Launched,
  type QueryInput,
  QueryRunner,
  type StopSignal
} from "../services/QueryRunner.js"
import { QueryTracker, type StopReason } from "../services/QueryTracker.js"
import { spannedPromise } from "../services/Tracing.js"
import { type BodyError, readJsonBodyThen } from "./Body.js"
import type { RequestRecord } from "./RequestRecord.js"
import { answerError as answer } from "./Responses.js"

/** Lets the event loop run other work; a stop that came meanwhile ends the result. */
const nextTurn = (signal: StopSignal): Promise<void> =>
  new Promise((resolve, reject) =>
    setImmediate(() =>
      signal.stopped ? reject(new Cancelled({ message: "the query was stopped" })) : resolve()
    )
  )

const ignore = () => {}

/** The shape of every instance id (`default`, `inst_…`); the query route's `:id` is checked against it. */
const instanceIdPattern = /^[A-Za-z0-9_-]{1,64}$/

/** Results that fit in this many bytes are sent whole, with a Content-Length; larger ones stream. */
const wholeResponseBytes = 1 << 20

const decodeInput = (body: unknown, maxQueryLength: number): Either.Either<QueryInput, ClientError> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Either.left(
      new InvalidRequest({ message: 'the body must be a JSON object like {"query": "SELECT 1"}' })
    )
  }
  for (const key of Object.keys(body)) {
    if (key !== "query" && key !== "params") {
      return Either.left(new InvalidRequest({ message: `unknown field "${key.slice(0, 64)}"` }))
    }
  }
  const { query, params } = body as { query?: unknown; params?: unknown }
  if (typeof query !== "string")
    return Either.left(new InvalidRequest({ message: "query: expected a string" }))
  if (query.trim() === "") return Either.left(new InvalidRequest({ message: "query: must not be empty" }))
  if (query.length > maxQueryLength) {
    return Either.left(
      new PayloadTooLarge({ message: `the query is longer than ${maxQueryLength} characters` })
    )
  }
  if (params !== undefined && (typeof params !== "object" || params === null)) {
    return Either.left(new InvalidRequest({ message: "params: expected an array or an object" }))
  }
  return Either.right({ sql: query, params })
}

const formatParameter = (url: string | undefined): string | undefined => {
  const start = url?.indexOf("?") ?? -1
  if (start < 0) return undefined
  return new URLSearchParams(url!.slice(start + 1)).get("format") ?? undefined
}

/**
 * Runs a step of a query called back from an event, a promise or a fiber's end: a throw there would
 * reach nobody (or end the process as an unhandled rejection), so it is the request's defect.
 */
const guarded = (request: Accepted, step: () => void): void => {
  try {
    step()
  } catch (defect) {
    request.defect(defect)
  }
}

/** A query request the gateway admitted, and where a defect in serving it goes (logged, 500). */
export interface Accepted {
  readonly record: RequestRecord
  readonly request: IncomingMessage
  readonly res: ServerResponse
  readonly instanceId: string
  readonly principal: string
  readonly defect: (defect: unknown) => void
}

/**
 * `POST /v1/instances/{id}/query`, served straight from the gateway: the statement runs under the
 * query deadline and can be cancelled; its result is written as DuckDB produces chunks, with the
 * socket's backpressure. A result cut short after its headers were sent ends with the format's
 * error marker and a broken transfer, never as a complete response.
 */
export class QueryRoute extends Effect.Service<QueryRoute>()("pondpilot/QueryRoute", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const registry = yield* InstanceRegistry
    const runner = yield* QueryRunner
    const tracker = yield* QueryTracker
    const clock = yield* Effect.clock
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const maxRows = config.query.max_rows
    const timeout = config.query.timeout
    const deadline = {
      millis: Duration.toMillis(timeout),
      reason: () =>
        new QueryTimeout({ message: `the query ran longer than ${Duration.format(timeout)} and was stopped` })
    }
    const writeTimeoutMillis = Duration.toMillis(config.server.write_timeout)
    const readOnly = config.security.read_only

    /**
     * Resolves once the socket took the bytes; rejects when the client stops reading for longer than
     * `server.write_timeout`, or when the query is stopped while waiting.
     */
    const write = (res: ServerResponse, bytes: Uint8Array, signal: StopSignal): Promise<void> | undefined => {
      if (res.write(bytes)) return undefined
      return new Promise<void>((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer)
          res.off("drain", done)
          forget()
        }
        const done = () => {
          cleanup()
          resolve()
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Cancelled({ message: "the client stopped reading the result" }))
        }, writeTimeoutMillis)
        const forget = signal.onStop(() => {
          cleanup()
          reject(new Cancelled({ message: "the query was stopped" }))
        })
        res.on("drain", done)
      })
    }

    /**
     * Encodes chunks as DuckDB produces them. A result that ends within `wholeResponseBytes` is sent
     * in one write with a Content-Length; past that, headers go out and the rest streams with the
     * socket's backpressure.
     */
    const respond = async (
      cursor: Cursor,
      encoder: ResultEncoder,
      record: RequestRecord,
      res: ServerResponse,
      signal: StopSignal
    ): Promise<void> => {
      const parts: Array<Uint8Array> = [encoder.begin(cursor.columns)]
      let buffered = parts[0]!.length
      let rowCount = 0
      let truncated = false
      let streaming = false
      /** Buffers `bytes` while the result fits in `wholeResponseBytes`, then streams. */
      const emit = async (bytes: Uint8Array): Promise<void> => {
        if (streaming) {
          await write(res, bytes, signal)
          return
        }
        parts.push(bytes)
        buffered += bytes.length
        if (buffered > wholeResponseBytes) {
          streaming = true
          res.writeHead(200, { "content-type": encoder.mediaType, trailer: "X-Result-Truncated" })
          for (const part of parts.splice(0)) await write(res, part, signal)
        }
      }
      while (true) {
        const chunk = await cursor.next()
        if (chunk === undefined) break
        if (rowCount === maxRows) {
          truncated = true
          break
        }
        const take = Math.min(chunk.rowCount, maxRows - rowCount)
        const bytes = encoder.sliced(chunk, take)
        rowCount += take
        record.rows(rowCount)
        if (bytes instanceof Slices) {
          // A huge value: one part per turn of the event loop, so other requests are served meanwhile.
          for (const part of bytes.parts()) {
            await emit(part)
            await nextTurn(signal)
          }
        } else {
          await emit(bytes)
        }
        if (take < chunk.rowCount) {
          truncated = true
          break
        }
      }
      record.resultEnds(truncated)
      const last = encoder.end({ rowCount, truncated })
      if (streaming) {
        await write(res, last, signal)
        if (truncated) res.addTrailers({ "X-Result-Truncated": "true" })
        record.resultSent()
        res.end()
        return
      }
      parts.push(last)
      const body = parts.length === 1 ? last : Buffer.concat(parts, buffered + last.length)
      const headers: Record<string, string | number> = {
        "content-type": encoder.mediaType,
        "content-length": body.length
      }
      if (truncated) headers["x-result-truncated"] = "true"
      record.resultSent()
      res.writeHead(200, headers)
      res.end(body)
    }

    /** The result had begun: say why in the format's own way, then break the transfer. */
    const abort = (
      res: ServerResponse,
      encoder: ResultEncoder,
      error: ClientError,
      record: RequestRecord
    ) => {
      // A stop that lands after the whole result was handed over changes nothing (and a write after
      // end would emit an error nobody listens to).
      if (res.writableEnded) return
      record.resultBroken()
      record.failed(error.code)
      const marker = encoder.abort({ code: error.code, message: error.message })
      const destroy = () => res.destroy()
      const fallback = setTimeout(destroy, 1_000)
      res.write(marker, () => {
        clearTimeout(fallback)
        destroy()
      })
    }

    /** Answers for a query stopped from outside (deadline, cancel, instance deletion, shutdown). */
    const stopped = (
      res: ServerResponse,
      encoder: ResultEncoder,
      reason: StopReason | undefined,
      record: RequestRecord
    ) => {
      // Without a reason the client went away: nobody is left to tell, and the record says incomplete.
      if (reason === undefined) return
      if (res.headersSent) {
        abort(res, encoder, reason, record)
      } else {
        answer(res, record, reason)
      }
    }

    /** A query that failed: its refused statement named, then answered as the result allows. */
    const failed = (
      record: RequestRecord,
      res: ServerResponse,
      encoder: ResultEncoder,
      input: QueryInput,
      error: ClientError
    ) => {
      // A refused statement never gets a verdict; the audit line still names what it was.
      if (
        (error._tag === "ForbiddenStatement" || error._tag === "ReadOnly") &&
        record.queryType === undefined
      )
        record.statementType(refusedQueryType(input.sql))
      if (res.headersSent) abort(res, encoder, error, record)
      else answer(res, record, error)
    }

    /**
     * The query itself, once its input is read: tracked (deadline, cancel), launched on the
     * instance, its result streamed. Returns the function that stops it (the client went away).
     */
    const launchOn = (
      instance: Instance,
      request: Accepted,
      input: QueryInput,
      encoder: ResultEncoder
    ): (() => void) => {
      const { record, res, principal } = request
      instance.touch(clock.unsafeCurrentTimeMillis())
      record.queryStarted(instance.id)
      // The tracker stops a query from a timer or from another request, never while this runs:
      // `launched` is set by then.
      let launched: Launched | undefined
      const tracked = tracker.begin({ instanceId: instance.id, principal, deadline }, () => launched?.stop())
      launched = runner.launch(
        {
          instance,
          principal,
          input,
          policy: { readOnly: readOnly || instance.shared },
          consume: (cursor, signal) =>
            record.trace === undefined
              ? respond(cursor, encoder, record, res, signal)
              : spannedPromise(record.trace, "stream", () => respond(cursor, encoder, record, res, signal)),
          onVerdict: (verdict) => {
            tracked.queryType = verdict.queryType
            record.statementType(verdict.queryType)
          },
          trace: record.trace
        },
        (outcome) =>
          guarded(request, () => {
            // A stop that raced with a failure still wins.
            const reason = tracker.end(tracked)
            if (outcome._tag === "done") return
            if (reason !== undefined || outcome._tag === "stopped")
              return stopped(res, encoder, reason, record)
            if (outcome._tag === "failed") return failed(record, res, encoder, input, outcome.error)
            request.defect(outcome.defect)
          })
      )
      return launched.stop
    }

    /** The instance, at once when that takes no I/O, else from the registry in a fiber. */
    const withInstance = (request: Accepted, then: (instance: Instance) => () => void): (() => void) => {
      const now = registry.getNow(request.instanceId, request.principal)
      if (now !== undefined) return then(now)
      let stop: (() => void) | undefined
      const fiber = runFork(registry.get(request.instanceId, request.principal))
      fiber.addObserver((exit) =>
        guarded(request, () => {
          if (Exit.isSuccess(exit)) {
            stop = then(exit.value)
            return
          }
          if (Exit.isInterrupted(exit)) return
          const failure = Cause.failureOption(exit.cause)
          if (Option.isSome(failure)) answer(request.res, request.record, failure.value)
          else request.defect(Cause.squash(exit.cause))
        })
      )
      return () => {
        if (stop === undefined) fiber.unsafeInterruptAsFork(FiberId.none)
        else stop()
      }
    }

    /**
     * Takes an admitted query request: its body read with plain listeners, the instance, the
     * tracked run and its result, all without a fiber of their own (one cost more than DuckDB
     * answering `SELECT 42`). Every refusal is answered here; a defect goes to `request.defect`
     * (logged, 500). Returns the function that stops it all (the client went away).
     */
    const accept = (request: Accepted): (() => void) => {
      const { record, res } = request
      // No instance has an id of another shape; the registry is not asked.
      if (!instanceIdPattern.test(request.instanceId)) {
        answer(res, record, new NotFound({ message: "instance not found" }))
        return ignore
      }
      let stop: (() => void) | undefined
      const begin = (body: Either.Either<unknown, BodyError>): (() => void) | undefined => {
        const input = Either.flatMap(body, (value) => decodeInput(value, config.query.max_query_length))
        if (Either.isLeft(input)) return void answer(res, record, input.left)
        if (config.audit.log_query_text) record.queryReceived(input.right.sql)
        const format = negotiateFormat(formatParameter(request.request.url), request.request.headers.accept)
        if (Either.isLeft(format)) return void answer(res, record, format.left)
        const encoder = makeEncoder(format.right)
        return withInstance(request, (instance) => launchOn(instance, request, input.right, encoder))
      }
      const stopReading = readJsonBodyThen(request.request, config.server.max_body_size, (body) =>
        guarded(request, () => {
          stop = begin(body)
        })
      )
      return () => {
        stopReading()
        // A stop that lands after the whole result was handed over changes nothing.
        if (!res.writableEnded) stop?.()
      }
    }

    return { accept } as const
  })
}) {}
