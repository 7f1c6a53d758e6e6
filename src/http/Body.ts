import type { IncomingMessage } from "node:http"
import { Effect, Either } from "effect"
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "../domain/Errors.js"

const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** Whether the request carries a body at all (a declared length above zero, or chunked transfer). */
export const hasBody = (request: IncomingMessage): boolean => {
  const length = request.headers["content-length"]
  return (length !== undefined && length !== "0") || request.headers["transfer-encoding"] !== undefined
}

/** 415 unless a request with a body says it is JSON. */
export const requireJson = (request: IncomingMessage): UnsupportedMediaType | undefined =>
  hasBody(request) && !jsonMediaType.test(request.headers["content-type"] ?? "")
    ? new UnsupportedMediaType({
        message: "the request body must be JSON: send Content-Type: application/json"
      })
    : undefined

/** RFC 8259 JSON is UTF-8; a byte that is not would otherwise become U+FFFD in the client's SQL or data. */
const utf8 = new TextDecoder("utf-8", { fatal: true })

export const tooLarge = (maxBytes: number) =>
  new PayloadTooLarge({ message: `the request body is larger than ${maxBytes} bytes` })

export type BodyError = PayloadTooLarge | InvalidRequest

/**
 * Reads and parses a JSON body of at most `maxBytes` with plain listeners (no fiber), and calls
 * `done` once with the value (`undefined` for an empty body) or the error. Returns the function that
 * stops reading without calling `done` (the client went away).
 */
export const readJsonBodyThen = (
  request: IncomingMessage,
  maxBytes: number,
  done: (body: Either.Either<unknown, BodyError>) => void
): (() => void) => {
  if (Number(request.headers["content-length"] ?? 0) > maxBytes) {
    done(Either.left(tooLarge(maxBytes)))
    return noop
  }
  const chunks: Array<Buffer> = []
  let size = 0
  const cleanup = () => {
    request.off("data", onData)
    request.off("end", onEnd)
    request.off("error", onError)
  }
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > maxBytes) {
      cleanup()
      // Stop reading; the connection is not reused after an oversized body.
      request.pause()
      done(Either.left(tooLarge(maxBytes)))
      return
    }
    chunks.push(chunk)
  }
  const onEnd = () => {
    cleanup()
    if (size === 0) return done(Either.right(undefined))
    let text: string
    try {
      text = utf8.decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    } catch {
      return done(Either.left(new InvalidRequest({ message: "the request body is not valid UTF-8" })))
    }
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return done(Either.left(new InvalidRequest({ message: "the request body is not valid JSON" })))
    }
    done(Either.right(body))
  }
  const onError = () => {
    cleanup()
    done(Either.left(new InvalidRequest({ message: "the request body could not be read" })))
  }
  request.on("data", onData)
  request.on("end", onEnd)
  request.on("error", onError)
  return cleanup
}

const noop = () => {}

/** `readJsonBodyThen` as an effect; interrupted, it stops reading. */
export const readJsonBody = (request: IncomingMessage, maxBytes: number): Effect.Effect<unknown, BodyError> =>
  Effect.async<unknown, BodyError>((resume) => {
    const stop = readJsonBodyThen(request, maxBytes, (body) => resume(body))
    return Effect.sync(stop)
  })
