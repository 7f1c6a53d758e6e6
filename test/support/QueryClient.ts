import * as http from "node:http"
import { setTimeout as sleep } from "node:timers/promises"
import { apiKey } from "./TestServer.js"

/** What node's own HTTP client saw of one response, including how the transfer ended. */
export interface Received {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly trailers: NodeJS.Dict<string>
  readonly body: Buffer
  /** The whole message arrived (for chunked bodies: the terminating chunk too). */
  readonly complete: boolean
  /** `aborted` was emitted, or the response stream errored: the transfer broke off. */
  readonly aborted: boolean
  readonly error: string | undefined
}

export interface QueryRequest {
  readonly query: string
  readonly params?: unknown
}

export interface SendOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  /** Defaults to the test API key; `null` sends none. */
  readonly key?: string | null
  /** Keep only this many bytes of the body (the rest is read and counted, then dropped). */
  readonly keep?: number
  /** Called with each piece of the body as it arrives; return false to stop reading and drop the socket. */
  readonly onData?: (piece: Buffer, received: number) => boolean | undefined
  /** After the first piece of the body, stop reading until this settles. */
  readonly pauseUntil?: Promise<unknown>
  /** Aborting it drops the connection; the result then says `error: "aborted"`, status 0 if no response came. */
  readonly signal?: AbortSignal
}

/** Sends one request with node's http client and reports how the response ended. */
export const send = (url: string, body: unknown, options: SendOptions = {}): Promise<Received> =>
  new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const key = options.key === undefined ? apiKey : options.key
    const request = http.request(url, {
      method: options.method ?? (payload === undefined ? "GET" : "POST"),
      agent: false,
      headers: {
        ...(payload === undefined ? {} : { "content-type": "application/json" }),
        ...(key === null ? {} : { "x-api-key": key }),
        ...options.headers
      }
    })
    let responded = false
    request.on("error", (cause: NodeJS.ErrnoException) => {
      if (responded) return
      resolve({
        status: 0,
        headers: {},
        trailers: {},
        body: Buffer.alloc(0),
        complete: false,
        aborted: true,
        error: options.signal?.aborted ? "aborted" : (cause.code ?? cause.message)
      })
    })
    options.signal?.addEventListener("abort", () => request.destroy(), { once: true })
    request.on("response", (response) => {
      responded = true
      let paused = options.pauseUntil !== undefined
      const pieces: Array<Buffer> = []
      let kept = 0
      let received = 0
      let aborted = false
      let error: string | undefined
      response.on("aborted", () => {
        aborted = true
      })
      response.on("error", (cause: NodeJS.ErrnoException) => {
        aborted = true
        error = cause.code ?? cause.message
      })
      response.on("data", (piece: Buffer) => {
        received += piece.length
        if (options.keep === undefined || kept < options.keep) {
          pieces.push(piece)
          kept += piece.length
        }
        if (options.onData?.(piece, received) === false) request.destroy()
        if (paused) {
          paused = false
          response.pause()
          void options.pauseUntil!.finally(() => response.resume())
        }
      })
      response.on("close", () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          trailers: response.trailers,
          body: Buffer.concat(pieces),
          complete: response.complete,
          aborted,
          error
        })
      )
    })
    request.end(payload)
  })

export const query = (
  base: string,
  instance: string,
  body: QueryRequest,
  options: SendOptions & { format?: string } = {}
) =>
  send(
    `${base}/v1/instances/${instance}/query${options.format === undefined ? "" : `?format=${options.format}`}`,
    body,
    options
  )

/** CPU time (user + system) this process has used, in milliseconds. */
export const cpuMillis = (): number => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

/** The share of one core the process used over `millis`, measured by `cpu` (milliseconds used so far). */
export const cpuShare = async (cpu: () => number, millis: number): Promise<number> => {
  const before = cpu()
  await sleep(millis)
  return (cpu() - before) / millis
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns how long that took. */
export const within = async (timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<number> => {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started
    await sleep(25)
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}
