import * as http from "node:http"
import * as net from "node:net"

/** What came back over a socket: the parsed head, the body as bytes, and how the exchange ended. */
export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  /** The server closed the connection (rather than the client giving up after `timeoutMs`). */
  readonly closedByServer: boolean
  readonly elapsedMs: number
}

const parse = (data: Buffer, closedByServer: boolean, elapsedMs: number): RawResponse => {
  const text = data.toString("latin1")
  const end = text.indexOf("\r\n\r\n")
  const head = end < 0 ? text : text.slice(0, end)
  const [statusLine = "", ...lines] = head.split("\r\n")
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(":")
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body =
    end < 0 ? "" : data.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1")).toString("utf8")
  if (headers["transfer-encoding"] === "chunked") body = dechunk(body)
  return { status, headers, body, closedByServer, elapsedMs }
}

const dechunk = (text: string): string => {
  let out = ""
  let rest = text
  while (rest.length > 0) {
    const lineEnd = rest.indexOf("\r\n")
    if (lineEnd < 0) break
    const size = Number.parseInt(rest.slice(0, lineEnd), 16)
    if (!Number.isFinite(size) || size === 0) break
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size)
    rest = rest.slice(lineEnd + 2 + size + 2)
  }
  return out
}

/**
 * Writes `parts` to a fresh TCP connection (a number in `parts` is a pause in milliseconds) and reads
 * until the server closes the connection, a complete response has arrived, or `timeoutMs` passes.
 */
export const rawExchange = (
  port: number,
  parts: ReadonlyArray<string | Buffer | number>,
  timeoutMs = 10_000
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = net.connect(port, "127.0.0.1")
    const chunks: Array<Buffer> = []
    let settled = false
    const finish = (closedByServer: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(parse(Buffer.concat(chunks), closedByServer, Date.now() - started))
    }
    const complete = () => {
      const data = Buffer.concat(chunks)
      const text = data.toString("latin1")
      const end = text.indexOf("\r\n\r\n")
      if (end < 0) return false
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1]
      if (length !== undefined) return data.length >= end + 4 + Number(length)
      return /\r\ntransfer-encoding: *chunked/i.test(text.slice(0, end)) && text.endsWith("0\r\n\r\n")
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk)
      if (complete()) finish(false)
    })
    socket.on("close", () => finish(true))
    socket.on("error", (error) => {
      if (chunks.length > 0) finish(true)
      else if (!settled) {
        settled = true
        clearTimeout(timer)
        reject(error)
      }
    })
    socket.on("connect", async () => {
      for (const part of parts) {
        if (settled) return
        if (typeof part === "number") await new Promise((wait) => setTimeout(wait, part))
        else socket.write(part)
      }
    })
  })

/** A request through node's client, body written in `chunks` (no Content-Length: chunked transfer). */
export const chunkedRequest = (
  url: string,
  path: string,
  headers: Record<string, string>,
  chunks: ReadonlyArray<string | Buffer>
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> =>
  new Promise((resolve, reject) => {
    const request = http.request(`${url}${path}`, { method: "POST", headers }, (response) => {
      const parts: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => parts.push(chunk))
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(parts).toString("utf8"),
          headers: response.headers
        })
      )
      response.on("error", reject)
    })
    // A server that answers before the whole body is sent may reset the connection under our writes.
    request.on("error", (error) => reject(error))
    for (const chunk of chunks) request.write(chunk)
    request.end()
  })
