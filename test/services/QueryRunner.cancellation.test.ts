import { execFileSync } from "node:child_process"
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs"
import { open } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { InstanceRegistry } from "../../src/services/InstanceRegistry.js"
import { cpuMillis, cpuShare, query, type Received, send, within } from "../support/QueryClient.js"
import { otherKey, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * Deadlines, disconnects and cancellation, each watched until DuckDB has stopped: the process's CPU
 * falls back to idle (process.cpuUsage: DuckDB's threads are ours), the pool's only connection serves
 * the next query, and `GET /v1/queries` no longer lists the query.
 */
let server: RunningServer

beforeAll(async () => {
  server = await startServer(
    testSettings({
      duckdb: {
        settings: { threads: 2 },
        connection_pool: { min_connections: 1, max_connections: 1, acquire_timeout: "2s" }
      },
      query: { timeout: "1500ms" },
      server: { write_timeout: "1s" }
    })
  )
})
const figures: Array<string> = []
afterAll(async () => {
  // The CPU shares measured (of one core), for the record.
  console.info(`CPU shares:\n${figures.join("\n")}`)
  await server.dispose()
})
// A test that failed may leave its query running until the deadline; the next one starts after it.
beforeEach(() => within(5_000, async () => (await listQueries()).length === 0))

/** Seconds of work on two threads: far longer than any deadline here. */
const heavy = "SELECT count(*) AS n FROM range(100000000000) t(i) WHERE i % 7 = 3"
/** Megabytes of result, produced as fast as it is read. */
const large = "SELECT i, repeat('x', 40) AS pad FROM range(50000000) t(i)"

interface ListedQuery {
  readonly id: string
  readonly instanceId: string
  readonly startedAt: string
  readonly elapsedMs: number
  readonly queryType: string | null
}

const listQueries = async (key?: string): Promise<Array<ListedQuery>> => {
  const response = await send(`${server.url}/v1/queries`, undefined, key === undefined ? {} : { key })
  expect(response.status).toBe(200)
  return (JSON.parse(response.body.toString("utf8")) as { queries: Array<ListedQuery> }).queries
}

/** The query running, once the gate has judged it (its type is known from then on). */
const runningQuery = async (): Promise<ListedQuery> => {
  let found: ListedQuery | undefined
  await within(5_000, async () => {
    found = (await listQueries())[0]
    return found !== undefined && found.queryType !== null
  })
  return found!
}

const bodyOf = (response: Received) => JSON.parse(response.body.toString("utf8")) as Record<string, unknown>

const poolInUse = async () => {
  const registry = await server.runtime.runPromise(InstanceRegistry)
  return registry.all().find((instance) => instance.id === "default")!.pool.stats.inUse
}

/**
 * The work has stopped: the pool's one connection free again (the answer may go up to 500 ms before
 * DuckDB lets go of it, on a loaded machine), then CPU idle, nothing listed.
 */
const expectStopped = async () => {
  await within(5_000, async () => (await poolInUse()) === 0)
  const idle = await cpuShare(cpuMillis, 500)
  expect(idle, `CPU share after the stop: ${idle.toFixed(2)} of a core`).toBeLessThan(0.05)
  figures.push(`${expect.getState().currentTestName}: idle ${idle.toFixed(3)}`)
  const next = await query(server.url, "default", { query: "SELECT 42 AS answer" })
  expect(next.status).toBe(200)
  expect(bodyOf(next).rows).toEqual([[42]])
  expect(await listQueries()).toEqual([])
  return idle
}

/**
 * The query is really working before it is stopped, so that the idle figure means something: the
 * process has spent 100 ms of CPU since `since` (an idle process needs many seconds for that). Other
 * processes may share the machine's cores, so this waits for the work instead of sampling a window.
 */
const expectBusy = async (since: number) => {
  const waited = await within(1_200, () => cpuMillis() - since >= 100)
  figures.push(`${expect.getState().currentTestName}: 100 ms of CPU within ${waited} ms`)
}

describe("query.timeout", () => {
  it("answers 504 query_timeout and stops DuckDB", async () => {
    const since = cpuMillis()
    const started = Date.now()
    const pending = query(server.url, "default", { query: heavy })
    await runningQuery()
    await expectBusy(since)
    const response = await pending
    const elapsed = Date.now() - started
    expect(response.status).toBe(504)
    expect(bodyOf(response)).toMatchObject({ code: "query_timeout" })
    expect(String(bodyOf(response).error)).toContain("1s 500ms")
    expect(elapsed).toBeGreaterThanOrEqual(1_500)
    expect(elapsed).toBeLessThan(3_000)
    await expectStopped()
  })

  it("covers streaming too: a result still streaming at the deadline ends abnormally", async () => {
    const response = await query(server.url, "default", { query: large }, { format: "ndjson", keep: 1024 })
    expect(response.status).toBe(200)
    expect(response.complete).toBe(false)
    expect(response.aborted).toBe(true)
    await expectStopped()
  })
})

/**
 * Holds every thread of libuv's pool (as other DuckDB calls or file reads can) until `release` is
 * called: each thread blocks opening a FIFO for reading, which returns once a writer opens it.
 */
const occupyThreadPool = async () => {
  const dir = mkdtempSync(join(tmpdir(), "pondpilot-fifo-"))
  const fifo = join(dir, "hold")
  execFileSync("mkfifo", [fifo])
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4)
  const readers = Array.from({ length: threads }, () => open(fifo, "r"))
  // Let the opens reach the threads before anything else is queued behind them.
  await sleep(50)
  return async () => {
    // On this thread: every pool thread is taken. The readers are there, so this does not block.
    const writer = openSync(fifo, "w")
    for (const reader of await Promise.all(readers)) await reader.close()
    closeSync(writer)
    rmSync(dir, { recursive: true })
  }
}

describe("a stop that comes before DuckDB's worker begins the statement", () => {
  it("still stops it: the interrupt is sent again until the call returns", async () => {
    // The verdict and the prepared statement are cached on the pool's one connection, which is then
    // validated again: the next run calls DuckDB's execute at once, with no other DuckDB call first.
    expect((await query(server.url, "default", { query: heavy })).status).toBe(504)
    expect((await query(server.url, "default", { query: "SELECT 42 AS answer" })).status).toBe(200)
    const release = await occupyThreadPool()
    let answered: Received
    try {
      // The call waits in libuv's queue past the deadline: the interrupt sent at the deadline finds
      // nothing running, and DuckDB clears the flag when the statement begins.
      answered = await query(server.url, "default", { query: heavy })
    } finally {
      await release()
    }
    expect(answered.status).toBe(504)
    expect(bodyOf(answered)).toMatchObject({ code: "query_timeout" })
    await expectStopped()
  })
})

describe("a client that goes away", () => {
  it("mid-query: DuckDB is interrupted", async () => {
    const abort = new AbortController()
    const since = cpuMillis()
    const pending = query(
      server.url,
      "default",
      { query: heavy },
      { signal: abort.signal, headers: { "x-request-id": "gone-mid-query" } }
    )
    await runningQuery()
    await expectBusy(since)
    abort.abort()
    expect((await pending).error).toBe("aborted")
    await within(1_000, async () => (await listQueries()).length === 0)
    await expectStopped()
    expect(await auditLineOf("gone-mid-query")).toMatchObject({
      message: "query failed",
      error_code: "incomplete"
    })
  })

  it("mid-stream: the stream stops and the connection returns to the pool", async () => {
    const response = await query(
      server.url,
      "default",
      { query: large },
      { format: "csv", keep: 0, onData: (_piece, received) => received < 4_000_000 }
    )
    expect(response.status).toBe(200)
    expect(response.complete).toBe(false)
    await within(1_000, async () => (await listQueries()).length === 0)
    await expectStopped()
  })

  it("that stops reading is cut off after server.write_timeout", async () => {
    let resume = () => {}
    const stalled = new Promise<void>((resolve) => {
      resume = resolve
    })
    const pending = query(
      server.url,
      "default",
      { query: large },
      { format: "json", pauseUntil: stalled, keep: 0 }
    )
    await runningQuery()
    const waited = await within(3_000, async () => (await listQueries()).length === 0)
    expect(waited).toBeGreaterThan(500)
    resume()
    const response = await pending
    expect(response.complete).toBe(false)
    await expectStopped()
  })
})

describe("running queries", () => {
  it("lists the caller's queries only, with id, instance, start, elapsed and type", async () => {
    const pending = query(server.url, "default", { query: heavy })
    const listed = await runningQuery()
    expect(listed.id).toMatch(/^q_[0-9a-f-]{36}$/)
    expect(listed.instanceId).toBe("default")
    expect(new Date(listed.startedAt).toISOString()).toBe(listed.startedAt)
    expect(Date.now() - Date.parse(listed.startedAt)).toBeLessThan(5_000)
    expect(listed.elapsedMs).toBeGreaterThanOrEqual(0)
    expect(listed.queryType).toBe("SELECT")
    await sleep(200)
    const later = (await listQueries())[0]!
    expect(later.elapsedMs).toBeGreaterThan(listed.elapsedMs)
    expect(await listQueries(otherKey)).toEqual([])
    const denied = await send(`${server.url}/v1/queries/${listed.id}`, undefined, {
      method: "DELETE",
      key: otherKey
    })
    expect(denied.status).toBe(404)
    expect(bodyOf(denied)).toMatchObject({ code: "not_found" })
    expect((await listQueries()).map((entry) => entry.id)).toEqual([listed.id])
    expect((await pending).status).toBe(504)
  })

  it("DELETE /v1/queries/{id} stops it: 204, the request answers 409 cancelled, DuckDB stops", async () => {
    const since = cpuMillis()
    const pending = query(server.url, "default", { query: heavy })
    const listed = await runningQuery()
    await expectBusy(since)
    const started = Date.now()
    const cancelled = await send(`${server.url}/v1/queries/${listed.id}`, undefined, { method: "DELETE" })
    expect(cancelled.status).toBe(204)
    expect(Date.now() - started).toBeLessThan(1_500)
    expect(await listQueries()).toEqual([])
    const response = await pending
    expect(response.status).toBe(409)
    expect(bodyOf(response)).toMatchObject({ code: "cancelled" })
    await expectStopped()
    const again = await send(`${server.url}/v1/queries/${listed.id}`, undefined, { method: "DELETE" })
    expect(again.status).toBe(404)
  })

  it("DELETE of a query whose result is streaming ends the stream with the format's marker", async () => {
    let resume = () => {}
    const reading = new Promise<void>((resolve) => {
      resume = resolve
    })
    let streaming = () => {}
    const begun = new Promise<void>((resolve) => {
      streaming = resolve
    })
    const pending = query(
      server.url,
      "default",
      { query: large },
      { format: "ndjson", pauseUntil: reading, onData: () => streaming() === undefined }
    )
    const listed = await runningQuery()
    await begun
    const cancelled = await send(`${server.url}/v1/queries/${listed.id}`, undefined, { method: "DELETE" })
    expect(cancelled.status).toBe(204)
    resume()
    const response = await pending
    expect(response.status).toBe(200)
    expect(response.complete).toBe(false)
    expect(response.aborted).toBe(true)
    const lines = response.body.toString("utf8").split("\n")
    expect(lines.pop()).toBe("")
    expect(JSON.parse(lines.at(-1)!)).toEqual({
      $error: { code: "cancelled", message: "the query was cancelled" }
    })
    await expectStopped()
  })

  it("DELETE /v1/instances/{id} stops the queries running on it", async () => {
    const created = await send(`${server.url}/v1/instances`, {})
    const instance = String(bodyOf(created).id)
    const since = cpuMillis()
    const pending = query(server.url, instance, { query: heavy })
    const listed = await runningQuery()
    expect(listed.instanceId).toBe(instance)
    await expectBusy(since)
    const deleted = await send(`${server.url}/v1/instances/${instance}`, undefined, { method: "DELETE" })
    expect(deleted.status).toBe(204)
    const response = await pending
    expect(response.status).toBe(409)
    expect(bodyOf(response)).toMatchObject({ code: "cancelled" })
    await expectStopped()
    expect((await send(`${server.url}/v1/instances/${instance}`, undefined)).status).toBe(404)
  })
})

/** The audit line of the request with this X-Request-ID, once it is written. */
const auditLineOf = async (requestId: string): Promise<Record<string, unknown>> => {
  let found: Record<string, unknown> | undefined
  await within(1_000, () => {
    found = server.logLines
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.includes(`"request_id":"${requestId}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .at(-1)
    return found !== undefined
  })
  return found!
}
