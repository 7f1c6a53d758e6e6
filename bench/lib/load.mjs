// Load generators: autocannon for request rates, a discarding streaming client for big results, and
// a burst of concurrent requests for heavy queries.
import http from "node:http"
import autocannon from "autocannon"

export const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return undefined
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Nearest-rank percentile of a sorted array. */
const percentile = (sorted, p) =>
  sorted.length === 0
    ? undefined
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

/**
 * One autocannon run. Latencies are collected from autocannon's `response` events (float ms)
 * rather than its histogram, which rounds to whole milliseconds: a `SELECT 42` at one connection
 * takes well under 1 ms. Only 2xx answers count as throughput and latency.
 */
export const hammer = async ({ url, headers, body, connections, durationSec }) => {
  const latencies = []
  const instance = autocannon({
    url,
    method: "POST",
    headers,
    body,
    connections,
    duration: durationSec,
    pipelining: 1,
    timeout: 30
  })
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
  })
  const result = await instance
  latencies.sort((a, b) => a - b)
  const ok = result["2xx"]
  return {
    requestsPerSec: ok / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count])
    ),
    durationSec: result.duration
  }
}

const countNewlines = (chunk) => {
  let count = 0
  let at = chunk.indexOf(10)
  while (at !== -1) {
    count++
    at = chunk.indexOf(10, at + 1)
  }
  return count
}

/**
 * POSTs a query and reads the answer as a stream, discarding the bytes (counting them, and the
 * newlines so that CSV and NDJSON row counts can be checked). Never rejects: failures come back as
 * `{ status, error }`.
 */
export const streamQuery = ({ url, headers, body }) =>
  new Promise((resolve) => {
    const started = performance.now()
    const payload = Buffer.from(body)
    const request = http.request(
      url,
      { method: "POST", headers: { ...headers, "content-length": payload.length } },
      (response) => {
        const firstByteMs = performance.now() - started
        const status = response.statusCode
        let bytes = 0
        let lines = 0
        let errorText = ""
        let ended = false
        response.on("data", (chunk) => {
          bytes += chunk.length
          if (status !== 200) {
            if (errorText.length < 1_000) errorText += chunk.toString("utf8")
          } else {
            lines += countNewlines(chunk)
          }
        })
        response.on("end", () => {
          ended = true
          resolve({
            status,
            bytes,
            lines,
            firstByteMs,
            wallMs: performance.now() - started,
            contentType: response.headers["content-type"],
            truncated: response.headers["x-result-truncated"] === "true",
            ...(status === 200 ? {} : { error: errorText.slice(0, 300) })
          })
        })
        response.on("close", () => {
          if (!ended) {
            resolve({
              status,
              bytes,
              lines,
              wallMs: performance.now() - started,
              error: "stream cut before its end"
            })
          }
        })
      }
    )
    request.on("error", (error) =>
      resolve({ status: 0, bytes: 0, lines: 0, wallMs: performance.now() - started, error: error.message })
    )
    request.end(payload)
  })

/** POSTs and buffers a JSON answer. Never rejects. */
export const postJson = ({ url, headers, body, agent }) =>
  new Promise((resolve) => {
    const started = performance.now()
    const payload = Buffer.from(body)
    const request = http.request(
      url,
      { method: "POST", agent, headers: { ...headers, "content-length": payload.length } },
      (response) => {
        const chunks = []
        response.on("data", (chunk) => chunks.push(chunk))
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          let json
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({
            status: response.statusCode,
            json,
            text: text.slice(0, 300),
            ms: performance.now() - started
          })
        })
      }
    )
    request.on("error", (error) =>
      resolve({ status: 0, error: error.message, ms: performance.now() - started })
    )
    request.end(payload)
  })

/** Fires `count` identical requests at once and waits for all of them. */
export const burst = async ({ url, headers, body, count }) => {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
  const started = performance.now()
  const answers = await Promise.all(
    Array.from({ length: count }, () => postJson({ url, headers, body, agent }))
  )
  const wallMs = performance.now() - started
  agent.destroy()
  const failed = answers.filter((a) => a.status !== 200)
  const times = answers.map((a) => a.ms).sort((a, b) => a - b)
  return {
    wallMs,
    ok: answers.length - failed.length,
    errors: failed.length,
    failures: [...new Set(failed.map((a) => `${a.status} ${a.json?.code ?? a.error ?? a.text ?? ""}`))],
    slowestMs: times.at(-1),
    medianMs: median(times),
    firstRows: answers.find((a) => a.status === 200)?.json?.rows
  }
}
