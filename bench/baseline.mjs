/**
 * The bare baseline PondPilot Proxy is measured against: the query endpoint as a competent engineer
 * would write it in an afternoon with no framework, and no more.
 *
 * What it does, exactly:
 * - One `node:http` server and one in-memory DuckDB instance (`DuckDBInstance.create(":memory:")`
 *   with the same `threads` and `memory_limit` the benchmark gives the proxy), created at start.
 * - `POST /v1/instances/default/query` with `{"query": "...", "params": [...] | {...}}`: buffers the
 *   body, `JSON.parse`s it, takes a DuckDB connection from a free list (or opens one with
 *   `instance.connect()` while fewer than `BASELINE_MAX_CONNECTIONS` exist, or else waits in a FIFO
 *   for one to be given back), runs `connection.runAndReadAll(query, params)`, gives the connection
 *   back, and answers `200` with the
 *   proxy's JSON shape `{"columns":[{"name","type"}],"rows":[[...]],"rowCount":N,"truncated":false}`,
 *   where `type` is DuckDB's type name and rows come from the library's own JSON converter
 *   (`reader.getRowsJson()`: BIGINT and DECIMAL as strings, like the proxy), serialised with
 *   `JSON.stringify` and sent with `Content-Length`.
 * - Connections are reused, as any real server does: opening a connection per request (what the
 *   library's README shows, and what this baseline did until issue 14) costs more than the query
 *   for small ones, made the baseline slower than a real limit and every ratio look better than it
 *   was. The free list is bounded like a real pool; the bound defaults to the proxy's default pool
 *   size (`max_connections`) so both sides hold the same number of DuckDB connections.
 * - Errors: a body that is not JSON or has no string `query` → `400 invalid_request`; a DuckDB error
 *   → `400 sql_error` with DuckDB's message. `GET /health` → `200` (the benchmark waits on it). Any
 *   other route → `404`.
 * - Nothing else: no authentication, rate limiting, audit log, metrics, streaming, result formats,
 *   row cap, timeouts, SQL sandbox or request ids. Those are what the proxy's overhead buys.
 *
 * Environment: `PORT` (default 8090), `HOST` (default 127.0.0.1), `BASELINE_THREADS` (default 4),
 * `BASELINE_MEMORY_LIMIT` (default 2GB), `BASELINE_MAX_CONNECTIONS` (default 16).
 */
import http from "node:http"
import { DuckDBInstance } from "@duckdb/node-api"

const port = Number(process.env.PORT ?? 8090)
const host = process.env.HOST ?? "127.0.0.1"

const instance = await DuckDBInstance.create(":memory:", {
  threads: process.env.BASELINE_THREADS ?? "4",
  memory_limit: process.env.BASELINE_MEMORY_LIMIT ?? "2GB"
})

const send = (res, status, payload) => {
  const body = JSON.stringify(payload)
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body)
  })
  res.end(body)
}

const maxConnections = Number(process.env.BASELINE_MAX_CONNECTIONS ?? 16)
const free = []
const waiting = []
let opened = 0

const take = async () => {
  const ready = free.pop()
  if (ready !== undefined) return ready
  if (opened < maxConnections) {
    opened++
    try {
      return await instance.connect()
    } catch (error) {
      opened--
      throw error
    }
  }
  return new Promise((resolve) => waiting.push(resolve))
}

const giveBack = (connection) => {
  const next = waiting.shift()
  if (next !== undefined) next(connection)
  else free.push(connection)
}

const runQuery = async (query, params) => {
  const connection = await take()
  try {
    const reader = await connection.runAndReadAll(query, params)
    const names = reader.columnNames()
    const types = reader.columnTypes()
    return {
      columns: names.map((name, i) => ({ name, type: types[i].toString() })),
      rows: reader.getRowsJson(),
      rowCount: reader.currentRowCount,
      truncated: false
    }
  } finally {
    giveBack(connection)
  }
}

const handleQuery = async (req, res) => {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  let request
  try {
    request = JSON.parse(Buffer.concat(chunks).toString("utf8"))
  } catch {
    return send(res, 400, { code: "invalid_request", error: "body is not JSON" })
  }
  if (typeof request?.query !== "string") {
    return send(res, 400, { code: "invalid_request", error: "query must be a string" })
  }
  try {
    send(res, 200, await runQuery(request.query, request.params ?? undefined))
  } catch (error) {
    send(res, 400, { code: "sql_error", error: String(error?.message ?? error) })
  }
}

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url.split("?")[0] === "/v1/instances/default/query") {
    handleQuery(req, res).catch((error) => {
      if (!res.headersSent) send(res, 500, { code: "internal", error: String(error) })
      else res.destroy()
    })
  } else if (req.method === "GET" && req.url === "/health") {
    send(res, 200, { status: "healthy" })
  } else {
    send(res, 404, { code: "not_found", error: "not found" })
  }
})

server.listen(port, host, () => {
  console.log(`baseline listening on http://${host}:${port}`)
})

const stop = () => {
  server.close()
  server.closeAllConnections()
  for (const connection of free) connection.closeSync()
  instance.closeSync()
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
