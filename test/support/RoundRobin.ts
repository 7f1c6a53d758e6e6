import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface RoundRobin {
  readonly url: string
  close(): Promise<void>
}

/**
 * A load balancer of a few lines, for tests: each request goes to the next backend in turn; one
 * that refuses the connection is skipped (as nginx's `proxy_next_upstream error` does), so a killed
 * replica drops out on its own. Headers pass through unchanged (`X-Forwarded-For` included).
 */
export const startRoundRobin = async (backends: () => ReadonlyArray<string>): Promise<RoundRobin> => {
  let next = 0
  const server = http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const body = Buffer.concat(chunks)
      const targets = backends()
      const attempt = (tries: number) => {
        if (tries >= targets.length) {
          response.writeHead(502).end()
          return
        }
        const target = new URL(targets[next++ % targets.length]!)
        const upstream = http.request(
          {
            host: target.hostname,
            port: target.port,
            method: request.method,
            path: request.url,
            headers: request.headers,
            agent: false
          },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers)
            answer.pipe(response)
          }
        )
        upstream.on("error", () => {
          if (!response.headersSent) attempt(tries + 1)
          else response.destroy()
        })
        upstream.end(body)
      }
      attempt(0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
